"""The SQL schema: one table per domain value plus the Telegram inbox and the job table.

Row classes carry the same field names as the domain values in ``meetings.domain.model`` so
mapping is mechanical. Integrity lives here as constraints, never as check-then-write in
Python: under concurrent writers only the database can say no reliably.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Index,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import Enum as SqlEnum
from sqlalchemy import text as sql
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from meetings.domain.model import (
    AgendaState,
    AttendanceStatus,
    Choice,
    JoinState,
    MajorityBase,
    MajorityRule,
    MeetingKind,
    MeetingState,
    MotionKind,
    MotionState,
    NoteKind,
    Role,
)

# Deterministic names let Alembic autogenerate compare like with like on both engines.
NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An instant that always comes back timezone-aware in UTC.

    PostgreSQL stores it as timestamptz; SQLite has no zone, so it stores the UTC wall clock in a
    fixed-width text form that also sorts and compares correctly.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the domain deals in aware UTC instants")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.utcoffset() is None else value.astimezone(UTC)


def _choice_of(enum: type[StrEnum], name: str) -> SqlEnum:
    # VARCHAR plus a CHECK rather than a native enum type: adding a value stays a plain migration.
    return SqlEnum(enum, name=name, native_enum=False, create_constraint=True, length=32,
                   values_callable=lambda members: [member.value for member in members])


# Row classes are only ever built from complete domain values, so columns need no defaults except
# None for the optional ones.
def _instant(*, optional: bool = False) -> Any:
    if optional:
        return Field(default=None, sa_type=UTCDateTime())
    return Field(sa_type=UTCDateTime())


def _text() -> Any:
    return Field(sa_type=Text())


def _ref(target: str, ondelete: Literal["CASCADE", "SET NULL", "RESTRICT"], *,
         optional: bool = False, index: bool = True) -> Any:
    if optional:
        return Field(default=None, foreign_key=target, ondelete=ondelete, index=index)
    return Field(foreign_key=target, ondelete=ondelete, index=index)


class Base(SQLModel, registry=registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))):
    """Base of every row class; owns the schema's metadata, apart from SQLModel's global one."""


metadata = Base.metadata


class CouncilRow(Base, table=True):
    __tablename__ = "councils"
    __table_args__ = (
        CheckConstraint("quorum >= 0 AND quorum <= 1", name="quorum_share"),
        CheckConstraint("max_major_issues >= 0", name="max_major_issues_not_negative"),
        CheckConstraint("agenda_call_days >= 0 AND agenda_deadline_days >= 0",
                        name="agenda_days_not_negative"),
        UniqueConstraint("name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = _text()
    timezone: str = Field(sa_type=String(64))
    language: str = Field(sa_type=String(16))
    holiday_country: str = Field(sa_type=String(8))
    majority_rule: MajorityRule = Field(sa_type=_choice_of(MajorityRule, "majority_rule"))
    quorum: float
    max_major_issues: int
    agenda_call_days: int
    agenda_deadline_days: int
    # One council per Telegram chat; several councils may not be bound to a chat yet (NULL).
    chat_id: int | None = Field(default=None, sa_type=BigInteger(), unique=True)
    active: bool = Field(default=True, sa_column_kwargs={"server_default": sql("true")})
    majority_base: MajorityBase = Field(sa_type=_choice_of(MajorityBase, "majority_base"),
                                        sa_column_kwargs={"server_default": "cast"})
    quorum_over: bool = Field(default=True, sa_column_kwargs={"server_default": sql("true")})


class DepartmentRow(Base, table=True):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("council_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    council_id: int = _ref("councils.id", "CASCADE", index=False)
    code: str = Field(sa_type=String(32))
    name: str = _text()


class MemberRow(Base, table=True):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("council_id", "telegram_id"),
        # A department speaks and votes through exactly one CIO.
        Index("uq_members_one_cio_per_department", "department_id", unique=True,
              sqlite_where=sql("role = 'cio'"), postgresql_where=sql("role = 'cio'")),
        # A council has at most one chair (at least one: the use cases hand it over).
        Index("uq_members_one_chair", "council_id", unique=True,
              sqlite_where=sql("role = 'chair'"), postgresql_where=sql("role = 'chair'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    council_id: int = _ref("councils.id", "CASCADE", index=False)
    name: str = _text()
    role: Role = Field(sa_type=_choice_of(Role, "role"))
    telegram_id: int | None = Field(default=None, sa_type=BigInteger())
    username: str | None = Field(default=None, sa_type=String(64))
    department_id: int | None = _ref("departments.id", "SET NULL", optional=True)
    private_chat: bool = Field(default=False, sa_column_kwargs={"server_default": sql("false")})
    unreachable_reported: bool = Field(default=False,
                                       sa_column_kwargs={"server_default": sql("false")})


class ChatPersonRow(Base, table=True):
    """Someone the bot saw in a council's chat (meetings.domain.model.ChatPerson)."""

    __tablename__ = "chat_people"
    __table_args__ = (UniqueConstraint("council_id", "telegram_id"),)

    id: int | None = Field(default=None, primary_key=True)
    council_id: int = _ref("councils.id", "CASCADE", index=False)
    telegram_id: int = Field(sa_type=BigInteger())
    name: str = _text()
    username: str | None = Field(default=None, sa_type=String(64), index=True)


class JoinRequestRow(Base, table=True):
    __tablename__ = "join_requests"
    __table_args__ = (
        # One open request per person and council: a second /join waits for the chair.
        Index("uq_join_requests_pending", "council_id", "telegram_id", unique=True,
              sqlite_where=sql("state = 'pending'"), postgresql_where=sql("state = 'pending'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    council_id: int = _ref("councils.id", "CASCADE", index=False)
    telegram_id: int = Field(sa_type=BigInteger())
    name: str = _text()
    username: str | None = Field(default=None, sa_type=String(64))
    department_id: int = _ref("departments.id", "CASCADE")
    state: JoinState = Field(sa_type=_choice_of(JoinState, "join_state"))
    requested_at: datetime = Field(sa_type=UTCDateTime())
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime())


class SeriesRow(Base, table=True):
    __tablename__ = "series"
    __table_args__ = (CheckConstraint("duration_minutes > 0", name="duration_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    council_id: int = Field(foreign_key="councils.id", ondelete="CASCADE", unique=True)
    rrule: str = _text()
    # The series' wall clock in the council's zone, naive on purpose (meetings.domain.model.Series).
    local_start: datetime = Field(sa_type=DateTime(timezone=False))
    duration_minutes: int
    location: str = _text()


class MeetingRow(Base, table=True):
    __tablename__ = "meetings"
    __table_args__ = (
        # NULLs are distinct, so extraordinary meetings (no occurrence) never collide.
        UniqueConstraint("council_id", "occurrence"),
        Index("ix_meetings_council_id_starts_at", "council_id", "starts_at"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    council_id: int = _ref("councils.id", "CASCADE", index=False)
    kind: MeetingKind = Field(sa_type=_choice_of(MeetingKind, "kind"))
    starts_at: datetime = _instant()
    duration_minutes: int
    title: str = _text()
    location: str = _text()
    state: MeetingState = Field(sa_type=_choice_of(MeetingState, "state"))
    occurrence: date | None = None
    moved_reason: str = _text()
    started_at: datetime | None = _instant(optional=True)
    ended_at: datetime | None = _instant(optional=True)
    # A plain column, not a foreign key: agenda_items already refers to meetings, and a key back
    # would make the two tables a cycle. The use case checks the item belongs to the meeting.
    topic_id: int | None = None
    # The roll call's group message, edited live as people answer (bot.telegram.live).
    roll_call_chat_id: int | None = Field(default=None, sa_type=BigInteger())
    roll_call_message_id: int | None = Field(default=None, sa_type=BigInteger())
    announced_at: datetime | None = _instant(optional=True)


class AgendaItemRow(Base, table=True):
    __tablename__ = "agenda_items"
    # The appraisal counts a person's proposals in a period (meetings.domain.appraisal).
    __table_args__ = (Index("ix_agenda_items_proposer_id_proposed_at", "proposer_id",
                            "proposed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = _ref("meetings.id", "CASCADE")
    title: str = _text()
    proposer_id: int = _ref("members.id", "RESTRICT")
    department_id: int | None = _ref("departments.id", "SET NULL", optional=True)
    proposed_at: datetime = _instant()
    description: str = _text()
    state: AgendaState = Field(sa_type=_choice_of(AgendaState, "state"))
    major: bool
    urgent: bool = Field(default=False, sa_column_kwargs={"server_default": sql("false")})


class AttendanceRow(Base, table=True):
    __tablename__ = "attendance"
    __table_args__ = (
        # One record per department; experts and observers (no department) one each.
        UniqueConstraint("meeting_id", "department_id"),
        Index("uq_attendance_member_without_department", "meeting_id", "member_id", unique=True,
              sqlite_where=sql("department_id IS NULL"),
              postgresql_where=sql("department_id IS NULL")),
        CheckConstraint("department_id IS NOT NULL OR member_id IS NOT NULL",
                        name="department_or_member"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = _ref("meetings.id", "CASCADE", index=False)
    department_id: int | None = _ref("departments.id", "CASCADE", optional=True)
    status: AttendanceStatus = Field(sa_type=_choice_of(AttendanceStatus, "status"))
    member_id: int | None = _ref("members.id", "SET NULL", optional=True)
    proxy_name: str = _text()
    reason: str = _text()


class GuestRow(Base, table=True):
    __tablename__ = "guests"
    # Numbered with the meeting's notes and /agreed decisions (one count, see NoteRow), so /undo
    # can take the last guest back; unique within the table like theirs.
    __table_args__ = (UniqueConstraint("meeting_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = _ref("meetings.id", "CASCADE", index=False)
    name: str = _text()
    created_at: datetime = _instant()
    recorded_by: int | None = _ref("members.id", "SET NULL", optional=True)
    organisation: str = _text()
    seq: int | None = None


class NoteRow(Base, table=True):
    __tablename__ = "notes"
    # Notes and /agreed decisions of a meeting share one count (the meeting's row lock hands the
    # numbers out in turn); each table keeps its own numbers unique. NULLs (unnumbered) differ.
    __table_args__ = (UniqueConstraint("meeting_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = _ref("meetings.id", "CASCADE")
    kind: NoteKind = Field(sa_type=_choice_of(NoteKind, "kind"))
    text: str = _text()
    author_id: int = _ref("members.id", "RESTRICT")
    created_at: datetime = _instant()
    agenda_item_id: int | None = _ref("agenda_items.id", "SET NULL", optional=True)
    seq: int | None = None


class MotionRow(Base, table=True):
    __tablename__ = "motions"
    __table_args__ = (
        CheckConstraint("quorum >= 0 AND quorum <= 1", name="quorum_share"),
        # The appraisal counts a council's motions opened in a period.
        Index("ix_motions_council_id_opened_at", "council_id", "opened_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    council_id: int = _ref("councils.id", "CASCADE")
    kind: MotionKind = Field(sa_type=_choice_of(MotionKind, "kind"))
    text: str = _text()
    rule: MajorityRule = Field(sa_type=_choice_of(MajorityRule, "rule"))
    quorum: float
    opened_at: datetime = _instant()
    meeting_id: int | None = _ref("meetings.id", "SET NULL", optional=True)
    agenda_item_id: int | None = _ref("agenda_items.id", "SET NULL", optional=True)
    closes_at: datetime | None = _instant(optional=True)
    state: MotionState = Field(sa_type=_choice_of(MotionState, "state"))
    closed_at: datetime | None = _instant(optional=True)
    chat_id: int | None = Field(default=None, sa_type=BigInteger())
    message_id: int | None = Field(default=None, sa_type=BigInteger())
    eligible: int | None = None
    yes: int | None = None
    no: int | None = None
    abstain: int | None = None
    passed: bool | None = None
    digest: str = Field(default="", sa_type=String(64),
                        sa_column_kwargs={"server_default": ""})
    # The vote's basis, fixed when it opened (meetings.domain.votes.Basis).
    base: MajorityBase = Field(sa_type=_choice_of(MajorityBase, "base"),
                               sa_column_kwargs={"server_default": "cast"})
    membership: int = Field(sa_column_kwargs={"server_default": "0"})
    quorum_needed: int = Field(sa_column_kwargs={"server_default": "1"})


class DecisionRow(Base, table=True):
    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("meeting_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    council_id: int = _ref("councils.id", "CASCADE")
    text: str = _text()
    created_at: datetime = _instant()
    meeting_id: int | None = _ref("meetings.id", "SET NULL", optional=True)
    agenda_item_id: int | None = _ref("agenda_items.id", "SET NULL", optional=True)
    motion_id: int | None = _ref("motions.id", "SET NULL", optional=True)
    seq: int | None = None


class BallotRow(Base, table=True):
    __tablename__ = "ballots"
    __table_args__ = (
        # One current ballot per member and per department; superseded ones stay as history.
        Index("uq_ballots_current_member", "motion_id", "member_id", unique=True,
              sqlite_where=sql("current"), postgresql_where=sql("current")),
        Index("uq_ballots_current_department", "motion_id", "department_id", unique=True,
              sqlite_where=sql("current"), postgresql_where=sql("current")),
        # The appraisal looks up a person's ballot on each motion from a join, where the
        # partial indexes above do not apply.
        Index("ix_ballots_motion_id_department_id_member_id", "motion_id", "department_id",
              "member_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Ballots are the record a result is reproduced from: nothing but their motion removes them.
    motion_id: int = _ref("motions.id", "CASCADE")
    member_id: int = _ref("members.id", "RESTRICT")
    department_id: int = _ref("departments.id", "RESTRICT")
    choice: Choice = Field(sa_type=_choice_of(Choice, "choice"))
    cast_at: datetime = _instant()
    current: bool
    update_id: int | None = Field(default=None, sa_type=BigInteger())


class SecretVoteRow(Base, table=True):
    """That a department voted on a secret ballot, and through whom; never what. One per
    department and one per member: a secret vote is final."""

    __tablename__ = "secret_votes"
    __table_args__ = (
        PrimaryKeyConstraint("motion_id", "department_id"),
        UniqueConstraint("motion_id", "member_id"),
    )

    motion_id: int = Field(foreign_key="motions.id", ondelete="CASCADE")
    department_id: int = _ref("departments.id", "RESTRICT")
    member_id: int = _ref("members.id", "RESTRICT")
    voted_at: datetime = _instant()


class BallotBoxRow(Base, table=True):
    """A secret ballot's box: how many ballots of each choice, with no id, time or voter.
    Every cast rewrites all of its motion's rows (storage.repositories.SqlSecretBallots), so
    no row's version or place in the table tells which choice the latest cast added."""

    __tablename__ = "ballot_box"
    __table_args__ = (
        PrimaryKeyConstraint("motion_id", "choice"),
        CheckConstraint("ballots >= 0", name="ballots_not_negative"),
    )

    motion_id: int = Field(foreign_key="motions.id", ondelete="CASCADE")
    choice: Choice = Field(sa_type=_choice_of(Choice, "choice"))
    ballots: int


class ActionItemRow(Base, table=True):
    __tablename__ = "action_items"
    # The appraisal counts a department's action items assigned in a period.
    __table_args__ = (Index("ix_action_items_department_id_created_at", "department_id",
                            "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    council_id: int = _ref("councils.id", "CASCADE")
    department_id: int = _ref("departments.id", "RESTRICT")
    text: str = _text()
    due: date
    created_at: datetime = _instant()
    meeting_id: int | None = _ref("meetings.id", "SET NULL", optional=True)
    done_at: datetime | None = _instant(optional=True)
    done_note: str = _text()


class AppraisalWeightsRow(Base, table=True):
    """How a council's appraisal score is made (meetings.domain.appraisal.Weights); a council
    without a row uses the defaults."""

    __tablename__ = "appraisal_weights"
    __table_args__ = (
        CheckConstraint("attendance BETWEEN 0 AND 100 AND agenda BETWEEN 0 AND 100 AND "
                        "votes BETWEEN 0 AND 100 AND actions BETWEEN 0 AND 100",
                        name="weights_in_range"),
        CheckConstraint("attendance + agenda + votes + actions > 0", name="weights_not_all_zero"),
    )

    council_id: int = Field(foreign_key="councils.id", ondelete="CASCADE", primary_key=True)
    attendance: int
    agenda: int
    votes: int
    actions: int
    excused_neutral: bool


class AuditEventRow(Base, table=True):
    __tablename__ = "audit_events"
    __table_args__ = (
        # Two writers that read the same last event cannot both extend the chain: no forks.
        UniqueConstraint("council_id", "seq"),
        CheckConstraint("seq >= 1", name="seq_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # The log outlives nothing it records: a council with history cannot be deleted.
    council_id: int = _ref("councils.id", "RESTRICT", index=False)
    seq: int
    at: datetime = _instant()
    actor: str = _text()
    action: str = Field(sa_type=String(64))
    payload: str = _text()
    prev_hash: str = Field(sa_type=String(64))
    hash: str = Field(sa_type=String(64))


_LIVE_COUNCIL_TOKEN = sql("member_id IS NULL AND revoked_at IS NULL")
_LIVE_MEMBER_TOKEN = sql("member_id IS NOT NULL AND revoked_at IS NULL")


class FeedTokenRow(Base, table=True):
    """Calendar feed tokens, hashed; at most one live token per member and one for the council."""

    __tablename__ = "feed_tokens"
    __table_args__ = (
        Index("uq_feed_tokens_live_council", "council_id", unique=True,
              sqlite_where=_LIVE_COUNCIL_TOKEN, postgresql_where=_LIVE_COUNCIL_TOKEN),
        Index("uq_feed_tokens_live_member", "member_id", unique=True,
              sqlite_where=_LIVE_MEMBER_TOKEN, postgresql_where=_LIVE_MEMBER_TOKEN),
    )

    id: int | None = Field(default=None, primary_key=True)
    council_id: int = _ref("councils.id", "CASCADE", index=False)
    # A member who leaves the council (their row deleted) takes their feed with them.
    member_id: int | None = _ref("members.id", "CASCADE", optional=True, index=False)
    token_hash: str = Field(sa_type=String(64), unique=True)
    created_at: datetime = _instant()
    revoked_at: datetime | None = _instant(optional=True)


class MinutesRevisionRow(Base, table=True):
    """Every version of a meeting's minutes, append-only: the migration's triggers refuse an
    update or a delete, so an approved revision can never be overwritten."""

    __tablename__ = "minutes_revisions"
    __table_args__ = (
        # Two instances adding the next revision at once: one insert wins, the other is refused.
        UniqueConstraint("meeting_id", "revision"),
        CheckConstraint("revision >= 1", name="revision_positive"),
        CheckConstraint("length(sha256) = 64", name="sha256_full"),
        CheckConstraint("style IN ('en', 'gbt9704')", name="style_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Minutes outlive nothing they record: a meeting with minutes cannot be deleted.
    meeting_id: int = _ref("meetings.id", "RESTRICT", index=False)
    revision: int
    style: str = Field(sa_type=String(16))
    data: bytes = Field(sa_type=LargeBinary())
    sha256: str = Field(sa_type=String(64))
    content: str = Field(sa_type=String(64))
    created_at: datetime = _instant()
    created_by: str = _text()
    approved: bool


class MinutesTemplateRow(Base, table=True):
    """A council's template for its minutes: at most one; replacing it replaces the row."""

    __tablename__ = "minutes_templates"
    __table_args__ = (UniqueConstraint("council_id"),)

    id: int | None = Field(default=None, primary_key=True)
    council_id: int = _ref("councils.id", "CASCADE", index=False)
    data: bytes = Field(sa_type=LargeBinary())
    set_at: datetime = _instant()
    set_by: str = _text()


class ProcessedUpdateRow(Base, table=True):
    """Telegram update ids already handled, kept for a while to drop redeliveries."""

    __tablename__ = "processed_updates"
    __table_args__ = (PrimaryKeyConstraint("bot", "update_id"),)

    bot: str = Field(sa_type=String(64))
    update_id: int = Field(sa_type=BigInteger())
    processed_at: datetime = Field(sa_type=UTCDateTime(), index=True)


class UpdateInboxRow(Base, table=True):
    """Webhook updates stored before Telegram gets its 200, so a crash loses none of them."""

    __tablename__ = "update_inbox"
    __table_args__ = (PrimaryKeyConstraint("bot", "update_id"),)

    bot: str = Field(sa_type=String(64))
    update_id: int = Field(sa_type=BigInteger())
    payload: str = _text()
    received_at: datetime = Field(sa_type=UTCDateTime(), index=True)
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime())


class JobRow(Base, table=True):
    """Durable work for later (reminders, outbound messages), claimed by one worker at a time."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_due", "done_at", "run_at"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(64))
    dedupe_key: str = Field(sa_type=String(255), unique=True)
    payload: str = _text()
    run_at: datetime = _instant()
    claimed_by: str | None = Field(default=None, sa_type=String(128))
    claimed_at: datetime | None = _instant(optional=True)
    attempts: int
    done_at: datetime | None = _instant(optional=True)
    last_error: str | None = Field(default=None, sa_type=Text())


class SendSlotRow(Base, table=True):
    """Telegram's flood limits shared by every instance (`meetings.domain.flood`): one row per
    chat the bot writes to (``chat:<id>``) and one per slot of the overall limit (``bot:<n>``)."""

    __tablename__ = "send_slots"

    key: str = Field(sa_type=String(64), primary_key=True)
    sent: str = _text()  # JSON list of the sends inside the window, ISO instants, oldest first
    # Not indexed: the rows are few, and PostgreSQL updates unindexed columns in place (HOT).
    free_at: datetime = _instant()
