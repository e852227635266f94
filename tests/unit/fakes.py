"""In-memory implementations of `meetings.ports` for unit tests: small, queryable, transactional."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from meetings.domain import appraisal
from meetings.domain.appraisal import History, Tally, Tenure, TenureStart, Weights
from meetings.domain.audit import seal
from meetings.domain.errors import (
    AlreadyVoted,
    Duplicate,
    NotFound,
    UnknownCouncil,
    UnknownDepartment,
    UnknownMeeting,
    UnknownMember,
    UnknownMotion,
    VotingClosed,
)
from meetings.domain.minutes import MinutesRevision, MinutesTemplate
from meetings.domain.model import (
    ActionItem,
    AgendaItem,
    Attendance,
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
    Meeting,
    Member,
    Motion,
    MotionState,
    Note,
    Role,
    SecretVote,
    Series,
)
from meetings.ports import AuditEntry, Job, NewJob

# Claims expire after this long, as with `storage.jobs.DEFAULT_LEASE` (the contract suite holds
# both to the same lease).
JOB_LEASE = timedelta(minutes=10)


class _Row(Protocol):
    """A stored domain value: a dataclass with an id."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=_Row)


@dataclass
class Tables:
    rows: dict[str, dict[int, Any]] = field(default_factory=dict)
    next_id: int = 1

    def table(self, name: str) -> dict[int, Any]:
        return self.rows.setdefault(name, {})


class _Repo(Generic[R]):
    """One table of domain values, with the SQL repository's unique keys and missing-row error
    (tests/integration/test_repository_contract.py holds the two to the same behaviour)."""

    name: ClassVar[str]
    missing: ClassVar[type[NotFound]] = NotFound
    missing_template: ClassVar[str] = "record {id} does not exist"

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    @property
    def _rows(self) -> dict[int, R]:
        return self._uow.live.table(self.name)

    def _unique_keys(self, row: R) -> set[tuple[object, ...]]:
        """The keys of the table's unique constraints that ``row`` holds (none for a NULL)."""
        return set()

    def _duplicate(self, row: R) -> Duplicate:
        return Duplicate("this is already recorded")

    def _refuse_duplicates(self, row: R) -> None:
        keys = self._unique_keys(row)
        if keys and any(keys & self._unique_keys(other)
                        for other in self._rows.values() if other.id != row.id):
            raise self._duplicate(row)

    def _insert(self, row: R) -> R:
        stored = replace(row, id=self._uow.live.next_id)
        self._refuse_duplicates(stored)
        self._uow.live.next_id += 1
        self._rows[stored.id] = stored
        return stored

    def _update(self, row: R) -> R:
        if row.id not in self._rows:
            raise self.missing(self.missing_template, id=row.id)
        self._refuse_duplicates(row)
        self._rows[row.id] = row
        return row

    def _delete(self, row_id: int) -> None:
        self._rows.pop(row_id, None)  # like DELETE ... WHERE id = ?: nothing to delete is fine

    def _where(self, test: Callable[[R], bool]) -> list[R]:
        return [row for row in self._rows.values() if test(row)]

    def _first(self, test: Callable[[R], bool]) -> R | None:
        return next(iter(self._where(test)), None)

    async def get(self, row_id: int) -> R | None:
        return self._rows.get(row_id)

    async def update(self, row: R) -> R:
        return self._update(row)


class _Councils(_Repo[Council]):
    name = "councils"
    missing = UnknownCouncil
    missing_template = "no council {id}"

    def _unique_keys(self, council: Council) -> set[tuple[object, ...]]:
        keys: set[tuple[object, ...]] = {("name", council.name)}
        if council.chat_id is not None:
            keys.add(("chat", council.chat_id))
        return keys

    def _duplicate(self, council: Council) -> Duplicate:
        return Duplicate("a council named {name} or bound to this chat already exists",
                         name=council.name)

    async def add(self, council: Council) -> Council:
        return self._insert(council)

    async def by_name(self, name: str) -> Council | None:
        return self._first(lambda c: c.name == name)

    async def by_chat(self, chat_id: int) -> Council | None:
        return self._first(lambda c: c.chat_id == chat_id)

    async def list(self) -> Sequence[Council]:
        return self._where(lambda _: True)


class _Departments(_Repo[Department]):
    name = "departments"
    missing = UnknownDepartment
    missing_template = "no department {id}"

    def _unique_keys(self, department: Department) -> set[tuple[object, ...]]:
        return {(department.council_id, department.code)}

    def _duplicate(self, department: Department) -> Duplicate:
        return Duplicate("department code {code} already exists", code=department.code)

    async def add(self, department: Department) -> Department:
        return self._insert(department)

    async def by_code(self, council_id: int, code: str) -> Department | None:
        return self._first(lambda d: d.council_id == council_id and d.code == code)

    async def list(self, council_id: int) -> Sequence[Department]:
        return self._where(lambda d: d.council_id == council_id)


class _Members(_Repo[Member]):
    name = "members"
    missing = UnknownMember
    missing_template = "no member {id} in this council"

    def _unique_keys(self, member: Member) -> set[tuple[object, ...]]:
        keys: set[tuple[object, ...]] = set()
        if member.telegram_id is not None:
            keys.add(("telegram", member.council_id, member.telegram_id))
        if member.role is Role.CIO and member.department_id is not None:
            keys.add(("cio of", member.department_id))  # a department speaks through one CIO
        if member.role is Role.CHAIR:
            keys.add(("chair of", member.council_id))  # a council has one chair
        return keys

    def _duplicate(self, member: Member) -> Duplicate:
        if member.role is Role.CHAIR:
            return Duplicate("the council already has a chair: hand the chair over instead "
                             "(/role <user> chair)")
        if member.telegram_id is None:
            return Duplicate("this department already has a CIO")
        return Duplicate("Telegram user {telegram_id} is already a member of this council, "
                         "or the department already has a CIO", telegram_id=member.telegram_id)

    async def add(self, member: Member) -> Member:
        return self._insert(member)

    async def by_telegram(self, council_id: int, telegram_id: int) -> Member | None:
        return self._first(lambda m: m.council_id == council_id and m.telegram_id == telegram_id)

    async def by_username(self, council_id: int, username: str) -> Member | None:
        # Telegram usernames are case-insensitive; a member without one is never found.
        return self._first(lambda m: m.council_id == council_id and m.username is not None
                           and m.username.lower() == username.lower())

    async def list(self, council_id: int) -> Sequence[Member]:
        return self._where(lambda m: m.council_id == council_id)

    async def memberships(self, telegram_id: int) -> Sequence[Member]:
        return self._where(lambda m: m.telegram_id == telegram_id)


class _People(_Repo[ChatPerson]):
    name = "people"

    def _unique_keys(self, person: ChatPerson) -> set[tuple[object, ...]]:
        return {(person.council_id, person.telegram_id)}

    async def get(self, council_id: int, telegram_id: int  # type: ignore[override]  # by key
                  ) -> ChatPerson | None:
        return self._first(lambda p: p.council_id == council_id and p.telegram_id == telegram_id)

    async def by_username(self, council_id: int, username: str) -> ChatPerson | None:
        found = self._where(lambda p: p.council_id == council_id and p.username is not None
                            and p.username.lower() == username.lower())
        return found[-1] if found else None

    async def put(self, person: ChatPerson) -> ChatPerson:
        stored = await self.get(person.council_id, person.telegram_id)
        if stored is None:
            return self._insert(person)
        return self._update(replace(person, id=stored.id))


class _JoinRequests(_Repo[JoinRequest]):
    name = "join_requests"
    missing_template = "no join request {id}"

    def _unique_keys(self, request: JoinRequest) -> set[tuple[object, ...]]:
        if request.state is not JoinState.PENDING:
            return set()
        return {(request.council_id, request.telegram_id)}

    def _duplicate(self, request: JoinRequest) -> Duplicate:
        return Duplicate("your request to join is already waiting for the chair")

    async def add(self, request: JoinRequest) -> JoinRequest:
        return self._insert(request)


class _Jobs(_Repo[Job]):
    """Jobs as `Job` values; completions are visible to tests through `rows("jobs_done")`."""

    name = "jobs"

    def _unique_keys(self, job: Job) -> set[tuple[object, ...]]:
        return {(job.dedupe_key,)}

    @property
    def _done(self) -> dict[int, datetime]:
        return self._uow.live.table("jobs_done")

    @property
    def _claimed_at(self) -> dict[int, datetime]:
        return self._uow.live.table("jobs_claimed")

    async def enqueue(self, *, kind: str, dedupe_key: str, payload: dict[str, object],
                      run_at: datetime) -> bool:
        if self._where(lambda j: j.dedupe_key == dedupe_key):
            return False
        # The payload comes back as the job table's JSON column gives it back.
        stored = json.loads(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str))
        self._insert(Job(id=0, kind=kind, dedupe_key=dedupe_key, payload=stored, run_at=run_at,
                         attempts=0))
        return True

    async def enqueue_all(self, jobs: Sequence[NewJob]) -> int:
        added = 0
        for job in jobs:
            added += await self.enqueue(kind=job.kind, dedupe_key=job.dedupe_key,
                                        payload=job.payload, run_at=job.run_at)
        return added

    async def claim_due(self, *, kind: str, now: datetime, worker: str,
                        limit: int = 10, prefix: str | None = None) -> Sequence[Job]:
        def claimable(job: Job) -> bool:
            claimed_at = self._claimed_at.get(job.id)
            return (job.kind == kind and job.run_at <= now and job.id not in self._done
                    and job.dedupe_key.startswith(prefix or "")
                    and (claimed_at is None or claimed_at < now - JOB_LEASE))

        due = sorted(self._where(claimable), key=lambda j: (j.run_at, j.id))[:limit]
        for job in due:
            self._claimed_at[job.id] = now
            self._rows[job.id] = replace(job, attempts=job.attempts + 1)
        return [self._rows[job.id] for job in due]

    async def complete(self, job_id: int, *, now: datetime) -> None:
        if job_id in self._rows:
            self._done[job_id] = now

    async def fail(self, job_id: int, *, now: datetime, error: str,
                   retry_at: datetime | None) -> None:
        if job_id not in self._rows:
            return
        if retry_at is None:
            self._done[job_id] = now
        else:
            self._claimed_at.pop(job_id, None)
            self._rows[job_id] = replace(self._rows[job_id], run_at=retry_at)


class _Series(_Repo[Series]):
    name = "series"

    def _unique_keys(self, series: Series) -> set[tuple[object, ...]]:
        return {(series.council_id,)}

    async def get(self, council_id: int) -> Series | None:  # by council: one series each
        return self._first(lambda s: s.council_id == council_id)

    async def put(self, series: Series) -> Series:
        existing = await self.get(series.council_id)
        if existing:
            return self._update(replace(series, id=existing.id))
        return self._insert(series)


class _Meetings(_Repo[Meeting]):
    name = "meetings"
    missing = UnknownMeeting
    missing_template = "no meeting {id} in this council"

    def _unique_keys(self, meeting: Meeting) -> set[tuple[object, ...]]:
        if meeting.occurrence is None:
            return set()
        return {(meeting.council_id, meeting.occurrence)}

    def _duplicate(self, meeting: Meeting) -> Duplicate:
        return Duplicate("the regular meeting of {date} already exists", date=meeting.occurrence)

    async def add(self, meeting: Meeting) -> Meeting:
        return self._insert(meeting)

    async def list(self, council_id: int, *, since: datetime | None = None,
                   until: datetime | None = None) -> Sequence[Meeting]:
        found = self._where(lambda m: m.council_id == council_id
                            and (since is None or m.starts_at >= since)
                            and (until is None or m.starts_at < until))
        return sorted(found, key=lambda m: (m.starts_at, m.id))

    async def lock(self, meeting_id: int) -> Meeting | None:
        return await self.get(meeting_id)  # one writer at a time here: nothing to hold off

    async def delete(self, meeting_id: int) -> None:
        # As the foreign keys do: the meeting's agenda, attendance, guests and notes go with it;
        # motions, decisions and action items stay, tied to neither the meeting nor its items.
        tables = self._uow.live
        items = {i.id for i in tables.table("agenda").values() if i.meeting_id == meeting_id}
        for name in ("agenda", "attendance", "guests", "notes"):
            rows = tables.table(name)
            for gone in [row.id for row in rows.values() if row.meeting_id == meeting_id]:
                del rows[gone]
        for name in ("motions", "decisions", "actions"):
            rows = tables.table(name)
            for row in list(rows.values()):
                changes: dict[str, None] = {}
                if row.meeting_id == meeting_id:
                    changes["meeting_id"] = None
                if getattr(row, "agenda_item_id", None) in items:
                    changes["agenda_item_id"] = None
                if changes:
                    rows[row.id] = replace(row, **changes)
        self._delete(meeting_id)


class _Agenda(_Repo[AgendaItem]):
    name = "agenda"

    async def add(self, item: AgendaItem) -> AgendaItem:
        return self._insert(item)

    async def list(self, meeting_id: int) -> Sequence[AgendaItem]:
        return self._where(lambda i: i.meeting_id == meeting_id)


class _Attendance(_Repo[Attendance]):
    name = "attendance"

    def _unique_keys(self, attendance: Attendance) -> set[tuple[object, ...]]:
        if attendance.department_id is None:  # a person without a department: one record each
            return {("person", attendance.meeting_id, attendance.member_id)}
        return {("department", attendance.meeting_id, attendance.department_id)}

    async def put(self, attendance: Attendance) -> Attendance:
        keys = self._unique_keys(attendance)
        for row in self._where(lambda a: bool(keys & self._unique_keys(a))):
            return self._update(replace(attendance, id=row.id))
        return self._insert(attendance)

    async def list(self, meeting_id: int) -> Sequence[Attendance]:
        return self._where(lambda a: a.meeting_id == meeting_id)

    async def of_department(self, meeting_id: int, department_id: int) -> Attendance | None:
        return self._first(lambda a: (a.meeting_id, a.department_id)
                           == (meeting_id, department_id))


class _Numbered(_Repo[R]):
    """Notes and /agreed decisions: UNIQUE(meeting_id, seq), as on the SQL tables (a NULL never
    collides)."""

    def _unique_keys(self, row: R) -> set[tuple[object, ...]]:
        seq = getattr(row, "seq", None)
        return set() if seq is None else {(getattr(row, "meeting_id", None), seq)}

    def _duplicate(self, row: R) -> Duplicate:
        return Duplicate(f"{self.name} number {getattr(row, 'seq', None)} of meeting "
                         f"{getattr(row, 'meeting_id', None)}")


class _Notes(_Numbered[Note]):
    name = "notes"

    async def add(self, note: Note) -> Note:
        return self._insert(note)

    async def list(self, meeting_id: int) -> Sequence[Note]:
        return self._where(lambda n: n.meeting_id == meeting_id)

    async def delete(self, note_id: int) -> None:
        self._delete(note_id)


class _Guests(_Numbered[Guest]):
    name = "guests"

    async def add(self, guest: Guest) -> Guest:
        return self._insert(guest)

    async def list(self, meeting_id: int) -> Sequence[Guest]:
        return self._where(lambda g: g.meeting_id == meeting_id)

    async def delete(self, guest_id: int) -> None:
        self._delete(guest_id)


class _Decisions(_Numbered[Decision]):
    name = "decisions"

    async def add(self, decision: Decision) -> Decision:
        return self._insert(decision)

    async def list(self, council_id: int) -> Sequence[Decision]:
        return self._where(lambda d: d.council_id == council_id)

    async def delete(self, decision_id: int) -> None:
        self._delete(decision_id)


class _Motions(_Repo[Motion]):
    name = "motions"
    missing = UnknownMotion
    missing_template = "no motion M{id}"

    async def add(self, motion: Motion) -> Motion:
        return self._insert(motion)

    async def lock(self, motion_id: int) -> Motion | None:
        return await self.get(motion_id)

    async def list(self, council_id: int, *, open_only: bool = False) -> Sequence[Motion]:
        return self._where(lambda m: m.council_id == council_id
                           and (not open_only or m.state is MotionState.OPEN))


class _Ballots(_Repo[Ballot]):
    name = "ballots"

    def _refuse_unless_open(self, ballot: Ballot) -> None:
        motion: Motion | None = self._uow.live.table("motions").get(ballot.motion_id)
        if motion is None or motion.state is not MotionState.OPEN:
            raise VotingClosed("voting on this motion has closed")

    async def cast(self, ballot: Ballot) -> Ballot:
        self._refuse_unless_open(ballot)
        for old in self._where(lambda b: b.motion_id == ballot.motion_id and b.current and (
                b.department_id == ballot.department_id or b.member_id == ballot.member_id)):
            self._update(replace(old, current=False))
        return self._insert(replace(ballot, current=True))

    async def add_superseded(self, ballot: Ballot) -> Ballot:
        self._refuse_unless_open(ballot)
        return self._insert(replace(ballot, current=False))

    async def current(self, motion_id: int) -> Sequence[Ballot]:
        return self._where(lambda b: b.motion_id == motion_id and b.current)

    async def current_of(self, motion_id: int, department_id: int) -> Ballot | None:
        return self._first(lambda b: b.motion_id == motion_id and b.current
                           and b.department_id == department_id)

    async def history(self, motion_id: int) -> Sequence[Ballot]:
        return sorted(self._where(lambda b: b.motion_id == motion_id), key=lambda b: b.id)


class _SecretBallots:
    """Has-voted rows in ``secret_votes`` (one per department and per member) and the ballot
    box in ``ballot_box`` (motion id -> counts), as `storage.repositories.SqlSecretBallots`."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    def _votes(self) -> dict[int, SecretVote]:
        return self._uow.live.table("secret_votes")

    async def cast(self, vote: SecretVote, choice: Choice) -> None:
        motion: Motion | None = self._uow.live.table("motions").get(vote.motion_id)
        if motion is None or motion.state is not MotionState.OPEN:
            raise VotingClosed("voting on this motion has closed")
        if any((v.motion_id == vote.motion_id
               and vote.department_id == v.department_id) or (
                   v.motion_id == vote.motion_id and vote.member_id == v.member_id)
               for v in self._votes().values()):
            raise AlreadyVoted("your secret vote on M{id} is already in the ballot box; a "
                               "secret vote is final", id=vote.motion_id)
        self._votes()[len(self._votes()) + 1] = vote
        box = self._uow.live.table("ballot_box").setdefault(vote.motion_id,
                                                             dict.fromkeys(Choice, 0))
        box[choice] += 1

    async def voted(self, motion_id: int, department_id: int) -> SecretVote | None:
        return next((v for v in self._votes().values()
                     if v.motion_id == motion_id and v.department_id == department_id), None)

    async def voters(self, motion_id: int) -> Sequence[SecretVote]:
        return sorted((v for v in self._votes().values() if v.motion_id == motion_id),
                      key=lambda v: v.department_id)

    async def box(self, motion_id: int) -> Mapping[Choice, int]:
        found: dict[Choice, int] = self._uow.live.table("ballot_box").get(
            motion_id, dict.fromkeys(Choice, 0))
        return dict(found)


class _Inbox:
    """Which stored updates were scrubbed (``scrubbed``: update id -> update id)."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def scrub(self, update_id: int) -> None:
        self._uow.live.table("scrubbed")[update_id] = update_id


class _Actions(_Repo[ActionItem]):
    name = "actions"

    async def add(self, item: ActionItem) -> ActionItem:
        return self._insert(item)

    async def list(self, council_id: int) -> Sequence[ActionItem]:
        return self._where(lambda a: a.council_id == council_id)


class _Audit(_Repo[AuditEvent]):
    name = "audit"

    def _unique_keys(self, event: AuditEvent) -> set[tuple[object, ...]]:
        return {(event.council_id, event.seq)}

    async def append(self, entry: AuditEntry) -> AuditEvent:
        chain = await self.list(entry.council_id)
        event = seal(chain[-1] if chain else None, council_id=entry.council_id, at=entry.at,
                     actor=entry.actor, action=entry.action, payload=entry.payload)
        return self._insert(event)

    async def list(self, council_id: int) -> Sequence[AuditEvent]:
        return sorted(self._where(lambda e: e.council_id == council_id), key=lambda e: e.seq)

    async def last(self, council_id: int) -> AuditEvent | None:
        chain = await self.list(council_id)
        return chain[-1] if chain else None


class _FeedTokens(_Repo[FeedToken]):
    name = "feed_tokens"

    def _unique_keys(self, token: FeedToken) -> set[tuple[object, ...]]:
        keys: set[tuple[object, ...]] = {("hash", token.token_hash)}
        if token.revoked_at is None:  # the partial unique indexes: one live token per owner
            keys.add(("live council", token.council_id) if token.member_id is None
                     else ("live member", token.member_id))
        return keys

    def _duplicate(self, token: FeedToken) -> Duplicate:
        return Duplicate("a calendar link exists already; reset it to get a new one")

    async def add(self, token: FeedToken) -> FeedToken:
        return self._insert(token)

    async def by_hash(self, token_hash: str) -> FeedToken | None:
        return self._first(lambda t: t.token_hash == token_hash)

    async def live(self, council_id: int, member_id: int | None) -> FeedToken | None:
        return self._first(lambda t: t.council_id == council_id and t.member_id == member_id
                           and t.revoked_at is None)


class _Appraisal(_Repo[Any]):  # a tally store, not one table of domain values
    """Counts the figures from its rows with the domain's own rule, as the SQL aggregates must."""

    name = "appraisal_weights"

    def _table(self, name: str) -> list[Any]:
        return list(self._uow.live.table(name).values())

    async def weights(self, council_id: int) -> Weights:
        stored: Weights | None = self._rows.get(council_id)
        return stored if stored is not None else Weights()

    async def set_weights(self, council_id: int, weights: Weights) -> Weights:
        self._rows[council_id] = weights
        return weights

    async def tenure_starts(self, council_id: int) -> Sequence[TenureStart]:
        members = {m.id: m for m in self._table("members") if m.council_id == council_id}
        meetings = {m.id: m for m in self._table("meetings") if m.council_id == council_id}
        found = [TenureStart(a.department_id, a.member_id, meetings[a.meeting_id].starts_at)
                 for a in self._table("attendance") if a.meeting_id in meetings
                 and a.department_id is not None and a.member_id is not None]
        found += [TenureStart(b.department_id, b.member_id, b.cast_at)
                  for b in self._table("ballots") if b.member_id in members]
        found += [TenureStart(v.department_id, v.member_id, v.voted_at)
                  for v in self._table("secret_votes") if v.member_id in members]
        found += [TenureStart(i.department_id, i.proposer_id, i.proposed_at)
                  for i in self._table("agenda")
                  if i.proposer_id in members and i.department_id is not None]
        by_telegram = {m.telegram_id: m.id for m in members.values()}
        approved = {r.id: (r.department_id, by_telegram[r.telegram_id])
                    for r in self._table("join_requests")
                    if r.council_id == council_id and r.state is JoinState.APPROVED
                    and r.telegram_id in by_telegram}
        found += appraisal.audit_starts(
            ((e.action, e.at, json.loads(e.payload)) for e in self._table("audit")
             if e.council_id == council_id and e.action in appraisal.CIO_ACTIONS), approved)
        known = {(s.department_id, s.member_id) for s in found}
        found += [TenureStart(m.department_id, m.id, appraisal.BEGINNING)
                  for m in members.values() if m.role is Role.CIO and m.department_id is not None
                  and (m.department_id, m.id) not in known]
        return found

    async def tallies(self, council_id: int, tenures: Sequence[Tenure], *, since: datetime,
                      until: datetime, today: date, utc_offset: timedelta) -> Sequence[Tally]:
        history = await self.history(council_id, since=since, until=until)
        return [card.tally for card in appraisal.cards(
            history, tenures, since=since, until=until, today=today, utc_offset=utc_offset)]

    async def history(self, council_id: int, *, since: datetime, until: datetime) -> History:
        meetings = [m for m in self._table("meetings")
                    if m.council_id == council_id and since <= m.starts_at < until]
        motions = [m for m in self._table("motions")
                   if m.council_id == council_id and since <= m.opened_at < until]
        meeting_ids = {m.id for m in meetings} | {m.meeting_id for m in motions}
        council_meetings = {m.id for m in self._table("meetings") if m.council_id == council_id}
        motion_ids = {m.id for m in motions}
        return History(
            meetings=meetings,
            attendance=[a for a in self._table("attendance") if a.meeting_id in meeting_ids],
            agenda=[i for i in self._table("agenda")
                    if i.meeting_id in council_meetings and since <= i.proposed_at < until],
            motions=motions,
            ballots=[b for b in self._table("ballots") if b.motion_id in motion_ids],
            actions=[a for a in self._table("actions")
                     if a.council_id == council_id and since <= a.created_at < until],
            secret_votes=[v for v in self._table("secret_votes") if v.motion_id in motion_ids])


class _Minutes(_Repo[MinutesRevision]):
    name = "minutes"

    async def add(self, revision: MinutesRevision) -> MinutesRevision:
        if await self.get(revision.meeting_id, revision.revision) is not None:
            raise Duplicate("revision {revision} of these minutes was stored by someone else "
                            "first", revision=revision.revision)
        return self._insert(revision)

    async def latest(self, meeting_id: int) -> MinutesRevision | None:
        found = await self.list(meeting_id)
        return found[-1] if found else None

    # A revision is named by its meeting and number, as the port says, not by a row id.
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
        self.people = _People(self)
        self.join_requests = _JoinRequests(self)
        self.jobs = _Jobs(self)
        self.series = _Series(self)
        self.meetings = _Meetings(self)
        self.agenda = _Agenda(self)
        self.attendance = _Attendance(self)
        self.guests = _Guests(self)
        self.notes = _Notes(self)
        self.decisions = _Decisions(self)
        self.motions = _Motions(self)
        self.ballots = _Ballots(self)
        self.secret_ballots = _SecretBallots(self)
        self.inbox = _Inbox(self)
        self.actions = _Actions(self)
        self.appraisal = _Appraisal(self)
        self.minutes = _Minutes(self)
        self.audit = _Audit(self)
        self.feed_tokens = _FeedTokens(self)

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
