"""The minutes of a meeting as a pure value: what the secretariat files, before any layout.

`build` turns a meeting's stored records into `Minutes`; the writers in `meetings.exports` lay it
out. Every piece of user text passes through `word_safe` here, so no writer can be handed a
character an XML document may not hold.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta

from meetings.domain import actions as action_rules
from meetings.domain.agenda import taking_order
from meetings.domain.model import (
    NEW,
    ActionItem,
    ActionStatus,
    AgendaItem,
    AgendaState,
    Attendance,
    AttendanceStatus,
    Ballot,
    Choice,
    Council,
    Decision,
    Department,
    MajorityBase,
    MajorityRule,
    Meeting,
    MeetingKind,
    MeetingState,
    Member,
    Motion,
    MotionKind,
    NoteKind,
    Role,
)
from meetings.domain.model import Guest as StoredGuest
from meetings.domain.model import Note as StoredNote
from meetings.domain.scheduling import to_local

# XML 1.0 allows tab, newline and carriage return among the C0 controls, nothing else; nor
# U+FFFE/U+FFFF, nor a surrogate code point on its own (which cannot even be encoded as UTF-8).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def word_safe(text: str) -> str:
    """The text with only the characters a Word document cannot hold removed; right-to-left
    script, emoji, markup-looking text and any length survive as they are."""
    return _NOT_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


@dataclass(frozen=True, slots=True)
class AttendanceLine:
    """One department at the meeting; ``person`` is the CIO present, or the deputy for a proxy."""

    code: str
    department: str
    status: AttendanceStatus
    person: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Guest:
    """Someone in attendance without a department (列席): an expert or observer of the
    council, or an invited guest the office recorded (``role`` None), with their
    organisation when given."""

    name: str
    role: Role | None
    organisation: str = ""

    def __repr__(self) -> str:
        # Without an organisation as before there was one, so minutes drafted before it keep
        # their `fingerprint` (an unchanged meeting gets no new revision).
        extra = f", organisation={self.organisation!r}" if self.organisation else ""
        return f"Guest(name={self.name!r}, role={self.role!r}{extra})"


@dataclass(frozen=True, slots=True)
class AgendaLine:
    id: int
    title: str
    major: bool
    department: str = ""  # the proposing department's code
    urgent: bool = False  # urgent business (临时动议), added by the office with /item

    def __repr__(self) -> str:
        # Not urgent, as before there was urgent business: see `Guest.__repr__`.
        extra = ", urgent=True" if self.urgent else ""
        return (f"AgendaLine(id={self.id!r}, title={self.title!r}, major={self.major!r}, "
                f"department={self.department!r}{extra})")


@dataclass(frozen=True, slots=True)
class NoteLine:
    kind: NoteKind
    text: str
    author: str


@dataclass(frozen=True, slots=True)
class VoteLine:
    code: str
    choice: Choice


@dataclass(frozen=True, slots=True)
class MotionLine:
    """A motion with its declared result; a secret one carries counts only, no names."""

    id: int
    kind: MotionKind
    text: str
    rule: MajorityRule
    yes: int
    no: int
    abstain: int
    eligible: int
    passed: bool
    digest: str
    votes: tuple[VoteLine, ...] = ()
    closed_on: date | None = None
    # What the result was judged by (`votes.Basis`); a membership of 0 is a motion stored
    # before the rules of procedure, judged by a share of those present.
    base: MajorityBase = MajorityBase.CAST
    membership: int = 0
    quorum_needed: int = 0

    @property
    def voted(self) -> int:
        return self.yes + self.no + self.abstain

    def __repr__(self) -> str:
        # Without the basis, as before the rules of procedure (see `Guest.__repr__`): it is fixed
        # when the vote opens, so it never changes what a later draft would say.
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                          if f.name not in _BASIS_FIELDS)
        return f"MotionLine({shown})"


_BASIS_FIELDS = frozenset({"base", "membership", "quorum_needed"})


@dataclass(frozen=True, slots=True)
class DecisionLine:
    id: int
    text: str
    motion_id: int | None = None  # a carried motion; None for one agreed without a vote


@dataclass(frozen=True, slots=True)
class Topic:
    """What happened under one agenda item, or under none (``item`` None: general business)."""

    item: AgendaLine | None
    notes: tuple[NoteLine, ...]
    motions: tuple[MotionLine, ...]
    decisions: tuple[DecisionLine, ...]


@dataclass(frozen=True, slots=True)
class ActionLine:
    id: int
    code: str
    text: str
    due: date
    status: ActionStatus


@dataclass(frozen=True, slots=True)
class Approval:
    revision: int
    drafted_by: str
    approved_by: str = ""
    approved_on: date | None = None


@dataclass(frozen=True, slots=True)
class Minutes:
    council: str
    number: int  # the meeting's place among the council's meetings (cancelled ones not counted)
    kind: MeetingKind
    day: date
    starts: str  # local "HH:MM"
    ends: str
    place: str
    chair: str
    title: str
    attendance: tuple[AttendanceLine, ...]
    guests: tuple[Guest, ...]
    agenda: tuple[AgendaLine, ...]
    topics: tuple[Topic, ...]
    circular: tuple[MotionLine, ...]  # circular votes closed since the previous meeting
    actions: tuple[ActionLine, ...]  # assigned at this meeting
    carried_over: tuple[ActionLine, ...]  # from earlier meetings, open at its start
    next_meeting: date | None
    approval: Approval

    @property
    def decisions(self) -> tuple[DecisionLine, ...]:
        return tuple(d for t in self.topics for d in t.decisions)


@dataclass(frozen=True, slots=True)
class Records:
    """Everything stored that the minutes of one meeting draw on (the use case loads it)."""

    council: Council
    meeting: Meeting
    meetings: Sequence[Meeting]  # all of the council's, to number it and find its neighbours
    departments: Sequence[Department]
    members: Sequence[Member]
    attendance: Sequence[Attendance]
    agenda: Sequence[AgendaItem]
    notes: Sequence[StoredNote]
    motions: Sequence[Motion]
    ballots: Mapping[int, Sequence[Ballot]]  # current ballots by motion id
    decisions: Sequence[Decision]
    actions: Sequence[ActionItem]
    guests: Sequence[StoredGuest] = ()  # invited guests the office recorded


_STATUS_ORDER = {AttendanceStatus.PRESENT: 0, AttendanceStatus.PROXY: 1,
                 AttendanceStatus.EXCUSED: 2, AttendanceStatus.ABSENT: 3}


def build(records: Records, *, revision: int = 1, drafted_by: str = "",
          approved_by: str = "", approved_on: date | None = None) -> Minutes:
    """The minutes of ``records.meeting`` from its stored records."""
    council, meeting = records.council, records.meeting
    zone = council.timezone
    members = {m.id: m for m in records.members}
    departments = {d.id: d for d in records.departments}
    codes = {d.id: d.code for d in records.departments}
    local_start = to_local(meeting.started_at or meeting.starts_at, zone)
    local_end = to_local(meeting.ended_at or meeting.starts_at
                         + timedelta(minutes=meeting.duration_minutes), zone)
    held = sorted((m for m in records.meetings if m.state is not MeetingState.CANCELLED),
                  key=lambda m: (m.starts_at, m.id))
    number = next((i for i, m in enumerate(held, 1) if m.id == meeting.id), len(held) + 1)
    earlier = [m for m in held if (m.starts_at, m.id) < (meeting.starts_at, meeting.id)]
    later = [m for m in held if (m.starts_at, m.id) > (meeting.starts_at, meeting.id)]
    previous_end = (earlier[-1].ended_at or earlier[-1].starts_at) if earlier else None
    this_end = meeting.ended_at or meeting.starts_at

    def name(member_id: int | None) -> str:
        member = members.get(member_id) if member_id is not None else None
        return word_safe(member.name) if member else ""

    attendance = tuple(sorted(
        (_attendance_line(a, departments[a.department_id], name(a.member_id))
         for a in records.attendance
         if a.department_id is not None and a.department_id in departments),
        key=lambda line: (_STATUS_ORDER[line.status], line.code)))
    # The chair and the secretary may answer the roll call too; they run the meeting and the
    # minutes name them as such, not among those attending (列席).
    guests = (*(Guest(name(a.member_id), members[a.member_id].role)
                for a in records.attendance
                if a.department_id is None and a.member_id in members
                and a.status is AttendanceStatus.PRESENT
                and members[a.member_id].role not in (Role.CHAIR, Role.SECRETARY)),
              *(Guest(word_safe(g.name), None, word_safe(g.organisation))
                for g in sorted(records.guests, key=lambda g: (g.seq or 0, g.id))
                if g.meeting_id == meeting.id))
    items = [i for i in records.agenda
             if i.meeting_id == meeting.id and i.state is AgendaState.ACCEPTED]
    agenda = tuple(AgendaLine(i.id, word_safe(i.title), i.major,
                              codes.get(i.department_id, "") if i.department_id else "",
                              i.urgent)
                   for i in sorted(items, key=taking_order))

    def motion_line(motion: Motion) -> MotionLine:
        ballots = records.ballots.get(motion.id, ())
        votes = () if motion.kind is MotionKind.SECRET else tuple(sorted(
            (VoteLine(codes.get(b.department_id, "?"), b.choice) for b in ballots),
            key=lambda v: v.code))
        return MotionLine(
            motion.id, motion.kind, word_safe(motion.text), motion.rule, motion.yes or 0,
            motion.no or 0, motion.abstain or 0, motion.eligible or 0, bool(motion.passed),
            motion.digest, votes,
            to_local(motion.closed_at, zone).date() if motion.closed_at else None,
            motion.base, motion.membership, motion.quorum_needed)

    in_meeting = [m for m in records.motions
                  if m.meeting_id == meeting.id and m.kind is not MotionKind.CIRCULAR]
    ours = [d for d in records.decisions if d.meeting_id == meeting.id]
    notes = [n for n in records.notes if n.meeting_id == meeting.id]
    topics = []
    for item_id in [None, *(a.id for a in agenda)]:
        topic = Topic(
            next((a for a in agenda if a.id == item_id), None),
            tuple(NoteLine(n.kind, word_safe(n.text), name(n.author_id))
                  for n in sorted(notes, key=lambda n: (n.created_at, n.id))
                  if n.agenda_item_id == item_id),
            tuple(motion_line(m) for m in sorted(in_meeting, key=lambda m: m.id)
                  if m.agenda_item_id == item_id),
            tuple(DecisionLine(d.id, word_safe(d.text), d.motion_id)
                  for d in sorted(ours, key=lambda d: d.id) if d.agenda_item_id == item_id))
        if topic.item is not None or topic.notes or topic.motions or topic.decisions:
            topics.append(topic)
    circular = tuple(motion_line(m) for m in sorted(records.motions, key=lambda m: m.id)
                     if m.kind is MotionKind.CIRCULAR and m.closed_at is not None
                     and (previous_end is None or m.closed_at > previous_end)
                     and m.closed_at <= this_end)
    today = local_end.date()

    def action_line(item: ActionItem) -> ActionLine:
        done = to_local(item.done_at, zone).date() if item.done_at else None
        return ActionLine(item.id, codes.get(item.department_id, "?"), word_safe(item.text),
                          item.due, action_rules.status(item, today=today, local_done=done))

    assigned = tuple(action_line(i) for i in sorted(records.actions, key=lambda i: i.id)
                     if i.meeting_id == meeting.id)
    started = meeting.started_at or meeting.starts_at
    carried = tuple(action_line(i) for i in action_rules.carried_over(
        (i for i in records.actions if i.meeting_id != meeting.id and i.created_at < started
         and (i.done_at is None or i.done_at >= started)), today=today))
    chair = next((word_safe(m.name) for m in records.members if m.role is Role.CHAIR), "")
    return Minutes(
        council=word_safe(council.name), number=number, kind=meeting.kind,
        day=local_start.date(), starts=local_start.strftime("%H:%M"),
        ends=local_end.strftime("%H:%M"), place=word_safe(meeting.location), chair=chair,
        title=word_safe(meeting.title), attendance=attendance, guests=guests, agenda=agenda,
        topics=tuple(topics), circular=circular, actions=assigned, carried_over=carried,
        next_meeting=to_local(later[0].starts_at, zone).date() if later else None,
        approval=Approval(revision, word_safe(drafted_by), word_safe(approved_by), approved_on))


def _attendance_line(record: Attendance, department: Department, cio: str) -> AttendanceLine:
    person = word_safe(record.proxy_name) if record.status is AttendanceStatus.PROXY else cio
    return AttendanceLine(department.code, word_safe(department.name), record.status, person,
                          word_safe(record.reason))


def decision_count(minutes: Minutes) -> int:
    return len(minutes.decisions)


def all_motions(minutes: Minutes) -> Iterable[MotionLine]:
    yield from (m for t in minutes.topics for m in t.motions)
    yield from minutes.circular


@dataclass(frozen=True, slots=True)
class MinutesRevision:
    """One stored version of a meeting's minutes: the document exactly as it was sent.

    Revisions are written once and never changed (the table refuses updates); a correction, and
    the approval itself, add a revision. ``content`` fingerprints what the minutes say, without
    their approval block, so an unchanged meeting does not pile up identical drafts.
    """

    meeting_id: int
    revision: int
    style: str
    data: bytes
    sha256: str
    content: str
    created_at: datetime
    created_by: str
    approved: bool = False
    id: int = NEW


def digest(data: bytes) -> str:
    """The document's SHA-256, in full (64 hex digits): what the approval freezes."""
    return hashlib.sha256(data).hexdigest()


def fingerprint(minutes: Minutes) -> str:
    """What the minutes say, as a hash: equal for equal content whatever the revision or approval.
    The value's repr is canonical: frozen dataclasses of text, numbers, dates and enums."""
    plain = replace(minutes, approval=Approval(0, ""))
    return hashlib.sha256(repr(plain).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class MinutesTemplate:
    """A council's own .docx for its minutes (letterhead, styles, header and footer)."""

    council_id: int
    data: bytes
    set_at: datetime
    set_by: str
    id: int = NEW
