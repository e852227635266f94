"""/appraisal through the real PTB Application and the sandbox: the office gets the table, the
chart and the spreadsheet, which agree; a CIO privately gets their own card only; refusals
change nothing."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import create_engine, text

from bot.sandbox import Message
from bot.telegram.app import live_counts
from storage.db import sync_url
from tests.e2e.harness import CouncilChat, council_chat
from tests.snapshot import snapshot


@pytest.fixture
async def held(migrated_url: str) -> AsyncIterator[CouncilChat]:
    """Meeting S1 on 30 November 2026 held: EPB present and voting yes on M1, MSB by proxy,
    EDU excused; then a week later."""
    async with council_chat(migrated_url, cios=3) as council:
        await council.founded()
        await council.command(council.chair, "/schedule 2026-11-30 10:00 Working session")
        council.clock.at = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)
        await council.command(council.secretary, "/startmeeting")
        await council.command(council.cios["EPB"], "/here")
        await council.command(council.secretary, "/proxy MSB Deputy Director Liu")
        await council.command(council.chair, "/excused EDU travelling abroad")
        await council.command(council.chair, "/motion Fund the catalogue")
        await council.settle()
        await council.command(council.cios["EPB"], "/vote M1 yes")
        await council.command(council.chair, "/close M1")
        await council.command(council.secretary, "/endmeeting")
        await live_counts(council.application).settle()
        council.clock.at = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
        yield council


def _files(chat: CouncilChat, chat_id: int, after: int) -> list[Message]:
    return [m for m in chat.sandbox.control.bot_messages(chat_id)
            if m.message_id > after and ("document" in m.content or "photo" in m.content)]


async def test_the_office_gets_table_chart_and_spreadsheet(held: CouncilChat,
                                                             migrated_url: str) -> None:
    """The table's lines, the .xlsx read back and the chart photo all come in the group; the
    figures agree with what happened at the meeting and with a count of the raw rows."""
    chat = held
    asked = chat.sandbox.control.send_text(chat.chair.id, chat.group.id,
                                           f"/appraisal@{chat.bot_name} 2026")
    control = chat.sandbox.control
    await control.wait_until(lambda: len(_files(chat, chat.group.id, asked.message_id)) == 2,
                             timeout=30)
    texts = "\n".join(m.text or m.content.get("caption", "") for m in control.bot_messages(
        chat.group.id) if m.message_id > asked.message_id)
    assert "Appraisal of" in texts
    assert "EPB" in texts
    assert "present 1/1 (proxy 0, excused 0, absent 0) · items 0/0 · votes 1/1" in texts
    assert "present 0/1 (proxy 1, excused 0, absent 0)" in texts
    assert "present 0/1 (proxy 0, excused 1, absent 0)" in texts
    photo, document = _files(chat, chat.group.id, asked.message_id)
    assert "photo" in photo.content
    chart = control.file_bytes(photo.content["photo"][-1]["file_id"])
    assert chart.startswith(b"\x89PNG")
    data = control.file_bytes(document.content["document"]["file_id"])
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    rows = {row[0]: row for row in sheet.iter_rows(min_row=3, values_only=True)}
    # held, present, proxy, excused, absent ... eligible votes, votes cast
    assert (rows["EPB"][5:10], rows["EPB"][13:15]) == ((1, 1, 0, 0, 0), (1, 1))
    assert rows["MSB"][5:10] == (1, 0, 1, 0, 0)
    assert rows["EDU"][5:10] == (1, 0, 0, 1, 0)
    assert {code: row[5:10] for code, row in rows.items()} == _raw_attendance(migrated_url)


def _raw_attendance(url: str) -> dict[str, tuple[int, ...]]:
    """Held meetings and attendance kinds per department with a CIO, counted here from the raw
    rows."""
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            held = [m for (m,) in connection.execute(text(
                "SELECT id FROM meetings WHERE state IN ('ended', 'minutes_approved')"))]
            # A department without a CIO has nobody to appraise.
            codes: dict[int, str] = dict(connection.execute(text(
                "SELECT d.id, d.code FROM departments d JOIN members m "
                "ON m.department_id = d.id AND m.role = 'cio'")).all())
            kinds = {(m, d): s for m, d, s in connection.execute(text(
                "SELECT meeting_id, department_id, status FROM attendance "
                "WHERE department_id IS NOT NULL"))}
    finally:
        engine.dispose()
    counted = {}
    for department, code in codes.items():
        seen = [kinds.get((meeting, department), "absent") for meeting in held]
        counted[code] = (len(held), *(seen.count(k) for k in
                                      ("present", "proxy", "excused", "absent")))
    return counted


async def test_a_cio_gets_their_own_card_privately(held: CouncilChat) -> None:
    """In a private chat EPB's CIO gets their card with the meeting and motion behind each
    figure, and nobody else's."""
    epb = held.cios["EPB"]
    card = await held.command(epb, "/appraisal 2026-Q4", chat_id=epb.id)
    assert "Appraisal card of" in card
    assert "present in person: 1 — meeting S1 (Mon 30 Nov 2026)" in card
    assert "votes cast: 1 — motion M1 (Mon 30 Nov 2026)" in card
    assert "MSB" not in card


async def test_refusals_change_nothing(held: CouncilChat, migrated_url: str) -> None:
    """A CIO asking in the group, a CIO asking for another department, an expert and a stranger
    are refused with the reason; no file is sent and the database is as it was."""
    epb, msb = held.cios["EPB"], held.cios["MSB"]
    # Writing privately lets the bot note it may now write to MSB (members.private_chat), a
    # legitimate write whatever was asked: MSB has opened that chat before the snapshot.
    await held.command(msb, "/appraisal 2026 EPB", chat_id=msb.id)
    before = snapshot(migrated_url)
    last = held.sandbox.control.bot_messages(held.group.id)[-1].message_id
    assert (await held.command(epb, "/appraisal")).startswith(
        "Your appraisal card is personal")
    assert await held.command(msb, "/appraisal 2026 EPB", chat_id=msb.id) == (
        "A CIO may see only their own appraisal card.")
    assert await held.command(held.expert, "/appraisal") == (
        "Only the chair, the secretariat or department CIOs may do this.")
    assert await held.command(held.stranger, "/appraisal") == (
        "Only council members may do this.")
    assert await held.command(held.chair, "/appraisal 2026-Q9") == (
        "Bad period '2026-Q9': use YYYY, YYYY-H1, YYYY-Q3 or YYYY-MM-DD..YYYY-MM-DD.")
    await held.settle()
    assert _files(held, held.group.id, last) == []
    assert snapshot(migrated_url) == before
