"""Membership rules in the use cases: exactly one chair, handed over in one step; the people the
bot has seen in the chat; usernames and ids the command line takes; private reachability."""

from __future__ import annotations

import pytest

from meetings import usecases
from meetings.domain.errors import Duplicate, InvalidInput, InvalidState, UnknownMember
from meetings.domain.model import Council, Member, Role
from meetings.domain.reminders import ReminderKind
from meetings.usecases.councils import Person
from tests.unit.conftest import COUNCIL_CHAT, SET_UP_AT
from tests.unit.fakes import FakeUnitOfWork

CLI = usecases.common.Operator()


def chairs(uow: FakeUnitOfWork) -> list[str]:
    return [m.name for m in uow.rows("members") if m.role is Role.CHAIR]


async def test_giving_someone_the_chair_hands_it_over(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member]) -> None:
    """`/role <user> chair` makes them the chair and the outgoing chair an observer, in one
    transaction; a CIO who takes the chair leaves their department without a CIO."""
    change = await usecases.councils.set_role(uow, council.id, member_ref="tg:12", role=Role.CHAIR,
                                              actor=people["chair"], now=SET_UP_AT)
    assert (change.member.name, change.member.role, change.member.department_id) == (
        "EPB", Role.CHAIR, None)
    assert change.former_chair is not None
    assert (change.former_chair.name, change.former_chair.role) == ("chair", Role.OBSERVER)
    assert change.vacated is not None
    assert change.vacated.code == "EPB"
    assert chairs(uow) == ["EPB"]
    assert [e.action for e in uow.rows("audit")][-2:] == ["chair.hand_over", "member.role"]


async def test_the_only_chair_is_never_demoted(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member]) -> None:
    """Setting the chair to another role, or the chair asking to join as a CIO, is refused:
    the council would have no chair."""
    with pytest.raises(InvalidState, match="chair is the council's chair: a council always has"):
        await usecases.councils.set_role(uow, council.id, member_ref="tg:10",
                                         role=Role.SECRETARY, actor=CLI, now=SET_UP_AT)
    with pytest.raises(InvalidState, match="hand the chair over"):
        await usecases.councils.request_join(uow, council.id, code="EPB", telegram_id=10,
                                             name="chair", username=None, now=SET_UP_AT)
    assert chairs(uow) == ["chair"]


async def test_a_second_chair_is_refused(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member]) -> None:
    """`member add --role chair` when the council has a chair says so and names the chair."""
    with pytest.raises(Duplicate, match="the council already has a chair, chair: hand the chair"):
        await usecases.councils.add_member(uow, council.id, name="Second", role=Role.CHAIR,
                                           actor=CLI, now=SET_UP_AT, telegram_id=99)
    assert chairs(uow) == ["chair"]


async def test_the_store_refuses_two_chairs(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member]) -> None:
    """Even bypassing the use cases, the store keeps at most one chair per council."""
    async with uow:
        with pytest.raises(Duplicate, match="already has a chair"):
            await uow.members.add(Member(council.id, "Second", Role.CHAIR))


async def test_a_person_seen_in_the_chat_is_found_by_username(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member]) -> None:
    """Once someone has sent anything the bot saw in the group, `/role @username` adds them;
    the username they change to is the one that works after."""
    await usecases.councils.identify(uow, chat_id=COUNCIL_CHAT, telegram_id=77, private=False,
                                     person=Person(77, "Zhao Lei", "zhao_lei"))
    await usecases.councils.identify(uow, chat_id=COUNCIL_CHAT, telegram_id=77, private=False,
                                     person=Person(77, "Zhao Lei", "zhaolei_gov"))
    with pytest.raises(UnknownMember, match="I have not seen '@zhao_lei' in the council's chat"):
        await usecases.councils.set_role(uow, council.id, member_ref="@zhao_lei",
                                         role=Role.EXPERT, actor=CLI, now=SET_UP_AT)
    change = await usecases.councils.set_role(uow, council.id, member_ref="@ZhaoLei_gov",
                                              role=Role.EXPERT, actor=CLI, now=SET_UP_AT)
    assert (change.added, change.member.telegram_id, change.member.name,
            change.member.username) == (True, 77, "Zhao Lei", "zhaolei_gov")


async def test_seeing_someone_writes_only_when_something_changed(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member]) -> None:
    """The sender is identified on every update; the store is written only for a new person,
    a changed name or username, or a member's new username."""
    commits = uow.commits
    seen = Person(77, "Zhao Lei", "zhao_lei")
    for _ in range(3):
        await usecases.councils.identify(uow, chat_id=COUNCIL_CHAT, telegram_id=77,
                                         private=False, person=seen)
    assert uow.commits == commits + 1
    sender = await usecases.councils.identify(uow, chat_id=COUNCIL_CHAT, telegram_id=12,
                                              private=False, person=Person(12, "EPB", "epb_cio"))
    assert sender.member is not None
    assert sender.member.username == "epb_cio"
    assert uow.commits == commits + 2


@pytest.mark.parametrize(("fields", "message"), [
    ({"username": "chen jing"}, "username 'chen jing' is not a Telegram username: 5-32"),
    ({"username": "@li"}, "username 'li' is not a Telegram username"),
    ({"telegram_id": -5}, "Telegram user id -5 is not valid: a person's id is a positive"),
    ({"telegram_id": 12}, "Telegram user 12 is already a member of this council: EPB"),
])
async def test_the_command_line_refuses_bad_identities(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member],
        fields: dict[str, object], message: str) -> None:
    """A username Telegram would not allow, a negative id or someone's id is refused, saying
    which rule was broken."""
    with pytest.raises((InvalidInput, Duplicate), match=message):
        await usecases.councils.add_member(uow, council.id, name="Zhao", role=Role.OBSERVER,
                                           actor=CLI, now=SET_UP_AT, **fields)  # type: ignore[arg-type]  # the parametrised fields


async def test_a_duplicate_username_is_refused_by_name(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member]) -> None:
    """Two members never share a @username (in any letter case); the error names the holder."""
    await usecases.councils.add_member(uow, council.id, name="Chen Jing", role=Role.OBSERVER,
                                       actor=CLI, now=SET_UP_AT, username="chen_jing")
    with pytest.raises(Duplicate, match="@Chen_Jing is already the username of a member of "
                                        "this council: Chen Jing"):
        await usecases.councils.add_member(uow, council.id, name="Other", role=Role.OBSERVER,
                                           actor=CLI, now=SET_UP_AT, username="@Chen_Jing")


async def test_writing_privately_makes_a_member_reachable(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member]) -> None:
    """A member who writes to the bot privately (Start) can be written to; a bounce reports
    them to the secretariat once, until they start the bot again."""
    assert not people["EPB"].private_chat
    await usecases.councils.identify(uow, chat_id=12, telegram_id=12, private=True,
                                     person=Person(12, "EPB"))
    member = await _member(uow, 12)
    assert member.private_chat

    async def bounce() -> bool:
        return await usecases.outbox.report_unreachable(uow, council_id=council.id,
                                                        telegram_id=12, now=SET_UP_AT)

    assert [await bounce(), await bounce()] == [True, False]
    assert not (await _member(uow, 12)).private_chat
    notices = [job for job in uow.rows("jobs")
               if job.payload.get("kind") == ReminderKind.UNREACHABLE.value]
    assert len(notices) == 1
    delivered = await usecases.outbox.claim_deliveries(uow, now=SET_UP_AT, worker="w", limit=5)
    assert [(d.kind, d.chat_id, d.member and d.member.name) for d in delivered] == [
        (ReminderKind.UNREACHABLE, COUNCIL_CHAT, "EPB")]
    await usecases.councils.identify(uow, chat_id=12, telegram_id=12, private=True,
                                     person=Person(12, "EPB"))
    assert await bounce() is True


async def _member(uow: FakeUnitOfWork, telegram_id: int) -> Member:
    found = next(m for m in uow.rows("members") if m.telegram_id == telegram_id)
    assert isinstance(found, Member)
    return found
