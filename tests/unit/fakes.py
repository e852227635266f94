"""In-memory implementations of `meetings.ports` for unit tests: small, queryable, transactional."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

from meetings.domain.audit import seal
from meetings.domain.errors import Duplicate, VotingClosed
from meetings.domain.minutes import MinutesRevision, MinutesTemplate
from meetings.domain.model import (
    ActionItem,
    AgendaItem,
    Attendance,
    AuditEvent,
    Ballot,
    Council,
    Decision,
    Department,
    JoinRequest,
    JoinState,
    Meeting,
    Member,
    Motion,
    MotionState,
    Note,
    Series,
)
from meetings.ports import AuditEntry, Job

Row = TypeVar("Row", bound=Any)


@dataclass
class Tables:
    rows: dict[str, dict[int, Any]] = field(default_factory=dict)
    next_id: int = 1

    def table(self, name: str) -> dict[int, Any]:
        return self.rows.setdefault(name, {})


class _Repo:
    name = ""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    @property
    def _rows(self) -> dict[int, Any]:
        return self._uow.live.table(self.name)

    def _insert(self, row: Row) -> Row:
        stored = replace(row, id=self._uow.live.next_id)
        self._uow.live.next_id += 1
        self._rows[stored.id] = stored
        return stored

    def _update(self, row: Row) -> Row:
        assert row.id in self._rows, f"{self.name} {row.id} not stored"
        self._rows[row.id] = row
        return row

    def _where(self, test: Callable[[Any], bool]) -> list[Any]:
        return [row for row in self._rows.values() if test(row)]

    async def get(self, row_id: int) -> Any:
        return self._rows.get(row_id)

    async def update(self, row: Row) -> Row:
        return self._update(row)


class _Councils(_Repo):
    name = "councils"

    async def add(self, council: Council) -> Council:
        return self._insert(council)

    async def by_name(self, name: str) -> Council | None:
        return next(iter(self._where(lambda c: c.name == name)), None)

    async def by_chat(self, chat_id: int) -> Council | None:
        return next(iter(self._where(lambda c: c.chat_id == chat_id)), None)

    async def list(self) -> Sequence[Council]:
        return self._where(lambda _: True)


class _Departments(_Repo):
    name = "departments"

    async def add(self, department: Department) -> Department:
        if await self.by_code(department.council_id, department.code):
            raise Duplicate(f"department code {department.code} exists")
        return self._insert(department)

    async def by_code(self, council_id: int, code: str) -> Department | None:
        found = self._where(lambda d: d.council_id == council_id and d.code == code)
        return next(iter(found), None)

    async def list(self, council_id: int) -> Sequence[Department]:
        return self._where(lambda d: d.council_id == council_id)


class _Members(_Repo):
    name = "members"

    async def add(self, member: Member) -> Member:
        if member.telegram_id is not None and await self.by_telegram(
                member.council_id, member.telegram_id):
            raise Duplicate("telegram id exists")
        return self._insert(member)

    async def by_telegram(self, council_id: int, telegram_id: int) -> Member | None:
        found = self._where(lambda m: m.council_id == council_id and m.telegram_id == telegram_id)
        return next(iter(found), None)

    async def by_username(self, council_id: int, username: str) -> Member | None:
        found = self._where(lambda m: m.council_id == council_id
                            and (m.username or "").lower() == username.lower())
        return next(iter(found), None)

    async def list(self, council_id: int) -> Sequence[Member]:
        return self._where(lambda m: m.council_id == council_id)

    async def memberships(self, telegram_id: int) -> Sequence[Member]:
        return self._where(lambda m: m.telegram_id == telegram_id)


class _JoinRequests(_Repo):
    name = "join_requests"

    async def add(self, request: JoinRequest) -> JoinRequest:
        if self._where(lambda r: (r.council_id, r.telegram_id, r.state)
                       == (request.council_id, request.telegram_id, JoinState.PENDING)):
            raise Duplicate("your request to join is already waiting for the chair")
        return self._insert(request)


class _Jobs(_Repo):
    """Jobs as dicts; claims and completion are visible to tests through `rows("jobs")`."""

    name = "jobs"

    async def enqueue(self, *, kind: str, dedupe_key: str, payload: dict[str, object],
                      run_at: datetime) -> bool:
        if self._where(lambda j: j.dedupe_key == dedupe_key):
            return False
        self._insert(Job(id=0, kind=kind, dedupe_key=dedupe_key, payload=dict(payload),
                         run_at=run_at, attempts=0))
        return True

    async def claim_due(self, *, kind: str, now: datetime, worker: str,
                        limit: int = 10) -> Sequence[Job]:
        done = self._uow.live.table("jobs_done")
        due = sorted((j for j in self._rows.values()
                      if j.kind == kind and j.run_at <= now and j.id not in done
                      and j.id not in self._uow.live.table("jobs_claimed")),
                     key=lambda j: (j.run_at, j.id))[:limit]
        for job in due:
            self._uow.live.table("jobs_claimed")[job.id] = worker
            self._rows[job.id] = replace(job, attempts=job.attempts + 1)
        return [self._rows[job.id] for job in due]

    async def complete(self, job_id: int, *, now: datetime) -> None:
        self._uow.live.table("jobs_done")[job_id] = now

    async def fail(self, job_id: int, *, now: datetime, error: str,
                   retry_at: datetime | None) -> None:
        self._uow.live.table("jobs_claimed").pop(job_id, None)
        if retry_at is None:
            self._uow.live.table("jobs_done")[job_id] = now
        else:
            self._rows[job_id] = replace(self._rows[job_id], run_at=retry_at)


class _Series(_Repo):
    name = "series"

    async def get(self, council_id: int) -> Series | None:
        return next(iter(self._where(lambda s: s.council_id == council_id)), None)

    async def put(self, series: Series) -> Series:
        existing = await self.get(series.council_id)
        if existing:
            return self._update(replace(series, id=existing.id))
        return self._insert(series)


class _Meetings(_Repo):
    name = "meetings"

    async def add(self, meeting: Meeting) -> Meeting:
        same = (meeting.council_id, meeting.occurrence)
        if meeting.occurrence is not None and self._where(
                lambda m: (m.council_id, m.occurrence) == same):
            raise Duplicate(f"occurrence {meeting.occurrence} exists")
        return self._insert(meeting)

    async def list(self, council_id: int, *, since: datetime | None = None,
                   until: datetime | None = None) -> Sequence[Meeting]:
        found = self._where(lambda m: m.council_id == council_id
                            and (since is None or m.starts_at >= since)
                            and (until is None or m.starts_at < until))
        return sorted(found, key=lambda m: (m.starts_at, m.id))

    async def delete(self, meeting_id: int) -> None:
        del self._rows[meeting_id]


class _Agenda(_Repo):
    name = "agenda"

    async def add(self, item: AgendaItem) -> AgendaItem:
        return self._insert(item)

    async def list(self, meeting_id: int) -> Sequence[AgendaItem]:
        return self._where(lambda i: i.meeting_id == meeting_id)


class _Attendance(_Repo):
    name = "attendance"

    async def put(self, attendance: Attendance) -> Attendance:
        def same(a: Attendance) -> bool:
            if attendance.department_id is None:
                return (a.meeting_id, a.department_id, a.member_id) == (
                    attendance.meeting_id, None, attendance.member_id)
            return (a.meeting_id, a.department_id) == (attendance.meeting_id,
                                                       attendance.department_id)

        for row in self._where(same):
            return self._update(replace(attendance, id=row.id))
        return self._insert(attendance)

    async def list(self, meeting_id: int) -> Sequence[Attendance]:
        return self._where(lambda a: a.meeting_id == meeting_id)

    async def of_department(self, meeting_id: int, department_id: int) -> Attendance | None:
        return next(iter(self._where(lambda a: (a.meeting_id, a.department_id)
                                     == (meeting_id, department_id))), None)


class _Notes(_Repo):
    name = "notes"

    async def add(self, note: Note) -> Note:
        return self._insert(note)

    async def list(self, meeting_id: int) -> Sequence[Note]:
        return self._where(lambda n: n.meeting_id == meeting_id)

    async def delete(self, note_id: int) -> None:
        del self._rows[note_id]


class _Decisions(_Repo):
    name = "decisions"

    async def add(self, decision: Decision) -> Decision:
        return self._insert(decision)

    async def list(self, council_id: int) -> Sequence[Decision]:
        return self._where(lambda d: d.council_id == council_id)

    async def delete(self, decision_id: int) -> None:
        del self._rows[decision_id]


class _Motions(_Repo):
    name = "motions"

    async def add(self, motion: Motion) -> Motion:
        return self._insert(motion)

    async def lock(self, motion_id: int) -> Motion | None:
        return await self.get(motion_id)  # type: ignore[no-any-return]

    async def list(self, council_id: int, *, open_only: bool = False) -> Sequence[Motion]:
        return self._where(lambda m: m.council_id == council_id
                           and (not open_only or m.state is MotionState.OPEN))


class _Ballots(_Repo):
    name = "ballots"

    async def cast(self, ballot: Ballot) -> Ballot:
        motion = self._uow.live.table("motions").get(ballot.motion_id)
        if motion is None or motion.state is not MotionState.OPEN:
            raise VotingClosed(f"motion M{ballot.motion_id} is closed")
        for old in self._where(lambda b: b.motion_id == ballot.motion_id and b.current and (
                b.department_id == ballot.department_id or b.member_id == ballot.member_id)):
            self._update(replace(old, current=False))
        return self._insert(replace(ballot, current=True))

    async def add_superseded(self, ballot: Ballot) -> Ballot:
        motion = self._uow.live.table("motions").get(ballot.motion_id)
        if motion is None or motion.state is not MotionState.OPEN:
            raise VotingClosed(f"motion M{ballot.motion_id} is closed")
        return self._insert(replace(ballot, current=False))

    async def current(self, motion_id: int) -> Sequence[Ballot]:
        return self._where(lambda b: b.motion_id == motion_id and b.current)

    async def current_of(self, motion_id: int, department_id: int) -> Ballot | None:
        return next(iter(self._where(lambda b: b.motion_id == motion_id and b.current
                                     and b.department_id == department_id)), None)

    async def history(self, motion_id: int) -> Sequence[Ballot]:
        return sorted(self._where(lambda b: b.motion_id == motion_id), key=lambda b: b.id)


class _Actions(_Repo):
    name = "actions"

    async def add(self, item: ActionItem) -> ActionItem:
        return self._insert(item)

    async def list(self, council_id: int) -> Sequence[ActionItem]:
        return self._where(lambda a: a.council_id == council_id)


class _Audit(_Repo):
    name = "audit"

    async def append(self, entry: AuditEntry) -> AuditEvent:
        chain = await self.list(entry.council_id)
        event = seal(chain[-1] if chain else None, council_id=entry.council_id, at=entry.at,
                     actor=entry.actor, action=entry.action, payload=entry.payload)
        return self._insert(event)

    async def list(self, council_id: int) -> Sequence[AuditEvent]:
        return sorted(self._where(lambda e: e.council_id == council_id), key=lambda e: e.seq)


class _Minutes(_Repo):
    name = "minutes"

    async def add(self, revision: MinutesRevision) -> MinutesRevision:
        if await self.get(revision.meeting_id, revision.revision) is not None:
            raise Duplicate("revision {revision} of these minutes was stored by someone else "
                            "first", revision=revision.revision)
        return self._insert(revision)

    async def latest(self, meeting_id: int) -> MinutesRevision | None:
        found = await self.list(meeting_id)
        return found[-1] if found else None

    async def get(self, meeting_id: int, revision: int) -> MinutesRevision | None:  # type: ignore[override]
        return next((r for r in self._where(lambda r: r.meeting_id == meeting_id)
                     if r.revision == revision), None)

    async def list(self, meeting_id: int) -> Sequence[MinutesRevision]:
        return sorted(self._where(lambda r: r.meeting_id == meeting_id),
                      key=lambda r: r.revision)

    async def template(self, council_id: int) -> MinutesTemplate | None:
        found: MinutesTemplate | None = self._uow.live.table("templates").get(council_id)
        return found

    async def set_template(self, template: MinutesTemplate) -> MinutesTemplate:
        stored = replace(template, id=template.council_id)
        self._uow.live.table("templates")[template.council_id] = stored
        return stored

    async def reset_template(self, council_id: int) -> bool:
        return self._uow.live.table("templates").pop(council_id, None) is not None


class FakeUnitOfWork:
    """Keeps committed state in `committed`; a block left without commit changes nothing."""

    def __init__(self) -> None:
        self.committed = Tables()
        self.live = self.committed
        self.commits = 0
        self.councils = _Councils(self)
        self.departments = _Departments(self)
        self.members = _Members(self)
        self.join_requests = _JoinRequests(self)
        self.jobs = _Jobs(self)
        self.series = _Series(self)
        self.meetings = _Meetings(self)
        self.agenda = _Agenda(self)
        self.attendance = _Attendance(self)
        self.notes = _Notes(self)
        self.decisions = _Decisions(self)
        self.motions = _Motions(self)
        self.ballots = _Ballots(self)
        self.actions = _Actions(self)
        self.minutes = _Minutes(self)
        self.audit = _Audit(self)

    async def __aenter__(self) -> Self:
        self.live = copy.deepcopy(self.committed)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.live = self.committed

    async def commit(self) -> None:
        self.committed = self.live
        self.commits += 1

    def rows(self, table: str) -> list[Any]:
        """Committed rows of one table, for assertions."""
        return list(self.committed.table(table).values())
