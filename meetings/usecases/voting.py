"""Use cases of votes: named, secret and circular motions, ballots, counts, closing and the
declared result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from meetings.domain import scheduling, votes
from meetings.domain.errors import (
    CouncilError,
    InvalidInput,
    InvalidState,
    NotFound,
    UnknownMotion,
    Word,
)
from meetings.domain.model import (
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
    SecretVote,
)
from meetings.domain.permissions import Act, require
from meetings.domain.reminders import ReminderKind
from meetings.domain.text import TEXT_MAX, clean
from meetings.ports import NewJob, UnitOfWork
from meetings.usecases.common import (
    OUTBOX_JOB_KIND,
    Actor,
    Operator,
    authorise,
    council_of,
    record,
    running_meeting,
)

# A circular vote runs at least this long, so everyone has a fair chance to see it.
MIN_CIRCULAR = timedelta(hours=1)


MAX_CIRCULAR = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class Opened:
    count: Count
    voters: Sequence[Member]  # the CIOs who may be asked for their vote (a secret ballot's)


async def open_motion(uow: UnitOfWork, council_id: int, *, kind: MotionKind, text: str,
                      actor: Actor, now: datetime, closes_local: str | None = None) -> Opened:
    """The chair opens a vote: named or secret in the running meeting, circular between
    meetings until a local deadline."""
    authorise(actor, Act.OPEN_VOTE)
    text = clean(text, field=Word("motion"), max_length=TEXT_MAX, multiline=True)
    async with uow:
        council = await council_of(uow, council_id)
        meeting: Meeting | None = None
        closes_at = None
        if kind is MotionKind.CIRCULAR:
            closes_at = _circular_deadline(council, closes_local or "", now)
        else:
            meeting = await running_meeting(uow, council_id, now)
        voters = list(votes.cios_by_department(await uow.members.list(council_id)).values())
        # The membership and the council's rules as they stand now judge this vote to its end.
        basis = votes.basis_for(council, len(voters))
        motion = await uow.motions.add(Motion(
            council_id, kind, text, basis.rule, council.quorum, now,
            meeting_id=meeting.id if meeting else None,
            agenda_item_id=meeting.topic_id if meeting else None, closes_at=closes_at,
            base=basis.base, membership=basis.membership, quorum_needed=basis.quorum_needed))
        await record(uow, council_id, actor, "motion.open", now, motion=motion.id,
                     kind=kind.value, closes_at=closes_at.isoformat() if closes_at else None,
                     rule=basis.rule.value, base=basis.base.value, membership=basis.membership,
                     quorum=basis.quorum_needed)
        if kind is MotionKind.SECRET:
            await _enqueue_ballots(uow, motion, voters, now)
        count = await _count(uow, motion)
        await uow.commit()
    return Opened(count, voters)


def ballot_prefix(motion_id: int) -> str:
    """The dedupe keys of a secret ballot's papers start with this."""
    return f"motion:{motion_id}:ballot:"


async def _enqueue_ballots(uow: UnitOfWork, motion: Motion, voters: Sequence[Member],
                           now: datetime) -> None:
    """Each CIO's paper of a secret ballot is a job in the outbox, queued with the motion in
    one transaction: a crash once the motion exists still delivers every paper (once)."""
    await uow.jobs.enqueue_all([
        NewJob(kind=OUTBOX_JOB_KIND,
               dedupe_key=f"{ballot_prefix(motion.id)}{voter.telegram_id}", run_at=now,
               payload={"council_id": motion.council_id, "motion_id": motion.id,
                        "kind": ReminderKind.BALLOT.value, "chat_id": voter.telegram_id,
                        "group": False})
        for voter in voters if voter.telegram_id is not None])


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
    ballots: Sequence[Ballot]  # the current ones (none for a secret ballot: see ``box``)
    eligible: int
    departments: Sequence[Department]
    box: votes.SecretBox | None = None  # a secret ballot's: who voted, and the counts
    decision_id: int | None = None  # the decision a carried motion became

    @property
    def cast(self) -> int:
        return self.box.cast if self.box is not None else len(self.ballots)

    def of(self, choice: Choice) -> int:
        if self.box is not None:
            return self.box.counts.get(choice, 0)
        return sum(1 for b in self.ballots if b.choice is choice)

    def voters(self, choice: Choice) -> list[str]:
        """The codes of the departments that voted ``choice`` (named votes show them; nothing
        knows them for a secret ballot)."""
        codes = {d.id: d.code for d in self.departments}
        return sorted(codes.get(b.department_id, "?") for b in self.ballots
                      if b.choice is choice)


async def _count(uow: UnitOfWork, motion: Motion,
                 ballots: Sequence[Ballot] | None = None) -> Count:
    departments = await uow.departments.list(motion.council_id)
    decision = None
    if motion.state is MotionState.CLOSED and motion.passed:
        decision = next((d.id for d in await uow.decisions.list(motion.council_id)
                         if d.motion_id == motion.id), None)
    if motion.kind is MotionKind.SECRET:
        box = await _box(uow, motion)
        eligible = (motion.eligible if motion.eligible is not None
                    else await _electorate(uow, motion, box.voted))
        return Count(motion, (), eligible, departments, box, decision)
    if ballots is None:
        ballots = await uow.ballots.current(motion.id)
    eligible = (motion.eligible if motion.eligible is not None
                else await _electorate(uow, motion, (b.department_id for b in ballots)))
    return Count(motion, ballots, eligible, departments, decision_id=decision)


async def _box(uow: UnitOfWork, motion: Motion) -> votes.SecretBox:
    return votes.SecretBox.of(motion.id, await uow.secret_ballots.voters(motion.id),
                              await uow.secret_ballots.box(motion.id))


async def _electorate(uow: UnitOfWork, motion: Motion, voted: Iterable[int]) -> int:
    attendance = await uow.attendance.list(motion.meeting_id) if motion.meeting_id else []
    cios = votes.cios_by_department(await uow.members.list(motion.council_id))
    return votes.electorate_of(motion, cios, attendance, voted)


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
    the group, where everyone would see it, and is final (`_cast_secret`).

    This is the path every button press takes, many at once: it reads only the rows this
    one vote needs (the live count is read separately, at most every few seconds)."""
    require(actor, Act.VOTE)
    async with uow:
        # Locked, so the department's current ballot read below is still current at the cast.
        motion = await _motion(uow, council_id, motion_id, lock=True)
        if motion.kind is MotionKind.SECRET:
            try:
                return await _cast_secret(uow, motion, choice=choice, actor=actor, now=now,
                                          in_group=in_group, update_id=update_id)
            except CouncilError:
                # A refused press carried a choice too: it leaves the inbox all the same.
                if update_id is not None:
                    await uow.inbox.scrub(update_id)
                    await uow.commit()
                raise
        department_id = votes.check_eligible(actor, motion, await _attendance(uow, motion, actor),
                                             now=now)
        earlier = await uow.ballots.current_of(motion.id, department_id)
        ballot = Ballot(motion.id, actor.id, department_id, choice, now, update_id=update_id)
        late = votes.overtaken(ballot, earlier)
        ballot = await (uow.ballots.add_superseded(ballot) if late else uow.ballots.cast(ballot))
        await record(uow, council_id, actor, "vote.cast", now, motion=motion.id,
                     ballot=ballot.id, choice=choice.value, overtaken=late)
        await uow.commit()
    if late:
        assert earlier is not None
        return Cast(ballot, motion, None, overtaken_by=earlier.choice)
    return Cast(ballot, motion, earlier.choice if earlier else None)


async def _attendance(uow: UnitOfWork, motion: Motion, actor: Member) -> Attendance | None:
    if votes.in_meeting(motion) and motion.meeting_id is not None and actor.department_id:
        return await uow.attendance.of_department(motion.meeting_id, actor.department_id)
    return None


async def _cast_secret(uow: UnitOfWork, motion: Motion, *, choice: Choice, actor: Member,
                       now: datetime, in_group: bool, update_id: int | None) -> Cast:
    """A secret vote, inside the caller's unit of work: a has-voted row for the department and
    the choice into the ballot box, unlinked; the raw update it came in scrubbed of the choice;
    an audit entry that the department voted, not what. All in one transaction.

    A secret vote is final: taking a department's earlier choice back out of the box would need
    something that links the department to it, which is what must not be stored."""
    if in_group:
        raise InvalidInput("M{id} is a secret ballot: vote in your private chat with me",
                           id=motion.id)
    department_id = votes.check_eligible(actor, motion, await _attendance(uow, motion, actor),
                                         now=now)
    votes.check_secret_vote(motion, await uow.secret_ballots.voted(motion.id, department_id))
    await uow.secret_ballots.cast(SecretVote(motion.id, actor.id, department_id, now), choice)
    if update_id is not None:
        await uow.inbox.scrub(update_id)
    await record(uow, motion.council_id, actor, "vote.cast", now, motion=motion.id,
                 secret=True)
    await uow.commit()
    # The voter's own vote, told back to them only; it is stored nowhere as such.
    return Cast(Ballot(motion.id, actor.id, department_id, choice, now, update_id=update_id),
                motion, None)


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
    """The chair closes a vote and the result is declared by the rule and quorum it opened
    with."""
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
    if motion.kind is MotionKind.SECRET:
        box = await _box(uow, motion)
        eligible = await _electorate(uow, motion, box.voted)
        closed, outcome = votes.declare_box(motion, box, eligible=eligible, now=now)
        ballots: Sequence[Ballot] = ()
    else:
        ballots = await uow.ballots.current(motion.id)
        eligible = await _electorate(uow, motion, (b.department_id for b in ballots))
        closed, outcome = votes.declare(motion, ballots, eligible=eligible, now=now)
    closed = await uow.motions.update(closed)
    decision = None
    if outcome.passed:
        decision = await uow.decisions.add(Decision(
            motion.council_id, motion.text, now, meeting_id=motion.meeting_id,
            agenda_item_id=motion.agenda_item_id, motion_id=motion.id))
    await record(uow, motion.council_id, actor, "motion.close", now, motion=motion.id,
                 yes=outcome.yes, no=outcome.no, abstain=outcome.abstain, eligible=eligible,
                 membership=closed.membership, quorum=closed.quorum_needed,
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
    count = await _count(uow, motion)
    basis = votes.basis_of(motion)
    if count.box is not None:
        outcome = votes.tally_box(count.box, basis, eligible=count.eligible)
    else:
        outcome = votes.tally(count.ballots, basis, eligible=count.eligible)
    decision = next((d for d in await uow.decisions.list(motion.council_id)
                     if d.motion_id == motion.id), None)
    return Result(count, outcome, decision)
