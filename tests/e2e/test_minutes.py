"""The minutes in chat, with the real PTB Application against the sandbox: /endmeeting posts the
draft .docx to the group, /approve posts the approved file whose SHA-256 is in its caption, and
neither a second /approve nor a CIO can change the approved revision."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import docx
import pytest

from bot.sandbox import Message
from tests.e2e.harness import CouncilChat, council_chat

OPENED = datetime(2026, 12, 3, 6, 25, tzinfo=UTC)
ENDED = datetime(2026, 12, 3, 8, 10, tzinfo=UTC)
APPROVED = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)


@pytest.fixture
async def chat(migrated_url: str) -> AsyncIterator[CouncilChat]:
    async with council_chat(migrated_url, cios=3) as council:  # EPB, MSB and EDU
        yield await council.founded()


def number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found is not None, text
    return int(found.group(1))


async def next_document(chat: CouncilChat, after: Message) -> Message:
    """The bot's first message carrying a document after ``after``."""
    control = chat.sandbox.control

    def found() -> Message | None:
        return next((m for m in control.bot_messages(chat.group.id)
                     if m.message_id > after.message_id and "document" in m.content), None)

    await control.wait_until(lambda: found() is not None, timeout=20)
    message = found()
    assert message is not None
    return message


def file_of(chat: CouncilChat, message: Message) -> bytes:
    return chat.sandbox.control.file_bytes(message.content["document"]["file_id"])


async def test_the_draft_is_posted_at_the_end_and_the_approval_freezes_its_hash(
    chat: CouncilChat
) -> None:
    """The meeting's end posts the draft with its facts; the chair's /approve posts an approved
    file whose SHA-256 is the one in the caption; approving again is refused and so is a CIO."""
    meeting = number(r"S(\d+) ", await chat.command(
        chat.secretary, "/schedule 2026-12-03 14:30 120 Data governance"))
    item = number(r"Agenda #(\d+)", await chat.command(chat.cios["EPB"],
                                                       "/propose Open data platform"))
    await chat.command(chat.chair, f"/accept {item}")
    chat.clock.at = OPENED
    await chat.command(chat.secretary, "/startmeeting")
    await chat.command(chat.cios["EPB"], "/here")
    await chat.command(chat.secretary, "/proxy MSB Deputy Liu")
    await chat.command(chat.secretary, "/excused EDU Provincial audit")
    await chat.command(chat.chair, f"/topic {item}")
    await chat.command(chat.expert, "/idea One portal for all, שלום 🙂")
    await chat.command(chat.chair, "/agreed Publish the catalogue by March")
    await chat.command(chat.secretary, "/action EPB 2026-12-31 Draft the catalogue")

    chat.clock.at = ENDED
    end = chat.sandbox.control.send_text(chat.secretary.id, chat.group.id,
                                         f"/endmeeting@{chat.bot_name}")
    draft = await next_document(chat, end)

    ended, *_, drafted = draft.content["caption"].split("\n")
    assert ended == f"🏁 Meeting S{meeting} has ended."
    assert drafted == (
        f"📝 Minutes of meeting S{meeting}, draft (revision 1); decisions: 1, action items: 1. "
        "The chair approves them with /approve.")
    assert draft.content["document"]["file_name"] == f"minutes-meeting-{meeting}-r1-draft.docx"
    document = docx.Document(io.BytesIO(file_of(chat, draft)))
    rows = [[c.text for c in r.cells] for t in document.tables for r in t.rows]
    assert ["EPB Bureau", "EPB", "CIO EPB", "present", ""] in rows
    assert ["MSB Bureau", "MSB", "Deputy Liu", "proxy", ""] in rows
    assert ["EDU Bureau", "EDU", "CIO EDU", "excused", "Provincial audit"] in rows
    text = "\n".join(p.text for p in document.paragraphs)
    assert "One portal for all, שלום 🙂" in text
    assert "Publish the catalogue by March" in text

    chat.clock.at = APPROVED
    refused = await chat.command(chat.secretary, "/approve")
    assert refused == "Only the chair may do this."
    ask = chat.sandbox.control.send_text(chat.chair.id, chat.group.id,
                                         f"/approve@{chat.bot_name} {meeting}")
    approved = await next_document(chat, ask)
    data = file_of(chat, approved)
    caption = approved.content["caption"]
    posted_hash = re.search(r"SHA-256: ([0-9a-f]{64})$", caption)
    assert posted_hash is not None, caption
    assert posted_hash.group(1) == hashlib.sha256(data).hexdigest()
    assert caption.startswith(f"✅ Minutes of meeting S{meeting} approved (revision 2)")
    block = [c.text for c in docx.Document(io.BytesIO(data)).tables[-1].rows[1].cells]
    assert block == ["2", "Chen Jing", "Wang Lei", "2026-12-04"]

    again = await chat.command(chat.chair, "/approve")
    assert again == (f"Revision 2 of the minutes of meeting S{meeting} is already approved "
                     f"(SHA-256 {posted_hash.group(1)}).")
    ask = chat.sandbox.control.send_text(chat.cios["EPB"].id, chat.group.id,
                                         f"/minutes@{chat.bot_name}")
    latest = await next_document(chat, ask)
    assert file_of(chat, latest) == data


def template(*, without: str | None = None, header: str = "") -> bytes:
    document = docx.Document()
    if without is not None:
        style = document.styles[without].element
        style.getparent().remove(style)
    document.sections[0].header.paragraphs[0].text = header
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


async def test_a_secretary_sets_the_template_privately_and_a_bad_one_is_refused(
    chat: CouncilChat
) -> None:
    """A .docx lacking Heading 2 is refused with the style's name; a good one is stored and the
    next minutes carry its header; /template without a file says how to send one."""
    control = chat.sandbox.control
    private = chat.secretary.id  # the private chat with the bot has the person's id

    async def send(data: bytes) -> str:
        sent = control.send_document(chat.secretary.id, private, data,
                                     file_name="letterhead.docx", caption="/template")
        return (await control.next_bot_message(private, after=sent, timeout=10)).text or ""

    assert await send(template(without="Heading 2")) == (
        "The template has no paragraph style 'Heading 2'; nothing was stored.")
    assert await send(b"not a docx") == (
        "The template is not a Word .docx document; nothing was stored.")
    assert await send(template(header="RIVERSIDE LETTERHEAD")) == (
        "Template set: the minutes of Riverside District CIO Council are now written on "
        "letterhead.docx.")
    assert await chat.command(chat.secretary, "/template") == (
        "Send the template as a .docx file with the caption /template, in a private chat "
        "with me.")

    meeting = number(r"S(\d+) ", await chat.command(chat.secretary,
                                                    "/schedule 2026-12-03 14:30 120 Review"))
    chat.clock.at = OPENED
    await chat.command(chat.secretary, "/startmeeting")
    chat.clock.at = ENDED
    end = control.send_text(chat.secretary.id, chat.group.id, f"/endmeeting@{chat.bot_name}")
    draft = docx.Document(io.BytesIO(file_of(chat, await next_document(chat, end))))
    assert draft.sections[0].header.paragraphs[0].text == "RIVERSIDE LETTERHEAD"
    assert any(p.text.endswith(f"minutes of meeting No. {meeting}") for p in draft.paragraphs)
