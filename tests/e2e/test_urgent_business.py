"""Urgent business, short-notice meetings and guests, with the real PTB Application against the
sandbox: /item puts an item on today's meeting that /topic can take up, a meeting called for
tomorrow takes proposals until a deadline fitting its notice, and a guest without Telegram and
an observer are in the attendance the minutes read (列席 / "In attendance")."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import docx
import pytest

from bot.reminders import Reminders
from bot.sandbox import Message, User
from meetings import usecases
from meetings.domain import minutes as minutes_rules
from meetings.domain.minutes import Guest
from meetings.domain.model import AgendaState, Role
from tests.e2e.harness import CouncilChat, council_chat

STARTED = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai, the meeting's start


@pytest.fixture
async def chat(migrated_url: str) -> AsyncIterator[CouncilChat]:
    """EPB, MSB and EDU with their CIOs; it is 10:00 on Wednesday 25 November 2026 in
    Shanghai."""
    async with council_chat(migrated_url, cios=3) as council:
        yield await council.founded()


async def observer(chat: CouncilChat) -> User:
    """A press officer in the group, made an observer by the chair."""
    control = chat.sandbox.control
    officer = control.create_user("Li Ping", username="li_ping")
    control.add_member(chat.group.id, officer.id, by=chat.chair.id)
    reply = await chat.command(chat.chair, f"/role {officer.id} observer")
    assert reply.splitlines()[0] == "Li Ping is now an observer."  # then the Start link
    return officer


async def end_meeting(chat: CouncilChat) -> tuple[str, list[str]]:
    """The secretariat's /endmeeting: the caption of the draft minutes it posts, and the text of
    the draft's paragraphs."""
    control = chat.sandbox.control
    end = control.send_text(chat.secretary.id, chat.group.id, f"/endmeeting@{chat.bot_name}")

    def found() -> Message | None:
        return next((m for m in control.bot_messages(chat.group.id)
                     if m.message_id > end.message_id and "document" in m.content), None)

    await control.wait_until(lambda: found() is not None, timeout=20)
    message = found()
    assert message is not None
    data = control.file_bytes(message.content["document"]["file_id"])
    return (message.content["caption"],
            [p.text for p in docx.Document(io.BytesIO(data)).paragraphs])


async def test_an_urgent_item_goes_on_todays_meeting_and_topic_files_notes_under_it(
        chat: CouncilChat) -> None:
    """The office's /item is accepted at once on the meeting of the day, before and during it
    (a CIO's is refused); /topic takes it up, the notes are filed under it, and the agenda and
    the minutes mark it as urgent business."""
    scheduled = await chat.command(chat.secretary, "/schedule 2026-11-25 14:30 Data governance")
    assert scheduled.startswith("Scheduled: S1 Wed 25 Nov 2026, 14:30 — Data governance")
    assert await chat.command(chat.cios["EPB"], "/item Flood data") == (
        "Only the chair or the secretariat may do this.")
    assert await chat.command(chat.chair, "/item Flood-season data sharing | raised today") == (
        "Agenda #1 added as urgent business to the meeting on Wed 25 Nov 2026, 14:30 "
        "(meeting S1), accepted: Flood-season data sharing")
    chat.clock.at = STARTED
    await chat.command(chat.secretary, "/startmeeting")
    await chat.command(chat.cios["EPB"], "/here")
    assert await chat.command(chat.secretary, "/item #1 Cloud contract renewal") == (
        "Agenda #2 added as urgent business to the meeting on Wed 25 Nov 2026, 14:30 "
        "(meeting S1), accepted: Cloud contract renewal")
    assert await chat.command(chat.chair, "/topic 2") == (
        "Now discussing #2: Cloud contract renewal")
    assert await chat.command(chat.cios["EPB"], "/info The contract ends in January") == (
        "Noted (info 1).")
    agenda = await chat.command(chat.cios["MSB"], "/agenda 1")
    assert [line for line in agenda.splitlines() if line.startswith("#")] == [
        "#1 ⚡ Flood-season data sharing — accepted, urgent business",
        "#2 ⚡ Cloud contract renewal — accepted, urgent business"]
    _, lines = await end_meeting(chat)
    assert [line for line in lines if line.startswith(("1. #", "2. #"))] == [
        "1. #1 Flood-season data sharing [urgent business]",
        "2. #2 Cloud contract renewal [urgent business]"]
    under = lines.index("#2 Cloud contract renewal [urgent business]")
    assert lines[under + 1] == "Information (CIO EPB): The contract ends in January"
    async with chat.database.uow() as uow:
        items = {i.id: (i.state, i.urgent) for i in await uow.agenda.list(1)}
        notes = [(n.text, n.agenda_item_id) for n in await uow.notes.list(1)]
    assert (items, notes) == (
        {1: (AgendaState.ACCEPTED, True), 2: (AgendaState.ACCEPTED, True)},
        [("The contract ends in January", 2)])


async def test_a_guest_and_an_observer_are_in_the_attendance_the_minutes_read(
        chat: CouncilChat) -> None:
    """The office records a guest without Telegram during the meeting (not before it, not
    without a name; /undo takes the last one back), an observer and the expert mark themselves
    present; the minutes list all three as in attendance, apart from the departments, and none
    of them counts for a vote."""
    officer = await observer(chat)
    await chat.command(chat.secretary, "/schedule 2026-11-25 14:30 Data governance")
    assert await chat.command(chat.secretary, "/guest Prof. Wang | Tsinghua University") == (
        "No meeting is in progress; the chair or the secretariat starts one with /startmeeting.")
    chat.clock.at = STARTED
    await chat.command(chat.secretary, "/startmeeting")
    for cio in chat.cios.values():
        await chat.command(cio, "/here")
    assert await chat.command(officer, "/here") == (
        "Li Ping is present.\n3 of 3 departments present; quorum 2: quorate")  # he is no department
    assert await chat.command(chat.expert, "/here") == (
        "Zhou Min is present.\n3 of 3 departments present; quorum 2: quorate")
    assert await chat.command(chat.cios["EPB"], "/guest Zhang San") == (
        "Only the chair or the secretariat may do this.")
    assert await chat.command(chat.secretary, "/guest | Tsinghua University") == (
        "Usage: /guest <name> [| organisation]")
    assert await chat.command(chat.secretary, "/guest Prof.\u202e Wang\x00 | Tsinghua "
                                              "University") == (
        "Guest Prof. Wang (Tsinghua University) is attending meeting S1; a guest does not vote. "
        "/undo takes this back.")
    assert await chat.command(chat.chair, "/guest Zhang Sna") == (
        "Guest Zhang Sna is attending meeting S1; a guest does not vote. /undo takes this back.")
    assert await chat.command(chat.chair, "/undo") == (
        "Removed guest Zhang Sna from the attendance.")
    await chat.command(chat.chair, "/motion Adopt the data catalogue")
    for cio in chat.cios.values():
        await chat.command(cio, "/vote M1 yes")
    await chat.command(chat.chair, "/close M1")
    caption, lines = await end_meeting(chat)
    assert "• Prof. Wang: guest (Tsinghua University)" in caption.splitlines()
    assert "In attendance: Li Ping (observer); Zhou Min (expert); Prof. Wang (Tsinghua " \
           "University)" in lines
    async with chat.database.uow() as uow:
        council = await uow.councils.by_chat(chat.group.id)
        assert council is not None
        records = await usecases.minutes.load_records(uow, council.id, 1)
        motion = await uow.motions.get(1)
    assert motion is not None
    assert (motion.eligible, motion.yes) == (3, 3)  # the departments' CIOs, no guest
    read = minutes_rules.build(records)
    # The departments' lines: the three with a CIO present, the six without a CIO absent.
    assert (read.guests, [(line.code, line.status.value) for line in read.attendance]) == (
        (Guest("Li Ping", Role.OBSERVER), Guest("Zhou Min", Role.EXPERT),
         Guest("Prof. Wang", None, "Tsinghua University")),
        [("EDU", "present"), ("EPB", "present"), ("MSB", "present"),
         *((code, "absent") for code in ("CIV", "FIN", "HLTH", "HRSS", "PSB", "TRN"))])


async def test_a_short_notice_meeting_takes_proposals_until_a_deadline_fitting_its_notice(
        chat: CouncilChat) -> None:
    """A meeting called at 10:00 for 14:30 tomorrow, past the council's three-day deadline, takes
    CIOs' proposals until halfway through its notice (00:15): /schedule says so, /next and the
    agenda call show it, a proposal before it is taken, one after it is not."""
    assert await chat.command(chat.secretary, "/schedule 2026-11-26 14:30 Emergency session") == (
        "Scheduled: S1 Thu 26 Nov 2026, 14:30 — Emergency session\n"
        "Short notice: CIOs' proposals are taken until Thu 26 Nov 2026, 00:15, halfway to the "
        "meeting, instead of 3 days before it.")
    assert "Proposals close Thu 26 Nov 2026, 00:15." in (
        await chat.command(chat.cios["MSB"], "/next")).splitlines()
    reminders = Reminders(chat.database, chat.application.bot, chat.clock, worker="solo")
    assert (await reminders.tick()).sent >= 1
    calls = [m.text for m in chat.sandbox.control.bot_messages(chat.group.id)
             if (m.text or "").startswith("📋")]
    assert calls == [
        "📋 Riverside District CIO Council: the next meeting is on Thu 26 Nov 2026, 14:30. CIOs, "
        "please propose agenda items with /propose before Thu 26 Nov 2026, 00:15."]
    assert await chat.command(chat.cios["EPB"], "/propose Flood-season data sharing") == (
        "Agenda #1 proposed for the meeting on Thu 26 Nov 2026, 14:30 (meeting S1).")
    chat.clock.at = datetime(2026, 11, 25, 16, 15, tzinfo=UTC)  # 00:15 on the 26th, Shanghai
    assert await chat.command(chat.cios["MSB"], "/propose Late idea") == (
        "Every scheduled meeting is past its agenda deadline.")
    async with chat.database.uow() as uow:
        assert [i.title for i in await uow.agenda.list(1)] == ["Flood-season data sharing"]
