"""Every restricted command and button, from every role that may not use it and from strangers, is
refused with a reply (a button with an alert) and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.sandbox import CallbackAnswer, Message, User
from bot.telegram.app import COMMANDS, live_counts
from meetings.domain.model import Role
from meetings.domain.permissions import Act, can
from tests.e2e.harness import CouncilChat, council_chat
from tests.snapshot import snapshot

# Arguments that would succeed for someone allowed, so only the role decides (the meeting's
# commands succeed in the order of MEETING_BY_ALLOWED_ROLES, on the meeting's day).
ARGUMENTS = {
    "department": "EDU Education Bureau",
    "role": "@cio_msb observer",
    "members": "",
    "cadence": "bimonthly 2TH 14:30 120",
    "schedule": "2027-01-21 09:30 90 Budget",
    "reschedule": "1 2027-01-22 09:30",
    "cancel": "1",
    "next": "",
    "propose": "Open data platform | a shared catalogue",
    "agenda": "1",
    "accept": "1",
    "defer": "#1",
    "reject": "1",
    "major": "1",
    "item": "Flood-season data sharing | raised this morning",
    "action": "EPB 2027-01-15 Publish the data catalogue",
    "done": "A1",
    "actions": "EPB",
    "lang": "zh",
    "rules": "quorum 2/3",
    "calendar": "",
    "startmeeting": "",
    "here": "",
    "proxy": "MSB Deputy Director Liu",
    "excused": "EDU travelling abroad",
    "guest": "Prof. Wang | Tsinghua University",
    "topic": "#1",
    "info": "Three bureaus already publish their data sets",
    "idea": "Publish the catalogue as open data",
    "agreed": "Adopt the catalogue schema",
    "undo": "",
    "motion": "Fund the catalogue from the shared budget",
    "secret": "Appoint the catalogue's data steward",
    "circular": "2026-12-09 18:00 Approve the catalogue licence",
    "vote": "M1 yes",
    "close": "M1",
    "endmeeting": "",
    "appraisal": "2026",
    "minutes": "",
    "approve": "",
    "template": "",
}
REFUSALS = {
    frozenset({Role.CIO}): "Only department CIOs may do this.",
    frozenset({Role.CHAIR}): "Only the chair may do this.",
    frozenset({Role.CHAIR, Role.SECRETARY}): "Only the chair or the secretariat may do this.",
    frozenset({Role.CHAIR, Role.SECRETARY, Role.CIO}):
        "Only the chair, the secretariat or department CIOs may do this.",
}


@pytest.fixture
async def chat(migrated_url: str) -> AsyncIterator[CouncilChat]:
    async with council_chat(migrated_url, cios=3) as council:
        await council.founded()
        await council.command(council.chair, f"/role {council.cios['EDU'].id} observer")
        await council.command(council.chair, "/schedule 2027-01-20 09:30 Kick-off")
        # Agenda item #1, and a later meeting for it to be deferred to.
        await council.command(council.chair, "/schedule 2027-03-17 09:30 Follow-up")
        await council.command(council.cios["EPB"], "/propose Shared data catalogue")
        # Action A1, owned by EPB: only its CIO and the office may complete it.
        await council.command(council.secretary, "/action EPB 2027-01-15 Publish the catalogue")
        yield council


@pytest.fixture
async def meeting_day(migrated_url: str) -> AsyncIterator[CouncilChat]:
    """09:30 on the day of meeting S1 (Monday 30 November 2026, 10:00 in Shanghai), whose
    agenda item #1 the chair accepted while proposals were open; the meeting has not started."""
    async with council_chat(migrated_url, cios=3) as council:
        await council.founded()
        await council.command(council.chair, f"/role {council.cios['EDU'].id} observer")
        await council.command(council.chair, "/schedule 2026-11-30 10:00 Working session")
        await council.command(council.cios["EPB"], "/propose Shared data catalogue")
        await council.command(council.chair, "/accept 1")
        council.clock.at = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
        yield council


def people(chat: CouncilChat) -> dict[Role | None, User]:
    return {Role.CHAIR: chat.chair, Role.SECRETARY: chat.secretary, Role.CIO: chat.cios["EPB"],
            Role.EXPERT: chat.expert, Role.OBSERVER: chat.cios["EDU"], None: chat.stranger}


def refusal(role: Role | None, act: Act) -> str:
    """The sentence that refuses ``act`` to ``role``: it names the roles that may."""
    if role is None:
        return "Only council members may do this."
    return REFUSALS[frozenset(r for r in Role if can(r, act))]


async def test_restricted_commands_refuse_every_wrong_role(chat: CouncilChat,
                                                           migrated_url: str) -> None:
    """Each refusal is the sentence for the command's roles; the database stays as it was."""
    before = snapshot(migrated_url)
    refused = 0
    for command in COMMANDS:
        if command.act is None:
            continue
        for role, user in people(chat).items():
            if can(role, command.act):
                continue
            reply = await chat.command(user, f"/{command.name} {ARGUMENTS[command.name]}")
            expected = refusal(role, command.act)
            assert (command.name, role, reply) == (command.name, role, expected)
            refused += 1
    # 15 office commands x 4 roles (CIO, expert, observer, stranger), 12 for the chair alone
    # x 5, /propose and /vote x 5 (all but the CIO),
    # /done and /appraisal x 3 (expert, observer, stranger; the owner of an action and of a
    # card is checked in its use case), 10 for every member x 1 (the stranger; /rules among
    # them, whose change only the chair may make, which its use case checks, and /here, which
    # every member answers)
    assert refused == 60 + 60 + 10 + 3 + 3 + 10 == 146
    assert snapshot(migrated_url) == before


async def test_allowed_roles_are_not_refused(chat: CouncilChat) -> None:
    """The secretary may schedule, a CIO propose, the chair decide on the agenda and set the
    language (the matrix's other side, with the same arguments)."""
    scheduled = await chat.command(chat.secretary, "/schedule 2027-01-21 09:30 90 Budget")
    assert scheduled.startswith("Scheduled: S")
    proposed = await chat.command(chat.cios["EPB"], f"/propose {ARGUMENTS['propose']}")
    assert proposed.startswith("Agenda #2 proposed for the meeting on")
    assert await chat.command(chat.chair, "/major 1") == (
        "Agenda #1 is a major issue: Shared data catalogue")
    assert (await chat.command(chat.chair, "/defer #1")).startswith("Agenda #1 deferred to")
    assert await chat.command(chat.chair, "/reject 2") == (
        "Agenda #2 rejected: Open data platform")
    assert await chat.command(chat.chair, "/lang zh") == "语言已设置为中文。"


async def test_only_the_owner_and_the_office_complete_an_action(chat: CouncilChat,
                                                                migrated_url: str) -> None:
    """Members who neither own the item nor run the office are refused, and nothing changes."""
    before = snapshot(migrated_url)
    for user in (chat.expert, chat.cios["EDU"]):  # an expert and an observer
        assert await chat.command(user, "/done A1") == (
            "Only the chair, the secretariat or department CIOs may do this.")
    assert await chat.command(chat.cios["MSB"], "/done A1") == (
        "Only the owning department's CIO, the chair or the secretariat may complete action A1.")
    assert snapshot(migrated_url) == before
    assert await chat.command(chat.cios["EPB"], "/done A1") == (
        "Action A1 done on time (due Fri 15 Jan 2027).")
    assert (await chat.command(chat.secretary, "/action MSB 2027-01-16 Merge portals")
            ).startswith("Action A2 for MSB")


# The bot's buttons: the act a press needs, the command whose reply carries the button, and
# its callback data there (meeting S1's roll call, motion M1).
BUTTONS = {"✋ Here": (Act.MARK_HERE, "startmeeting", "h:1"),
           "Yes": (Act.VOTE, "motion", "v:1:y")}


async def press(chat: CouncilChat, user: User, message: Message, label: str) -> CallbackAnswer:
    control = chat.sandbox.control
    query = control.press_button(user.id, message.chat.id, message.message_id, text=label)
    return await control.answer_to(query, timeout=10)


async def test_restricted_buttons_refuse_every_wrong_role(meeting_day: CouncilChat,
                                                          migrated_url: str) -> None:
    """A press of the vote or roll-call button by a role that may not vote or answer the roll
    call is refused with the sentence as an alert; the database stays as it was."""
    chat = meeting_day
    carrying = {"startmeeting": await chat.driver.ask(chat.secretary, "/startmeeting")}
    assert await chat.command(chat.cios["EPB"], "/here") == (
        "CIO EPB is present.\n1 of 2 departments present; quorum 2: not quorate")
    carrying["motion"] = await chat.driver.ask(chat.chair, f"/motion {ARGUMENTS['motion']}")
    await chat.settle()  # the motion remembers its message once the reply is sent
    before = snapshot(migrated_url)
    refused = 0
    for label, (act, command, data) in BUTTONS.items():
        for role, user in people(chat).items():
            if can(role, act):
                continue
            answer = await press(chat, user, carrying[command], label)
            assert (label, role, answer.data, answer.text, answer.show_alert) == (
                label, role, data, refusal(role, act), True)
            refused += 1
    # Vote: chair, secretary, expert, observer, stranger; roll call: the stranger (every
    # member answers it).
    assert refused == 5 + 1
    assert snapshot(migrated_url) == before
    # The other side: those allowed are answered without an alert.
    here = await press(chat, chat.expert, carrying["startmeeting"], "✋ Here")
    assert (here.text, here.show_alert) == ("You are marked present.", False)
    voted = await press(chat, chat.cios["EPB"], carrying["motion"], "Yes")
    assert (voted.text, voted.show_alert) == ("Your vote on M1: Yes.", False)
    await live_counts(chat.application).settle()


def typed(name: str) -> str:
    """The command as a member types it, with the arguments of the matrix."""
    return f"/{name} {ARGUMENTS[name]}".rstrip()


MEETING_COMMANDS = {"startmeeting", "here", "proxy", "excused", "guest", "item", "topic", "info",
                    "idea", "agreed", "undo", "motion", "secret", "circular", "vote", "close",
                    "endmeeting"}
# A meeting from start to end, each step by a role the matrix allows: (role, text, the first
# line of the reply).
MEETING_BY_ALLOWED_ROLES = [
    (Role.SECRETARY, typed("startmeeting"), "🏛 Meeting S1 is open (Mon 30 Nov 2026, 10:00)."),
    (Role.CIO, typed("here"), "CIO EPB is present."),
    (Role.EXPERT, typed("here"), "Zhou Min is present."),
    (Role.OBSERVER, typed("here"), "CIO EDU is present."),
    (Role.SECRETARY, typed("guest"), "Guest Prof. Wang (Tsinghua University) is attending "
                                     "meeting S1; a guest does not vote. /undo takes this back."),
    (Role.SECRETARY, typed("item"), "Agenda #2 added as urgent business to the meeting on Mon 30 "
                                    "Nov 2026, 10:00 (meeting S1), accepted: Flood-season data "
                                    "sharing"),
    (Role.SECRETARY, typed("proxy"),
     "MSB is represented by proxy Deputy Director Liu at meeting S1; a proxy may not vote."),
    (Role.CHAIR, typed("excused"), "EDU is excused from meeting S1."),
    (Role.SECRETARY, typed("topic"), "Now discussing #1: Shared data catalogue"),
    (Role.OBSERVER, typed("info"), "Noted (info 1)."),
    (Role.EXPERT, typed("idea"), "Noted (idea 2)."),
    (Role.CHAIR, typed("agreed"), "Decision D1 recorded: Adopt the catalogue schema"),
    (Role.SECRETARY, typed("undo"), "Removed decision D1: Adopt the catalogue schema"),
    (Role.CHAIR, typed("motion"), "🗳 Motion M1: Fund the catalogue from the shared budget"),
    (Role.CHAIR, typed("secret"), "🗳 Secret ballot M2: Appoint the catalogue's data steward"),
    (Role.CHAIR, typed("circular"), "🗳 Circular vote M3: Approve the catalogue licence"),
    (Role.CIO, typed("vote"), "Your vote on M1: Yes."),
    # One vote of the two member departments (EDU's CIO is an observer now): no quorum.
    (Role.CHAIR, typed("close"), "❌ M1 failed: quorum not met: Fund the catalogue from the "
                                 "shared budget"),
    # The meeting's votes must be closed before it ends; nobody voted on the secret ballot.
    (Role.CHAIR, "/close M2", "❌ M2 failed: quorum not met: Appoint the catalogue's data "
                              "steward"),
    (Role.SECRETARY, typed("endmeeting"), "🏁 Meeting S1 has ended."),
]


async def test_meeting_commands_are_not_refused_to_allowed_roles(
        meeting_day: CouncilChat) -> None:
    """Every meeting and vote command works for a role the matrix allows, with the same
    arguments the refusals use (the matrix's other side)."""
    acts = {command.name: command.act for command in COMMANDS}
    covered = set()
    for role, text, first_line in MEETING_BY_ALLOWED_ROLES:
        name = text.split()[0].removeprefix("/")
        act = acts[name]
        assert act is not None
        assert can(role, act), (role, name)
        reply = await meeting_day.command(people(meeting_day)[role], text)
        assert (text, reply.split("\n")[0]) == (text, first_line)
        covered.add(name)
    assert covered == MEETING_COMMANDS
    await live_counts(meeting_day.application).settle()
