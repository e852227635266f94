"""Every repository stores its values and reads them back unchanged, through a fresh session."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from meetings.domain.model import (
    ActionItem,
    AgendaItem,
    AgendaState,
    Attendance,
    AttendanceStatus,
    Ballot,
    Choice,
    Council,
    Decision,
    Department,
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
    Series,
)
from meetings.ports import AuditEntry
from storage import Database
from tests.integration.conftest import NOW, World, committed, read

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def test_councils_round_trip(migrated_db: Database) -> None:
    """Every council field survives storage; lookups by name and chat find it; updates stick."""
    council = Council(name="区首席信息官委员会", timezone="Europe/Berlin", language="zh",
                      holiday_country="DE", majority_rule=MajorityRule.TWO_THIRDS, quorum=2 / 3,
                      max_major_issues=3, agenda_call_days=21, agenda_deadline_days=5,
                      chat_id=-1_001_234_567_890)
    stored = await committed(migrated_db, lambda uow: uow.councils.add(council))

    assert stored == replace(council, id=stored.id)
    assert await read(migrated_db, lambda uow: uow.councils.get(stored.id)) == stored
    assert await read(migrated_db, lambda uow: uow.councils.by_name(council.name)) == stored
    assert await read(migrated_db, lambda uow: uow.councils.by_chat(council.chat_id or 0)) == stored
    assert await read(migrated_db, lambda uow: uow.councils.list()) == [stored]

    renamed = replace(stored, name="Renamed", chat_id=None)
    await committed(migrated_db, lambda uow: uow.councils.update(renamed))
    assert await read(migrated_db, lambda uow: uow.councils.get(stored.id)) == renamed


async def test_departments_and_members_round_trip(migrated_db: Database, world: World) -> None:
    """Departments and members are stored whole; members are found by Telegram id and, ignoring
    case, by username."""
    council_id = world.council.id
    admin = await committed(migrated_db,
                            lambda uow: uow.departments.add(Department(council_id, "ADM", "Admin")))
    member = Member(council_id, "Zhao", Role.EXPERT, telegram_id=7_123_456_789,
                    username="Zhao_Expert", department_id=admin.id)
    stored = await committed(migrated_db, lambda uow: uow.members.add(member))

    departments = await read(migrated_db, lambda uow: uow.departments.list(council_id))
    assert [d.code for d in departments] == ["EPB", "MSB", "ADM"]
    assert await read(migrated_db, lambda uow: uow.departments.by_code(council_id, "ADM")) == admin
    assert await read(migrated_db, lambda uow: uow.departments.get(admin.id)) == admin
    assert stored == replace(member, id=stored.id)
    assert await read(migrated_db, lambda uow: uow.members.get(stored.id)) == stored
    assert await read(migrated_db,
                      lambda uow: uow.members.by_telegram(council_id, 7_123_456_789)) == stored
    assert await read(migrated_db,
                      lambda uow: uow.members.by_username(council_id, "zhao_expert")) == stored

    promoted = replace(stored, role=Role.SECRETARY, department_id=None)
    await committed(migrated_db, lambda uow: uow.members.update(promoted))
    members = await read(migrated_db, lambda uow: uow.members.list(council_id))
    assert members == [world.chair, world.cio, world.other_cio, promoted]


async def test_series_put_creates_then_replaces(migrated_db: Database, world: World) -> None:
    """A council has one series; its naive local start stays naive."""
    council_id = world.council.id
    series = Series(council_id, "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TH",
                    datetime(2025, 1, 9, 14, 30),  # noqa: DTZ001  # wall-clock time, naive by design
                    duration_minutes=90, location="Room 301")
    assert await read(migrated_db, lambda uow: uow.series.get(council_id)) is None

    first = await committed(migrated_db, lambda uow: uow.series.put(series))
    second = await committed(migrated_db,
                             lambda uow: uow.series.put(replace(series, location="Room 5")))

    assert first == replace(series, id=first.id)
    assert second == replace(series, location="Room 5", id=first.id)
    assert await read(migrated_db, lambda uow: uow.series.get(council_id)) == second


async def test_meetings_round_trip_in_utc(migrated_db: Database, world: World) -> None:
    """Meeting times come back as aware UTC whatever zone they were given in; lists honour
    [since, until) in start order; updates and deletes stick."""
    council_id = world.council.id
    local = datetime(2025, 5, 8, 14, 30, tzinfo=SHANGHAI)
    extraordinary = Meeting(council_id, MeetingKind.EXTRAORDINARY, local, duration_minutes=45,
                            title="Budget", location="Hall", state=MeetingState.AGENDA_OPEN,
                            moved_reason="holiday")
    stored = await committed(migrated_db, lambda uow: uow.meetings.add(extraordinary))
    fetched = await read(migrated_db, lambda uow: uow.meetings.get(stored.id))

    assert fetched == replace(extraordinary, id=stored.id)
    assert fetched is not None
    assert fetched.starts_at.tzinfo is UTC
    assert fetched.starts_at.hour == 6

    listed = await read(migrated_db, lambda uow: uow.meetings.list(council_id))
    assert [m.id for m in listed] == [world.meeting.id, stored.id]
    window = await read(migrated_db, lambda uow: uow.meetings.list(
        council_id, since=NOW + timedelta(microseconds=1), until=local + timedelta(hours=1)))
    assert [m.id for m in window] == [stored.id]
    assert await read(migrated_db, lambda uow: uow.meetings.list(
        council_id, since=NOW, until=local)) == [world.meeting]

    cancelled = replace(fetched, state=MeetingState.CANCELLED)
    await committed(migrated_db, lambda uow: uow.meetings.update(cancelled))
    assert await read(migrated_db, lambda uow: uow.meetings.get(stored.id)) == cancelled
    await committed(migrated_db, lambda uow: uow.meetings.delete(stored.id))
    assert await read(migrated_db, lambda uow: uow.meetings.get(stored.id)) is None


async def test_agenda_attendance_notes_round_trip(migrated_db: Database, world: World) -> None:
    """Agenda items, attendance and notes of a meeting are stored and listed in order."""
    meeting_id = world.meeting.id
    item = AgendaItem(meeting_id, "Cloud migration", world.cio.id, world.environment.id, NOW,
                      description="Phase 2 | 第二阶段", state=AgendaState.ACCEPTED, major=True)
    stored_item = await committed(migrated_db, lambda uow: uow.agenda.add(item))
    proxy = Attendance(meeting_id, world.market.id, AttendanceStatus.PROXY,
                       member_id=world.other_cio.id, proxy_name="Deputy Sun", reason="travel")
    stored_proxy = await committed(migrated_db, lambda uow: uow.attendance.put(proxy))
    note = Note(meeting_id, NoteKind.IDEA, "Use the shared platform", world.cio.id,
                NOW + timedelta(minutes=5), agenda_item_id=stored_item.id)
    stored_note = await committed(migrated_db, lambda uow: uow.notes.add(note))

    assert await read(migrated_db, lambda uow: uow.agenda.get(stored_item.id)) == replace(
        item, id=stored_item.id)
    assert await read(migrated_db, lambda uow: uow.agenda.list(meeting_id)) == [stored_item]
    assert await read(migrated_db, lambda uow: uow.attendance.list(meeting_id)) == [
        replace(proxy, id=stored_proxy.id)]
    assert await read(migrated_db, lambda uow: uow.notes.list(meeting_id)) == [
        replace(note, id=stored_note.id)]

    deferred = replace(stored_item, state=AgendaState.DEFERRED, major=False)
    await committed(migrated_db, lambda uow: uow.agenda.update(deferred))
    assert await read(migrated_db, lambda uow: uow.agenda.get(stored_item.id)) == deferred


async def test_motions_ballots_decisions_round_trip(migrated_db: Database, world: World) -> None:
    """A circular motion, its ballots and the decision it produced are stored faithfully."""
    council_id = world.council.id
    motion = Motion(council_id, MotionKind.CIRCULAR, "Approve the budget", MajorityRule.ABSOLUTE,
                    0.75, NOW, closes_at=NOW + timedelta(days=3))
    stored_motion = await committed(migrated_db, lambda uow: uow.motions.add(motion))
    ballot = Ballot(stored_motion.id, world.cio.id, world.environment.id, Choice.ABSTAIN, NOW)
    stored_ballot = await committed(migrated_db, lambda uow: uow.ballots.cast(ballot))
    closed = replace(stored_motion, state=MotionState.CLOSED, closed_at=NOW + timedelta(days=1))
    await committed(migrated_db, lambda uow: uow.motions.update(closed))
    decision = Decision(council_id, "Budget approved", NOW + timedelta(days=1),
                        motion_id=stored_motion.id)
    stored_decision = await committed(migrated_db, lambda uow: uow.decisions.add(decision))

    assert stored_motion == replace(motion, id=stored_motion.id)
    assert await read(migrated_db, lambda uow: uow.motions.get(stored_motion.id)) == closed
    assert await read(migrated_db, lambda uow: uow.ballots.current(stored_motion.id)) == [
        replace(ballot, id=stored_ballot.id)]
    assert await read(migrated_db, lambda uow: uow.decisions.list(council_id)) == [
        replace(decision, id=stored_decision.id)]


async def test_recast_keeps_history(migrated_db: Database, world: World) -> None:
    """A department's later ballot becomes its current one; the earlier stays as history."""
    motion_id = world.motion.id
    first = Ballot(motion_id, world.cio.id, world.environment.id, Choice.NO, NOW)
    other = Ballot(motion_id, world.other_cio.id, world.market.id, Choice.YES, NOW)
    second = replace(first, choice=Choice.YES, cast_at=NOW + timedelta(minutes=1))
    for ballot in (first, other, second):
        async with migrated_db.uow() as uow:
            await uow.ballots.cast(ballot)
            await uow.commit()

    current = await read(migrated_db, lambda uow: uow.ballots.current(motion_id))
    history = await read(migrated_db, lambda uow: uow.ballots.history(motion_id))

    assert [(b.department_id, b.choice) for b in current] == [
        (world.market.id, Choice.YES), (world.environment.id, Choice.YES)]
    assert [(b.choice, b.current) for b in history] == [
        (Choice.NO, False), (Choice.YES, True), (Choice.YES, True)]


async def test_action_items_round_trip(migrated_db: Database, world: World) -> None:
    """Action items keep their due date and completion."""
    council_id = world.council.id
    later = ActionItem(council_id, world.market.id, "Publish data", date(2025, 6, 30), NOW)
    sooner = ActionItem(council_id, world.environment.id, "Draft plan", date(2025, 4, 1), NOW,
                        meeting_id=world.meeting.id)
    stored_later = await committed(migrated_db, lambda uow: uow.actions.add(later))
    stored_sooner = await committed(migrated_db, lambda uow: uow.actions.add(sooner))
    done = replace(stored_sooner, done_at=NOW + timedelta(days=10), done_note="sent")
    await committed(migrated_db, lambda uow: uow.actions.update(done))

    assert await read(migrated_db, lambda uow: uow.actions.get(stored_sooner.id)) == done
    assert await read(migrated_db, lambda uow: uow.actions.list(council_id)) == [
        replace(later, id=stored_later.id), done]


async def test_audit_log_round_trip(migrated_db: Database, world: World) -> None:
    """Appending assigns the next sequence number and links each event to the one before."""
    entry = AuditEntry(world.council.id, "tg:1", "motion.open", {"motion": 1, "text": "开会"}, NOW)
    first = await committed(migrated_db, lambda uow: uow.audit.append(entry))
    second = await committed(migrated_db, lambda uow: uow.audit.append(
        replace(entry, action="motion.close", at=NOW + timedelta(hours=1))))

    events = await read(migrated_db, lambda uow: uow.audit.list(world.council.id))

    assert events == [first, second]
    assert [e.seq for e in events] == [1, 2]
    assert second.prev_hash == first.hash
    assert first.payload == '{"motion":1,"text":"开会"}'
