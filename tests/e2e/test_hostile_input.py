"""Hostile or malformed input gets a specific reply; no handler crashes and nothing breaks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.harness import CouncilChat, council_chat

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
         "department name is too long (100000 characters, at most 200)"),
        ("/department E\x00D\x07U Education", "department code 'E\\x00D\\x07U' must be 1-16 "
                                                "letters or digits"),
        ("/department", "usage: /department <CODE> <name>"),
        ("/schedule 2027-02-30 14:30", "impossible date 2027-02-30"),
        ("/schedule 2027-01-21 25:99", "impossible time 25:99: use 00:00-23:59"),
        ("/schedule tomorrow at noon", "bad date/time 'tomorrow at': use YYYY-MM-DD HH:MM"),
        ("/reschedule 99999 2027-01-21 09:30", "no meeting 99999 in this council"),
        ("/reschedule abc 2027-01-21 09:30",
         "usage: /reschedule <meeting id> <YYYY-MM-DD HH:MM>"),
        ("/cancel 1" + "0" * 30, "usage: /cancel <meeting id>"),
        ("/cadence FREQ=SECONDLY", "FREQ=SECONDLY is more often than weekly: not a council "
                                   "series"),
        ("/role @nobody cio EPB", "I do not know @nobody yet: reply to one of their messages "
                                  "with /role, or give their numeric Telegram id"),
        ("/role @cio_epb overlord", "usage: /role <@user|id> <chair|secretary|cio|expert|"
                                    "observer> [CODE]"),
        ("/lang klingon", "language 'klingon' is not supported (en, zh)"),
        ("/accept 99999", "no agenda item #99999 in this council"),
        ("/accept #-1", "usage: /accept <agenda id>"),
        ("/major 1" + "0" * 30, "usage: /major <agenda id>"),
        ("/defer ١٢", "usage: /defer <agenda id>"),
        ("/cancel ²", "usage: /cancel <meeting id>"),
        ("/reject", "usage: /reject <agenda id>"),
        ("/agenda 99999", "no meeting 99999 in this council"),
        ("/agenda #x", "usage: /agenda [meeting id]"),
        ("/agenda", "No meeting is scheduled. The chair can set a series with /cadence."),
        ("/action EPB 2027-02-30 Publish", "impossible date 2027-02-30"),
        ("/action EPB 2026-11-24 Publish", "due date 2026-11-24 is in the past"),
        ("/action EPB tomorrow Publish", "bad due date 'tomorrow': use YYYY-MM-DD"),
        ("/action XYZ 2027-01-15 Publish", "no department with code 'XYZ'"),
        ("/action EPB 2027-01-15 " + "x" * 100_000,
         "action is too long (100000 characters, at most 4000)"),
        ("/action EPB 2027-01-15 \x00\u202e\x07", "action is empty"),
        ("/action EPB 2027-01-15", "usage: /action <CODE> <YYYY-MM-DD> <text>"),
        ("/done 99999", "no action item A99999 in this council"),
        ("/done A99999 " + "n" * 100_000, "note is too long (100000 characters, at most 4000)"),
        ("/done A-1", "usage: /done <action id> [note]"),
        ("/done ²", "usage: /done <action id> [note]"),
        ("/done 1" + "0" * 30, "usage: /done <action id> [note]"),
        ("/done", "usage: /done <action id> [note]"),
        ("/actions XYZ", "no department with code 'XYZ'"),
        ("/actions E\x00", "department code 'E\\x00' must be 1-16 letters or digits"),
        ("/actions", "No open action items."),
    ],
)
async def test_bad_input_gets_a_specific_reply(chat: CouncilChat, text: str, reply: str) -> None:
    """Each malformed command is answered with what is wrong, not a crash."""
    assert await chat.command(chat.chair, text) == reply


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("/propose " + "x" * 100_000, "title is too long (100000 characters, at most 200)"),
        ("/propose Title | " + "y" * 5000,
         "description is too long (5000 characters, at most 4000)"),
        ("/propose | only a description", "title is empty"),
        ("/propose \x00\u202e\x07 | x", "title is empty"),
        ("/propose", "usage: /propose <title> [| description]"),
        ("/propose Open data", "no upcoming meeting is scheduled to take proposals"),
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
    assert reply == f"Action A1 for EPB, due 2027-01-15: {text}"
    assert await chat.command(chat.cios["MSB"], "/actions") == (
        f"Open action items:\n• A1 EPB, due 2027-01-15: {text}")


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
                                "actions"]),
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
