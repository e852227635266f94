"""The appraisal's SQL aggregates on SQLite and PostgreSQL equal a plain count of the raw rows
written here, and the domain's own count of the same records."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from meetings.domain import appraisal
from meetings.domain.appraisal import Period, Tally, Tenure, TenureStart, Weights
from meetings.domain.model import (
    ActionItem,
    AgendaItem,
    AgendaState,
    Attendance,
    AttendanceStatus,
    Ballot,
    Choice,
    Council,
    Department,
    MajorityRule,
    Meeting,
    MeetingKind,
    MeetingState,
    Member,
    Motion,
    MotionKind,
    MotionState,
    Role,
)
from storage import Database, SqlUnitOfWork
from storage.appraisal import SqlAppraisal
from storage.tables import (
    ActionItemRow,
    AgendaItemRow,
    AttendanceRow,
    BallotRow,
    MeetingRow,
    MotionRow,
)
from tests.integration.conftest import committed, read

OFFSET = timedelta(hours=8)  # Asia/Shanghai
PERIOD = Period("2026", date(2026, 1, 1), date(2026, 12, 31))
SINCE, UNTIL = PERIOD.window("Asia/Shanghai")
TODAY = date(2026, 10, 1)
HANDOVER = datetime(2026, 6, 20, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Stored:
    council: Council
    tenures: list[Tenure]


async def _random_year(uow: SqlUnitOfWork) -> Stored:
    """Three departments over 2026 (and a meeting each side of it), the first changing CIO in
    June; meetings of every state, missing attendance, changed and superseded ballots, circular
    votes, and actions done on time, at the local day's edge, late, open and overdue."""
    rng = random.Random(11)
    council = await uow.councils.add(Council(name="Appraisal Council"))
    departments = [await uow.departments.add(Department(council.id, code, name)) for code, name
                   in (("EPB", "生态环境局"), ("MSB", "=市场监管局"), ("DRC", "发改委"))]
    first = await uow.members.add(Member(council.id, "Li", Role.EXPERT,
                                         department_id=departments[0].id))
    cios = [await uow.members.add(Member(council.id, name, Role.CIO, department_id=d.id))
            for name, d in zip(("Zhao", "Wang", "Chen"), departments, strict=True)]
    tenures = [Tenure(departments[0].id, first.id, appraisal.BEGINNING, HANDOVER),
               Tenure(departments[0].id, cios[0].id, HANDOVER),
               Tenure(departments[1].id, cios[1].id, appraisal.BEGINNING),
               Tenure(departments[2].id, cios[2].id, appraisal.BEGINNING)]

    def cio_at(department: Department, at: datetime) -> Member:
        index = departments.index(department)
        return first if index == 0 and at < HANDOVER else cios[index]

    starts = [datetime(2025, 12, 31, 15, 0, tzinfo=UTC), datetime(2026, 12, 31, 17, 0, tzinfo=UTC),
              HANDOVER, *(datetime(2026, month, day, 2, 0, tzinfo=UTC)
                          for month in range(1, 13) for day in (5, 19))]
    states = [MeetingState.ENDED, MeetingState.MINUTES_APPROVED, MeetingState.CANCELLED,
              MeetingState.SCHEDULED]
    for number, starts_at in enumerate(starts):
        meeting = await uow.meetings.add(Meeting(
            council.id, MeetingKind.REGULAR, starts_at, state=rng.choices(states, [5, 5, 1, 1])[0],
            occurrence=starts_at.date() if number else None))
        for department in departments:
            status = rng.choice([*AttendanceStatus, None])
            if status is not None:
                await uow.attendance.put(Attendance(meeting.id, department.id, status,
                                                    cio_at(department, starts_at).id))
            for _ in range(rng.randint(0, 2)):
                await uow.agenda.add(AgendaItem(
                    meeting.id, "item", cio_at(department, starts_at).id, department.id,
                    starts_at - timedelta(days=rng.randint(0, 9)),
                    state=rng.choice(list(AgendaState)), major=rng.random() < 0.3))
        for _ in range(rng.randint(0, 2)):
            kind = rng.choice(list(MotionKind))
            motion = await uow.motions.add(Motion(
                council.id, kind, "motion", MajorityRule.SIMPLE, 0.5,
                starts_at + timedelta(minutes=rng.randint(0, 90)),
                meeting_id=None if kind is MotionKind.CIRCULAR else meeting.id))
            for department in departments:
                if rng.random() < 0.6:
                    voter = cio_at(department, motion.opened_at)
                    ballot = Ballot(motion.id, voter.id, department.id, Choice.NO,
                                    motion.opened_at)
                    if rng.random() < 0.3:
                        await uow.ballots.cast(ballot)  # then changed: superseded
                    await uow.ballots.cast(Ballot(motion.id, voter.id, department.id,
                                                  Choice.YES, motion.opened_at))
            if rng.random() < 0.8:  # ballots go only to open motions; most close afterwards
                await uow.motions.update(replace(motion, state=MotionState.CLOSED))
        for department in departments:
            if rng.random() < 0.5:
                due = starts_at.date() + timedelta(days=rng.randint(3, 60))
                due_end = datetime.combine(due, datetime.min.time(), tzinfo=UTC) + timedelta(
                    hours=16)  # local midnight after the due day
                done_at = rng.choice([None, due_end - timedelta(minutes=30),
                                      due_end + timedelta(minutes=30), due_end - timedelta(days=2)])
                await uow.actions.add(ActionItem(council.id, department.id, "act", due,
                                                 starts_at, done_at=done_at))
    return Stored(council, tenures)


async def _plain_count(uow: SqlUnitOfWork, council_id: int, tenures: list[Tenure]) -> list[Tally]:
    """The figures counted the plain way from every raw row of the council's tables."""
    session = uow.session
    meetings = list((await session.exec(select(MeetingRow).where(
        MeetingRow.council_id == council_id))).all())
    meeting_ids = {m.id for m in meetings}
    attendance: dict[tuple[int | None, int | None], str] = {
                  (a.meeting_id, a.department_id): a.status
                  for a in (await session.exec(select(AttendanceRow))).all()
                  if a.meeting_id in meeting_ids}
    items = [i for i in (await session.exec(select(AgendaItemRow))).all()
             if i.meeting_id in meeting_ids]
    motions = list((await session.exec(select(MotionRow).where(
        MotionRow.council_id == council_id))).all())
    ballots = [b for b in (await session.exec(select(BallotRow))).all() if b.current]
    actions = list((await session.exec(select(ActionItemRow).where(
        ActionItemRow.council_id == council_id))).all())
    result = []
    for tenure in tenures:
        start = max(tenure.starts, SINCE)
        end = UNTIL if tenure.ends is None else min(tenure.ends, UNTIL)
        d, who = tenure.department_id, tenure.member_id
        held = [m for m in meetings if m.state in ("ended", "minutes_approved")
                and start <= m.starts_at < end]
        kinds = [attendance.get((m.id, d), "absent") for m in held]
        mine = [i for i in items if i.proposer_id == who and i.department_id == d
                and start <= i.proposed_at < end]
        closed = [m for m in motions if m.state == "closed" and start <= m.opened_at < end]
        cast = {b.motion_id for b in ballots if b.department_id == d and b.member_id == who}
        eligible = [m for m in closed if m.kind == "circular" or m.id in cast
                    or attendance.get((m.meeting_id, d)) == "present"]
        assigned = [a for a in actions if a.department_id == d and start <= a.created_at < end]
        done = [(a.done_at, a.due) for a in assigned if a.done_at is not None]
        result.append(Tally(
            d, who, held=len(held), present=kinds.count("present"), proxy=kinds.count("proxy"),
            excused=kinds.count("excused"), absent=kinds.count("absent"), proposed=len(mine),
            accepted=sum(i.state == "accepted" for i in mine), major=sum(i.major for i in mine),
            eligible_votes=len(eligible), votes_cast=len([m for m in closed if m.id in cast]),
            actions=len(assigned),
            on_time=sum((at + OFFSET).date() <= due for at, due in done),
            late=sum((at + OFFSET).date() > due for at, due in done),
            open=sum(a.done_at is None and a.due >= TODAY for a in assigned),
            overdue=sum(a.done_at is None and a.due < TODAY for a in assigned)))
    return result


async def test_sql_tallies_equal_a_plain_count_of_the_raw_rows(migrated_db: Database) -> None:
    """Per person, every figure from the four aggregate queries equals the plain count and the
    domain's count of the same records; the successor's figures start at the handover."""
    stored = await committed(migrated_db, _random_year)
    council_id = stored.council.id

    async def tallies(uow: SqlUnitOfWork) -> list[Tally]:
        return list(await uow.appraisal.tallies(council_id, stored.tenures, since=SINCE,
                                                until=UNTIL, today=TODAY, utc_offset=OFFSET))

    async def domain(uow: SqlUnitOfWork) -> list[Tally]:
        history = await uow.appraisal.history(council_id, since=SINCE, until=UNTIL)
        return [c.tally for c in appraisal.cards(history, stored.tenures, since=SINCE,
                                                 until=UNTIL, today=TODAY, utc_offset=OFFSET)]

    expected = await read(migrated_db, lambda uow: _plain_count(uow, council_id, stored.tenures))
    assert expected == await read(migrated_db, tallies)
    assert expected == await read(migrated_db, domain)
    assert all(t.held > 0 and t.eligible_votes > 0 and t.actions > 0 for t in expected)
    assert sum(t.on_time for t in expected) > 0
    assert sum(t.late for t in expected) > 0


async def test_tenure_starts_come_from_first_records_and_current_cios(
        migrated_db: Database) -> None:
    """Without audit events, each person starts at their first own record; the predecessor's
    first record is before the successor's, so the tenures hand over between them."""
    stored = await committed(migrated_db, _random_year)
    starts = await read(migrated_db, lambda uow: uow.appraisal.tenure_starts(stored.council.id))
    people = appraisal.tenures(starts)
    first, second = (t for t in people if t.department_id == stored.tenures[0].department_id)
    assert (first.member_id, second.member_id) == (stored.tenures[0].member_id,
                                                   stored.tenures[1].member_id)
    assert first.ends == second.starts
    assert second.starts >= HANDOVER
    assert all(isinstance(s, TenureStart) and s.at.tzinfo is not None for s in starts)


async def test_weights_are_stored_per_council(migrated_db: Database) -> None:
    """Defaults until set; then what was set."""
    stored = await committed(migrated_db, _random_year)
    council_id = stored.council.id
    assert Weights() == await read(migrated_db, lambda uow: uow.appraisal.weights(council_id))
    chosen = Weights(50, 10, 30, 10, excused_neutral=False)
    await committed(migrated_db, lambda uow: uow.appraisal.set_weights(council_id, chosen))
    assert chosen == await read(migrated_db, lambda uow: uow.appraisal.weights(council_id))
    await committed(migrated_db, lambda uow: uow.appraisal.set_weights(council_id, Weights()))
    assert Weights() == await read(migrated_db, lambda uow: uow.appraisal.weights(council_id))


async def test_the_province_query_counts_as_the_council_one(migrated_db: Database) -> None:
    """Two councils tallied at once give each council's own tallies, in tenure order."""
    first = await committed(migrated_db, _random_year)

    async def second_council(uow: SqlUnitOfWork) -> Stored:
        council = await uow.councils.add(Council(name="Second"))
        department = await uow.departments.add(Department(council.id, "EPB", "Environment"))
        cio = await uow.members.add(Member(council.id, "Sun", Role.CIO,
                                           department_id=department.id))
        meeting = await uow.meetings.add(Meeting(council.id, MeetingKind.REGULAR,
                                                 datetime(2026, 3, 1, 2, tzinfo=UTC),
                                                 state=MeetingState.ENDED))
        await uow.attendance.put(Attendance(meeting.id, department.id, AttendanceStatus.PROXY,
                                            cio.id))
        return Stored(council, [])

    second = await committed(migrated_db, second_council)

    async def each(uow: SqlUnitOfWork) -> list[Tally]:
        found: list[Tally] = []
        for council in (first.council, second.council):
            people = appraisal.tenures(await uow.appraisal.tenure_starts(council.id))
            found += await uow.appraisal.tallies(council.id, people, since=SINCE, until=UNTIL,
                                                 today=TODAY, utc_offset=OFFSET)
        return found

    async def province(uow: SqlUnitOfWork) -> list[Tally]:
        assert isinstance(uow.appraisal, SqlAppraisal)
        return list(await uow.appraisal.province(
            [first.council.id, second.council.id], since=SINCE, until=UNTIL, today=TODAY,
            utc_offset=OFFSET))

    expected = await read(migrated_db, each)
    assert sorted(expected, key=str) == sorted(await read(migrated_db, province), key=str)
    assert any(t.proxy == 1 and t.held == 1 for t in expected)


async def test_a_returning_cio_is_tallied_for_both_tenures(migrated_db: Database) -> None:
    """Li is EPB's CIO until April and again from September, Sun in between: the store sums
    Li's two tenures into one tally (February and October), Sun has May alone, and the domain's
    cards count the same."""
    async def council_of_two(uow: SqlUnitOfWork) -> tuple[int, int, int]:
        council = await uow.councils.add(Council(name="Rotation"))
        epb = await uow.departments.add(Department(council.id, "EPB", "Environment"))
        li = await uow.members.add(Member(council.id, "Li", Role.CIO, department_id=epb.id))
        sun = await uow.members.add(Member(council.id, "Sun", Role.EXPERT))
        for month, who in ((2, li), (5, sun), (10, li)):
            meeting = await uow.meetings.add(Meeting(
                council.id, MeetingKind.REGULAR, datetime(2026, month, 12, 6, tzinfo=UTC),
                state=MeetingState.ENDED))
            await uow.attendance.put(Attendance(meeting.id, epb.id, AttendanceStatus.PRESENT,
                                                who.id))
        return council.id, li.id, sun.id

    council_id, li, sun = await committed(migrated_db, council_of_two)
    people = [Tenure(1, li, SINCE, datetime(2026, 4, 1, tzinfo=UTC)),
              Tenure(1, sun, datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC)),
              Tenure(1, li, datetime(2026, 9, 1, tzinfo=UTC))]
    epb = await read(migrated_db, lambda uow: uow.departments.by_code(council_id, "EPB"))
    assert epb is not None
    people = [replace(t, department_id=epb.id) for t in people]

    async def both(uow: SqlUnitOfWork) -> tuple[list[Tally], list[Tally]]:
        stored = await uow.appraisal.tallies(council_id, people, since=SINCE, until=UNTIL,
                                             today=TODAY, utc_offset=OFFSET)
        history = await uow.appraisal.history(council_id, since=SINCE, until=UNTIL)
        cards = appraisal.cards(history, people, since=SINCE, until=UNTIL, today=TODAY,
                                utc_offset=OFFSET)
        return sorted(stored, key=str), sorted((c.tally for c in cards), key=str)

    stored, counted = await read(migrated_db, both)
    assert stored == counted
    assert {t.member_id: (t.held, t.present) for t in stored} == {li: (2, 2), sun: (1, 1)}
