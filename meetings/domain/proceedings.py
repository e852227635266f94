"""Running a meeting: which meeting starts, who attends and how, the topic, and ending it.

Attendance is per department (the CIO present in person, a proxy, excused, or absent); experts
and observers who attend have a record of their own, and invited guests without a Telegram
account are recorded by the office (`Guest`). Whoever has no record when the meeting ends was
absent. Guests of either kind never vote and never count for quorum: neither has a department.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from meetings.domain.errors import InvalidState, NotAllowed, NotFound
from meetings.domain.model import (
    AgendaItem,
    AgendaState,
    Attendance,
    AttendanceStatus,
    Decision,
    Department,
    Guest,
    Meeting,
    MeetingState,
    Member,
    Motion,
    Note,
    Role,
)
from meetings.domain.scheduling import to_local

_STARTABLE = frozenset({MeetingState.SCHEDULED, MeetingState.AGENDA_OPEN,
                        MeetingState.AGENDA_CLOSED})


def running(meetings: Iterable[Meeting]) -> Meeting | None:
    """The council's meeting in progress, if any (there is at most one)."""
    return next((m for m in meetings if m.state is MeetingState.IN_PROGRESS), None)


def require_running(meetings: Iterable[Meeting]) -> Meeting:
    meeting = running(meetings)
    if meeting is None:
        raise InvalidState("no meeting is in progress; the chair or the secretariat starts one "
                           "with /startmeeting")
    return meeting


def to_start(meetings: Sequence[Meeting], *, timezone: str, now: datetime,
             meeting_id: int | None = None) -> Meeting:
    """The meeting to open: the one given, or today's (local date). A meeting opens on its day
    or later (a late start after midnight), never ahead of it, and one at a time."""
    busy = running(meetings)
    if busy is not None:
        raise InvalidState("meeting S{id} is already in progress; end it with /endmeeting first",
                           id=busy.id)
    today = to_local(now, timezone).date()
    if meeting_id is not None:
        meeting = next((m for m in meetings if m.id == meeting_id), None)
        if meeting is None:
            raise NotFound("no meeting S{id} in this council", id=meeting_id)
        if meeting.state not in _STARTABLE:
            raise InvalidState("meeting S{id} is {state} and cannot start", id=meeting.id,
                               state=meeting.state)
        day = to_local(meeting.starts_at, timezone).date()
        if day > today:
            raise InvalidState("meeting S{id} is on {day}; it can start on that day",
                               id=meeting.id, day=day)
        return meeting
    todays = [m for m in meetings if m.state in _STARTABLE
              and to_local(m.starts_at, timezone).date() == today]
    if not todays:
        raise InvalidState("no meeting is scheduled for today; give its id (/startmeeting "
                           "<meeting id>) or schedule one with /schedule")
    return min(todays, key=lambda m: (m.starts_at, m.id))


def start(meeting: Meeting, *, now: datetime) -> Meeting:
    return replace(meeting, state=MeetingState.IN_PROGRESS, started_at=now, topic_id=None)


def end(meeting: Meeting, open_motions: Iterable[Motion], *, now: datetime) -> Meeting:
    """Ends the meeting; its votes must be closed first so no result is left undeclared."""
    pending = sorted(m.id for m in open_motions if m.meeting_id == meeting.id)
    if pending:
        raise InvalidState("motion {motions} is still open: close it with /close first",
                           motions=", ".join(f"M{i}" for i in pending))
    return replace(meeting, state=MeetingState.ENDED, ended_at=now, topic_id=None)


def here(member: Member, meeting: Meeting) -> Attendance:
    """Someone marks themself present: a CIO for their department; an expert, an observer, the
    chair or the secretary for themself (they attend, but answer for no department)."""
    if member.role is Role.CIO and member.department_id is not None:
        return Attendance(meeting.id, member.department_id, AttendanceStatus.PRESENT,
                          member_id=member.id)
    if member.role in (Role.EXPERT, Role.OBSERVER, Role.CHAIR, Role.SECRETARY):
        return Attendance(meeting.id, None, AttendanceStatus.PRESENT, member_id=member.id)
    raise NotAllowed("only CIOs, experts and observers may do this")


def guest(meeting: Meeting, *, name: str, organisation: str, recorded_by: int | None,
          now: datetime, seq: int) -> Guest:
    """An invited guest without Telegram, recorded by the office as attending (列席); the
    meeting must be in progress (`require_running`)."""
    return Guest(meeting.id, name, now, recorded_by=recorded_by, organisation=organisation,
                 seq=seq)


@dataclass(frozen=True, slots=True)
class RollCallState:
    """Who has answered the roll call so far, by department code, and who else is in.

    ``expected`` is the membership (the departments with a CIO), the base a quorum is counted
    on; ``awaiting`` are those of them nobody has answered for yet. Once the meeting has ended
    the unanswered are recorded ``absent`` and nobody is awaited.
    """

    expected: int
    present: tuple[str, ...]
    awaiting: tuple[str, ...]
    proxy: tuple[str, ...]
    excused: tuple[str, ...]
    absent: tuple[str, ...]
    others: tuple[Member, ...]  # attending in person for no department, in the order they came


def roll_call_state(departments: Sequence[Department], attendance: Sequence[Attendance],
                    members: Sequence[Member]) -> RollCallState:
    """The roll call as it stands, from the meeting's attendance records."""
    codes = {d.id: d.code for d in departments}
    with_cio = {m.department_id for m in members
                if m.role is Role.CIO and m.department_id is not None}
    expected = sorted(d.code for d in departments if d.id in with_cio)
    by_status: dict[AttendanceStatus, list[str]] = {status: [] for status in AttendanceStatus}
    answered: set[str] = set()
    for record in attendance:
        if record.department_id is not None and record.department_id in codes:
            code = codes[record.department_id]
            by_status[record.status].append(code)
            answered.add(code)
    people = {m.id: m for m in members}
    others = tuple(people[a.member_id] for a in sorted(attendance, key=lambda a: a.id)
                   if a.department_id is None and a.member_id in people
                   and a.status is AttendanceStatus.PRESENT)
    return RollCallState(
        expected=len(expected),
        present=tuple(sorted(by_status[AttendanceStatus.PRESENT])),
        awaiting=tuple(code for code in expected if code not in answered),
        proxy=tuple(sorted(by_status[AttendanceStatus.PROXY])),
        excused=tuple(sorted(by_status[AttendanceStatus.EXCUSED])),
        absent=tuple(sorted(by_status[AttendanceStatus.ABSENT])),
        others=others,
    )


def proxy(meeting: Meeting, department: Department, cio: Member | None,
          name: str) -> Attendance:
    """A deputy attends for the department: recorded against its CIO, who may not vote."""
    return Attendance(meeting.id, department.id, AttendanceStatus.PROXY,
                      member_id=cio.id if cio else None, proxy_name=name)


def excused(meeting: Meeting, department: Department, cio: Member | None,
            reason: str) -> Attendance:
    return Attendance(meeting.id, department.id, AttendanceStatus.EXCUSED,
                      member_id=cio.id if cio else None, reason=reason)


def absentees(meeting: Meeting, departments: Iterable[Department],
              recorded: Iterable[Attendance], cios: dict[int, Member]) -> list[Attendance]:
    """Absent records for the departments nobody answered for."""
    answered = {a.department_id for a in recorded}
    return [Attendance(meeting.id, d.id, AttendanceStatus.ABSENT,
                       member_id=cios[d.id].id if d.id in cios else None)
            for d in departments if d.id not in answered]


def topic(meeting: Meeting, item: AgendaItem | None, item_id: int) -> Meeting:
    """Moves the discussion to one of the meeting's accepted agenda items."""
    if item is None or item.meeting_id != meeting.id:
        raise NotFound("no agenda item #{id} on meeting S{meeting}", id=item_id,
                       meeting=meeting.id)
    if item.state is not AgendaState.ACCEPTED:
        raise InvalidState("agenda item #{id} is {state}; only accepted items are discussed",
                           id=item.id, state=item.state)
    return replace(meeting, topic_id=item.id)


# --- the meeting's record: notes, /agreed decisions and guests -----------------------------------

Record = Note | Decision | Guest


def undoable(meeting: Meeting, notes: Iterable[Note], decisions: Iterable[Decision],
             guests: Iterable[Guest] = ()) -> list[Record]:
    """What /undo may take back: the meeting's notes, the decisions agreed without a vote
    (a vote's decision stands) and the guests the office recorded, oldest first."""
    records: list[Record] = [n for n in notes if n.meeting_id == meeting.id]
    records += [d for d in decisions if d.meeting_id == meeting.id and d.motion_id is None]
    records += [g for g in guests if g.meeting_id == meeting.id]
    return sorted(records, key=_record_order)


_KIND_ORDER = {Note: 0, Decision: 1, Guest: 2}


def _record_order(record: Record) -> tuple[int, datetime, int, int]:
    # By number; records without one (none since migration 0004) count as the oldest, in the
    # order they were made.
    return (record.seq or 0, record.created_at, _KIND_ORDER[type(record)], record.id)


def next_record_seq(meeting: Meeting, notes: Iterable[Note], decisions: Iterable[Decision],
                    guests: Iterable[Guest] = ()) -> int:
    """The number of the meeting's next note, /agreed decision or guest: one more than any
    so far.

    The number of an undone record may be taken again (that record is gone). The caller holds
    the meeting against concurrent records while it takes the number.
    """
    records: list[Record] = [*notes, *decisions, *guests]
    taken = [r.seq for r in records if r.meeting_id == meeting.id and r.seq]
    return max(taken, default=0) + 1


def last_record(meeting: Meeting, notes: Iterable[Note], decisions: Iterable[Decision],
                guests: Iterable[Guest] = ()) -> Record:
    """The meeting's note, /agreed decision or guest recorded last: what /undo removes."""
    records = undoable(meeting, notes, decisions, guests)
    if not records:
        raise InvalidState("there is no note or decision of this meeting to undo")
    return records[-1]
