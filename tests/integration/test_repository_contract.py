"""One contract for every implementation of the `meetings.ports` repositories: the unit-test fake
(tests/unit/fakes.py) and the SQL unit of work on SQLite and on PostgreSQL pass the same tests (the
same values back, in the same order, the same errors with the same messages), so what the unit
tests prove on the fake holds on the database. Where they differ, SQL is right and the fake moves.

Each step runs in a unit of work of its own, as the use cases do, and reads back through a fresh
one. Nothing here assumes ids: the fake numbers rows across tables, SQL per table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import pytest

from meetings.domain.errors import (
    AlreadyVoted,
    Duplicate,
    NotFound,
    UnknownCouncil,
    UnknownMeeting,
    UnknownMember,
    UnknownMotion,
    VotingClosed,
)
from meetings.domain.model import (
    ActionItem,
    AgendaItem,
    AgendaState,
    Attendance,
    AttendanceStatus,
    AuditEvent,
    Ballot,
    ChatPerson,
    Choice,
    Council,
    Decision,
    Department,
    FeedToken,
    Guest,
    JoinRequest,
    JoinState,
    MajorityRule,
    Meeting,
    MeetingKind,
    MeetingState,
    Member,
    Motion,
    MotionKind,
    MotionState,
    Note,
    NoteKind,
    Role,
    SecretVote,
    Series,
)
from meetings.ports import AuditEntry, NewJob, UnitOfWork
from storage import Database
from storage.jobs import DEFAULT_LEASE
from tests.unit.fakes import FakeUnitOfWork

NOW = datetime(2025, 3, 13, 6, 30, 15, 123456, tzinfo=UTC)

T = TypeVar("T")


@pytest.fixture(params=["fake", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine_name(backend: str) -> str:
    """The SQL engine behind `migrated_db` (tests/conftest.py); unused for the fake."""
    return backend


class Store:
    """One backend, as the use cases see it: a fresh unit of work for every step."""

    def __init__(self, new_uow: Callable[[], UnitOfWork]) -> None:
        self._new_uow = new_uow

    async def commit(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """Runs ``work`` in its own unit of work and commits it."""
        async with self._new_uow() as uow:
            result = await work(uow)
            await uow.commit()
        return result

    async def read(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """Runs ``work`` in a fresh unit of work that is left without a commit."""
        async with self._new_uow() as uow:
            return await work(uow)

    async def refused(self, error: type[Exception],
                      work: Callable[[UnitOfWork], Awaitable[object]]) -> Exception:
        """Runs ``work`` in its own unit of work, insisting that it raises ``error``."""
        with pytest.raises(error) as caught:
            await self.commit(work)
        return caught.value


@pytest.fixture
def store(backend: str, request: pytest.FixtureRequest) -> Store:
    if backend == "fake":
        fake = FakeUnitOfWork()  # one fake is re-entered for every unit of work, like a database
        return Store(lambda: fake)
    database: Database = request.getfixturevalue("migrated_db")
    return Store(database.uow)


@dataclass(frozen=True)
class World:
    council: Council
    environment: Department
    market: Department
    chair: Member
    cio: Member
    other_cio: Member
    meeting: Meeting
    motion: Motion


async def _world(uow: UnitOfWork) -> World:
    council = await uow.councils.add(Council(name="District CIO Committee", chat_id=-1001))
    environment = await uow.departments.add(Department(council.id, "EPB", "Environment"))
    market = await uow.departments.add(Department(council.id, "MSB", "Market Supervision"))
    chair = await uow.members.add(Member(council.id, "Chair", Role.CHAIR, telegram_id=1))
    cio = await uow.members.add(Member(council.id, "Li", Role.CIO, telegram_id=2,
                                       username="Li_EPB", department_id=environment.id))
    other_cio = await uow.members.add(Member(council.id, "Wang", Role.CIO, telegram_id=3,
                                             department_id=market.id))
    meeting = await uow.meetings.add(
        Meeting(council.id, MeetingKind.REGULAR, NOW, occurrence=date(2025, 3, 13)))
    motion = await uow.motions.add(Motion(council.id, MotionKind.NAMED, "Adopt the plan",
                                          MajorityRule.SIMPLE, 0.5, NOW, meeting_id=meeting.id))
    return World(council, environment, market, chair, cio, other_cio, meeting, motion)


@pytest.fixture
async def world(store: Store) -> World:
    return await store.commit(_world)


# --- the unit of work


async def test_leaving_without_commit_keeps_nothing(store: Store) -> None:
    """Writes in a block that ends without a commit are gone for the next unit of work."""
    async def add(uow: UnitOfWork) -> None:
        await uow.councils.add(Council(name="Forgotten"))

    await store.read(add)
    assert await store.read(lambda uow: uow.councils.by_name("Forgotten")) is None


async def test_a_refused_write_takes_the_earlier_writes_with_it(store: Store, world: World) -> None:
    """A unit of work whose later write raises `Duplicate` leaves none of its writes behind."""
    async def add_two(uow: UnitOfWork) -> None:
        await uow.departments.add(Department(world.council.id, "TRB", "Transport"))
        await uow.departments.add(Department(world.council.id, "EPB", "Again"))

    await store.refused(Duplicate, add_two)
    assert await store.read(lambda uow: uow.departments.by_code(world.council.id, "TRB")) is None


# --- councils


async def test_councils_add_get_find_list_update(store: Store) -> None:
    """A council reads back whole by id, name and chat; lists come in the order added; an
    update sticks; an unknown id is None."""
    city = await store.commit(lambda uow: uow.councils.add(
        Council(name="City", timezone="Europe/Berlin", language="zh", holiday_country="DE",
                majority_rule=MajorityRule.TWO_THIRDS, quorum=0.75, max_major_issues=3,
                agenda_call_days=10, agenda_deadline_days=2, chat_id=-2002)))
    district = await store.commit(lambda uow: uow.councils.add(Council(name="District")))
    assert await store.read(lambda uow: uow.councils.get(city.id)) == city
    assert await store.read(lambda uow: uow.councils.by_name("City")) == city
    assert await store.read(lambda uow: uow.councils.by_chat(-2002)) == city
    assert await store.read(lambda uow: uow.councils.list()) == [city, district]
    moved = replace(district, chat_id=-3003, active=False)
    assert await store.commit(lambda uow: uow.councils.update(moved)) == moved
    assert await store.read(lambda uow: uow.councils.by_chat(-3003)) == moved
    unknown = max(city.id, district.id) + 1000
    assert await store.read(lambda uow: uow.councils.get(unknown)) is None
    assert await store.read(lambda uow: uow.councils.by_name("Nowhere")) is None


async def test_council_names_and_chats_are_unique(store: Store, world: World) -> None:
    """A second council with a taken name or chat is a `Duplicate`; unbound councils (no chat)
    never collide with each other."""
    await store.refused(Duplicate, lambda uow: uow.councils.add(Council(name=world.council.name)))
    await store.refused(Duplicate, lambda uow: uow.councils.add(
        Council(name="Other", chat_id=world.council.chat_id)))
    first = await store.commit(lambda uow: uow.councils.add(Council(name="Unbound 1")))
    second = await store.commit(lambda uow: uow.councils.add(Council(name="Unbound 2")))
    await store.refused(Duplicate, lambda uow: uow.councils.update(
        replace(second, name=first.name)))
    assert [first.chat_id, second.chat_id] == [None, None]


async def test_updating_a_council_that_is_not_stored_is_refused(store: Store) -> None:
    """Updating an unknown council raises `UnknownCouncil` rather than storing it."""
    refused = await store.refused(UnknownCouncil, lambda uow: uow.councils.update(
        Council(name="Ghost", id=999_999)))
    assert str(refused) == "no council 999999"
    assert await store.read(lambda uow: uow.councils.list()) == []


# --- departments and members


async def test_departments_add_get_find_list(store: Store, world: World) -> None:
    """Departments read back by id and code, are listed per council in the order added, and
    another council may reuse a code."""
    other = await store.commit(lambda uow: uow.councils.add(Council(name="Other")))
    elsewhere = await store.commit(lambda uow: uow.departments.add(
        Department(other.id, "EPB", "Environment elsewhere")))
    assert await store.read(lambda uow: uow.departments.get(world.market.id)) == world.market
    assert await store.read(lambda uow: uow.departments.by_code(world.council.id, "MSB")) == (
        world.market)
    assert await store.read(lambda uow: uow.departments.by_code(other.id, "EPB")) == elsewhere
    assert await store.read(lambda uow: uow.departments.list(world.council.id)) == [
        world.environment, world.market]
    assert await store.read(lambda uow: uow.departments.list(other.id)) == [elsewhere]
    assert await store.read(lambda uow: uow.departments.by_code(world.council.id, "XXX")) is None


async def test_department_codes_are_unique_in_a_council(store: Store, world: World) -> None:
    """A council's second department with a taken code is a `Duplicate` naming the code."""
    refused = await store.refused(Duplicate, lambda uow: uow.departments.add(
        Department(world.council.id, "EPB", "Environment again")))
    assert str(refused) == "department code EPB already exists"


async def test_members_add_get_find_list_update(store: Store, world: World) -> None:
    """Members read back by id, Telegram id and (ignoring case) username; a person's memberships
    span councils; lists come in the order added; an update sticks."""
    other = await store.commit(lambda uow: uow.councils.add(Council(name="Other")))
    there = await store.commit(lambda uow: uow.members.add(
        Member(other.id, "Li", Role.SECRETARY, telegram_id=world.cio.telegram_id)))
    assert await store.read(lambda uow: uow.members.get(world.cio.id)) == world.cio
    assert await store.read(lambda uow: uow.members.by_telegram(world.council.id, 2)) == world.cio
    assert await store.read(lambda uow: uow.members.by_username(world.council.id, "li_epb")) == (
        world.cio)
    assert await store.read(lambda uow: uow.members.by_username(world.council.id, "nobody")) is (
        None)
    assert await store.read(lambda uow: uow.members.list(world.council.id)) == [
        world.chair, world.cio, world.other_cio]
    assert await store.read(lambda uow: uow.members.memberships(2)) == [world.cio, there]
    renamed = replace(world.chair, name="Chair Zhang", username="zhang")
    assert await store.commit(lambda uow: uow.members.update(renamed)) == renamed
    assert await store.read(lambda uow: uow.members.by_username(world.council.id, "ZHANG")) == (
        renamed)


async def test_a_member_without_a_username_is_not_found_by_an_empty_one(store: Store,
                                                                       world: World) -> None:
    """Looking up the username "" finds nobody, though the chair has no username."""
    assert world.chair.username is None
    assert await store.read(lambda uow: uow.members.by_username(world.council.id, "")) is None


async def test_one_telegram_account_is_one_member_and_one_cio_per_department(
        store: Store, world: World) -> None:
    """A Telegram id already in the council, or a second CIO for a department, is a `Duplicate`;
    members without a Telegram id or of another role never collide."""
    await store.refused(Duplicate, lambda uow: uow.members.add(
        Member(world.council.id, "Li again", Role.OBSERVER, telegram_id=2)))
    await store.refused(Duplicate, lambda uow: uow.members.add(
        Member(world.council.id, "Second CIO", Role.CIO, telegram_id=9,
               department_id=world.environment.id)))
    await store.refused(Duplicate, lambda uow: uow.members.update(
        replace(world.other_cio, department_id=world.environment.id)))
    deputy = await store.commit(lambda uow: uow.members.add(
        Member(world.council.id, "Deputy", Role.OBSERVER, department_id=world.environment.id)))
    expert = await store.commit(lambda uow: uow.members.add(
        Member(world.council.id, "Expert", Role.EXPERT)))
    assert await store.read(lambda uow: uow.members.list(world.council.id)) == [
        world.chair, world.cio, world.other_cio, deputy, expert]


async def test_one_chair_per_council(store: Store, world: World) -> None:
    """A second chair, added or promoted, is a `Duplicate` naming the rule; demoting the chair
    first and then promoting another in one unit of work hands it over."""
    added = await store.refused(Duplicate, lambda uow: uow.members.add(
        Member(world.council.id, "Second chair", Role.CHAIR, telegram_id=9)))
    assert str(added) == ("the council already has a chair: hand the chair over instead "
                          "(/role <user> chair)")
    await store.refused(Duplicate, lambda uow: uow.members.update(
        replace(world.cio, role=Role.CHAIR, department_id=None)))

    async def hand_over(uow: UnitOfWork) -> Member:
        await uow.members.update(replace(world.chair, role=Role.OBSERVER))
        return await uow.members.update(replace(world.cio, role=Role.CHAIR, department_id=None))

    chair = await store.commit(hand_over)
    assert [m for m in await store.read(lambda uow: uow.members.list(world.council.id))
            if m.role is Role.CHAIR] == [chair]


async def test_people_seen_in_the_chat(store: Store, world: World) -> None:
    """A person is stored once per council and Telegram id; a later put changes their name and
    username; a username is found in any letter case, and not in another council."""
    seen = await store.commit(lambda uow: uow.people.put(
        ChatPerson(world.council.id, 77, "Zhao Lei", "zhao_lei")))
    assert await store.read(lambda uow: uow.people.get(world.council.id, 77)) == seen
    renamed = await store.commit(lambda uow: uow.people.put(
        ChatPerson(world.council.id, 77, "Zhao Lei (EPB)", "zhaolei_gov")))
    assert renamed == replace(seen, name="Zhao Lei (EPB)", username="zhaolei_gov")
    assert await store.read(lambda uow: uow.people.by_username(world.council.id,
                                                               "ZhaoLei_Gov")) == renamed
    assert await store.read(lambda uow: uow.people.by_username(world.council.id,
                                                               "zhao_lei")) is None
    other = await store.commit(lambda uow: uow.councils.add(Council(name="Other")))
    assert await store.read(lambda uow: uow.people.get(other.id, 77)) is None
    assert await store.read(lambda uow: uow.people.by_username(other.id, "zhaolei_gov")) is None


async def test_updating_a_member_that_is_not_stored_is_refused(store: Store,
                                                               world: World) -> None:
    """Updating an unknown member raises `UnknownMember`."""
    await store.refused(UnknownMember, lambda uow: uow.members.update(
        replace(world.chair, id=999_999)))


async def test_join_requests_one_pending_per_person(store: Store, world: World) -> None:
    """A request reads back and updates; a second pending one from the same person is a
    `Duplicate`, but once the chair decided the first, the person may ask again."""
    asked = await store.commit(lambda uow: uow.join_requests.add(JoinRequest(
        world.council.id, 42, "Zhao", world.market.id, NOW, username="zhao")))
    assert await store.read(lambda uow: uow.join_requests.get(asked.id)) == asked
    waiting = await store.refused(Duplicate, lambda uow: uow.join_requests.add(JoinRequest(
        world.council.id, 42, "Zhao", world.environment.id, NOW)))
    assert str(waiting) == "your request to join is already waiting for the chair"
    refused = replace(asked, state=JoinState.DENIED, decided_at=NOW + timedelta(hours=1))
    assert await store.commit(lambda uow: uow.join_requests.update(refused)) == refused
    again = await store.commit(lambda uow: uow.join_requests.add(JoinRequest(
        world.council.id, 42, "Zhao", world.environment.id, NOW + timedelta(days=1))))
    assert await store.read(lambda uow: uow.join_requests.get(again.id)) == again
    await store.refused(NotFound, lambda uow: uow.join_requests.update(
        replace(asked, id=999_999)))


# --- the schedule


async def test_series_put_creates_then_replaces_the_one_series(store: Store,
                                                              world: World) -> None:
    """A council has no series until one is put; a second put replaces it under the same id;
    the naive local start stays naive."""
    assert await store.read(lambda uow: uow.series.get(world.council.id)) is None
    weekly = await store.commit(lambda uow: uow.series.put(Series(
        world.council.id, "FREQ=WEEKLY;BYDAY=TH",
        datetime(2025, 3, 13, 14, 30))))  # noqa: DTZ001  # wall-clock time, naive by design
    assert await store.read(lambda uow: uow.series.get(world.council.id)) == weekly
    monthly = await store.commit(lambda uow: uow.series.put(Series(
        world.council.id, "FREQ=MONTHLY;BYDAY=2TH",
        datetime(2025, 4, 10, 9, 0),  # noqa: DTZ001  # wall-clock time, naive by design
        duration_minutes=90, location="Room 3")))
    assert monthly.id == weekly.id
    stored = await store.read(lambda uow: uow.series.get(world.council.id))
    assert stored == monthly
    assert stored is not None
    assert stored.local_start.tzinfo is None


async def test_meetings_come_in_start_order_within_since_until(store: Store,
                                                               world: World) -> None:
    """Meetings list in start order whatever the order they were added in (ties by the order
    added), within [since, until); updates and deletes stick; deleting twice is harmless."""
    council = world.council.id
    later = await store.commit(lambda uow: uow.meetings.add(
        Meeting(council, MeetingKind.EXTRAORDINARY, NOW + timedelta(days=14), title="Budget")))
    earlier = await store.commit(lambda uow: uow.meetings.add(
        Meeting(council, MeetingKind.EXTRAORDINARY, NOW - timedelta(days=7), title="Kick-off")))
    tie = await store.commit(lambda uow: uow.meetings.add(
        Meeting(council, MeetingKind.EXTRAORDINARY, NOW, title="Same time")))
    assert await store.read(lambda uow: uow.meetings.list(council)) == [
        earlier, world.meeting, tie, later]
    assert await store.read(lambda uow: uow.meetings.list(council, since=NOW)) == [
        world.meeting, tie, later]
    assert await store.read(lambda uow: uow.meetings.list(
        council, since=NOW - timedelta(days=7), until=NOW)) == [earlier]
    started = replace(world.meeting, state=MeetingState.IN_PROGRESS, started_at=NOW)
    assert await store.commit(lambda uow: uow.meetings.update(started)) == started
    assert await store.read(lambda uow: uow.meetings.get(world.meeting.id)) == started
    await store.commit(lambda uow: uow.meetings.delete(tie.id))
    await store.commit(lambda uow: uow.meetings.delete(tie.id))
    assert await store.read(lambda uow: uow.meetings.get(tie.id)) is None
    assert await store.read(lambda uow: uow.meetings.list(council)) == [
        earlier, started, later]


async def test_deleting_a_meeting_takes_its_proceedings_and_detaches_its_results(
        store: Store, world: World) -> None:
    """A deleted meeting's agenda, attendance and notes go with it; its motions, decisions and
    action items stay, tied to neither the meeting nor its agenda items."""
    meeting = await store.commit(lambda uow: uow.meetings.add(
        Meeting(world.council.id, MeetingKind.EXTRAORDINARY, NOW + timedelta(days=1))))

    async def proceedings(uow: UnitOfWork) -> tuple[Motion, Decision, ActionItem]:
        item = await uow.agenda.add(AgendaItem(meeting.id, "Budget", world.cio.id,
                                               world.environment.id, NOW))
        await uow.attendance.put(Attendance(meeting.id, world.environment.id,
                                            AttendanceStatus.PRESENT, member_id=world.cio.id))
        await uow.notes.add(Note(meeting.id, NoteKind.INFO, "noted", world.chair.id, NOW,
                                 agenda_item_id=item.id))
        motion = await uow.motions.add(Motion(
            world.council.id, MotionKind.NAMED, "Adopt", MajorityRule.SIMPLE, 0.5, NOW,
            meeting_id=meeting.id, agenda_item_id=item.id))
        decision = await uow.decisions.add(Decision(
            world.council.id, "Adopted", NOW, meeting_id=meeting.id, agenda_item_id=item.id,
            motion_id=motion.id))
        action = await uow.actions.add(ActionItem(
            world.council.id, world.market.id, "Do it", date(2025, 4, 1), NOW,
            meeting_id=meeting.id))
        return motion, decision, action

    motion, decision, action = await store.commit(proceedings)
    await store.commit(lambda uow: uow.meetings.delete(meeting.id))

    async def left(uow: UnitOfWork) -> tuple[object, ...]:
        return (await uow.agenda.list(meeting.id), await uow.attendance.list(meeting.id),
                await uow.notes.list(meeting.id), await uow.motions.get(motion.id),
                await uow.decisions.list(world.council.id), await uow.actions.get(action.id))

    assert await store.read(left) == (
        [], [], [], replace(motion, meeting_id=None, agenda_item_id=None),
        [replace(decision, meeting_id=None, agenda_item_id=None)],
        replace(action, meeting_id=None))


async def test_one_meeting_per_series_occurrence(store: Store, world: World) -> None:
    """A second meeting for an occurrence is a `Duplicate` naming its date; meetings without one
    never collide."""
    refused = await store.refused(Duplicate, lambda uow: uow.meetings.add(Meeting(
        world.council.id, MeetingKind.REGULAR, NOW + timedelta(hours=1),
        occurrence=world.meeting.occurrence)))
    assert str(refused) == "the regular meeting of 2025-03-13 already exists"
    for _ in range(2):
        await store.commit(lambda uow: uow.meetings.add(
            Meeting(world.council.id, MeetingKind.EXTRAORDINARY, NOW)))
    assert len(await store.read(lambda uow: uow.meetings.list(world.council.id))) == 3


async def test_updating_a_deleted_meeting_is_refused(store: Store, world: World) -> None:
    """Updating a meeting that is no longer stored raises `UnknownMeeting`."""
    extra = await store.commit(lambda uow: uow.meetings.add(
        Meeting(world.council.id, MeetingKind.EXTRAORDINARY, NOW)))
    await store.commit(lambda uow: uow.meetings.delete(extra.id))
    refused = await store.refused(UnknownMeeting, lambda uow: uow.meetings.update(
        replace(extra, title="Moved")))
    assert str(refused) == f"no meeting {extra.id} in this council"


# --- agenda and proceedings


async def test_agenda_items_add_get_list_update(store: Store, world: World) -> None:
    """Agenda items of a meeting list in the order proposed; an update sticks."""
    def item(title: str) -> AgendaItem:
        return AgendaItem(world.meeting.id, title, world.cio.id, world.environment.id, NOW,
                          description="why")

    first = await store.commit(lambda uow: uow.agenda.add(item("Cloud migration")))
    second = await store.commit(lambda uow: uow.agenda.add(item("Data sharing")))
    assert await store.read(lambda uow: uow.agenda.get(second.id)) == second
    assert await store.read(lambda uow: uow.agenda.list(world.meeting.id)) == [first, second]
    accepted = replace(first, state=AgendaState.ACCEPTED, major=True)
    assert await store.commit(lambda uow: uow.agenda.update(accepted)) == accepted
    assert await store.read(lambda uow: uow.agenda.list(world.meeting.id)) == [accepted, second]


async def test_attendance_put_replaces_a_departments_or_a_persons_record(
        store: Store, world: World) -> None:
    """A department's second put replaces its record under the same id; people without a
    department each keep one record of their own."""
    meeting = world.meeting.id
    absent = await store.commit(lambda uow: uow.attendance.put(Attendance(
        meeting, world.environment.id, AttendanceStatus.ABSENT, reason="travel")))
    present = await store.commit(lambda uow: uow.attendance.put(Attendance(
        meeting, world.environment.id, AttendanceStatus.PRESENT, member_id=world.cio.id)))
    assert present.id == absent.id
    assert await store.read(lambda uow: uow.attendance.of_department(
        meeting, world.environment.id)) == present
    assert await store.read(lambda uow: uow.attendance.of_department(
        meeting, world.market.id)) is None
    expert = await store.commit(lambda uow: uow.members.add(
        Member(world.council.id, "Expert", Role.EXPERT)))
    first_expert = await store.commit(lambda uow: uow.attendance.put(Attendance(
        meeting, None, AttendanceStatus.PRESENT, member_id=expert.id)))
    chair = await store.commit(lambda uow: uow.attendance.put(Attendance(
        meeting, None, AttendanceStatus.PRESENT, member_id=world.chair.id)))
    left = await store.commit(lambda uow: uow.attendance.put(Attendance(
        meeting, None, AttendanceStatus.ABSENT, member_id=expert.id)))
    assert left.id == first_expert.id
    assert await store.read(lambda uow: uow.attendance.list(meeting)) == [present, left, chair]


async def test_notes_and_decisions_add_list_delete(store: Store, world: World) -> None:
    """Notes of a meeting and decisions of a council list in the order added; deleting one
    leaves the others; deleting twice is harmless."""
    async def add_note(text: str) -> Note:
        return await store.commit(lambda uow: uow.notes.add(Note(
            world.meeting.id, NoteKind.INFO, text, world.chair.id, NOW)))

    async def add_decision(text: str) -> Decision:
        return await store.commit(lambda uow: uow.decisions.add(Decision(
            world.council.id, text, NOW, meeting_id=world.meeting.id, motion_id=world.motion.id)))

    notes = [await add_note(text) for text in "abc"]
    decisions = [await add_decision(text) for text in ("Adopted", "Deferred")]
    assert await store.read(lambda uow: uow.notes.list(world.meeting.id)) == notes
    assert await store.read(lambda uow: uow.decisions.list(world.council.id)) == decisions
    for _ in range(2):
        await store.commit(lambda uow: uow.notes.delete(notes[1].id))
        await store.commit(lambda uow: uow.decisions.delete(decisions[0].id))
    assert await store.read(lambda uow: uow.notes.list(world.meeting.id)) == [notes[0], notes[2]]
    assert await store.read(lambda uow: uow.decisions.list(world.council.id)) == [decisions[1]]


async def test_guests_add_list_delete_and_go_with_their_meeting(store: Store,
                                                                world: World) -> None:
    """A meeting's invited guests list in the order added with their organisation and number;
    deleting one leaves the other (twice is harmless); a deleted meeting takes its guests."""
    async def add(name: str, seq: int) -> Guest:
        return await store.commit(lambda uow: uow.guests.add(Guest(
            world.meeting.id, name, NOW, recorded_by=world.chair.id, organisation="Tsinghua",
            seq=seq)))

    wang, zhang = await add("Prof. Wang", 1), await add("Zhang San", 2)
    assert await store.read(lambda uow: uow.guests.list(world.meeting.id)) == [wang, zhang]
    for _ in range(2):
        await store.commit(lambda uow: uow.guests.delete(zhang.id))
    assert await store.read(lambda uow: uow.guests.list(world.meeting.id)) == [wang]
    await store.commit(lambda uow: uow.meetings.delete(world.meeting.id))
    assert await store.read(lambda uow: uow.guests.list(world.meeting.id)) == []


async def test_urgent_items_and_announcement_times_are_kept(store: Store, world: World) -> None:
    """An urgent agenda item and the time a meeting was announced read back as stored."""
    announced = await store.commit(lambda uow: uow.meetings.update(
        replace(world.meeting, announced_at=NOW - timedelta(hours=30))))
    item = await store.commit(lambda uow: uow.agenda.add(AgendaItem(
        world.meeting.id, "Flood response", world.chair.id, None, NOW,
        state=AgendaState.ACCEPTED, urgent=True)))
    assert await store.read(lambda uow: uow.meetings.get(world.meeting.id)) == announced
    assert await store.read(lambda uow: uow.agenda.list(world.meeting.id)) == [item]


# --- motions and ballots


async def test_motions_add_get_lock_list_update(store: Store, world: World) -> None:
    """Motions read back by get and lock, list in the order added (only the open ones when
    asked), and keep a declared result."""
    circular = await store.commit(lambda uow: uow.motions.add(Motion(
        world.council.id, MotionKind.CIRCULAR, "Approve the budget", MajorityRule.TWO_THIRDS,
        0.6, NOW, closes_at=NOW + timedelta(days=3), chat_id=-1001, message_id=77)))
    assert await store.read(lambda uow: uow.motions.get(circular.id)) == circular
    assert await store.read(lambda uow: uow.motions.lock(circular.id)) == circular
    closed = replace(world.motion, state=MotionState.CLOSED, closed_at=NOW, eligible=2, yes=2,
                     no=0, abstain=0, passed=True, digest="d" * 64)
    assert await store.commit(lambda uow: uow.motions.update(closed)) == closed
    assert await store.read(lambda uow: uow.motions.list(world.council.id)) == [closed, circular]
    assert await store.read(lambda uow: uow.motions.list(world.council.id, open_only=True)) == [
        circular]
    assert await store.read(lambda uow: uow.motions.lock(999_999)) is None
    await store.refused(UnknownMotion, lambda uow: uow.motions.update(
        replace(circular, id=999_999)))


def _ballot(world: World, member: Member, choice: Choice, minutes: int,
            update_id: int | None = None) -> Ballot:
    assert member.department_id is not None
    return Ballot(world.motion.id, member.id, member.department_id, choice,
                  NOW + timedelta(minutes=minutes), update_id=update_id)


async def test_a_recast_supersedes_and_history_keeps_every_ballot(store: Store,
                                                                 world: World) -> None:
    """Each department has one current ballot, its latest cast; history holds every ballot in
    the order stored, the superseded ones with ``current=False``."""
    first = await store.commit(lambda uow: uow.ballots.cast(
        _ballot(world, world.cio, Choice.YES, 1)))
    other = await store.commit(lambda uow: uow.ballots.cast(
        _ballot(world, world.other_cio, Choice.NO, 2)))
    recast = await store.commit(lambda uow: uow.ballots.cast(
        _ballot(world, world.cio, Choice.ABSTAIN, 3)))
    assert (first.current, other.current, recast.current) == (True, True, True)
    motion = world.motion.id
    assert await store.read(lambda uow: uow.ballots.current(motion)) == [other, recast]
    assert await store.read(lambda uow: uow.ballots.current_of(
        motion, world.environment.id)) == recast
    assert await store.read(lambda uow: uow.ballots.history(motion)) == [
        replace(first, current=False), other, recast]


async def test_a_superseded_ballot_is_history_only(store: Store, world: World) -> None:
    """`add_superseded` stores a ballot with ``current=False`` (whatever it says) and leaves the
    department's current ballot standing."""
    standing = await store.commit(lambda uow: uow.ballots.cast(
        _ballot(world, world.cio, Choice.NO, 2, update_id=102)))
    late = await store.commit(lambda uow: uow.ballots.add_superseded(
        _ballot(world, world.cio, Choice.YES, 3, update_id=101)))
    assert late.current is False
    assert late == replace(_ballot(world, world.cio, Choice.YES, 3, update_id=101),
                           current=False, id=late.id)
    assert await store.read(lambda uow: uow.ballots.current_of(
        world.motion.id, world.environment.id)) == standing
    assert await store.read(lambda uow: uow.ballots.history(world.motion.id)) == [standing, late]
    assert await store.read(lambda uow: uow.ballots.current_of(
        world.motion.id, world.market.id)) is None


async def test_no_ballot_is_taken_on_a_closed_motion(store: Store, world: World) -> None:
    """Once the motion is closed, a cast or a superseded ballot raises `VotingClosed`, saying so,
    and the ballots stay as they were."""
    kept = await store.commit(lambda uow: uow.ballots.cast(
        _ballot(world, world.cio, Choice.YES, 1)))
    await store.commit(lambda uow: uow.motions.update(
        replace(world.motion, state=MotionState.CLOSED, closed_at=NOW)))
    refused = await store.refused(VotingClosed, lambda uow: uow.ballots.cast(
        _ballot(world, world.other_cio, Choice.NO, 2)))
    assert str(refused) == "voting on this motion has closed"
    await store.refused(VotingClosed, lambda uow: uow.ballots.add_superseded(
        _ballot(world, world.cio, Choice.NO, 3)))
    assert await store.read(lambda uow: uow.ballots.history(world.motion.id)) == [kept]


async def _secret_world(store: Store, world: World) -> Motion:
    return await store.commit(lambda uow: uow.motions.add(Motion(
        world.council.id, MotionKind.SECRET, "Name the lead department", MajorityRule.SIMPLE,
        0.5, NOW, meeting_id=world.meeting.id)))


async def test_a_secret_ballot_keeps_who_voted_apart_from_the_box(store: Store,
                                                                  world: World) -> None:
    """Casts store a has-voted row (read back by department) and add to the box's counts,
    every choice there with zero until cast; nothing read back pairs the two."""
    motion = await _secret_world(store, world)
    assert await store.read(lambda uow: uow.secret_ballots.box(motion.id)) == {
        Choice.YES: 0, Choice.NO: 0, Choice.ABSTAIN: 0}
    mine = SecretVote(motion.id, world.cio.id, world.environment.id, NOW)
    theirs = SecretVote(motion.id, world.other_cio.id, world.market.id,
                        NOW + timedelta(minutes=1))
    await store.commit(lambda uow: uow.secret_ballots.cast(theirs, Choice.NO))
    await store.commit(lambda uow: uow.secret_ballots.cast(mine, Choice.NO))
    assert await store.read(lambda uow: uow.secret_ballots.voters(motion.id)) == sorted(
        [mine, theirs], key=lambda v: v.department_id)
    assert await store.read(lambda uow: uow.secret_ballots.voted(
        motion.id, world.environment.id)) == mine
    assert await store.read(lambda uow: uow.secret_ballots.box(motion.id)) == {
        Choice.YES: 0, Choice.NO: 2, Choice.ABSTAIN: 0}
    assert await store.read(lambda uow: uow.secret_ballots.voters(world.motion.id)) == []
    assert await store.read(lambda uow: uow.ballots.history(motion.id)) == []


async def test_a_secret_vote_is_final_per_department_and_per_member(store: Store,
                                                                     world: World) -> None:
    """A second has-voted row for the department, or for the member, is refused with
    `AlreadyVoted`, and the box keeps its count."""
    motion = await _secret_world(store, world)
    await store.commit(lambda uow: uow.secret_ballots.cast(
        SecretVote(motion.id, world.cio.id, world.environment.id, NOW), Choice.YES))
    refused = await store.refused(AlreadyVoted, lambda uow: uow.secret_ballots.cast(
        SecretVote(motion.id, world.chair.id, world.environment.id, NOW), Choice.NO))
    assert str(refused) == (f"your secret vote on M{motion.id} is already in the ballot box; "
                            "a secret vote is final")
    await store.refused(AlreadyVoted, lambda uow: uow.secret_ballots.cast(
        SecretVote(motion.id, world.cio.id, world.market.id, NOW), Choice.NO))
    assert await store.read(lambda uow: uow.secret_ballots.box(motion.id)) == {
        Choice.YES: 1, Choice.NO: 0, Choice.ABSTAIN: 0}


async def test_no_secret_vote_is_taken_on_a_closed_motion(store: Store, world: World) -> None:
    """Once the secret motion is closed a cast raises `VotingClosed` and stores nothing."""
    motion = await _secret_world(store, world)
    await store.commit(lambda uow: uow.motions.update(
        replace(motion, state=MotionState.CLOSED, closed_at=NOW)))
    refused = await store.refused(VotingClosed, lambda uow: uow.secret_ballots.cast(
        SecretVote(motion.id, world.cio.id, world.environment.id, NOW), Choice.YES))
    assert str(refused) == "voting on this motion has closed"
    assert await store.read(lambda uow: uow.secret_ballots.voters(motion.id)) == []
    assert sum((await store.read(lambda uow: uow.secret_ballots.box(motion.id))).values()) == 0


# --- actions and the audit log


async def test_action_items_add_get_list_update(store: Store, world: World) -> None:
    """Action items of a council list in the order added; completing one sticks."""
    async def add(text: str) -> ActionItem:
        return await store.commit(lambda uow: uow.actions.add(ActionItem(
            world.council.id, world.market.id, text, date(2025, 4, 1), NOW,
            meeting_id=world.meeting.id)))

    items = [await add(text) for text in ("Draft the plan", "Survey the data")]
    assert await store.read(lambda uow: uow.actions.get(items[1].id)) == items[1]
    assert await store.read(lambda uow: uow.actions.list(world.council.id)) == items
    done = replace(items[0], done_at=NOW + timedelta(days=2), done_note="sent")
    assert await store.commit(lambda uow: uow.actions.update(done)) == done
    assert await store.read(lambda uow: uow.actions.list(world.council.id)) == [done, items[1]]


async def test_the_audit_log_chains_each_councils_events_in_sequence(store: Store,
                                                                     world: World) -> None:
    """Each council's events are numbered 1, 2, ... and each links to the one before;
    listing returns them in sequence order."""
    other = await store.commit(lambda uow: uow.councils.add(Council(name="Other")))

    async def append(council_id: int, action: str) -> AuditEvent:
        entry = AuditEntry(council_id, "telegram:1", action, {"n": action}, NOW)
        return await store.commit(lambda uow: uow.audit.append(entry))

    events = [await append(council_id, action) for council_id, action in [
        (world.council.id, "a"), (other.id, "x"), (world.council.id, "b"),
        (world.council.id, "c")]]
    mine = await store.read(lambda uow: uow.audit.list(world.council.id))
    assert [(e.seq, e.action) for e in mine] == [(1, "a"), (2, "b"), (3, "c")]
    assert [e.prev_hash for e in mine[1:]] == [e.hash for e in mine[:-1]]
    assert mine == [events[0], events[2], events[3]]
    assert await store.read(lambda uow: uow.audit.list(other.id)) == [events[1]]


# --- the job queue


async def test_jobs_are_enqueued_once_per_dedupe_key(store: Store) -> None:
    """A second job with a taken dedupe key is not queued, whatever its kind, even once the
    first is done."""
    def enqueue(kind: str, key: str) -> Callable[[UnitOfWork], Awaitable[bool]]:
        return lambda uow: uow.jobs.enqueue(kind=kind, dedupe_key=key, payload={}, run_at=NOW)

    assert await store.commit(enqueue("reminder", "m1:24h")) is True
    assert await store.commit(enqueue("reminder", "m1:24h")) is False
    assert await store.commit(enqueue("action", "m1:24h")) is False
    [job] = await store.commit(lambda uow: uow.jobs.claim_due(kind="reminder", now=NOW,
                                                              worker="w1"))
    await store.commit(lambda uow: uow.jobs.complete(job.id, now=NOW))
    assert await store.commit(enqueue("reminder", "m1:24h")) is False


async def test_many_jobs_are_enqueued_at_once_skipping_taken_keys(store: Store) -> None:
    """Enqueuing 1,200 jobs in one call (more than one INSERT's worth) adds those whose dedupe
    key is free, once each, in the order given, and says how many were new."""
    def job(key: str) -> NewJob:
        return NewJob(kind="reminder", dedupe_key=key, payload={"key": key}, run_at=NOW)

    assert await store.commit(lambda uow: uow.jobs.enqueue(
        kind="reminder", dedupe_key="k0005", payload={"key": "first"}, run_at=NOW)) is True
    keys = [f"k{n:04}" for n in range(1200)]

    added = await store.commit(lambda uow: uow.jobs.enqueue_all(
        [job(key) for key in keys] + [job("k0007")]))
    again = await store.commit(lambda uow: uow.jobs.enqueue_all([job(key) for key in keys]))
    claimed = await store.commit(lambda uow: uow.jobs.claim_due(kind="reminder", now=NOW,
                                                                worker="w1", limit=2000))

    assert (added, again) == (1199, 0)
    assert [j.dedupe_key for j in claimed] == ["k0005", *(k for k in keys if k != "k0005")]
    assert claimed[0].payload == {"key": "first"}


async def test_due_jobs_are_claimed_in_run_order_once_per_lease(store: Store) -> None:
    """A claim takes due jobs of its kind by run time (then age), up to the limit, counting the
    attempt; a claimed job is not handed out again until its lease has run out."""
    async def enqueue(key: str, minutes: int, kind: str = "reminder") -> None:
        await store.commit(lambda uow: uow.jobs.enqueue(
            kind=kind, dedupe_key=key, payload={"key": key, "at": [minutes]},
            run_at=NOW + timedelta(minutes=minutes)))

    await enqueue("late", -1)
    await enqueue("early", -5)
    await enqueue("future", 5)
    await enqueue("tie", -5)
    await enqueue("other kind", -9, kind="action")

    def claim(now: datetime, worker: str, limit: int = 10) -> Callable[[UnitOfWork], Awaitable[
            list[tuple[str, int, str]]]]:
        async def work(uow: UnitOfWork) -> list[tuple[str, int, str]]:
            jobs = await uow.jobs.claim_due(kind="reminder", now=now, worker=worker, limit=limit)
            return [(job.dedupe_key, job.attempts, str(job.payload["key"])) for job in jobs]
        return work

    assert await store.commit(claim(NOW, "w1", limit=2)) == [("early", 1, "early"),
                                                              ("tie", 1, "tie")]
    assert await store.commit(claim(NOW, "w2")) == [("late", 1, "late")]
    assert await store.commit(claim(NOW + DEFAULT_LEASE - timedelta(seconds=1), "w3")) == [
        ("future", 1, "future")]
    # w1 died holding "early" and "tie": past the lease they go to the next claimer.
    assert await store.commit(claim(NOW + DEFAULT_LEASE + timedelta(seconds=1), "w4")) == [
        ("early", 2, "early"), ("tie", 2, "tie"), ("late", 2, "late")]


async def test_completed_and_failed_jobs(store: Store) -> None:
    """A completed job is never handed out again; a failed one comes back at its retry time, or
    never when it was given up; the payload comes back as JSON carries it."""
    async def enqueue(key: str) -> None:
        await store.commit(lambda uow: uow.jobs.enqueue(
            kind="reminder", dedupe_key=key, payload={"key": key, "when": NOW}, run_at=NOW))

    for key in ("done", "retried", "given up"):
        await enqueue(key)
    claimed = await store.commit(lambda uow: uow.jobs.claim_due(kind="reminder", now=NOW,
                                                                worker="w1"))
    assert [job.payload for job in claimed] == [
        {"key": key, "when": str(NOW)} for key in ("done", "retried", "given up")]
    by_key = {job.dedupe_key: job.id for job in claimed}
    retry_at = NOW + timedelta(minutes=1)
    await store.commit(lambda uow: uow.jobs.complete(by_key["done"], now=NOW))
    await store.commit(lambda uow: uow.jobs.fail(by_key["retried"], now=NOW, error="429",
                                                 retry_at=retry_at))
    await store.commit(lambda uow: uow.jobs.fail(by_key["given up"], now=NOW, error="403",
                                                 retry_at=None))

    async def due_at(now: datetime) -> list[tuple[str, datetime, int]]:
        jobs = await store.commit(lambda uow: uow.jobs.claim_due(kind="reminder", now=now,
                                                                 worker="w2"))
        return [(job.dedupe_key, job.run_at, job.attempts) for job in jobs]

    assert await due_at(retry_at - timedelta(seconds=1)) == []
    assert await due_at(retry_at) == [("retried", retry_at, 2)]
    assert await due_at(retry_at + 2 * DEFAULT_LEASE) == [("retried", retry_at, 3)]


# --- calendar feed tokens


def _feed_token(world: World, digest: str, member_id: int | None) -> FeedToken:
    return FeedToken(world.council.id, digest * 64, NOW, member_id=member_id)


async def test_one_live_feed_token_per_member_and_per_council(store: Store,
                                                              world: World) -> None:
    """A second live token for the same member, or for the council, or a repeated hash, is
    refused; after a revocation a new one is accepted; other members have their own."""
    council_token = await store.commit(lambda uow: uow.feed_tokens.add(
        _feed_token(world, "a", None)))
    member_token = await store.commit(lambda uow: uow.feed_tokens.add(
        _feed_token(world, "b", world.cio.id)))
    for digest, member in (("c", None), ("d", world.cio.id), ("a", world.other_cio.id)):
        token = _feed_token(world, digest, member)

        async def add(uow: UnitOfWork, token: FeedToken = token) -> FeedToken:
            return await uow.feed_tokens.add(token)

        refused = await store.refused(Duplicate, add)
        assert str(refused) == "a calendar link exists already; reset it to get a new one"
    revoked = replace(member_token, revoked_at=NOW)
    await store.commit(lambda uow: uow.feed_tokens.update(revoked))
    await store.commit(lambda uow: uow.feed_tokens.add(_feed_token(world, "e", world.cio.id)))
    await store.commit(lambda uow: uow.feed_tokens.add(
        _feed_token(world, "f", world.other_cio.id)))
    live = await store.read(lambda uow: uow.feed_tokens.live(world.council.id, world.cio.id))
    assert live is not None
    assert live.token_hash == "e" * 64
    assert await store.read(lambda uow: uow.feed_tokens.live(world.council.id, None)) == (
        council_token)
    assert await store.read(lambda uow: uow.feed_tokens.by_hash("b" * 64)) == revoked
    assert await store.read(lambda uow: uow.feed_tokens.by_hash("z" * 64)) is None
