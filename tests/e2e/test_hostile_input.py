"""Hostile or malformed input gets a specific reply; no handler crashes and nothing breaks."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.sandbox import User
from bot.telegram.app import COMMANDS, live_counts
from meetings.domain.errors import Word
from meetings.domain.model import Role
from meetings.domain.permissions import can
from meetings.domain.text import TEXT_MAX, clean, optional
from storage.db import sync_url
from tests.e2e.harness import NOW, CouncilChat, council_chat
from tests.snapshot import VOLATILE, snapshot

CRASHED = "something went wrong"


@pytest.fixture
async def chat(migrated_url: str) -> AsyncIterator[CouncilChat]:
    async with council_chat(migrated_url, cios=2) as council:
        await council.founded()
        yield council


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("/department EDU " + "x" * 100_000,
         "Department name is too long (100000 characters, at most 200)."),
        ("/department E\x00D\x07U Education", "Department code 'E\\x00D\\x07U' must be 1-16 "
                                                "letters or digits."),
        ("/department", "Usage: /department <CODE> <name>"),
        ("/schedule 2027-02-30 14:30", "Impossible date 2027-02-30."),
        ("/schedule 0001-01-01 00:00", "Impossible date 0001-01-01."),
        ("/schedule 2027-01-21 25:99", "Impossible time 25:99: use 00:00-23:59."),
        ("/schedule tomorrow at noon", "Bad date/time 'tomorrow at': use YYYY-MM-DD HH:MM."),
        ("/reschedule 99999 2027-01-21 09:30", "No meeting 99999 in this council."),
        ("/reschedule abc 2027-01-21 09:30",
         "Usage: /reschedule <meeting id> <YYYY-MM-DD HH:MM>"),
        ("/cancel 1" + "0" * 30, "Usage: /cancel <meeting id>"),
        ("/cadence FREQ=SECONDLY", "FREQ=SECONDLY is more often than weekly: not a council "
                                   "series."),
        ("/role @nobody cio EPB", "I have not seen '@nobody' in the council's chat yet: ask "
                                  "them to send any command there (/help is enough), or use "
                                  "their numeric Telegram id."),
        ("/role @cio_epb overlord", "Usage: /role <@user|id> <chair|secretary|CIO|expert|"
                                    "observer> [CODE]"),
        ("/lang klingon", "Language 'klingon' is not supported (en, zh)."),
        ("/accept 99999", "No agenda item #99999 in this council."),
        ("/accept #-1", "Usage: /accept <agenda id>"),
        ("/major 1" + "0" * 30, "Usage: /major <agenda id>"),
        ("/defer ١٢", "Usage: /defer <agenda id>"),
        ("/cancel ²", "Usage: /cancel <meeting id>"),
        ("/reject", "Usage: /reject <agenda id>"),
        ("/agenda 99999", "No meeting 99999 in this council."),
        ("/agenda #x", "Usage: /agenda [meeting id]"),
        ("/agenda", "No meeting is scheduled. The chair can set a series with /cadence."),
        ("/action EPB 2027-02-30 Publish", "Impossible date 2027-02-30."),
        ("/action EPB 2026-11-24 Publish", "Due date Tue 24 Nov 2026 is in the past."),
        ("/action EPB tomorrow Publish", "Bad due date 'tomorrow': use YYYY-MM-DD."),
        ("/action XYZ 2027-01-15 Publish", "No department with code 'XYZ'."),
        ("/action EPB 2027-01-15 " + "x" * 100_000,
         "Action is too long (100000 characters, at most 4000)."),
        ("/action EPB 2027-01-15 \x00\u202e\x07", "Action is empty."),
        ("/action EPB 2027-01-15", "Usage: /action <CODE> <YYYY-MM-DD> <text>"),
        ("/done 99999", "No action item A99999 in this council."),
        ("/done A99999 " + "n" * 100_000, "Note is too long (100000 characters, at most 4000)."),
        ("/done A-1", "Usage: /done <action id> [note]"),
        ("/done ²", "Usage: /done <action id> [note]"),
        ("/done 1" + "0" * 30, "Usage: /done <action id> [note]"),
        ("/done", "Usage: /done <action id> [note]"),
        ("/actions XYZ", "No department with code 'XYZ'."),
        ("/actions E\x00", "Department code 'E\\x00' must be 1-16 letters or digits."),
        ("/actions", "No open action items."),
    ],
)
async def test_bad_input_gets_a_specific_reply(chat: CouncilChat, text: str, reply: str) -> None:
    """Each malformed command is answered with what is wrong, not a crash."""
    assert await chat.command(chat.chair, text) == reply


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("/propose " + "x" * 100_000, "Title is too long (100000 characters, at most 200)."),
        ("/propose Title | " + "y" * 5000,
         "Description is too long (5000 characters, at most 4000)."),
        ("/propose | only a description", "Title is empty."),
        ("/propose \x00\u202e\x07 | x", "Title is empty."),
        ("/propose", "Usage: /propose <title> [| description]"),
        ("/propose Open data", "No upcoming meeting is scheduled to take proposals."),
    ],
)
async def test_bad_proposals_get_a_specific_reply(chat: CouncilChat, text: str,
                                                  reply: str) -> None:
    """A CIO's malformed proposal is answered with what is wrong and stores nothing."""
    assert await chat.command(chat.cios["EPB"], text) == reply


async def test_hostile_proposals_are_stored_as_text(chat: CouncilChat) -> None:
    """RTL text, emoji, formula and SQL-looking text survive as typed, controls stripped."""
    await chat.command(chat.chair, "/schedule 2027-01-20 09:30 Kick-off")
    title = "=HYPERLINK(\"x\") وزارة 🏛️ '); DROP TABLE agenda_items;--"
    reply = await chat.command(chat.cios["EPB"],
                               f"/propose {title} | line\x00 one\nBEGIN:VEVENT\u202e")
    assert reply.startswith("Agenda #1 proposed")
    shown = await chat.command(chat.cios["MSB"], "/agenda")
    assert f"#1 {title} (EPB) — proposed\n    line one\n    BEGIN:VEVENT" in shown


async def test_hostile_actions_are_stored_as_text(chat: CouncilChat) -> None:
    """An action's RTL text, emoji, formula and SQL-looking text survive as typed."""
    text = "=HYPERLINK(\"x\") وزارة 🏛️ '); DROP TABLE action_items;--"
    reply = await chat.command(chat.secretary, f"/action EPB 2027-01-15 {text}\x00")
    assert reply == f"Action A1 for EPB, due Fri 15 Jan 2027: {text}"
    assert await chat.command(chat.cios["MSB"], "/actions") == (
        f"Open action items:\n• A1 EPB, due Fri 15 Jan 2027: {text}")


async def test_rtl_emoji_and_injection_are_stored_as_text(chat: CouncilChat) -> None:
    """Names with RTL text, emoji and SQL-looking text are stored and shown as typed."""
    name = "وزارة 🏛️ '); DROP TABLE departments;--"
    added = await chat.command(chat.chair, f"/department RTL {name}")
    assert added.startswith(f"Department RTL added: {name}.")
    async with chat.database.uow() as uow:
        council = await uow.councils.by_chat(chat.group.id)
        assert council is not None
        stored = await uow.departments.by_code(council.id, "RTL")
    assert stored is not None
    assert stored.name == name


@settings(max_examples=25, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(command=st.sampled_from(["department", "role", "cadence", "schedule", "reschedule",
                                "cancel", "lang", "join", "next", "setup", "propose", "agenda",
                                "accept", "defer", "reject", "major", "action", "done",
                                "actions", "startmeeting", "here", "proxy", "excused", "topic",
                                "info", "idea", "agreed", "undo", "motion", "secret",
                                "circular", "vote", "close", "endmeeting", "rules", "item",
                                "guest"]),
       argument=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]),
                        max_size=300))
async def test_arbitrary_arguments_never_crash(chat: CouncilChat, command: str,
                                               argument: str) -> None:
    """Whatever follows a command, the bot answers with something other than a crash."""
    reply = await chat.command(chat.chair, f"/{command} {argument}")
    assert reply
    assert CRASHED not in reply


@settings(max_examples=25, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(argument=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]),
                        max_size=300))
async def test_arbitrary_proposals_never_crash(chat: CouncilChat, argument: str) -> None:
    """Whatever a CIO proposes is stored or refused with a reply, never a crash."""
    reply = await chat.command(chat.cios["EPB"], f"/propose {argument}")
    assert reply
    assert CRASHED not in reply


# --- the meeting and its votes ------------------------------------------------------------------

# Looks like a spreadsheet formula, a SQL injection and an ICS line; RTL text, emoji with a ZWJ.
HOSTILE = "=cmd|' /C calc'!A0 وزارة 🏛️ 👩‍💻 '); DROP TABLE notes;-- BEGIN:VEVENT"
HUGE = "x" * 100_000


@pytest.fixture
async def meeting(migrated_url: str) -> AsyncIterator[CouncilChat]:
    """Meeting S1 in progress (today, 10:30 in Shanghai; now it is 10:00), both CIOs present
    in person and named vote M1 open."""
    async with council_chat(migrated_url, cios=2) as council:
        await council.founded()
        await council.command(council.chair, "/schedule 2026-11-25 10:30 Working session")
        await council.command(council.chair, "/startmeeting")
        for cio in council.cios.values():
            await council.command(cio, "/here")
        await council.command(council.chair, "/motion Adopt the data catalogue")
        await council.settle()  # the motion remembers its message once the reply is sent
        yield council
        await live_counts(council.application).settle()


def sender(chat: CouncilChat, command: str) -> User:
    """Someone the command's act allows: the chair, or for /here and /vote the EPB CIO."""
    act = next(c.act for c in COMMANDS if c.name == command)
    if command == "here":  # the chair may answer the roll call too, but it is EPB's here
        return chat.cios["EPB"]
    return chat.chair if act is None or can(Role.CHAIR, act) else chat.cios["EPB"]


# Nothing of these is acknowledged and nothing is stored. The clock says 10:00 on 25 November
# 2026 in Shanghai, so a circular vote closes between 11:00 that day and 10:00 on 23 February.
MEETING_CASES = [
    ("/info " + HUGE, "Note is too long (100000 characters, at most 4000)."),
    ("/idea " + HUGE, "Note is too long (100000 characters, at most 4000)."),
    ("/agreed " + HUGE, "Decision is too long (100000 characters, at most 4000)."),
    ("/motion " + HUGE, "Motion is too long (100000 characters, at most 4000)."),
    ("/secret " + HUGE, "Motion is too long (100000 characters, at most 4000)."),
    ("/circular 2026-12-09 18:00 " + HUGE,
     "Motion is too long (100000 characters, at most 4000)."),
    ("/proxy MSB " + HUGE, "Proxy name is too long (100000 characters, at most 200)."),
    ("/excused MSB " + HUGE, "Reason is too long (100000 characters, at most 4000)."),
    ("/info \x00\u202e\x07", "Note is empty."),
    ("/idea \u2066\x1b\u2069", "Note is empty."),
    ("/agreed \u202a\x7f\u202c", "Decision is empty."),
    ("/motion \x00\x85", "Motion is empty."),
    ("/proxy MSB \x00\u202e", "Proxy name is empty."),
    ("/info", "Usage: /info <text>"),
    ("/idea", "Usage: /idea <text>"),
    ("/agreed", "Usage: /agreed <text>"),
    ("/motion", "Usage: /motion <text>"),
    ("/secret", "Usage: /secret <text>"),
    ("/circular", "Usage: /circular <YYYY-MM-DD HH:MM> <text>"),
    ("/circular 2026-12-09 18:00", "Usage: /circular <YYYY-MM-DD HH:MM> <text>"),
    ("/circular 2026-02-30 10:00 x", "Impossible date 2026-02-30."),
    ("/circular 2026-11-25 25:00 x", "Impossible time 25:00: use 00:00-23:59."),
    ("/circular 0001-01-01 00:00 x", "Impossible date 0001-01-01."),  # before datetime.min in UTC
    ("/circular tomorrow noon x", "Bad date/time 'tomorrow noon': use YYYY-MM-DD HH:MM."),
    ("/circular 2026-11-24 18:00 x",
     "A circular vote needs a deadline between one hour and 90 days from now."),
    ("/circular 2026-11-25 10:59 x",
     "A circular vote needs a deadline between one hour and 90 days from now."),
    ("/circular 2027-02-23 10:01 x",
     "A circular vote needs a deadline between one hour and 90 days from now."),
    ("/topic #abc", "Usage: /topic <agenda id>"),
    ("/topic ١٢", "Usage: /topic <agenda id>"),
    ("/topic 1 2", "Usage: /topic <agenda id>"),
    ("/topic", "Usage: /topic <agenda id>"),
    ("/topic 99999", "No agenda item #99999 on meeting S1."),
    ("/vote M99999999999 yes", "Usage: /vote <motion> yes|no|abstain"),
    ("/vote M-1 yes", "Usage: /vote <motion> yes|no|abstain"),
    ("/vote", "Usage: /vote <motion> yes|no|abstain"),
    ("/vote M1 perhaps", "Vote yes, no or abstain."),
    ("/vote M1 yes no", "Vote yes, no or abstain."),
    ("/vote =1+1", "Vote yes, no or abstain."),
    ("/vote M99999 yes", "No motion M99999 in this council."),
    ("/close M0", "No motion M0 in this council."),
    ("/close M1 M2", "Usage: /close [motion]"),
    ("/close 1" + "0" * 30, "Usage: /close [motion]"),
    ("/proxy XYZ Deputy Wang", "No department with code 'XYZ'."),
    ("/proxy E\x00 Deputy Wang", "Department code 'E\\x00' must be 1-16 letters or digits."),
    ("/proxy MSB", "Usage: /proxy <CODE> <name>"),
    ("/excused XYZ ill", "No department with code 'XYZ'."),
    ("/excused ABCDEFGHIJKLMNOPQ", "Department code 'ABCDEFGHIJKLMNOPQ' must be 1-16 letters "
                                   "or digits."),
    ("/excused", "Usage: /excused <CODE> [reason]"),
    ("/startmeeting Sx", "Usage: /startmeeting [meeting id]"),
    ("/startmeeting", "Meeting S1 is already in progress; end it with /endmeeting first."),
    ("/endmeeting", "Motion M1 is still open: close it with /close first."),
    ("/undo", "There is no note or decision of this meeting to undo."),
    ("/guest " + HUGE, "Guest name is too long (100000 characters, at most 120)."),
    ("/guest \x00\u202e | Tsinghua University", "Guest name is empty."),
    ("/guest Prof. Wang | " + HUGE, "Organisation is too long (100000 characters, at most 200)."),
    ("/guest | Tsinghua University", "Usage: /guest <name> [| organisation]"),
    ("/guest", "Usage: /guest <name> [| organisation]"),
    ("/item " + HUGE, "Title is too long (100000 characters, at most 200)."),
    ("/item Flood data | " + HUGE, "Description is too long (100000 characters, at most 4000)."),
    ("/item \x00\u202e | x", "Title is empty."),
    ("/item | only a description", "Usage: /item [#meeting] <title> [| description]"),
    ("/item #x Flood data", "Usage: /item [#meeting] <title> [| description]"),
    ("/item #1", "Usage: /item [#meeting] <title> [| description]"),
    ("/item #99999 Flood data", "No meeting 99999 in this council."),
    ("/item", "Usage: /item [#meeting] <title> [| description]"),
    ("/here =1+1", "CIO EPB is already marked present.\n2 of 2 departments present; quorum 2: "
                   "quorate"),
]


async def test_bad_meeting_input_gets_a_specific_reply_and_stores_nothing(
        meeting: CouncilChat, migrated_url: str) -> None:
    """Huge, empty, malformed and wrongly addressed meeting and vote commands are each answered
    with what is wrong, and the database stays as it was."""
    before = snapshot(migrated_url)
    for text, expected in MEETING_CASES:
        reply = await meeting.command(sender(meeting, text.split()[0][1:]), text)
        assert (text[:60], reply) == (text[:60], expected)
    assert snapshot(migrated_url) == before


async def test_hostile_meeting_text_is_stored_as_typed(meeting: CouncilChat) -> None:
    """Notes, decisions, motions and attendance keep RTL text, emoji, formula, SQL- and
    ICS-looking text as typed; control characters and bidi overrides are stripped."""
    chat = meeting
    assert await chat.command(chat.chair, f"/info {HOSTILE}\x00\u202e") == "Noted (info 1)."
    assert await chat.command(chat.cios["MSB"], f"/idea line\x07 one\n{HOSTILE}\u2066") == (
        "Noted (idea 2).")
    assert await chat.command(chat.chair, f"/agreed \u202d{HOSTILE}") == (
        f"Decision D1 recorded: {HOSTILE}")
    named = await chat.command(chat.chair, f"/motion {HOSTILE}\x1b")
    assert named.startswith(f"🗳 Motion M2: {HOSTILE}\n")
    circular = await chat.command(chat.chair, f"/circular 2026-12-09 18:00 {HOSTILE}")
    assert circular.startswith(f"🗳 Circular vote M3: {HOSTILE}\nCloses at Wed 9 Dec 2026, 18:00.")
    assert await chat.command(chat.chair, "/proxy EDU وزارة\u202e 🏛️ =1+1") == (
        "EDU is represented by proxy وزارة 🏛️ =1+1 at meeting S1; a proxy may not vote.")
    assert await chat.command(chat.chair, f"/excused HLTH {HOSTILE}\x00") == (
        "HLTH is excused from meeting S1.")
    await chat.settle()
    async with chat.database.uow() as uow:
        council = await uow.councils.by_chat(chat.group.id)
        assert council is not None
        notes = [(n.id, n.text) for n in await uow.notes.list(1)]
        decisions = [(d.id, d.text) for d in await uow.decisions.list(council.id)]
        motions = [(m.id, m.text) for m in await uow.motions.list(council.id)]
        attendance = {a.department_id: (a.proxy_name, a.reason)
                      for a in await uow.attendance.list(1)}
        departments = {d.code: d.id for d in await uow.departments.list(council.id)}
    assert notes == [(1, HOSTILE), (2, f"line one\n{HOSTILE}")]
    assert decisions == [(1, HOSTILE)]
    assert motions == [(1, "Adopt the data catalogue"), (2, HOSTILE), (3, HOSTILE)]
    assert attendance[departments["EDU"]] == ("وزارة 🏛️ =1+1", "")
    assert attendance[departments["HLTH"]] == ("", HOSTILE)


# Callback data a modified client can send with any button of the bot's, and the alert it gets:
# ids that do not exist, a join decision by a CIO, and data no handler's pattern takes (a wrong
# choice key, ids too long for the database's keys), which gets no answer at all.
FORGED = {
    "v:999:y": "No motion M999 in this council.",
    "h:999": "Meeting S999 is not in progress.",
    "j:999:a": "Only the chair may do this.",
    "v:1:x": None,
    "v:999999999999:n": None,
    "h:999999999999": None,
    "j:999999999999:a": None,
}


async def test_forged_button_presses_are_answered_or_ignored(meeting: CouncilChat,
                                                             migrated_url: str) -> None:
    """A forged vote, roll-call or join press gets a specific alert; data no handler takes is
    ignored; nothing crashes and nothing is stored."""
    chat = meeting
    control = chat.sandbox.control
    forged = await chat.application.bot.send_message(
        chat.group.id, "Buttons as a modified client would send them",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(data, callback_data=data)]
                                           for data in FORGED]))
    before = snapshot(migrated_url)
    queries = {data: control.press_button(chat.cios["EPB"].id, chat.group.id,
                                          forged.message_id, data=data) for data in FORGED}
    answers = {data: await control.answer_to(queries[data], timeout=10)
               for data, alert in FORGED.items() if alert is not None}
    assert {data: (a.text, a.show_alert) for data, a in answers.items()} == {
        data: (alert, True) for data, alert in FORGED.items() if alert is not None}
    await chat.settle()  # handled in order: every press is behind us
    unanswered = {data for data, query in queries.items()
                  if query not in {a.callback_query_id for a in control.callback_answers()}}
    assert unanswered == {data for data, alert in FORGED.items() if alert is None}
    assert not [m for m in control.bot_messages(chat.group.id) if CRASHED in (m.text or "")]
    assert snapshot(migrated_url) == before


# What each meeting command may answer to anything: an acknowledgement (first) or one of its
# specific errors. Anything else (a crash, a generic or unexpected reply) fails the fuzz.
_NOT_RUNNING = ("no meeting is in progress; the chair or the secretariat starts one with "
                "/startmeeting")
# User input is quoted with repr(), in single or double quotes.
_CODE = (r"department code .+ must be 1-16 letters or digits", r"no department with code .+",
         r"no meeting is scheduled")
_MOTION_ID = (r"no motion is open", r"several motions are open \(M\d+(, M\d+)*\): say which one",
              r"no motion M\d+ in this council")
REPLIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "startmeeting": (r"🏛 Meeting S\d+ is open \(.+\)\.\nRoll call: .+", (
        r"usage: /startmeeting \[meeting id\]",
        r"meeting S\d+ is already in progress; end it with /endmeeting first",
        r"no meeting S\d+ in this council", r"meeting S\d+ is [\w ]+ and cannot start",
        r"no meeting is scheduled for today; .+")),
    "here": (r"CIO EPB is (already marked )?present\.\n\d+ of \d+ departments present; quorum "
             r"\d+: (not )?quorate", ()),
    "proxy": (r"[A-Z0-9]+ is represented by proxy .+ at meeting S\d+; a proxy may not vote\.",
              (r"usage: /proxy <CODE> <name>", r"proxy name is empty",
               r"proxy name is too long \(\d+ characters, at most 200\)", *_CODE)),
    # A reason of control characters only is refused as empty, though a reason is optional.
    "excused": (r"[A-Z0-9]+ is excused from meeting S\d+\.",
                (r"usage: /excused <CODE> \[reason\]", r"reason is empty", *_CODE)),
    "topic": (r"Now discussing #\d+: .+", (
        r"usage: /topic <agenda id>", r"no agenda item #\d+ on meeting S\d+")),
    "info": (r"Noted \(info \d+\)\.", (r"usage: /info <text>", r"note is empty")),
    "idea": (r"Noted \(idea \d+\)\.", (r"usage: /idea <text>", r"note is empty")),
    "agreed": (r"Decision D\d+ recorded: .+", (r"usage: /agreed <text>", r"decision is empty")),
    "undo": (r"Removed (note |decision D)\d+: .+|Removed guest .+ from the attendance\.",
             (r"there is no note or decision of this meeting to undo",)),
    "guest": (r"Guest .+ is attending meeting S\d+; a guest does not vote\. /undo takes this "
              r"back\.", (r"usage: /guest <name> \[\| organisation\]", r"guest name is empty",
                         r"guest name is too long \(\d+ characters, at most 120\)",
                         r"organisation is empty",
                         r"organisation is too long \(\d+ characters, at most 200\)")),
    "item": (r"Agenda #\d+ added as urgent business to the meeting on .+ \(meeting S\d+\), "
             r"accepted: .+", (
                 r"usage: /item \[#meeting\] <title> \[\| description\]", r"title is empty",
                 r"title is too long \(\d+ characters, at most 200\)", r"description is empty",
                 r"no meeting \d+ in this council",
                 r"meeting S\d+ is [\w ]+; urgent business goes to a meeting that has not ended")),
    "motion": (r"🗳 Motion M\d+: .+", (r"usage: /motion <text>", r"motion is empty")),
    "secret": (r"🗳 Secret ballot M\d+: .+", (r"usage: /secret <text>", r"motion is empty")),
    "circular": (r"🗳 Circular vote M\d+: .+", (
        r"usage: /circular <YYYY-MM-DD HH:MM> <text>", r"motion is empty",
        r"bad date/time .+: use YYYY-MM-DD HH:MM", r"impossible date \d{4}-\d\d-\d\d",
        r"impossible time \d\d:\d\d: use 00:00-23:59",
        r"a circular vote needs a deadline between one hour and 90 days from now")),
    "vote": (r"Your vote on M\d+(: \w+| is now \w+ \(it was \w+\))\.", (
        r"usage: /vote <motion> yes\|no\|abstain", r"vote yes, no or abstain", *_MOTION_ID,
        r"motion M\d+ is closed", r"M\d+ is a secret ballot: vote in your private chat with me",
        r"a proxy may not vote", r"only CIOs present in person vote; mark yourself with /here")),
    "close": (r"(✅|❌) M\d+ (carried|not carried|failed: quorum not met): .+",
              (r"usage: /close \[motion\]", r"motion M\d+ is already closed", *_MOTION_ID)),
    "endmeeting": (r"🏁 Meeting S\d+ has ended\.\n.+", (
        r"motion M\d+(, M\d+)* is still open: close it with /close first",)),
}

LOCAL_NOW = NOW.astimezone(ZoneInfo("Asia/Shanghai"))  # the council's wall clock
_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)
_SHORT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
free_text = st.one_of(_TEXT, st.sampled_from([HOSTILE, "\u202e\x00", "=1+1", "a\nb"]),
                      st.tuples(st.sampled_from([HOSTILE, "\u202e", "\x00"]), _TEXT).map("".join))
ids = st.one_of(st.sampled_from(["1", "#1", "M0", "#abc", "١٢", "²", "-1", "M", "#"]),
                st.integers(0, 5).map(lambda n: f"M{n}"),  # motions that may exist
                st.integers(0, 10**12).map(str), st.integers(0, 10**12).map(lambda n: f"M{n}"),
                _SHORT)
codes = st.one_of(st.sampled_from(["EPB", "msb", "EDU", "XYZ", "E\x00", "ABCDEFGHIJKLMNOPQ"]),
                  _SHORT)
choices = st.one_of(st.sampled_from(["yes", "no", "abstain", "Y", "赞成", "perhaps", ""]), _SHORT)
local_times = st.one_of(
    # Wall-clock times from a week before now (10:00 in Shanghai) to beyond the 90 days.
    st.integers(-7 * 24 * 60, 120 * 24 * 60).map(
        lambda minutes: (LOCAL_NOW + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M")),
    st.tuples(*(st.integers(0, top) for top in (9999, 13, 32, 25, 61))).map(
        lambda t: "{:04d}-{:02d}-{:02d} {:02d}:{:02d}".format(*t)),
    _SHORT)


def joined(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*parts).map(" ".join)


MEETING_ARGUMENTS: dict[str, st.SearchStrategy[str]] = {
    "startmeeting": ids, "here": free_text, "proxy": joined(codes, free_text),
    "excused": joined(codes, free_text), "topic": ids, "info": free_text, "idea": free_text,
    "agreed": free_text, "undo": free_text, "motion": free_text, "secret": free_text,
    "guest": free_text, "item": st.one_of(free_text, joined(ids, free_text)),
    "circular": joined(local_times, free_text), "vote": joined(ids, choices), "close": ids,
    # /endmeeting takes no arguments, and ending the meeting early would leave the other
    # examples nothing to act on: MEETING_CASES covers it.
}


def classify(command: str, reply: str) -> bool:
    """Whether the reply acknowledges (True) or refuses (False); fails when it is neither."""
    acknowledged, errors = REPLIES[command]
    if re.fullmatch(acknowledged, reply, re.DOTALL):
        return True
    # The errors are written as the domain raises them; the chat makes each a sentence.
    fragment = reply[:1].lower() + reply[1:].removesuffix(".")
    assert any(re.fullmatch(error, fragment) for error in (*errors, re.escape(_NOT_RUNNING))), (
        command, reply)
    return False


async def stored_and_typed(chat: CouncilChat, command: str, argument: str, reply: str
                           ) -> tuple[str, str] | None:
    """The text the database holds for what ``reply`` acknowledged, and what was typed for it
    as it should be kept (cleaned); None for acknowledgements that keep no text."""
    words = argument.split(maxsplit=2)
    async with chat.database.uow() as uow:
        council = await uow.councils.by_chat(chat.group.id)
        assert council is not None
        if found := re.fullmatch(r"Noted \((?:info|idea) (\d+)\)\.", reply):
            # Meeting S1 is the fixture's; no other starts today.
            notes = {n.id: n.text for n in await uow.notes.list(1)}
            return notes[int(found.group(1))], clean(argument, field=Word("note"),
                                                     max_length=TEXT_MAX, multiline=True)
        if found := re.match(r"Decision D(\d+) recorded: ", reply):
            decisions = {d.id: d.text for d in await uow.decisions.list(council.id)}
            return decisions[int(found.group(1))], clean(argument, field=Word("decision"),
                                                         max_length=TEXT_MAX, multiline=True)
        if found := re.match(r"🗳 [\w ]+ M(\d+): ", reply):
            motion = await uow.motions.get(int(found.group(1)))
            assert motion is not None
            typed = words[2] if command == "circular" else argument
            return motion.text, clean(typed, field=Word("motion"), max_length=TEXT_MAX,
                                      multiline=True)
        if found := re.match(r"([A-Z0-9]+) is represented by proxy ", reply):
            department = await uow.departments.by_code(council.id, found.group(1))
            assert department is not None
            proxies = {a.department_id: a.proxy_name for a in await uow.attendance.list(1)}
            return proxies[department.id], clean(argument.split(maxsplit=1)[1], field=Word("name"))
        if reply.startswith("Guest "):
            guests = await uow.guests.list(1)
            name, _, organisation = argument.partition("|")
            stored = (guests[-1].name, guests[-1].organisation)
            return repr(stored), repr((clean(name, field=Word("name"), max_length=120),
                                       optional(organisation, field=Word("organisation"))))
        if found := re.match(r"Agenda #(\d+) added as urgent business", reply):
            item = await uow.agenda.get(int(found.group(1)))
            assert item is not None
            text = argument.strip()
            title = (text.partition(" ")[2] if text.startswith("#") else text).partition("|")[0]
            return item.title, clean(title, field=Word("title"))
    return None


async def still_kept(chat: CouncilChat, kind: str, record_id: int) -> bool:
    """Whether the note or decision ``record_id`` is still in the database."""
    async with chat.database.uow() as uow:
        if kind == "note":
            return any(n.id == record_id for n in await uow.notes.list(1))
        council = await uow.councils.by_chat(chat.group.id)
        assert council is not None
        return any(d.id == record_id for d in await uow.decisions.list(council.id))


class Rows:
    """Every row of every table, like `tests.snapshot.snapshot`, through one engine and one
    reflection of the schema for a whole fuzz run: per example they would cost more than the
    example itself."""

    def __init__(self, database_url: str) -> None:
        self.engine = sa.create_engine(sync_url(database_url))
        self.metadata = sa.MetaData()
        self.metadata.reflect(self.engine)

    def __call__(self) -> dict[str, list[tuple[object, ...]]]:
        with self.engine.connect() as connection:
            return {name: sorted(map(tuple, connection.execute(table.select())), key=repr)
                    for name, table in self.metadata.tables.items() if name not in VOLATILE}


@pytest.fixture
def rows(migrated_url: str) -> Iterator[Rows]:
    reader = Rows(migrated_url)
    yield reader
    reader.engine.dispose()


@settings(max_examples=50, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=st.sampled_from(sorted(MEETING_ARGUMENTS)).flatmap(
    lambda command: MEETING_ARGUMENTS[command].map(lambda argument: (command, argument))))
async def test_hostile_meeting_arguments_get_specific_replies(
        meeting: CouncilChat, rows: Rows, case: tuple[str, str]) -> None:
    """Whatever arguments a meeting or vote command gets, from someone allowed to use it, the
    reply is its acknowledgement or one of its specific errors; a refusal stores nothing, and
    what is acknowledged is stored as typed (controls stripped)."""
    command, argument = case
    before = rows()
    reply = await meeting.command(sender(meeting, command), f"/{command} {argument}")
    if reply.startswith("🗳"):
        await meeting.settle()  # a motion's message is remembered after the reply is sent
    acknowledged = classify(command, reply)
    # What the fuzz reached, shown by pytest --hypothesis-show-statistics.
    event(f"/{command} {'acknowledged' if acknowledged else 'refused'}")
    if not acknowledged:
        assert rows() == before
        return
    kept = await stored_and_typed(meeting, command, argument, reply)
    if kept is not None:
        stored, typed = kept
        assert stored == typed
    if found := re.match(r"Removed (note |decision D)(\d+): ", reply):
        assert not await still_kept(meeting, found.group(1).strip(), int(found.group(2)))
