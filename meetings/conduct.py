"""Use cases for the meeting itself and its votes: roll call, notes, decisions, motions, ballots.

Like `meetings.services`: each function authorises, loads, applies the rules (`proceedings`,
`votes`), stores, audits and commits once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from meetings.domain import proceedings, scheduling, votes
from meetings.domain.errors import InvalidInput, InvalidState, NotFound, UnknownMotion
from meetings.domain.model import (
    AgendaItem,
    Attendance,
    Ballot,
    Choice,
    Council,
    Decision,
    Department,
    Meeting,
    Member,
    Motion,
    MotionKind,
    MotionState,
    Note,
    NoteKind,
)
from meetings.domain.permissions import Act, require
from meetings.domain.text import TEXT_MAX, clean, optional
from meetings.ports import UnitOfWork
from meetings.services import (
    Actor,
    Operator,
    authorise,
    council_of,
    department_of,
    record,
)

# A meeting in progress started at most this long ago (they last hours, not days).
_RUNNING_WINDOW = timedelta(days=2)
# A circular vote runs at least this long, so everyone has a fair chance to see it.
MIN_CIRCULAR = timedelta(hours=1)
MAX_CIRCULAR = timedelta(days=90)


async def _meetings(uow: UnitOfWork, council_id: int, now: datetime) -> Sequence[Meeting]:
    return await uow.meetings.list(council_id, since=now - _RUNNING_WINDOW)


async def _running(uow: UnitOfWork, council_id: int, now: datetime) -> Meeting:
    return proceedings.require_running(await _meetings(uow, council_id, now))


# --- the meeting --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RollCall:
    meeting: Meeting
    departments: Sequence[Department]
    attendance: Sequence[Attendance]
    members: Sequence[Member]


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
        call = await _roll_call(uow, council_id, started)
        await uow.commit()
    return call


async def _roll_call(uow: UnitOfWork, council_id: int, meeting: Meeting) -> RollCall:
    return RollCall(meeting, await uow.departments.list(council_id),
                    await uow.attendance.list(meeting.id), await uow.members.list(council_id))


async def mark_here(uow: UnitOfWork, council_id: int, *, actor: Member, now: datetime,
                    meeting_id: int | None = None) -> tuple[Attendance, bool]:
    """A CIO or expert marks themself present (by /here or the roll-call button, which names
    its meeting). Returns the record and whether it was new news (False: already present)."""
    require(actor, Act.MARK_HERE)
    async with uow:
        meeting = await _running(uow, council_id, now)
        if meeting_id is not None and meeting_id != meeting.id:
            raise InvalidState("meeting #{id} is not in progress", id=meeting_id)
        attendance = proceedings.here(actor, meeting)
        before = [a for a in await uow.attendance.list(meeting.id)
                  if (a.department_id, a.member_id) == (attendance.department_id, actor.id)
                  and a.status is attendance.status]
        if before:
            return before[0], False
        stored = await uow.attendance.put(attendance)
        await record(uow, council_id, actor, "attendance.here", now, meeting=meeting.id,
                     department=attendance.department_id)
        await uow.commit()
    return stored, True


async def _meeting_for_attendance(uow: UnitOfWork, council_id: int, now: datetime) -> Meeting:
    """The meeting in progress or, between meetings, the next one (apologies come early)."""
    meetings = await _meetings(uow, council_id, now)
    meeting = proceedings.running(meetings) or scheduling.next_meeting(meetings, now)
    if meeting is None:
        raise InvalidState("no meeting is scheduled")
    return meeting


async def record_proxy(uow: UnitOfWork, council_id: int, *, code: str, name: str, actor: Actor,
                       now: datetime) -> tuple[Attendance, Department, Meeting]:
    """The office records a deputy attending for a department (who may not vote)."""
    authorise(actor, Act.RECORD_ATTENDANCE)
    name = clean(name, field="proxy name")
    return await _record_for_department(
        uow, council_id, code, actor, now, "attendance.proxy",
        lambda meeting, department, cio: proceedings.proxy(meeting, department, cio, name))


async def record_excused(uow: UnitOfWork, council_id: int, *, code: str, reason: str,
                         actor: Actor, now: datetime) -> tuple[Attendance, Department, Meeting]:
    """The office records a department's CIO as excused, with the reason if given."""
    authorise(actor, Act.RECORD_ATTENDANCE)
    reason = optional(reason, field="reason", max_length=TEXT_MAX)
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


async def set_topic(uow: UnitOfWork, council_id: int, item_id: int, *, actor: Actor,
                    now: datetime) -> AgendaItem:
    """The office moves the discussion to an accepted agenda item of the running meeting."""
    authorise(actor, Act.RUN_MEETING)
    async with uow:
        meeting = await _running(uow, council_id, now)
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
    text = clean(text, field="note", max_length=TEXT_MAX, multiline=True)
    async with uow:
        meeting = await _running(uow, council_id, now)
        note = await uow.notes.add(Note(meeting.id, kind, text, actor.id, now,
                                        agenda_item_id=meeting.topic_id))
        await record(uow, council_id, actor, "note.add", now, note=note.id, meeting=meeting.id,
                     kind=kind.value)
        await uow.commit()
    return note


async def record_agreed(uow: UnitOfWork, council_id: int, *, text: str, actor: Actor,
                        now: datetime) -> Decision:
    """The chair records a decision taken without a vote, under the topic."""
    authorise(actor, Act.RECORD_DECISION)
    text = clean(text, field="decision", max_length=TEXT_MAX, multiline=True)
    async with uow:
        meeting = await _running(uow, council_id, now)
        decision = await uow.decisions.add(Decision(council_id, text, now, meeting_id=meeting.id,
                                                    agenda_item_id=meeting.topic_id))
        await record(uow, council_id, actor, "decision.agreed", now, decision=decision.id,
                     meeting=meeting.id)
        await uow.commit()
    return decision


_UNDOABLE = {"note.add": "note", "decision.agreed": "decision"}


async def undo_last(uow: UnitOfWork, council_id: int, *, actor: Actor,
                    now: datetime) -> Note | Decision:
    """Removes the last note or agreed decision of the running meeting (never a vote).

    "Last" is by the audit log's order, which is exact even when two records share a timestamp;
    the removed text stays in the audit log.
    """
    authorise(actor, Act.UNDO)
    async with uow:
        meeting = await _running(uow, council_id, now)
        notes = {n.id: n for n in await uow.notes.list(meeting.id)}
        decisions = {d.id: d for d in await uow.decisions.list(council_id)
                     if d.meeting_id == meeting.id and d.motion_id is None}
        for event in reversed(await uow.audit.list(council_id)):
            target = _UNDOABLE.get(event.action)
            if target is None:
                continue
            payload = json.loads(event.payload)
            found: Note | Decision | None = (notes.get(payload["note"]) if target == "note"
                                             else decisions.get(payload["decision"]))
            if found is None:
                continue  # already undone, or of another meeting
            if isinstance(found, Note):
                await uow.notes.delete(found.id)
            else:
                await uow.decisions.delete(found.id)
            await record(uow, council_id, actor, f"{target}.undo", now, meeting=meeting.id,
                         **{target: found.id}, text=found.text)
            await uow.commit()
            return found
    raise InvalidState("there is no note or decision of this meeting to undo")


@dataclass(frozen=True, slots=True)
class Ended:
    meeting: Meeting
    attendance: Sequence[Attendance]
    notes: int
    decisions: int
    motions: int


async def end_meeting(uow: UnitOfWork, council_id: int, *, actor: Actor,
                      now: datetime) -> Ended:
    """Ends the running meeting; departments nobody answered for are recorded absent."""
    authorise(actor, Act.RUN_MEETING)
    async with uow:
        meeting = await _running(uow, council_id, now)
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
                       len(decisions), len(motions))
        await record(uow, council_id, actor, "meeting.end", now, meeting=meeting.id)
        await uow.commit()
    return result


# --- votes --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Opened:
    count: Count
    voters: Sequence[Member]  # the CIOs who may be asked for their vote (a secret ballot's)


async def open_motion(uow: UnitOfWork, council_id: int, *, kind: MotionKind, text: str,
                      actor: Actor, now: datetime, closes_local: str | None = None) -> Opened:
    """The chair opens a vote: named or secret in the running meeting, circular between
    meetings until a local deadline."""
    authorise(actor, Act.OPEN_VOTE)
    text = clean(text, field="motion", max_length=TEXT_MAX, multiline=True)
    async with uow:
        council = await council_of(uow, council_id)
        meeting: Meeting | None = None
        closes_at = None
        if kind is MotionKind.CIRCULAR:
            closes_at = _circular_deadline(council, closes_local or "", now)
        else:
            meeting = await _running(uow, council_id, now)
        motion = await uow.motions.add(Motion(
            council_id, kind, text, council.majority_rule, council.quorum, now,
            meeting_id=meeting.id if meeting else None,
            agenda_item_id=meeting.topic_id if meeting else None, closes_at=closes_at))
        await record(uow, council_id, actor, "motion.open", now, motion=motion.id,
                     kind=kind.value, closes_at=closes_at.isoformat() if closes_at else None)
        voters = list(votes.cios_by_department(await uow.members.list(council_id)).values())
        count = await _count(uow, motion)
        await uow.commit()
    return Opened(count, voters)


def _circular_deadline(council: Council, text: str, now: datetime) -> datetime:
    closes_at = scheduling.to_utc(scheduling.parse_local_datetime(text), council.timezone)
    if not now + MIN_CIRCULAR <= closes_at <= now + MAX_CIRCULAR:
        raise InvalidInput("a circular vote needs a deadline between one hour and 90 days "
                           "from now")
    return closes_at


async def attach_message(uow: UnitOfWork, motion_id: int, *, chat_id: int,
                         message_id: int) -> Motion:
    """Remembers the group message that shows the motion's live count."""
    async with uow:
        motion = await uow.motions.get(motion_id)
        if motion is None:
            raise UnknownMotion("no motion M{id}", id=motion_id)
        motion = await uow.motions.update(replace(motion, chat_id=chat_id,
                                                  message_id=message_id))
        await uow.commit()
    return motion


async def _motion(uow: UnitOfWork, council_id: int, motion_id: int | None, *,
                  lock: bool = False) -> Motion:
    """A motion of the council by id; with none, the one open motion there is."""
    if motion_id is None:
        open_ones = await uow.motions.list(council_id, open_only=True)
        if len(open_ones) != 1:
            if not open_ones:
                raise NotFound("no motion is open")
            raise InvalidInput("several motions are open ({motions}): say which one",
                               motions=", ".join(f"M{m.id}" for m in open_ones))
        motion_id = open_ones[0].id
    motion = await (uow.motions.lock(motion_id) if lock else uow.motions.get(motion_id))
    if motion is None or motion.council_id != council_id:
        raise UnknownMotion("no motion M{id} in this council", id=motion_id)
    return motion


@dataclass(frozen=True, slots=True)
class Count:
    """Where a vote stands: the live count while open, the declared result once closed."""

    motion: Motion
    ballots: Sequence[Ballot]  # the current ones
    eligible: int
    departments: Sequence[Department]

    @property
    def cast(self) -> int:
        return len(self.ballots)

    def of(self, choice: Choice) -> int:
        return sum(1 for b in self.ballots if b.choice is choice)

    def voters(self, choice: Choice) -> list[str]:
        """The codes of the departments that voted ``choice`` (named votes show them)."""
        codes = {d.id: d.code for d in self.departments}
        return sorted(codes.get(b.department_id, "?") for b in self.ballots
                      if b.choice is choice)


async def _count(uow: UnitOfWork, motion: Motion,
                 ballots: Sequence[Ballot] | None = None) -> Count:
    if ballots is None:
        ballots = await uow.ballots.current(motion.id)
    eligible = (motion.eligible if motion.eligible is not None
                else await _electorate(uow, motion, ballots))
    return Count(motion, ballots, eligible, await uow.departments.list(motion.council_id))


async def _electorate(uow: UnitOfWork, motion: Motion, ballots: Sequence[Ballot]) -> int:
    attendance = await uow.attendance.list(motion.meeting_id) if motion.meeting_id else []
    cios = votes.cios_by_department(await uow.members.list(motion.council_id))
    return votes.electorate(motion, cios, attendance, ballots)


@dataclass(frozen=True, slots=True)
class Cast:
    ballot: Ballot
    motion: Motion
    replaced: Choice | None  # the department's earlier vote, if this changes it
    overtaken_by: Choice | None = None  # sent before the current vote (a replay): that stands


async def cast_vote(uow: UnitOfWork, council_id: int, motion_id: int | None, *, choice: Choice,
                    actor: Member, now: datetime, in_group: bool = False,
                    update_id: int | None = None) -> Cast:
    """A CIO votes for their department; eligibility is checked on every cast. A later vote
    replaces the earlier one, which stays in the history. A secret ballot is never cast in
    the group, where everyone would see it.

    This is the path every button press takes, many at once: it reads only the rows this
    one vote needs (the live count is read separately, at most every few seconds)."""
    require(actor, Act.VOTE)
    async with uow:
        # Locked, so the department's current ballot read below is still current at the cast.
        motion = await _motion(uow, council_id, motion_id, lock=True)
        if in_group and motion.kind is MotionKind.SECRET:
            raise InvalidInput("M{id} is a secret ballot: vote in your private chat with me",
                               id=motion.id)
        attendance = None
        if votes.in_meeting(motion) and motion.meeting_id is not None and actor.department_id:
            attendance = await uow.attendance.of_department(motion.meeting_id,
                                                            actor.department_id)
        department_id = votes.check_eligible(actor, motion, attendance, now=now)
        earlier = await uow.ballots.current_of(motion.id, department_id)
        ballot = Ballot(motion.id, actor.id, department_id, choice, now, update_id=update_id)
        late = votes.overtaken(ballot, earlier)
        ballot = await (uow.ballots.add_superseded(ballot) if late else uow.ballots.cast(ballot))
        # A secret ballot's audit entry says who voted, never what.
        shown_choice = None if motion.kind is MotionKind.SECRET else choice.value
        await record(uow, council_id, actor, "vote.cast", now, motion=motion.id,
                     ballot=ballot.id, choice=shown_choice, overtaken=late)
        await uow.commit()
    if late:
        assert earlier is not None
        return Cast(ballot, motion, None, overtaken_by=earlier.choice)
    return Cast(ballot, motion, earlier.choice if earlier else None)


async def motion_count(uow: UnitOfWork, motion_id: int) -> tuple[Council, Count]:
    """The live count (or result) of a motion, and its council, for its group message."""
    async with uow:
        motion = await uow.motions.get(motion_id)
        if motion is None:
            raise UnknownMotion("no motion M{id}", id=motion_id)
        return await council_of(uow, motion.council_id), await _count(uow, motion)


@dataclass(frozen=True, slots=True)
class Result:
    count: Count
    outcome: votes.Outcome
    decision: Decision | None  # recorded when the motion carried


async def close_motion(uow: UnitOfWork, council_id: int, motion_id: int | None, *,
                       actor: Actor, now: datetime) -> Result:
    """The chair closes a vote and the result is declared by the council's rule and quorum."""
    authorise(actor, Act.OPEN_VOTE)
    async with uow:
        motion = await _motion(uow, council_id, motion_id, lock=True)
        result = await declare_result(uow, motion, actor=actor, now=now)
        await uow.commit()
    return result


async def declare_result(uow: UnitOfWork, motion: Motion, *, actor: Actor,
                         now: datetime) -> Result:
    """Closes a motion, locked by the caller, inside the caller's unit of work (shared with the
    outbox, which closes circular votes at their deadline)."""
    if motion.state is not MotionState.OPEN:
        raise InvalidState("motion M{id} is already closed", id=motion.id)
    # Every cast locks the motion as the caller did (SQLite: one writer at a time), so no cast
    # joins between this read and the commit, after which the ballots trigger refuses them.
    ballots = await uow.ballots.current(motion.id)
    eligible = await _electorate(uow, motion, ballots)
    closed, outcome = votes.declare(motion, ballots, eligible=eligible, now=now)
    closed = await uow.motions.update(closed)
    decision = None
    if outcome.passed:
        decision = await uow.decisions.add(Decision(
            motion.council_id, motion.text, now, meeting_id=motion.meeting_id,
            agenda_item_id=motion.agenda_item_id, motion_id=motion.id))
    await record(uow, motion.council_id, actor, "motion.close", now, motion=motion.id,
                 yes=outcome.yes, no=outcome.no, abstain=outcome.abstain, eligible=eligible,
                 passed=outcome.passed, digest=outcome.digest)
    return Result(await _count(uow, closed, ballots), outcome, decision)


async def close_due_circular(uow: UnitOfWork, motion_id: int, *, now: datetime
                             ) -> Result | None:
    """Closes a circular vote whose deadline has passed, inside the caller's unit of work;
    None when it is not due or was closed already."""
    motion = await uow.motions.lock(motion_id)
    if (motion is None or motion.state is not MotionState.OPEN or motion.closes_at is None
            or now < motion.closes_at):
        return None
    return await declare_result(uow, motion, actor=Operator("scheduler"), now=now)


async def declared_result(uow: UnitOfWork, motion_id: int) -> Result | None:
    """A closed motion's result as declared, read back from its stored ballots and decision
    (to post it again when the first post was lost); None while it is open."""
    motion = await uow.motions.get(motion_id)
    if motion is None or motion.state is not MotionState.CLOSED:
        return None
    ballots = await uow.ballots.current(motion.id)
    count = await _count(uow, motion, ballots)
    outcome = votes.tally(ballots, motion.rule, eligible=count.eligible, quorum=motion.quorum)
    decision = next((d for d in await uow.decisions.list(motion.council_id)
                     if d.motion_id == motion.id), None)
    return Result(count, outcome, decision)

