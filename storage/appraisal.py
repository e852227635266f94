"""The appraisal's figures as SQL aggregates: four GROUP BY queries per council and period.

The people are passed in as a small derived table of tenures (department, member, [since,
until)), so each query joins every tenure to the records of its own window and counts them in
one pass; nothing is counted row by row in Python. What is counted, and why, is
`meetings.domain.appraisal`; the in-memory fake counts the same with `appraisal.cards`, and the
integration tests hold both to an independent count from raw rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Integer, Select, and_, case, func, literal, or_, text, union_all
from sqlalchemy import select as aggregate
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from meetings.domain import appraisal, model
from meetings.domain.appraisal import History, Tally, Tenure, TenureStart, Weights
from meetings.domain.model import (
    AgendaState,
    AttendanceStatus,
    JoinState,
    MotionKind,
    MotionState,
    Role,
)
from storage.mapping import to_domain
from storage.tables import (
    ActionItemRow,
    AgendaItemRow,
    AppraisalWeightsRow,
    AttendanceRow,
    AuditEventRow,
    BallotRow,
    DepartmentRow,
    JoinRequestRow,
    MeetingRow,
    MemberRow,
    MotionRow,
    SecretVoteRow,
    UTCDateTime,
)


class local_date(FunctionElement[date]):  # noqa: N801 -- reads as the SQL function it compiles to
    """The calendar date of a stored UTC instant at a fixed offset, in SQL."""

    type = Date()
    inherit_cache = True

    def __init__(self, instant: Any, offset: timedelta) -> None:
        self.minutes = int(offset.total_seconds() // 60)
        super().__init__(instant)


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: local_date, compiler: Any, **kw: Any) -> str:
    # SQLite keeps the UTC wall clock as text; date() shifts it and yields YYYY-MM-DD, which is
    # how a DATE column is stored there too, so the two compare as text correctly.
    return f"date({compiler.process(element.clauses, **kw)}, '{element.minutes:+d} minutes')"


@compiles(local_date, "postgresql")
def _local_date_postgresql(element: local_date, compiler: Any, **kw: Any) -> str:
    instant = compiler.process(element.clauses, **kw)
    return (f"CAST(({instant} AT TIME ZONE 'UTC') + INTERVAL '{element.minutes} minutes' "
            "AS DATE)")


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


_HELD = [state.value for state in appraisal.HELD]
_CHUNK = 5000  # tenures per statement, to bound its JSON parameter


class SqlAppraisal:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def weights(self, council_id: int) -> Weights:
        row = await self._session.get(AppraisalWeightsRow, council_id)
        if row is None:
            return Weights()
        return Weights(row.attendance, row.agenda, row.votes, row.actions, row.excused_neutral)

    async def set_weights(self, council_id: int, weights: Weights) -> Weights:
        row = await self._session.get(AppraisalWeightsRow, council_id)
        if row is None:
            row = AppraisalWeightsRow(council_id=council_id, attendance=0, agenda=0, votes=0,
                                      actions=0, excused_neutral=True)
            self._session.add(row)
        row.attendance, row.agenda, row.votes = weights.attendance, weights.agenda, weights.votes
        row.actions, row.excused_neutral = weights.actions, weights.excused_neutral
        await self._session.flush()
        return weights

    async def _rows(self, statement: Select[*tuple[Any, ...]]) -> Sequence[Any]:
        # SQLModel's exec() is typed for its own selects; these are SQLAlchemy's multi-column ones.
        return (await self._session.exec(statement)).all()  # type: ignore[call-overload,no-any-return]

    async def tenure_starts(self, council_id: int) -> Sequence[TenureStart]:
        return await self.starts_of([council_id])

    async def province(self, council_ids: Sequence[int], *, since: datetime, until: datetime,
                       today: date, utc_offset: timedelta) -> Sequence[Tally]:
        """Every council's tallies at once, for a whole province: the same queries as
        `tallies`, over the tenures of all the councils in a few chunks. All councils share one
        ``utc_offset``, as a province shares one time zone."""
        people = appraisal.tenures(await self.starts_of(council_ids))
        found: list[Tally] = []
        for first in range(0, len(people), _CHUNK):
            found += await self._tally(people[first:first + _CHUNK], since=since, until=until,
                                       today=today, utc_offset=utc_offset)
        return found

    async def starts_of(self, council_ids: Sequence[int]) -> list[TenureStart]:
        """`tenure_starts` of many councils at once (a province)."""
        members = aggregate(col(MemberRow.id)).where(col(MemberRow.council_id).in_(council_ids))
        firsts = union_all(
            aggregate(col(AttendanceRow.department_id), col(AttendanceRow.member_id),
                   func.min(col(MeetingRow.starts_at)))
            .join(MeetingRow, col(MeetingRow.id) == col(AttendanceRow.meeting_id))
            .where(col(MeetingRow.council_id).in_(council_ids),
                   col(AttendanceRow.department_id).is_not(None),
                   col(AttendanceRow.member_id).is_not(None))
            .group_by(col(AttendanceRow.department_id), col(AttendanceRow.member_id)),
            aggregate(col(BallotRow.department_id), col(BallotRow.member_id),
                   func.min(col(BallotRow.cast_at)))
            .where(col(BallotRow.member_id).in_(members))
            .group_by(col(BallotRow.department_id), col(BallotRow.member_id)),
            aggregate(col(SecretVoteRow.department_id), col(SecretVoteRow.member_id),
                   func.min(col(SecretVoteRow.voted_at)))
            .where(col(SecretVoteRow.member_id).in_(members))
            .group_by(col(SecretVoteRow.department_id), col(SecretVoteRow.member_id)),
            aggregate(col(AgendaItemRow.department_id), col(AgendaItemRow.proposer_id),
                   func.min(col(AgendaItemRow.proposed_at)))
            .where(col(AgendaItemRow.proposer_id).in_(members),
                   col(AgendaItemRow.department_id).is_not(None))
            .group_by(col(AgendaItemRow.department_id), col(AgendaItemRow.proposer_id)),
        ).subquery()
        found = [TenureStart(d, m, at)
                 for d, m, at in await self._rows(aggregate(firsts))
                 if d is not None and m is not None and at is not None]
        events = (await self._rows(
            aggregate(col(AuditEventRow.action), col(AuditEventRow.at), col(AuditEventRow.payload))
            .where(col(AuditEventRow.council_id).in_(council_ids),
                   col(AuditEventRow.action).in_(appraisal.CIO_ACTIONS))))
        approved = {request: (department, member) for request, department, member in (
            await self._rows(
                aggregate(col(JoinRequestRow.id), col(JoinRequestRow.department_id),
                          col(MemberRow.id))
                .join(MemberRow, and_(
                    col(MemberRow.council_id) == col(JoinRequestRow.council_id),
                    col(MemberRow.telegram_id) == col(JoinRequestRow.telegram_id)))
                .where(col(JoinRequestRow.council_id).in_(council_ids),
                       col(JoinRequestRow.state) == JoinState.APPROVED)))}
        found += appraisal.audit_starts(
            ((action, at, json.loads(payload)) for action, at, payload in events), approved)
        known = {(s.department_id, s.member_id) for s in found}
        current = (await self._rows(
            aggregate(col(MemberRow.department_id), col(MemberRow.id))
            .where(col(MemberRow.council_id).in_(council_ids),
                   col(MemberRow.role) == Role.CIO,
                   col(MemberRow.department_id).is_not(None))))
        found += [TenureStart(d, m, appraisal.BEGINNING) for d, m in current
                  if d is not None and (d, m) not in known]
        return found

    async def tallies(self, council_id: int, tenures: Sequence[Tenure], *, since: datetime,
                      until: datetime, today: date, utc_offset: timedelta) -> Sequence[Tally]:
        # The tenures name their departments, which name their council: the queries join
        # through them, so the council is implied (and a province is many councils at once).
        return await self._tally(tenures, since=since, until=until, today=today,
                                 utc_offset=utc_offset)

    def _tenure_table(self, rows: Sequence[tuple[int, int, datetime, datetime]]) -> Any:
        """The tenures as a derived table from one JSON parameter: one statement whatever their
        number (cached once compiled, no limit on bound values), read by the database's own
        JSON table function."""
        sqlite = self._session.bind.dialect.name == "sqlite"  # type: ignore[union-attr]

        def stamp(instant: datetime) -> str:
            # As each engine stores an instant: SQLite compares UTC wall-clock text.
            utc = instant.astimezone(UTC)
            return utc.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") \
                if sqlite else utc.isoformat()

        if sqlite:
            data = json.dumps([[d, m, stamp(start), stamp(end)] for d, m, start, end in rows])
            query = text("SELECT json_extract(value, '$[0]') AS department_id, "
                         "json_extract(value, '$[1]') AS member_id, "
                         "json_extract(value, '$[2]') AS since, "
                         "json_extract(value, '$[3]') AS until FROM json_each(:tenures)")
        else:
            # Typed columns (not expressions on the JSON): the planner then looks a tenure's
            # rows up through the indexes on (department, member) as for a table.
            data = json.dumps([{"department_id": d, "member_id": m, "since": stamp(start),
                                "until": stamp(end)} for d, m, start, end in rows])
            query = text("SELECT * FROM jsonb_to_recordset(CAST(:tenures AS jsonb)) AS t("
                         "department_id int, member_id int, since timestamptz, until timestamptz)")
        return (query.bindparams(tenures=data)
                .columns(department_id=Integer(), member_id=Integer(), since=UTCDateTime(),
                         until=UTCDateTime())
                .cte("tenure"))

    async def _tally(self, tenures: Sequence[Tenure], *, since: datetime, until: datetime,
                     today: date, utc_offset: timedelta) -> list[Tally]:
        windows = [(t, w) for t in tenures if (w := t.clip(since, until)) is not None]
        if not windows:
            return []
        instant = UTCDateTime()
        tenure = self._tenure_table([(t.department_id, t.member_id, start, end)
                                     for t, (start, end) in windows])
        who = (tenure.c.department_id, tenure.c.member_id)

        def inside(column: Any) -> ColumnElement[bool]:
            # The period's bounds as constants too: the planner can then range-scan the index
            # on the instant, which it cannot from the derived table's columns alone.
            return and_(column >= tenure.c.since, column < tenure.c.until,
                        column >= literal(since, instant), column < literal(until, instant))

        status = col(AttendanceRow.status)
        attendance = (
            aggregate(*who, func.count(col(MeetingRow.id)),
                   _count(status == AttendanceStatus.PRESENT),
                   _count(status == AttendanceStatus.PROXY),
                   _count(status == AttendanceStatus.EXCUSED))
            .select_from(tenure)
            .join(DepartmentRow, col(DepartmentRow.id) == tenure.c.department_id)
            .join(MeetingRow, and_(col(MeetingRow.council_id) == col(DepartmentRow.council_id),
                                   col(MeetingRow.state).in_(_HELD),
                                   inside(col(MeetingRow.starts_at))))
            .outerjoin(AttendanceRow, and_(col(AttendanceRow.meeting_id) == col(MeetingRow.id),
                                           col(AttendanceRow.department_id)
                                           == tenure.c.department_id))
            .group_by(*who))
        agenda = (
            aggregate(*who, func.count(col(AgendaItemRow.id)),
                   _count(col(AgendaItemRow.state) == AgendaState.ACCEPTED),
                   _count(col(AgendaItemRow.major).is_(True)))
            .select_from(tenure)
            .join(AgendaItemRow, and_(col(AgendaItemRow.proposer_id) == tenure.c.member_id,
                                      col(AgendaItemRow.department_id) == tenure.c.department_id,
                                      inside(col(AgendaItemRow.proposed_at))))
            .group_by(*who))
        votes = (
            aggregate(*who,
                   _count(or_(col(MotionRow.kind) == MotionKind.CIRCULAR,
                              status == AttendanceStatus.PRESENT,
                              col(BallotRow.id).is_not(None),
                              col(SecretVoteRow.motion_id).is_not(None))),
                   # A motion has ballots or (a secret one) has-voted rows, never both.
                   func.count(col(BallotRow.id)) + func.count(col(SecretVoteRow.motion_id)))
            .select_from(tenure)
            .join(DepartmentRow, col(DepartmentRow.id) == tenure.c.department_id)
            .join(MotionRow, and_(col(MotionRow.council_id) == col(DepartmentRow.council_id),
                                  col(MotionRow.state) == MotionState.CLOSED,
                                  inside(col(MotionRow.opened_at))))
            .outerjoin(AttendanceRow, and_(
                col(AttendanceRow.meeting_id) == col(MotionRow.meeting_id),
                col(AttendanceRow.department_id) == tenure.c.department_id))
            .outerjoin(BallotRow, and_(col(BallotRow.motion_id) == col(MotionRow.id),
                                       col(BallotRow.department_id) == tenure.c.department_id,
                                       col(BallotRow.member_id) == tenure.c.member_id,
                                       col(BallotRow.current).is_(True)))
            .outerjoin(SecretVoteRow, and_(
                col(SecretVoteRow.motion_id) == col(MotionRow.id),
                col(SecretVoteRow.department_id) == tenure.c.department_id,
                col(SecretVoteRow.member_id) == tenure.c.member_id))
            .group_by(*who))
        done = col(ActionItemRow.done_at)
        on_time = local_date(done, utc_offset) <= col(ActionItemRow.due)
        actions = (
            aggregate(*who, func.count(col(ActionItemRow.id)),
                   _count(and_(done.is_not(None), on_time)),
                   _count(and_(done.is_not(None), ~on_time)),
                   _count(and_(done.is_(None), col(ActionItemRow.due) >= today)),
                   _count(and_(done.is_(None), col(ActionItemRow.due) < today)))
            .select_from(tenure)
            .join(ActionItemRow, and_(col(ActionItemRow.department_id) == tenure.c.department_id,
                                      inside(col(ActionItemRow.created_at))))
            .group_by(*who))
        figures: dict[tuple[int, int], dict[str, int]] = {
            (t.department_id, t.member_id): {} for t, _ in windows}
        for statement, names in (
                (attendance, ("held", "present", "proxy", "excused")),
                (agenda, ("proposed", "accepted", "major")),
                (votes, ("eligible_votes", "votes_cast")),
                (actions, ("actions", "on_time", "late", "open", "overdue"))):
            for department_id, member_id, *counts in (await self._rows(statement)):
                figures[(department_id, member_id)].update(
                    zip(names, (int(n) for n in counts), strict=True))
        return [Tally(d, m, absent=f.get("held", 0) - f.get("present", 0) - f.get("proxy", 0)
                      - f.get("excused", 0), **f)
                for (d, m), f in figures.items()]

    async def history(self, council_id: int, *, since: datetime, until: datetime) -> History:
        def between(column: Any) -> list[ColumnElement[bool]]:
            return [column >= since, column < until]

        async def rows(row_type: Any, value_type: type[Any], *where: Any,
                       join: Any = None) -> list[Any]:
            statement = select(row_type)
            if join is not None:
                statement = statement.join(*join)
            statement = statement.where(*where).order_by(row_type.id)
            return [to_domain(r, value_type)
                    for r in await self._session.exec(statement)]

        in_council = col(MeetingRow.council_id) == council_id
        meetings = await rows(MeetingRow, model.Meeting, in_council,
                              *between(col(MeetingRow.starts_at)))
        motions = await rows(MotionRow, model.Motion, col(MotionRow.council_id) == council_id,
                             *between(col(MotionRow.opened_at)))
        meeting_ids = {m.id for m in meetings} | {m.meeting_id for m in motions if m.meeting_id}
        return History(
            meetings=meetings,
            attendance=await rows(AttendanceRow, model.Attendance,
                                  col(AttendanceRow.meeting_id).in_(meeting_ids)),
            agenda=await rows(AgendaItemRow, model.AgendaItem, in_council,
                              *between(col(AgendaItemRow.proposed_at)),
                              join=(MeetingRow, col(MeetingRow.id)
                                    == col(AgendaItemRow.meeting_id))),
            motions=motions,
            ballots=await rows(BallotRow, model.Ballot,
                               col(BallotRow.motion_id).in_([m.id for m in motions])),
            actions=await rows(ActionItemRow, model.ActionItem,
                               col(ActionItemRow.council_id) == council_id,
                               *between(col(ActionItemRow.created_at))),
            secret_votes=[model.SecretVote(r.motion_id, r.member_id, r.department_id,
                                           r.voted_at)
                          for r in await self._session.exec(
                              select(SecretVoteRow)
                              .where(col(SecretVoteRow.motion_id).in_([m.id for m in motions]))
                              .order_by(col(SecretVoteRow.motion_id),
                                        col(SecretVoteRow.department_id)))])
