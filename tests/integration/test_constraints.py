"""The database refuses what the council's rules forbid, and says so in domain errors."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from meetings.domain.errors import (
    Duplicate,
    InvalidInput,
    InvalidState,
    NotFound,
    UnknownMeeting,
    VotingClosed,
)
from meetings.domain.model import (
    Attendance,
    AttendanceStatus,
    Ballot,
    Choice,
    Council,
    Department,
    Meeting,
    MeetingKind,
    Member,
    MotionState,
    Role,
)
from storage import Database, SqlUnitOfWork
from tests.integration.conftest import NOW, World, committed, read


async def test_duplicate_department_code_is_refused(migrated_db: Database, world: World) -> None:
    """A council cannot have two departments with one code; another council may use it."""
    with pytest.raises(Duplicate, match="department code EPB already exists"):
        await committed(migrated_db, lambda uow: uow.departments.add(
            Department(world.council.id, "EPB", "Second environment")))

    other = await committed(migrated_db, lambda uow: uow.councils.add(Council(name="Other")))
    stored = await committed(migrated_db, lambda uow: uow.departments.add(
        Department(other.id, "EPB", "Environment")))
    assert stored.code == "EPB"


async def test_duplicate_telegram_member_is_refused(migrated_db: Database, world: World) -> None:
    """One Telegram account is one member of a council."""
    with pytest.raises(Duplicate, match="Telegram user 2 is already a member"):
        await committed(migrated_db, lambda uow: uow.members.add(
            Member(world.council.id, "Li again", Role.OBSERVER, telegram_id=2)))


async def test_council_names_are_unique(migrated_db: Database, world: World) -> None:
    """Two councils never share a name, even if two instances create them at once."""
    with pytest.raises(Duplicate, match="already exists"):
        await committed(migrated_db, lambda uow: uow.councils.add(Council(name=world.council.name)))


async def test_one_cio_per_department(migrated_db: Database, world: World) -> None:
    """A department has at most one CIO; other roles may sit beside it without a department."""
    with pytest.raises(Duplicate, match="already has a CIO"):
        await committed(migrated_db, lambda uow: uow.members.add(
            Member(world.council.id, "Second CIO", Role.CIO, department_id=world.environment.id)))
    expert = await committed(migrated_db, lambda uow: uow.members.add(
        Member(world.council.id, "Expert", Role.EXPERT)))
    assert expert.department_id is None


async def test_one_meeting_per_series_occurrence(migrated_db: Database, world: World) -> None:
    """A series occurrence is held once; extraordinary meetings (no occurrence) never collide."""
    with pytest.raises(Duplicate, match="meeting of 2025-03-13"):
        await committed(migrated_db, lambda uow: uow.meetings.add(
            Meeting(world.council.id, MeetingKind.REGULAR, NOW, occurrence=date(2025, 3, 13))))

    for _ in range(2):
        await committed(migrated_db, lambda uow: uow.meetings.add(
            Meeting(world.council.id, MeetingKind.EXTRAORDINARY, NOW)))
    assert len(await read(migrated_db, lambda uow: uow.meetings.list(world.council.id))) == 3


async def test_attendance_put_replaces_the_earlier_record(migrated_db: Database,
                                                          world: World) -> None:
    """Recording a department's attendance twice keeps only the latest record."""
    excused = Attendance(world.meeting.id, world.environment.id, AttendanceStatus.EXCUSED,
                         reason="ill")
    first = await committed(migrated_db, lambda uow: uow.attendance.put(excused))
    present = Attendance(world.meeting.id, world.environment.id, AttendanceStatus.PRESENT,
                         member_id=world.cio.id)
    second = await committed(migrated_db, lambda uow: uow.attendance.put(present))

    assert second == replace(present, id=first.id)
    assert await read(migrated_db, lambda uow: uow.attendance.list(world.meeting.id)) == [second]


async def test_ballot_after_close_is_refused(migrated_db: Database, world: World) -> None:
    """Once a motion is closed the database takes no more ballots for it."""
    closed = replace(world.motion, state=MotionState.CLOSED, closed_at=NOW)
    await committed(migrated_db, lambda uow: uow.motions.update(closed))

    with pytest.raises(VotingClosed):
        await committed(migrated_db, lambda uow: uow.ballots.cast(
            Ballot(world.motion.id, world.cio.id, world.environment.id, Choice.YES, NOW)))
    assert await read(migrated_db, lambda uow: uow.ballots.history(world.motion.id)) == []


async def test_out_of_range_values_are_refused(migrated_db: Database, world: World) -> None:
    """A quorum above 100% or a meeting of no length never reaches the tables."""
    with pytest.raises(InvalidInput):
        await committed(migrated_db, lambda uow: uow.councils.add(Council(name="X", quorum=1.5)))
    with pytest.raises(InvalidInput):
        await committed(migrated_db, lambda uow: uow.meetings.add(Meeting(
            world.council.id, MeetingKind.EXTRAORDINARY, NOW, duration_minutes=0)))


async def test_references_to_missing_rows_are_refused(migrated_db: Database,
                                                      world: World) -> None:
    """A value pointing at a department that does not exist is refused, not stored dangling."""
    with pytest.raises(NotFound):
        await committed(migrated_db, lambda uow: uow.attendance.put(
            Attendance(world.meeting.id, 9999, AttendanceStatus.ABSENT)))


async def test_updating_a_missing_meeting_is_refused(migrated_db: Database, world: World) -> None:
    """Updating a meeting that was deleted says which kind of thing is missing."""
    await committed(migrated_db, lambda uow: uow.meetings.delete(world.meeting.id))

    with pytest.raises(UnknownMeeting, match=f"no meeting {world.meeting.id}"):
        await committed(migrated_db, lambda uow: uow.meetings.update(
            replace(world.meeting, starts_at=NOW + timedelta(days=1))))


async def test_a_council_has_at_most_one_chair(migrated_db: Database, world: World) -> None:
    """A second chair, added or promoted, is refused by the database, naming the rule; another
    council has its own chair; the chair changes hands by demoting, then promoting."""
    with pytest.raises(Duplicate, match="the council already has a chair"):
        await committed(migrated_db, lambda uow: uow.members.add(
            Member(world.council.id, "Second chair", Role.CHAIR, telegram_id=9)))
    with pytest.raises(Duplicate, match="the council already has a chair"):
        await committed(migrated_db, lambda uow: uow.members.update(
            replace(world.cio, role=Role.CHAIR, department_id=None)))

    other = await committed(migrated_db, lambda uow: uow.councils.add(Council(name="Other")))
    await committed(migrated_db, lambda uow: uow.members.add(
        Member(other.id, "Other chair", Role.CHAIR, telegram_id=1)))

    async def hand_over(uow: SqlUnitOfWork) -> None:
        await uow.members.update(replace(world.chair, role=Role.OBSERVER))
        await uow.members.update(replace(world.cio, role=Role.CHAIR, department_id=None))

    await committed(migrated_db, hand_over)
    members = await read(migrated_db, lambda uow: uow.members.list(world.council.id))
    assert [m.name for m in members if m.role is Role.CHAIR] == ["Li"]


async def test_postgresql_refuses_a_council_without_a_chair(migrated_db: Database, world: World,
                                                            engine_name: str) -> None:
    """On PostgreSQL (concurrent writers) the database itself refuses, at commit, a change that
    leaves a council without its chair; deleting the council with its chair is fine. SQLite
    serialises writers, so the use cases' check stands alone there."""
    if engine_name != "postgresql":
        pytest.skip("SQLite has no deferred triggers; its writers never race the use case")
    with pytest.raises(InvalidState, match="the council would be left without a chair"):
        await committed(migrated_db, lambda uow: uow.members.update(
            replace(world.chair, role=Role.OBSERVER)))
    members = await read(migrated_db, lambda uow: uow.members.list(world.council.id))
    assert [m.name for m in members if m.role is Role.CHAIR] == ["Chair"]
