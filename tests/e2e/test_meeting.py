"""The meeting in chat: the roll call and its Here button, proxies and apologies (also sent ahead),
the topic, notes and decisions under it, /undo, and /endmeeting recording the absent; wrong use
is refused with a specific reply and changes nothing, and a redelivered update counts once."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from telegram import Update
from telegram.ext import TypeHandler

from bot.sandbox import CallbackAnswer, Message, User
from bot.telegram.context import BotContext
from storage.tables import metadata
from tests.e2e.harness import CouncilChat, council_chat
from tests.snapshot import snapshot

# The first meeting: Thursday 3 December 2026 at 14:30 in Shanghai; the secretariat opens it
# five minutes early and ends it at 16:10.
OPENED = datetime(2026, 12, 3, 6, 25, tzinfo=UTC)
ENDED = datetime(2026, 12, 3, 8, 10, tzinfo=UTC)
NO_MEETING = ("No meeting is in progress; the chair or the secretariat starts one with "
              "/startmeeting.")
ROLL_CALL = ("Roll call: CIOs and experts, press Here or send /here. A CIO must attend in "
             "person to vote.")

ATTENDANCE, DEPARTMENTS, MEMBERS = (metadata.tables[name]
                                    for name in ("attendance", "departments", "members"))
NOTES, DECISIONS, MEETINGS, BALLOTS = (metadata.tables[name]
                                       for name in ("notes", "decisions", "meetings", "ballots"))


@pytest.fixture
async def chat(migrated_url: str) -> AsyncIterator[CouncilChat]:
    async with council_chat(migrated_url, cios=4) as council:  # EPB, MSB, EDU and HLTH
        yield await council.founded()


async def rows(chat: CouncilChat, statement: sa.Select[Any]) -> list[tuple[Any, ...]]:
    async with chat.database.engine.connect() as connection:
        return [tuple(row) for row in (await connection.execute(statement)).all()]


def number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found is not None, text
    return int(found.group(1))


@asynccontextmanager
async def unchanged(chat: CouncilChat) -> AsyncIterator[None]:
    """Whatever is said in the block changes no table (one snapshot either side: they are the
    slow part on PostgreSQL)."""
    before = snapshot(chat.database.url)
    yield
    assert snapshot(chat.database.url) == before


async def press(chat: CouncilChat, user: User, message: Message, label: str) -> CallbackAnswer:
    control = chat.sandbox.control
    query = control.press_button(user.id, message.chat.id, message.message_id, text=label)
    return await control.answer_to(query)


async def test_a_meeting_from_roll_call_to_end(chat: CouncilChat) -> None:
    """Apologies sent ahead land on the next meeting; the roll call, /here, proxies, the topic,
    notes, a decision, a vote and /undo are recorded; the end records everyone else absent."""
    first = number(r"S(\d+) ", await chat.command(
        chat.secretary, "/schedule 2026-12-03 14:30 120 Data governance"))
    second = number(r"S(\d+) ", await chat.command(chat.secretary, "/schedule 2026-12-17 14:30"))
    platform = number(r"Agenda #(\d+)", await chat.command(chat.cios["EPB"],
                                                           "/propose Open data platform"))
    permits = number(r"Agenda #(\d+)", await chat.command(chat.cios["MSB"],
                                                          "/propose Unified permits"))
    campus = number(r"Agenda #(\d+)", await chat.command(chat.cios["EDU"],
                                                         "/propose Campus network"))
    await chat.command(chat.chair, f"/accept {platform}")
    assert await chat.command(chat.chair, f"/defer {campus}") == (
        f"Agenda #{campus} deferred to the meeting on Thu 17 Dec 2026, 14:30 (meeting "
        f"S{second}): Campus network")
    await chat.command(chat.chair, f"/accept {campus}")  # accepted, on the later meeting

    # Eight days ahead, apologies and a deputy go to the next meeting.
    assert await chat.command(chat.secretary, "/excused HLTH Provincial audit") == (
        f"HLTH is excused from meeting S{first}.")
    assert await chat.command(chat.secretary, "/proxy MSB Deputy Liu") == (
        f"MSB is represented by proxy Deputy Liu at meeting S{first}; a proxy may not vote.")
    async with unchanged(chat):
        assert await chat.command(chat.cios["EPB"], "/here") == NO_MEETING
        assert await chat.command(chat.expert, "/info Too early") == NO_MEETING

    chat.clock.at = OPENED
    roll_call = await chat.driver.ask(chat.secretary, "/startmeeting")
    assert roll_call.text == (f"🏛 Meeting S{first} is open (Thu 3 Dec 2026, 14:30).\n"
                              f"{ROLL_CALL}\n"
                              "Present 0 of 4: none; awaiting EDU, EPB; proxy MSB; excused HLTH\n"
                              "0 of 4 departments present; quorum 3: not quorate")
    assert [(b["text"], b["callback_data"]) for b in roll_call.buttons()] == [
        ("✋ Here", f"h:{first}")]
    assert await chat.press(chat.cios["EPB"], roll_call, "✋ Here") == "You are marked present."
    assert await chat.press(chat.expert, roll_call, "✋ Here") == "You are marked present."
    assert await chat.command(chat.cios["EDU"], "/here") == (
        "CIO EDU is present.\n2 of 4 departments present; quorum 3: not quorate")
    assert await chat.command(chat.chair, "/excused FIN Post vacant") == (
        f"FIN is excused from meeting S{first}.")
    async with unchanged(chat):
        assert await chat.command(chat.chair, "/startmeeting") == (
            f"Meeting S{first} is already in progress; end it with /endmeeting first.")
        assert await chat.press(chat.cios["EPB"], roll_call, "✋ Here") == (
            "You are already marked present.")
        assert await chat.command(chat.cios["EDU"], "/here") == (
            "CIO EDU is already marked present.\n2 of 4 departments present; quorum 3: not "
            "quorate")
        assert await chat.command(chat.secretary, "/proxy XYZ Someone") == (
            "No department with code 'XYZ'.")
        assert await chat.command(chat.chair, f"/topic {campus}") == (
            f"No agenda item #{campus} on meeting S{first}.")
        assert await chat.command(chat.chair, f"/topic {permits}") == (
            f"Agenda item #{permits} is proposed; only accepted items are discussed.")
    assert await chat.command(chat.chair, f"/topic {platform}") == (
        f"Now discussing #{platform}: Open data platform")
    catalogue = number(r"info (\d+)", await chat.command(
        chat.cios["EPB"], "/info The catalogue lists 120 datasets"))
    portal = number(r"idea (\d+)", await chat.command(chat.expert, "/idea One portal for all"))
    repeated = number(r"idea (\d+)", await chat.command(chat.expert, "/idea One portal for all"))
    decision = number(r"D(\d+)", await chat.command(chat.chair,
                                                    "/agreed Publish the catalogue by March"))
    # Two of the four member departments are there: the chair lowers the quorum so one vote
    # carries (the default, more than half, would need three).
    assert (await chat.command(chat.chair, "/rules quorum >=1/4")).startswith("Rule changed")
    motion = await chat.driver.ask(chat.chair, "/motion Adopt the catalogue standard")
    motion_id = number(r"M(\d+)", motion.text or "")
    assert await chat.press(chat.cios["EPB"], motion, "Yes") == (
        f"Your vote on M{motion_id}: Yes.")
    async with unchanged(chat):
        assert await chat.command(chat.secretary, "/endmeeting") == (
            f"Motion M{motion_id} is still open: close it with /close first.")
    result = await chat.command(chat.chair, "/close")
    assert result.startswith(f"✅ M{motion_id} carried: Adopt the catalogue standard\n"
                             "Yes 1 · No 0 · Abstain 0\n"
                             "Quorum 1 of 4 member departments; 1 voted.\n")

    # /undo skips the vote (and the decision it carried), newest first.
    assert await chat.command(chat.secretary, "/undo") == (
        f"Removed decision D{decision}: Publish the catalogue by March")
    assert await chat.command(chat.chair, "/undo") == (
        f"Removed note {repeated}: One portal for all")  # the repeated idea
    assert (await chat.command(chat.chair, "/agreed Review the catalogue in June")).endswith(
        " recorded: Review the catalogue in June")

    chat.clock.at = ENDED
    assert await chat.command(chat.secretary, "/endmeeting") == "\n".join([
        f"🏁 Meeting S{first} has ended.",
        "Departments: 2 present in person, 1 by proxy, 2 excused, 4 absent.",
        "• CIV: absent", "• EDU: present", "• EPB: present", "• FIN: excused (Post vacant)",
        "• HLTH: excused (Provincial audit)", "• HRSS: absent", "• MSB: proxy (Deputy Liu)",
        "• PSB: absent", "• TRN: absent",
        "Other attendees (no department, no vote): 1", "• Zhou Min (expert): present",
        "Recorded: notes 2, decisions 2, votes 1.",
        f"The record: the draft minutes are the Word document below; /minutes S{first} sends "
        "the latest revision again.",
        f"📝 Minutes of meeting S{first}, draft (revision 1); decisions: 2, action items: 0. The "
        "chair approves them with /approve."])
    async with unchanged(chat):
        assert await chat.command(chat.cios["EPB"], "/here") == NO_MEETING
        assert await chat.command(chat.chair, "/undo") == NO_MEETING

    attendance = await rows(chat, sa.select(
        ATTENDANCE.c.meeting_id, DEPARTMENTS.c.code, ATTENDANCE.c.status, MEMBERS.c.name,
        ATTENDANCE.c.proxy_name, ATTENDANCE.c.reason)
        .select_from(ATTENDANCE.outerjoin(DEPARTMENTS)
                     .outerjoin(MEMBERS, ATTENDANCE.c.member_id == MEMBERS.c.id)))
    assert sorted(attendance, key=repr) == sorted([
        (first, "CIV", "absent", None, "", ""),
        (first, "EDU", "present", "CIO EDU", "", ""),
        (first, "EPB", "present", "CIO EPB", "", ""),
        (first, "FIN", "excused", None, "", "Post vacant"),
        (first, "HLTH", "excused", "CIO HLTH", "", "Provincial audit"),
        (first, "HRSS", "absent", None, "", ""),
        (first, "MSB", "proxy", "CIO MSB", "Deputy Liu", ""),
        (first, "PSB", "absent", None, "", ""),
        (first, "TRN", "absent", None, "", ""),
        (first, None, "present", "Zhou Min", "", ""),
    ], key=repr)
    assert await rows(chat, sa.select(
        NOTES.c.id, NOTES.c.meeting_id, NOTES.c.kind, NOTES.c.text, MEMBERS.c.name,
        NOTES.c.created_at, NOTES.c.agenda_item_id)
        .join(MEMBERS, NOTES.c.author_id == MEMBERS.c.id).order_by(NOTES.c.id)) == [
        (catalogue, first, "info", "The catalogue lists 120 datasets", "CIO EPB", OPENED,
         platform),
        (portal, first, "idea", "One portal for all", "Zhou Min", OPENED, platform)]
    assert await rows(chat, sa.select(
        DECISIONS.c.text, DECISIONS.c.meeting_id, DECISIONS.c.agenda_item_id,
        DECISIONS.c.motion_id, DECISIONS.c.created_at).order_by(DECISIONS.c.id)) == [
        ("Adopt the catalogue standard", first, platform, motion_id, OPENED),
        ("Review the catalogue in June", first, platform, None, OPENED)]
    assert await rows(chat, sa.select(BALLOTS.c.motion_id, BALLOTS.c.choice,
                                      BALLOTS.c.current)) == [(motion_id, "yes", True)]
    assert await rows(chat, sa.select(
        MEETINGS.c.id, MEETINGS.c.state, MEETINGS.c.started_at, MEETINGS.c.ended_at,
        MEETINGS.c.topic_id).order_by(MEETINGS.c.id)) == [
        (first, "ended", OPENED, ENDED, None), (second, "scheduled", None, None, None)]


async def test_a_redelivered_update_counts_once(chat: CouncilChat) -> None:
    """The same /here, Here press and /info handed to the bot a second time record nothing
    more and post no second reply."""
    seen: list[Update] = []

    async def remember(update: Update, _: BotContext) -> None:
        seen.append(update)

    # Ahead of every other handler, so each update the bot handles is kept for redelivery.
    chat.application.add_handler(TypeHandler(Update, remember), group=-1)
    await chat.command(chat.secretary, "/schedule 2026-11-25 14:30 90 Extraordinary")
    roll_call = await chat.driver.ask(chat.chair, "/startmeeting")
    meeting = number(r"S(\d+) ", roll_call.text or "")
    assert await chat.command(chat.cios["EPB"], "/here") == (
        "CIO EPB is present.\n1 of 4 departments present; quorum 3: not quorate")
    assert await chat.press(chat.cios["MSB"], roll_call, "✋ Here") == "You are marked present."
    note = number(r"info (\d+)", await chat.command(chat.cios["EPB"], "/info Budget approved"))
    replayed = [u for u in seen if (u.message and (u.message.text or "").split("@")[0] in (
        "/here", "/info")) or u.callback_query]
    assert len(replayed) == 3

    before = snapshot(chat.database.url)
    replies = len(chat.sandbox.control.bot_messages(chat.group.id))
    for update in replayed:
        await chat.application.update_queue.put(update)
    await chat.settle()  # handled in order: the redeliveries are done when /help is answered
    assert snapshot(chat.database.url) == before
    assert len(chat.sandbox.control.bot_messages(chat.group.id)) == replies + 1  # /help's
    assert await rows(chat, sa.select(ATTENDANCE.c.meeting_id, DEPARTMENTS.c.code,
                                      ATTENDANCE.c.status).join(DEPARTMENTS)
                      .order_by(DEPARTMENTS.c.code)) == [(meeting, "EPB", "present"),
                                                         (meeting, "MSB", "present")]
    assert await rows(chat, sa.select(NOTES.c.id, NOTES.c.text)) == [(note, "Budget approved")]
    chat.clock.advance(timedelta(hours=2))
    assert (await chat.command(chat.chair, "/endmeeting")).startswith(
        f"🏁 Meeting S{meeting} has ended.\nDepartments: 2 present in person, 0 by proxy, "
        "0 excused, 7 absent.")
