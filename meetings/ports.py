"""What the use cases need from the outside world, as Protocols.

`storage` implements these on SQL; unit tests implement them with small in-memory fakes.
Repositories never commit: the unit of work does, once per use case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self

from meetings.domain.appraisal import History, Tally, Tenure, TenureStart, Weights
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
    Meeting,
    Member,
    Motion,
    Note,
    SecretVote,
    Series,
)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class CouncilRepository(Protocol):
    async def add(self, council: Council) -> Council: ...
    async def get(self, council_id: int) -> Council | None: ...
    async def by_name(self, name: str) -> Council | None: ...
    async def by_chat(self, chat_id: int) -> Council | None: ...
    async def list(self) -> Sequence[Council]: ...
    async def update(self, council: Council) -> Council: ...


class DepartmentRepository(Protocol):
    async def add(self, department: Department) -> Department:
        """Stores a department; raises `Duplicate` when the council already has its code."""
        ...

    async def by_code(self, council_id: int, code: str) -> Department | None: ...
    async def get(self, department_id: int) -> Department | None: ...
    async def list(self, council_id: int) -> Sequence[Department]: ...


class MemberRepository(Protocol):
    async def add(self, member: Member) -> Member:
        """Stores a member; raises `Duplicate` for a Telegram id already in the council."""
        ...

    async def get(self, member_id: int) -> Member | None: ...
    async def by_telegram(self, council_id: int, telegram_id: int) -> Member | None: ...
    async def by_username(self, council_id: int, username: str) -> Member | None: ...
    async def memberships(self, telegram_id: int) -> Sequence[Member]:
        """The person's membership in every council."""
        ...

    async def list(self, council_id: int) -> Sequence[Member]: ...
    async def update(self, member: Member) -> Member: ...


class PeopleRepository(Protocol):
    """The people the bot has seen in each council's chat."""

    async def get(self, council_id: int, telegram_id: int) -> ChatPerson | None: ...
    async def by_username(self, council_id: int, username: str) -> ChatPerson | None:
        """The person last seen with this username (case-insensitive)."""
        ...

    async def put(self, person: ChatPerson) -> ChatPerson:
        """Stores the person, or their new name and username."""
        ...


class JoinRequestRepository(Protocol):
    async def add(self, request: JoinRequest) -> JoinRequest:
        """Stores a request; raises `Duplicate` while the same person has one pending."""
        ...

    async def get(self, request_id: int) -> JoinRequest | None: ...
    async def update(self, request: JoinRequest) -> JoinRequest: ...


class SeriesRepository(Protocol):
    async def get(self, council_id: int) -> Series | None: ...
    async def put(self, series: Series) -> Series:
        """Creates or replaces the council's one regular series."""
        ...


class MeetingRepository(Protocol):
    async def add(self, meeting: Meeting) -> Meeting: ...
    async def get(self, meeting_id: int) -> Meeting | None: ...
    async def list(
        self, council_id: int, *, since: datetime | None = None, until: datetime | None = None
    ) -> Sequence[Meeting]:
        """Meetings of a council in start order, optionally within [since, until)."""
        ...

    async def lock(self, meeting_id: int) -> Meeting | None:
        """The meeting, held against concurrent notes, decisions and undos until the commit
        (so each takes the next record number in turn)."""
        ...

    async def update(self, meeting: Meeting) -> Meeting: ...
    async def delete(self, meeting_id: int) -> None: ...


class AgendaRepository(Protocol):
    async def add(self, item: AgendaItem) -> AgendaItem: ...
    async def get(self, item_id: int) -> AgendaItem | None: ...
    async def list(self, meeting_id: int) -> Sequence[AgendaItem]: ...
    async def update(self, item: AgendaItem) -> AgendaItem: ...


class AttendanceRepository(Protocol):
    async def put(self, attendance: Attendance) -> Attendance:
        """Records a department's attendance at a meeting (a person's, when it has no
        department), replacing an earlier record."""
        ...

    async def list(self, meeting_id: int) -> Sequence[Attendance]: ...
    async def of_department(self, meeting_id: int, department_id: int) -> Attendance | None: ...


class GuestRepository(Protocol):
    async def add(self, guest: Guest) -> Guest:
        """Stores an invited guest; a number (``seq``) another record of the meeting took
        first is a lost race (`Conflict`), as for notes."""
        ...

    async def list(self, meeting_id: int) -> Sequence[Guest]: ...
    async def delete(self, guest_id: int) -> None: ...


class NoteRepository(Protocol):
    async def add(self, note: Note) -> Note: ...
    async def list(self, meeting_id: int) -> Sequence[Note]: ...
    async def delete(self, note_id: int) -> None: ...


class DecisionRepository(Protocol):
    async def add(self, decision: Decision) -> Decision: ...
    async def list(self, council_id: int) -> Sequence[Decision]: ...
    async def delete(self, decision_id: int) -> None: ...


class MotionRepository(Protocol):
    async def add(self, motion: Motion) -> Motion: ...
    async def get(self, motion_id: int) -> Motion | None: ...
    async def lock(self, motion_id: int) -> Motion | None:
        """The motion, held against concurrent casts and closes until the commit."""
        ...

    async def list(self, council_id: int, *, open_only: bool = False) -> Sequence[Motion]: ...
    async def update(self, motion: Motion) -> Motion: ...


class BallotRepository(Protocol):
    async def cast(self, ballot: Ballot) -> Ballot:
        """Stores a ballot as the department's current one, keeping earlier ones as history.

        Raises `VotingClosed` when the motion is no longer open. Concurrent casts for one
        department leave exactly one current ballot.
        """
        ...

    async def add_superseded(self, ballot: Ballot) -> Ballot:
        """Stores a ballot as history only (``current=False``): one sent before the current
        one but handled after it. Raises `VotingClosed` when the motion is not open."""
        ...

    async def current(self, motion_id: int) -> Sequence[Ballot]: ...
    async def current_of(self, motion_id: int, department_id: int) -> Ballot | None: ...
    async def history(self, motion_id: int) -> Sequence[Ballot]: ...


class SecretBallotRepository(Protocol):
    """Secret ballots, kept unlinked: a has-voted row per department and a ballot box of counts
    by choice, written in one transaction. Nothing stored says which department chose what."""

    async def cast(self, vote: SecretVote, choice: Choice) -> None:
        """Records that the department voted and adds ``choice`` to the motion's ballot box.

        Raises `AlreadyVoted` when the department (or the member) has voted on the motion, and
        `VotingClosed` when the motion is no longer open.
        """
        ...

    async def voted(self, motion_id: int, department_id: int) -> SecretVote | None: ...
    async def voters(self, motion_id: int) -> Sequence[SecretVote]:
        """Who voted on the motion, by department id."""
        ...

    async def box(self, motion_id: int) -> Mapping[Choice, int]:
        """The ballot box: how many ballots of each choice (every choice, zero if none)."""
        ...


class UpdateInbox(Protocol):
    """The raw chat updates as received (the Telegram inbox)."""

    async def scrub(self, update_id: int) -> None:
        """Takes what the person pressed or wrote out of the stored update ``update_id`` (the
        one this unit of work handles), keeping its envelope: a secret ballot's press must not
        stay readable. Nothing to scrub (an update never stored) is fine."""
        ...


class ActionRepository(Protocol):
    async def add(self, item: ActionItem) -> ActionItem: ...
    async def get(self, item_id: int) -> ActionItem | None: ...
    async def list(self, council_id: int) -> Sequence[ActionItem]: ...
    async def update(self, item: ActionItem) -> ActionItem: ...


class AppraisalRepository(Protocol):
    """The appraisal's figures, counted by the store for a whole council at once."""

    async def weights(self, council_id: int) -> Weights:
        """The council's weights and excused rule; the defaults until set."""
        ...

    async def set_weights(self, council_id: int, weights: Weights) -> Weights: ...

    async def tenure_starts(self, council_id: int) -> Sequence[TenureStart]:
        """Evidence of who was each department's CIO when: the audit events that made someone a
        CIO, each person's first own record for a department, and the current CIOs (from
        `appraisal.BEGINNING` when nothing else is known of them)."""
        ...

    async def tallies(self, council_id: int, tenures: Sequence[Tenure], *, since: datetime,
                      until: datetime, today: date, utc_offset: timedelta) -> Sequence[Tally]:
        """Every tenure's figures in [since, until), as `appraisal.cards` counts them, with a
        few aggregate queries for the whole council; tenures outside the window are left out."""
        ...

    async def history(self, council_id: int, *, since: datetime, until: datetime) -> History:
        """The raw records of [since, until) that the figures count, for explaining them."""


class MinutesRepository(Protocol):
    """Every version of every meeting's minutes; stored once, never changed or removed."""

    async def add(self, revision: MinutesRevision) -> MinutesRevision:
        """Stores a new revision; raises `Duplicate` when the meeting already has one with its
        number (a concurrent writer added it first)."""
        ...

    async def latest(self, meeting_id: int) -> MinutesRevision | None: ...
    async def get(self, meeting_id: int, revision: int) -> MinutesRevision | None: ...
    async def list(self, meeting_id: int) -> Sequence[MinutesRevision]:
        """The meeting's revisions, oldest first."""
        ...

    async def template(self, council_id: int) -> MinutesTemplate | None: ...
    async def set_template(self, template: MinutesTemplate) -> MinutesTemplate:
        """Stores the council's template, replacing the one it had."""
        ...

    async def reset_template(self, council_id: int) -> bool:
        """Removes the council's template; False when it had none."""
        ...


@dataclass(frozen=True, slots=True)
class Job:
    """Durable work for later (a reminder to send), claimed by one worker at a time."""

    id: int
    kind: str
    dedupe_key: str
    payload: dict[str, Any]
    run_at: datetime
    attempts: int  # including the current one


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job to enqueue: one logical piece of work, known by its dedupe key."""

    kind: str
    dedupe_key: str
    payload: dict[str, Any]
    run_at: datetime


class JobQueue(Protocol):
    """Shared by every instance. Delivery is at least once: a claim whose worker dies is handed
    out again after its lease; the dedupe key keeps one logical job from being queued twice."""

    async def enqueue(self, *, kind: str, dedupe_key: str, payload: dict[str, object],
                      run_at: datetime) -> bool:
        """False when a job with this dedupe key exists already (done or not)."""
        ...

    async def enqueue_all(self, jobs: Sequence[NewJob]) -> int:
        """Enqueues many jobs at once (those whose dedupe key exists are skipped); returns how
        many are new."""
        ...

    async def claim_due(self, *, kind: str, now: datetime, worker: str,
                        limit: int = 10, prefix: str | None = None) -> Sequence[Job]:
        """Claims due jobs of one kind (whose dedupe key starts with ``prefix``, if given);
        commit the claim before doing the work."""
        ...

    async def complete(self, job_id: int, *, now: datetime) -> None: ...
    async def fail(self, job_id: int, *, now: datetime, error: str,
                   retry_at: datetime | None) -> None:
        """Releases the job to run again at ``retry_at``, or gives it up when None."""
        ...


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What a use case records; the audit log adds the sequence number and the hash chain."""

    council_id: int
    actor: str
    action: str
    payload: dict[str, object]
    at: datetime


class AuditLog(Protocol):
    async def append(self, entry: AuditEntry) -> AuditEvent: ...
    async def list(self, council_id: int) -> Sequence[AuditEvent]: ...
    async def last(self, council_id: int) -> AuditEvent | None:
        """The council's latest event: its seq versions everything derived from the council."""
        ...


class FeedTokenRepository(Protocol):
    async def add(self, token: FeedToken) -> FeedToken:
        """Stores a token; raises `Duplicate` while its member (or the council) has a live one."""
        ...

    async def by_hash(self, token_hash: str) -> FeedToken | None: ...
    async def live(self, council_id: int, member_id: int | None) -> FeedToken | None:
        """The unrevoked token of a member, or of the council's feed with ``member_id`` None."""
        ...

    async def update(self, token: FeedToken) -> FeedToken: ...


class UnitOfWork(Protocol):
    """One transaction per use case: ``async with uow: ...; await uow.commit()``.

    Leaving the block without a commit rolls everything back.

    The repositories are read-only properties, not attributes: a use case never replaces one, and
    read-only members are covariant, so an implementation may expose its own concrete class (the
    SQL unit of work's ``SqlCouncils``, the unit-test fake's in-memory one) and still satisfy the
    Protocol. To add a repository: declare its Protocol above, add a property here in the same
    form (``@property`` / ``def minutes(self) -> MinutesRepository: ...``), then assign an
    instance in ``storage.uow.SqlUnitOfWork.__aenter__`` and in ``tests/unit/fakes.py``'s
    ``FakeUnitOfWork.__init__``, and cover it in ``tests/integration/test_repository_contract.py``.
    """

    @property
    def councils(self) -> CouncilRepository: ...
    @property
    def departments(self) -> DepartmentRepository: ...
    @property
    def members(self) -> MemberRepository: ...
    @property
    def people(self) -> PeopleRepository: ...
    @property
    def join_requests(self) -> JoinRequestRepository: ...
    @property
    def series(self) -> SeriesRepository: ...
    @property
    def meetings(self) -> MeetingRepository: ...
    @property
    def agenda(self) -> AgendaRepository: ...
    @property
    def attendance(self) -> AttendanceRepository: ...
    @property
    def guests(self) -> GuestRepository: ...
    @property
    def notes(self) -> NoteRepository: ...
    @property
    def decisions(self) -> DecisionRepository: ...
    @property
    def motions(self) -> MotionRepository: ...
    @property
    def ballots(self) -> BallotRepository: ...
    @property
    def secret_ballots(self) -> SecretBallotRepository: ...
    @property
    def inbox(self) -> UpdateInbox: ...
    @property
    def actions(self) -> ActionRepository: ...
    @property
    def appraisal(self) -> AppraisalRepository: ...
    @property
    def minutes(self) -> MinutesRepository: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def feed_tokens(self) -> FeedTokenRepository: ...
    @property
    def jobs(self) -> JobQueue: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...
