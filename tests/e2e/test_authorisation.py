"""Every restricted command, from every role that may not use it and from strangers, is refused
with a reply and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.sandbox import User
from bot.telegram.app import COMMANDS
from meetings.model import Role
from meetings.permissions import can
from tests.e2e.harness import CouncilChat, council_chat
from tests.snapshot import snapshot

# Arguments that would succeed for someone allowed, so only the role decides.
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
    "action": "EPB 2027-01-15 Publish the data catalogue",
    "done": "A1",
    "actions": "EPB",
    "lang": "zh",
}
REFUSALS = {
    frozenset({Role.CIO}): "only department CIOs may do this",
    frozenset({Role.CHAIR}): "only the chair may do this",
    frozenset({Role.CHAIR, Role.SECRETARY}): "only the chair or the secretariat may do this",
    frozenset({Role.CHAIR, Role.SECRETARY, Role.CIO}):
        "only the chair, the secretariat or department CIOs may do this",
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


def people(chat: CouncilChat) -> dict[Role | None, User]:
    return {Role.CHAIR: chat.chair, Role.SECRETARY: chat.secretary, Role.CIO: chat.cios["EPB"],
            Role.EXPERT: chat.expert, Role.OBSERVER: chat.cios["EDU"], None: chat.stranger}


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
            expected = ("only council members may do this" if role is None
                        else REFUSALS[frozenset(r for r in Role if can(r, command.act))])
            assert (command.name, role, reply) == (command.name, role, expected)
            refused += 1
    # 6 office commands x 4 roles, 6 chair-only x 5, /propose x 5 (all but the CIO),
    # /done x 3 (expert, observer, stranger; the owner is checked in its use case, tested
    # below), 5 for members x 1 (the stranger)
    assert refused == 66
    assert snapshot(migrated_url) == before


async def test_allowed_roles_are_not_refused(chat: CouncilChat) -> None:
    """The secretary may schedule, a CIO propose, the chair decide on the agenda and set the
    language (the matrix's other side, with the same arguments)."""
    scheduled = await chat.command(chat.secretary, "/schedule 2027-01-21 09:30 90 Budget")
    assert scheduled.startswith("Scheduled: #")
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
            "only the chair, the secretariat or department CIOs may do this")
    assert await chat.command(chat.cios["MSB"], "/done A1") == (
        "only the owning department's CIO, the chair or the secretariat may complete action A1")
    assert snapshot(migrated_url) == before
    assert await chat.command(chat.cios["EPB"], "/done A1") == (
        "Action A1 done on time (due 2027-01-15).")
    assert (await chat.command(chat.secretary, "/action MSB 2027-01-16 Merge portals")
            ).startswith("Action A2 for MSB")
