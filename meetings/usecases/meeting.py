"""Use cases of the meeting itself: opening it with a roll call, attendance, the topic, notes
and agreed decisions, undo, and closing it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from meetings.domain import proceedings, scheduling, votes
from meetings.domain.errors import (
    InvalidState,
    NotFound,
    Word,
)
from meetings.domain.model import (
    AgendaItem,
    Attendance,
    Council,
    Decision,
    Department,
    Guest,
    Meeting,
    Member,
    MotionState,
    Note,
    NoteKind,
)
from meetings.domain.permissions import Act, require
from meetings.domain.text import TEXT_MAX, clean, optional
from meetings.ports import UnitOfWork
from meetings.usecases.common import (
    Actor,
    authorise,
    council_of,
    department_of,
    recent_meetings,
    record,
    running_meeting,
)


@dataclass(frozen=True, slots=True)
class RollCall:
    meeting: Meeting
    departments: Sequence[Department]
    attendance: Sequence[Attendance]
    members: Sequence[Member]
    presence: votes.Presence  # whether the meeting is quorate so far


async def start_meeting(uow: UnitOfWork, council_id: int, *, actor: Actor, now: datetime,
                        meeting_id: int | None = None) -> RollCall:
    """Opens today's meeting (or the one given) and returns its roll call so far."""
    authorise(actor, Act.RUN_MEETING)
    async with uow:
        council = await council_of(uow, council_id)
        meetings = await uow.meetings.list(council_id, since=now - timedelta(days=400))
        chosen = proceedings.to_start(meetings, timezone=council.timezone, now=now,
                                      meeting_id=meeting_id)
        started = await uow.meetings.update(proceedings.start(chosen, now=now))
        await record(uow, council_id, actor, "meeting.start", now, meeting=started.id)
        call = await _roll_call(uow, council, started)
        await uow.commit()
    return call


async def attach_roll_call(uow: UnitOfWork, meeting_id: int, *, chat_id: int,
                           message_id: int) -> Meeting:
    """Remembers the group message that shows the meeting's roll call, to keep it current."""
    async with uow:
        meeting = await uow.meetings.get(meeting_id)
        if meeting is None:
            raise NotFound("no meeting S{id} in this council", id=meeting_id)
        meeting = await uow.meetings.update(replace(
            meeting, roll_call_chat_id=chat_id, roll_call_message_id=message_id))
        await uow.commit()
    return meeting


async def roll_call_of(uow: UnitOfWork, meeting_id: int) -> tuple[Council, RollCall]:
    """The meeting's roll call as it stands, and its council, for the roll-call message."""
    async with uow:
        meeting = await uow.meetings.get(meeting_id)
        if meeting is None:
            raise NotFound("no meeting S{id} in this council", id=meeting_id)
        council = await council_of(uow, meeting.council_id)
        return council, await _roll_call(uow, council, meeting)


async def _roll_call(uow: UnitOfWork, council: Council, meeting: Meeting) -> RollCall:
    attendance = await uow.attendance.list(meeting.id)
    members = await uow.members.list(council.id)
    return RollCall(meeting, await uow.departments.list(council.id), attendance, members,
                    votes.presence(council, votes.cios_by_department(members), attendance))


@dataclass(frozen=True, slots=True)
class Marked:
    attendance: Attendance
    new: bool  # False: they were marked present already
    presence: votes.Presence  # whether the meeting is quorate now


async def mark_here(uow: UnitOfWork, council_id: int, *, actor: Member, now: datetime,
                    meeting_id: int | None = None) -> Marked:
    """A CIO, an expert or the office marks themself present (by /here or the roll-call button,
    which names its meeting). Says whether it was new news, and whether the meeting is quorate
    now."""
    require(actor, Act.MARK_HERE)
    async with uow:
        meeting = await running_meeting(uow, council_id, now)
        if meeting_id is not None and meeting_id != meeting.id:
            raise InvalidState("meeting S{id} is not in progress", id=meeting_id)
        attendance = proceedings.here(actor, meeting)
        recorded = await uow.attendance.list(meeting.id)
        before = [a for a in recorded
                  if (a.department_id, a.member_id) == (attendance.department_id, actor.id)
                  and a.status is attendance.status]
        council = await council_of(uow, council_id)
        cios = votes.cios_by_department(await uow.members.list(council_id))
        if before:
            return Marked(before[0], False, votes.presence(council, cios, recorded))
        stored = await uow.attendance.put(attendance)
        await record(uow, council_id, actor, "attendance.here", now, meeting=meeting.id,
                     department=attendance.department_id)
        presence = votes.presence(council, cios, await uow.attendance.list(meeting.id))
        await uow.commit()
    return Marked(stored, True, presence)


async def _meeting_for_attendance(uow: UnitOfWork, council_id: int, now: datetime) -> Meeting:
    """The meeting in progress or, between meetings, the next one (apologies come early)."""
    meetings = await recent_meetings(uow, council_id, now)
    meeting = proceedings.running(meetings) or scheduling.next_meeting(meetings, now)
    if meeting is None:
        raise InvalidState("no meeting is scheduled")
    return meeting


async def record_proxy(uow: UnitOfWork, council_id: int, *, code: str, name: str, actor: Actor,
                       now: datetime) -> tuple[Attendance, Department, Meeting]:
    """The office records a deputy attending for a department (who may not vote)."""
    authorise(actor, Act.RECORD_ATTENDANCE)
    name = clean(name, field=Word("proxy name"))
    return await _record_for_department(
        uow, council_id, code, actor, now, "attendance.proxy",
        lambda meeting, department, cio: proceedings.proxy(meeting, department, cio, name))


async def record_excused(uow: UnitOfWork, council_id: int, *, code: str, reason: str,
                         actor: Actor, now: datetime) -> tuple[Attendance, Department, Meeting]:
    """The office records a department's CIO as excused, with the reason if given."""
    authorise(actor, Act.RECORD_ATTENDANCE)
    reason = optional(reason, field=Word("reason"), max_length=TEXT_MAX)
    return await _record_for_department(
        uow, council_id, code, actor, now, "attendance.excused",
        lambda meeting, department, cio: proceedings.excused(meeting, department, cio, reason))


async def _record_for_department(
    uow: UnitOfWork, council_id: int, code: str, actor: Actor, now: datetime, action: str,
    attendance: Callable[[Meeting, Department, Member | None], Attendance],
) -> tuple[Attendance, Department, Meeting]:
    async with uow:
        department = await department_of(uow, council_id, code)
        meeting = await _meeting_for_attendance(uow, council_id, now)
        cio = votes.cios_by_department(await uow.members.list(council_id)).get(department.id)
        stored = await uow.attendance.put(attendance(meeting, department, cio))
        await record(uow, council_id, actor, action, now, meeting=meeting.id,
                     department=department.code)
        await uow.commit()
    return stored, department, meeting


GUEST_NAME_MAX = 120


async def record_guest(uow: UnitOfWork, council_id: int, *, name: str, organisation: str,
                       actor: Member, now: datetime) -> tuple[Guest, Meeting]:
    """The office records an invited guest without Telegram as attending the running meeting
    (列席); /undo takes it back like a note."""
    require(actor, Act.RECORD_ATTENDANCE)
    name = clean(name, field=Word("guest name"), max_length=GUEST_NAME_MAX)
    organisation = optional(organisation, field=Word("organisation"))
    async with uow:
        meeting = await _running_and_held(uow, council_id, now)
        seq = proceedings.next_record_seq(meeting, *await _record_of(uow, council_id, meeting))
        stored = await uow.guests.add(proceedings.guest(
            meeting, name=name, organisation=organisation, recorded_by=actor.id, now=now,
            seq=seq))
        await record(uow, council_id, actor, "attendance.guest", now, meeting=meeting.id,
                     guest=stored.id)
        await uow.commit()
    return stored, meeting


async def set_topic(uow: UnitOfWork, council_id: int, item_id: int, *, actor: Actor,
                    now: datetime) -> AgendaItem:
    """The office moves the discussion to an accepted agenda item of the running meeting."""
    authorise(actor, Act.RUN_MEETING)
    async with uow:
        meeting = await running_meeting(uow, council_id, now)
        item = await uow.agenda.get(item_id)
        await uow.meetings.update(proceedings.topic(meeting, item, item_id))
        assert item is not None  # proceedings.topic refuses a missing item
        await record(uow, council_id, actor, "meeting.topic", now, meeting=meeting.id,
                     item=item.id)
        await uow.commit()
    return item


async def add_note(uow: UnitOfWork, council_id: int, *, kind: NoteKind, text: str,
                   actor: Member, now: datetime) -> Note:
    """Anyone in the council notes information or an idea for the minutes, under the topic."""
    require(actor, Act.TAKE_NOTE)
    text = clean(text, field=Word("note"), max_length=TEXT_MAX, multiline=True)
    async with uow:
        meeting = await _running_and_held(uow, council_id, now)
        seq = proceedings.next_record_seq(meeting, *await _record_of(uow, council_id, meeting))
        note = await uow.notes.add(Note(meeting.id, kind, text, actor.id, now,
                                        agenda_item_id=meeting.topic_id, seq=seq))
        await record(uow, council_id, actor, "note.add", now, note=note.id, meeting=meeting.id,
                     kind=kind.value)
        await uow.commit()
    return note


async def record_agreed(uow: UnitOfWork, council_id: int, *, text: str, actor: Actor,
                        now: datetime) -> Decision:
    """The chair records a decision taken without a vote, under the topic."""
    authorise(actor, Act.RECORD_DECISION)
    text = clean(text, field=Word("decision"), max_length=TEXT_MAX, multiline=True)
    async with uow:
        meeting = await _running_and_held(uow, council_id, now)
        seq = proceedings.next_record_seq(meeting, *await _record_of(uow, council_id, meeting))
        decision = await uow.decisions.add(Decision(council_id, text, now, meeting_id=meeting.id,
                                                    agenda_item_id=meeting.topic_id, seq=seq))
        await record(uow, council_id, actor, "decision.agreed", now, decision=decision.id,
                     meeting=meeting.id)
        await uow.commit()
    return decision


async def undo_last(uow: UnitOfWork, council_id: int, *, actor: Actor,
                    now: datetime) -> Note | Decision | Guest:
    """Removes the last note, agreed decision or guest of the running meeting (never a vote).

    "Last" is by the record number notes and decisions carry, which is exact even when two
    records share a timestamp; the removed text stays in the audit log.
    """
    authorise(actor, Act.UNDO)
    async with uow:
        meeting = await _running_and_held(uow, council_id, now)
        found = proceedings.last_record(meeting, *await _record_of(uow, council_id, meeting))
        if isinstance(found, Note):
            await uow.notes.delete(found.id)
            target, text = "note", found.text
        elif isinstance(found, Decision):
            await uow.decisions.delete(found.id)
            target, text = "decision", found.text
        else:
            await uow.guests.delete(found.id)
            target, text = "guest", found.name
        await record(uow, council_id, actor, f"{target}.undo", now, meeting=meeting.id,
                     **{target: found.id}, text=text)
        await uow.commit()
    return found


async def _running_and_held(uow: UnitOfWork, council_id: int, now: datetime) -> Meeting:
    """The running meeting, held until the commit: notes, decisions and undos of one meeting
    take their turn, so each sees the record numbers the one before it took."""
    held = await uow.meetings.lock((await running_meeting(uow, council_id, now)).id)
    # An /endmeeting may have ended it while this waited for the lock.
    return proceedings.require_running([held] if held else [])


async def _record_of(uow: UnitOfWork, council_id: int, meeting: Meeting
                     ) -> tuple[Sequence[Note], Sequence[Decision], Sequence[Guest]]:
    """The meeting's notes and guests, and the council's decisions (the rules pick the
    meeting's)."""
    return (await uow.notes.list(meeting.id), await uow.decisions.list(council_id),
            await uow.guests.list(meeting.id))


@dataclass(frozen=True, slots=True)
class Ended:
    meeting: Meeting
    attendance: Sequence[Attendance]
    notes: int
    decisions: int
    motions: int
    guests: Sequence[Guest] = ()


async def end_meeting(uow: UnitOfWork, council_id: int, *, actor: Actor,
                      now: datetime) -> Ended:
    """Ends the running meeting; departments nobody answered for are recorded absent."""
    authorise(actor, Act.RUN_MEETING)
    async with uow:
        meeting = await running_meeting(uow, council_id, now)
        motions = [m for m in await uow.motions.list(council_id) if m.meeting_id == meeting.id]
        ended = await uow.meetings.update(proceedings.end(
            meeting, [m for m in motions if m.state is MotionState.OPEN], now=now))
        recorded = await uow.attendance.list(meeting.id)
        cios = votes.cios_by_department(await uow.members.list(council_id))
        absent = [await uow.attendance.put(record) for record in proceedings.absentees(
            meeting, await uow.departments.list(council_id), recorded, cios)]
        decisions = [d for d in await uow.decisions.list(council_id)
                     if d.meeting_id == meeting.id]
        result = Ended(ended, [*recorded, *absent], len(await uow.notes.list(meeting.id)),
                       len(decisions), len(motions), await uow.guests.list(meeting.id))
        await record(uow, council_id, actor, "meeting.end", now, meeting=meeting.id)
        await uow.commit()
    return result

