"""Voting: who may vote, which ballots count, and what the result is.

One vote per department: a department's latest ballot is its vote, earlier ones are history.
A result is a pure function of the current ballots and the vote's `Basis` (its rule and base,
the membership and quorum when it opened, all stored with the motion), so anyone can recount it
from the stored rows.

A secret ballot is stored unlinked: who voted (`SecretVote`, one per department) and a ballot
box of counts by choice (`SecretBox`). Its result and digest are functions of those two alone,
so the recount needs no link between a department and its choice, and none is kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from meetings.domain import rules
from meetings.domain.errors import AlreadyVoted, InvalidInput, NotEligible, VotingClosed
from meetings.domain.model import (
    Attendance,
    AttendanceStatus,
    Ballot,
    Choice,
    Council,
    MajorityBase,
    MajorityRule,
    Member,
    Motion,
    MotionKind,
    MotionState,
    Role,
    SecretVote,
)


@dataclass(frozen=True, slots=True)
class Basis:
    """What a vote's result is judged by, fixed when the vote opens and stored with the motion,
    so a later change of the council's rules or membership never changes a declared result."""

    rule: MajorityRule
    base: MajorityBase
    membership: int  # the departments with a CIO when the vote opened
    quorum_needed: int  # how many of them must vote (in a meeting: present in person and voting)


def basis_for(council: Council, membership: int) -> Basis:
    """The basis of a vote opening now, by the council's rules."""
    return Basis(council.majority_rule, council.majority_base, membership,
                 rules.quorum_of(council).needed(membership))


def basis_of(motion: Motion) -> Basis:
    return Basis(motion.rule, motion.base, motion.membership, motion.quorum_needed)


@dataclass(frozen=True, slots=True)
class Outcome:
    basis: Basis
    yes: int
    no: int
    abstain: int
    eligible: int  # who could vote at the close (the live count's "of N")
    digest: str  # short hash of the ballot set, posted with the result so a recount can be checked

    @property
    def cast(self) -> int:
        return self.yes + self.no + self.abstain

    @property
    def quorum_needed(self) -> int:
        return self.basis.quorum_needed

    @property
    def quorum_met(self) -> bool:
        # An abstention takes part: it counts for the quorum, though for neither side.
        return self.cast >= self.basis.quorum_needed

    @property
    def passed(self) -> bool:
        return self.quorum_met and rule_met(self.basis, self.yes, self.no)


def rule_met(basis: Basis, yes: int, no: int) -> bool:
    """Whether ``yes`` against ``no`` carries by the basis' rule, of its base."""
    # Integer arithmetic only: a float two-thirds would misjudge 2 of 3.
    match basis.rule, basis.base:
        case MajorityRule.SIMPLE, _:
            return yes > no
        case MajorityRule.ABSOLUTE, _:
            return 2 * yes > basis.membership
        case MajorityRule.TWO_THIRDS, MajorityBase.MEMBERS:
            return yes > 0 and 3 * yes >= 2 * basis.membership
        case MajorityRule.TWO_THIRDS, _:
            return yes > 0 and 3 * yes >= 2 * (yes + no)
    raise AssertionError(basis)  # pragma: no cover -- the match covers every rule


@dataclass(frozen=True, slots=True)
class Presence:
    """Whether a meeting is quorate: departments present in person against the membership."""

    present: int
    membership: int
    needed: int

    @property
    def quorate(self) -> bool:
        return self.present >= self.needed


def presence(council: Council, departments_with_cio: Iterable[int],
             attendance: Iterable[Attendance]) -> Presence:
    """How many member departments are present in person, and how many the quorum asks for
    (a proxy, an expert or a guest never counts)."""
    members = set(departments_with_cio)
    present = {a.department_id for a in attendance
               if a.status is AttendanceStatus.PRESENT and a.department_id in members}
    return Presence(len(present), len(members), rules.quorum_of(council).needed(len(members)))


# Telegram numbers a bot's updates in the order they were sent, and starts the numbers afresh
# only after a week without updates; within a day of each other, the numbers decide the order.
SENT_ORDER_WINDOW = timedelta(days=1)


def _update_numbers(a: Ballot, b: Ballot) -> tuple[int, int] | None:
    """Both ballots' update numbers, when they decide which was sent first."""
    if a.update_id is None or b.update_id is None or abs(a.cast_at - b.cast_at) >= (
            SENT_ORDER_WINDOW):
        return None
    return a.update_id, b.update_id


def sent_later(ballot: Ballot, held: Ballot) -> bool:
    """Whether ``ballot`` was sent after ``held``: by update number where both have one (a
    replayed press is handled late but was sent early), otherwise by when each was cast."""
    numbers = _update_numbers(ballot, held)
    if numbers is not None:
        return numbers[0] > numbers[1]
    return (ballot.cast_at, ballot.id) > (held.cast_at, held.id)


def overtaken(ballot: Ballot, held: Ballot | None) -> bool:
    """Whether a ballot arriving now was sent before the department's current one ``held`` (its
    update replayed after a crash): it is kept as history and does not replace ``held``."""
    numbers = None if held is None else _update_numbers(ballot, held)
    # Without update numbers, arrival order is sending order.
    return numbers is not None and numbers[0] < numbers[1]


def current_ballots(history: Iterable[Ballot]) -> list[Ballot]:
    """Each department's latest ballot by sending order, whatever order the history comes in."""
    latest: dict[int, Ballot] = {}
    for ballot in history:
        held = latest.get(ballot.department_id)
        if held is None or sent_later(ballot, held):
            latest[ballot.department_id] = ballot
    return sorted(latest.values(), key=lambda b: b.department_id)


def ballot_digest(ballots: Iterable[Ballot]) -> str:
    """Order-independent fingerprint of who voted what (12 hex characters)."""
    lines = sorted(f"{b.motion_id}:{b.department_id}:{b.choice.value}" for b in ballots)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:12]


def tally(ballots: Sequence[Ballot], basis: Basis, *, eligible: int) -> Outcome:
    """The result of the given current ballots (at most one per department)."""
    departments = [b.department_id for b in ballots]
    if len(departments) != len(set(departments)):
        raise ValueError("tally takes current ballots only: one per department")
    counts = dict.fromkeys(Choice, 0)
    for ballot in ballots:
        counts[ballot.choice] += 1
    return _outcome(basis, counts, eligible=eligible, digest=ballot_digest(ballots))


def _outcome(basis: Basis, counts: Mapping[Choice, int], *, eligible: int,
             digest: str) -> Outcome:
    return Outcome(
        basis=basis,
        yes=counts.get(Choice.YES, 0),
        no=counts.get(Choice.NO, 0),
        abstain=counts.get(Choice.ABSTAIN, 0),
        eligible=eligible,
        digest=digest,
    )


@dataclass(frozen=True, slots=True)
class SecretBox:
    """A secret ballot as stored: the departments that voted, and the ballot box (how many of
    each choice). Nothing says which department put which choice in."""

    motion_id: int
    voted: frozenset[int]  # department ids
    counts: Mapping[Choice, int]

    @classmethod
    def of(cls, motion_id: int, voters: Iterable[SecretVote],
           counts: Mapping[Choice, int]) -> SecretBox:
        return cls(motion_id, frozenset(v.department_id for v in voters),
                   {choice: counts.get(choice, 0) for choice in Choice})

    @property
    def cast(self) -> int:
        return len(self.voted)

    def check(self) -> None:
        """Raises when the box holds a different number of ballots than departments voted (a
        stored result could then not be trusted)."""
        if sum(self.counts.values()) != len(self.voted):
            raise ValueError(f"M{self.motion_id}: {sum(self.counts.values())} ballots in the "
                             f"box, {len(self.voted)} departments voted")


def box_digest(box: SecretBox) -> str:
    """Fingerprint of a secret ballot (12 hex characters): which departments voted and how many
    ballots of each choice are in the box. Unlike `ballot_digest` it holds no department's
    choice, so trying every combination of choices against it reveals nothing."""
    lines = sorted([*(f"{box.motion_id}:voted:{d}" for d in box.voted),
                    *(f"{box.motion_id}:box:{c.value}:{box.counts.get(c, 0)}" for c in Choice)])
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:12]


def tally_box(box: SecretBox, basis: Basis, *, eligible: int) -> Outcome:
    """The result of a secret ballot, recounted from its box."""
    box.check()
    return _outcome(basis, box.counts, eligible=eligible, digest=box_digest(box))


def check_secret_vote(motion: Motion, voted: SecretVote | None) -> None:
    """A secret vote is final: a department that voted cannot vote again (its earlier choice
    could only be taken out of the box if something linked the department to it)."""
    if voted is not None:
        raise AlreadyVoted("your secret vote on M{id} is already in the ballot box; a secret "
                           "vote is final", id=motion.id)


def is_open(motion: Motion, now: datetime) -> bool:
    """Open and, for a circular vote, before its deadline."""
    if motion.state is not MotionState.OPEN:
        return False
    return motion.closes_at is None or now < motion.closes_at


def in_meeting(motion: Motion) -> bool:
    return motion.kind is not MotionKind.CIRCULAR


def check_eligible(
    member: Member, motion: Motion, attendance: Attendance | None, *, now: datetime
) -> int:
    """The department the member votes for; raises when they may not vote on this motion.

    Only a department's CIO votes; in a meeting they must be there in person, never by proxy.
    """
    if not is_open(motion, now):
        raise VotingClosed("motion M{id} is closed", id=motion.id)
    if member.role is not Role.CIO or member.department_id is None:
        raise NotEligible("only department CIOs vote")
    if in_meeting(motion):
        if attendance is None or attendance.status is not AttendanceStatus.PRESENT:
            if attendance is not None and attendance.status is AttendanceStatus.PROXY:
                raise NotEligible("a proxy may not vote")
            raise NotEligible("only CIOs present in person vote; mark yourself with /here")
        if attendance.member_id not in (None, member.id):
            raise NotEligible("your department is represented by someone else")
    return member.department_id


def cios_by_department(members: Iterable[Member]) -> dict[int, Member]:
    """Each department's CIO (the one person who votes for it), by department id."""
    return {m.department_id: m for m in members
            if m.role is Role.CIO and m.department_id is not None}


def eligible_departments(
    motion: Motion, departments_with_cio: Iterable[int], attendance: Iterable[Attendance]
) -> set[int]:
    """Departments that can vote on the motion: all with a CIO for a circular vote,
    those present in person for a vote in a meeting."""
    with_cio = set(departments_with_cio)
    if not in_meeting(motion):
        return with_cio
    present = {a.department_id for a in attendance if a.status is AttendanceStatus.PRESENT}
    return with_cio & present


_CHOICES = {
    "yes": Choice.YES, "y": Choice.YES, "赞成": Choice.YES, "同意": Choice.YES,
    "no": Choice.NO, "n": Choice.NO, "反对": Choice.NO,
    "abstain": Choice.ABSTAIN, "a": Choice.ABSTAIN, "弃权": Choice.ABSTAIN,
}


def parse_choice(text: str) -> Choice:
    """yes / no / abstain, their initials, or the Chinese words."""
    choice = _CHOICES.get(text.strip().lower())
    if choice is None:
        raise InvalidInput("vote yes, no or abstain")
    return choice


def electorate(motion: Motion, departments_with_cio: Iterable[int],
               attendance: Iterable[Attendance], ballots: Iterable[Ballot]) -> int:
    """How many departments the result is judged against: those eligible now, plus any whose
    current ballot was cast while they were (a CIO who voted and then left still counted)."""
    return electorate_of(motion, departments_with_cio, attendance,
                         (b.department_id for b in ballots))


def electorate_of(motion: Motion, departments_with_cio: Iterable[int],
                  attendance: Iterable[Attendance], voted: Iterable[int]) -> int:
    """`electorate`, given the departments that voted (a secret ballot's `SecretBox.voted`)."""
    eligible = eligible_departments(motion, departments_with_cio, attendance)
    return len(eligible | set(voted))


def declare(motion: Motion, ballots: Sequence[Ballot], *, eligible: int,
            now: datetime) -> tuple[Motion, Outcome]:
    """Closes the motion with its result, as a recount of ``ballots`` (the current ones)."""
    if motion.state is not MotionState.OPEN:
        raise VotingClosed("motion M{id} is closed", id=motion.id)
    outcome = tally(ballots, basis_of(motion), eligible=eligible)
    closed = replace(motion, state=MotionState.CLOSED, closed_at=now, eligible=eligible,
                     yes=outcome.yes, no=outcome.no, abstain=outcome.abstain,
                     passed=outcome.passed, digest=outcome.digest)
    return closed, outcome


def declare_box(motion: Motion, box: SecretBox, *, eligible: int,
                now: datetime) -> tuple[Motion, Outcome]:
    """Closes a secret ballot with its result, as a recount of its ballot box."""
    if motion.state is not MotionState.OPEN:
        raise VotingClosed("motion M{id} is closed", id=motion.id)
    outcome = tally_box(box, basis_of(motion), eligible=eligible)
    closed = replace(motion, state=MotionState.CLOSED, closed_at=now, eligible=eligible,
                     yes=outcome.yes, no=outcome.no, abstain=outcome.abstain,
                     passed=outcome.passed, digest=outcome.digest)
    return closed, outcome
