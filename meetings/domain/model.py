"""The council's vocabulary as immutable values.

Every datetime here is timezone-aware UTC; local time exists only at the edges (scheduling takes the
council's zone, the shell renders it). An ``id`` of 0 means "not stored yet": repositories hand back
the stored value with its real id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

NEW = 0

# A meeting is named "S12" (a council's session, 第12号会议) wherever people see it. Agenda items
# keep "#5", motions "M3", actions "A7" and decisions "D4", so every kind of id reads apart and
# `/topic 1` can no longer be mistaken for `/startmeeting 1`. A letter and the stored number,
# not the date: the id must survive /reschedule (a date-named meeting would change its name and
# break every reference made before the move), and two meetings may share a day. The old "#12"
# and a bare "12" are still accepted (`parse_meeting_ref`).
MEETING_LETTER = "S"
_MAX_ID_DIGITS = 9  # ids of at most 9 digits: larger ones would overflow the integer keys


def meeting_ref(meeting_id: int) -> str:
    """The meeting's visible id: ``S12``."""
    return f"{MEETING_LETTER}{meeting_id}"


def parse_meeting_ref(text: str) -> int | None:
    """The meeting id in ``S12`` (either case), or the older aliases ``#12`` and ``12``; None
    when the text names no meeting."""
    text = text.strip()
    digits = text[1:] if text[:1] in (MEETING_LETTER, MEETING_LETTER.lower(), "#") else text
    # ASCII only: str.isdigit() also accepts "²" and "١", which int() refuses or misreads.
    if not (digits.isascii() and digits.isdigit()) or len(digits) > _MAX_ID_DIGITS:
        return None
    return int(digits)


class Role(StrEnum):
    CHAIR = "chair"
    SECRETARY = "secretary"
    CIO = "cio"
    EXPERT = "expert"
    OBSERVER = "observer"


class MajorityRule(StrEnum):
    """How a motion passes (its arithmetic is in `votes`, against the rule's `MajorityBase`)."""

    SIMPLE = "simple"  # more yes than no among the votes cast (abstentions count neither way)
    ABSOLUTE = "absolute"  # more than half of the member departments vote yes
    TWO_THIRDS = "two_thirds"  # at least two thirds of the votes cast, or of the members, are yes


class MajorityBase(StrEnum):
    """What a majority is a share of."""

    CAST = "cast"  # the yes and no votes cast (abstentions left out)
    MEMBERS = "members"  # the membership: every department with a CIO when the vote opened


class MeetingKind(StrEnum):
    REGULAR = "regular"
    EXTRAORDINARY = "extraordinary"


class MeetingState(StrEnum):
    SCHEDULED = "scheduled"
    AGENDA_OPEN = "agenda_open"
    AGENDA_CLOSED = "agenda_closed"
    IN_PROGRESS = "in_progress"
    ENDED = "ended"
    MINUTES_APPROVED = "minutes_approved"
    CANCELLED = "cancelled"


class AgendaState(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DEFERRED = "deferred"
    REJECTED = "rejected"


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    PROXY = "proxy"
    EXCUSED = "excused"
    ABSENT = "absent"


class NoteKind(StrEnum):
    INFO = "info"
    IDEA = "idea"


class MotionKind(StrEnum):
    NAMED = "named"
    SECRET = "secret"  # noqa: S105 -- a secret ballot, not a credential
    CIRCULAR = "circular"


class MotionState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Choice(StrEnum):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"


class JoinState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class ActionStatus(StrEnum):
    """Where an action item stands on a given day (derived, never stored)."""

    OPEN = "open"
    OVERDUE = "overdue"
    DONE_ON_TIME = "done_on_time"
    DONE_LATE = "done_late"


@dataclass(frozen=True, slots=True)
class Council:
    name: str
    timezone: str = "Asia/Shanghai"
    language: str = "en"
    holiday_country: str = "CN"
    majority_rule: MajorityRule = MajorityRule.SIMPLE
    # The quorum: the share of the membership (departments with a CIO) that must vote for a
    # result to stand; more than it (过半数) or, with ``quorum_over`` False, at least it.
    quorum: float = 0.5
    max_major_issues: int = 2
    agenda_call_days: int = 14
    agenda_deadline_days: int = 3
    chat_id: int | None = None
    active: bool = True  # False while the bot is not in the council's chat: nothing is sent there
    majority_base: MajorityBase = MajorityBase.CAST
    quorum_over: bool = True
    id: int = NEW


@dataclass(frozen=True, slots=True)
class Department:
    council_id: int
    code: str
    name: str
    id: int = NEW


@dataclass(frozen=True, slots=True)
class Member:
    council_id: int
    name: str
    role: Role
    telegram_id: int | None = None
    username: str | None = None
    department_id: int | None = None
    # Whether the bot may write to them privately: they pressed Start (or wrote to it privately)
    # and no private message has bounced since. Secret ballots, reminders and calendar links
    # need it.
    private_chat: bool = False
    # A private message that bounced was reported to the secretariat (once, until they start
    # the bot again).
    unreachable_reported: bool = False
    id: int = NEW


@dataclass(frozen=True, slots=True)
class ChatPerson:
    """Someone the bot has seen in a council's chat, member or not: so the chair can give them
    a role by @username. Name and username follow what Telegram last showed."""

    council_id: int
    telegram_id: int
    name: str
    username: str | None = None
    id: int = NEW


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """Someone in the council's chat asking to be a department's CIO; the chair decides."""

    council_id: int
    telegram_id: int
    name: str
    department_id: int
    requested_at: datetime
    username: str | None = None
    state: JoinState = JoinState.PENDING
    decided_at: datetime | None = None
    id: int = NEW


@dataclass(frozen=True, slots=True)
class Series:
    """The regular meeting series: an RFC 5545 RRULE anchored at a local wall-clock start."""

    council_id: int
    rrule: str
    local_start: datetime  # naive, in the council's zone: the first occurrence's wall-clock time
    duration_minutes: int = 120
    location: str = ""
    id: int = NEW


@dataclass(frozen=True, slots=True)
class Meeting:
    council_id: int
    kind: MeetingKind
    starts_at: datetime
    duration_minutes: int = 120
    title: str = ""
    location: str = ""
    state: MeetingState = MeetingState.SCHEDULED
    # A regular meeting remembers which occurrence of the series it is (its original local date), so
    # moving or cancelling it never makes the series produce it again.
    occurrence: date | None = None
    moved_reason: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    topic_id: int | None = None  # the agenda item under discussion while the meeting runs
    # The roll call's group message, kept showing who is in while the meeting runs.
    roll_call_chat_id: int | None = None
    roll_call_message_id: int | None = None
    # When the meeting was given its current start (scheduled, planned or moved): the notice
    # given, which a short-notice meeting's proposal deadline fits (`scheduling.proposal_deadline`).
    # None: not known (meetings stored before it was kept), taken as ample notice.
    announced_at: datetime | None = None
    id: int = NEW


@dataclass(frozen=True, slots=True)
class AgendaItem:
    meeting_id: int
    title: str
    proposer_id: int
    department_id: int | None
    proposed_at: datetime
    description: str = ""
    state: AgendaState = AgendaState.PROPOSED
    major: bool = False
    # Urgent business (临时动议): added by the office with /item, accepted at once, at any time
    # until the meeting ends.
    urgent: bool = False
    id: int = NEW


@dataclass(frozen=True, slots=True)
class Attendance:
    """A department's attendance at a meeting; an expert or observer who attends has a record
    of their own with no department."""

    meeting_id: int
    department_id: int | None
    status: AttendanceStatus
    member_id: int | None = None
    proxy_name: str = ""
    reason: str = ""
    id: int = NEW


@dataclass(frozen=True, slots=True)
class Guest:
    """An invited guest without a Telegram account, recorded by the office as attending the
    meeting (列席). A guest never votes and never counts for quorum; /undo may take the record
    back, so it carries its place in the meeting's record like a note (`Note.seq`)."""

    meeting_id: int
    name: str
    created_at: datetime
    recorded_by: int | None = None  # the member of the office who recorded the guest
    organisation: str = ""
    seq: int | None = None
    id: int = NEW


@dataclass(frozen=True, slots=True)
class Note:
    meeting_id: int
    kind: NoteKind
    text: str
    author_id: int
    created_at: datetime
    agenda_item_id: int | None = None
    # The record's place in its meeting, counted across notes and /agreed decisions (see
    # `proceedings.next_record_seq`): exact where timestamps tie. None: not numbered.
    seq: int | None = None
    id: int = NEW


@dataclass(frozen=True, slots=True)
class Decision:
    council_id: int
    text: str
    created_at: datetime
    meeting_id: int | None = None
    agenda_item_id: int | None = None
    motion_id: int | None = None
    # An /agreed decision's place in its meeting, shared with the notes (`Note.seq`); a vote's
    # decision has none (it is never undone).
    seq: int | None = None
    id: int = NEW


@dataclass(frozen=True, slots=True)
class Motion:
    council_id: int
    kind: MotionKind
    text: str
    rule: MajorityRule
    quorum: float
    opened_at: datetime
    meeting_id: int | None = None
    agenda_item_id: int | None = None
    closes_at: datetime | None = None  # circular votes close themselves here
    state: MotionState = MotionState.OPEN
    closed_at: datetime | None = None
    # The group message showing the live count (and, once closed, the result).
    chat_id: int | None = None
    message_id: int | None = None
    # The result as declared at close; anyone can recount it from the ballots.
    eligible: int | None = None
    yes: int | None = None
    no: int | None = None
    abstain: int | None = None
    passed: bool | None = None
    digest: str = ""
    # What the result is judged by, fixed when the vote opens (`votes.Basis`): the rule's base,
    # the membership then (departments with a CIO) and the departments the quorum asks for.
    base: MajorityBase = MajorityBase.CAST
    membership: int = 0
    quorum_needed: int = 1
    id: int = NEW


@dataclass(frozen=True, slots=True)
class Ballot:
    """One cast vote. A department's later ballot on the same motion supersedes its earlier one;
    superseded ballots stay in history with ``current=False``."""

    motion_id: int
    member_id: int
    department_id: int
    choice: Choice
    cast_at: datetime
    current: bool = True
    # The chat update it came in, numbered by Telegram in the order people sent them: a press
    # replayed after a crash is handled after a later one, yet must not replace it (votes.py).
    update_id: int | None = None
    id: int = NEW


@dataclass(frozen=True, slots=True)
class SecretVote:
    """That a department voted on a secret ballot, and through whom; never what. The choice
    went into the motion's ballot box (counts by choice), which nothing links back to this."""

    motion_id: int
    member_id: int
    department_id: int
    voted_at: datetime


@dataclass(frozen=True, slots=True)
class ActionItem:
    council_id: int
    department_id: int
    text: str
    due: date
    created_at: datetime
    meeting_id: int | None = None
    done_at: datetime | None = None
    done_note: str = ""
    id: int = NEW


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """An append-only, hash-chained record of something that changed the council's state."""

    council_id: int
    seq: int
    at: datetime
    actor: str
    action: str
    payload: str  # canonical JSON
    prev_hash: str
    hash: str
    id: int = NEW


@dataclass(frozen=True, slots=True)
class FeedToken:
    """The secret part of a calendar feed's address, stored only as its SHA-256 hash.

    ``member_id`` None is the council's shared feed. A revoked token keeps its row (so nobody can
    tell a revoked link from one that never existed, and the history stays).
    """

    council_id: int
    token_hash: str  # hex SHA-256 of the token
    created_at: datetime
    member_id: int | None = None
    revoked_at: datetime | None = None
    id: int = NEW
