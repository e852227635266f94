"""Reading a vote, who the result is judged against, and declaring it: checked against an
independent recount of random ballot histories."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetings.domain.errors import InvalidInput, VotingClosed
from meetings.domain.model import (
    Attendance,
    AttendanceStatus,
    Ballot,
    Choice,
    MajorityBase,
    MajorityRule,
    Motion,
    MotionKind,
    MotionState,
)
from meetings.domain.rules import Quorum
from meetings.domain.votes import (
    ballot_digest,
    basis_of,
    current_ballots,
    declare,
    electorate,
    overtaken,
    parse_choice,
    sent_later,
    tally,
)

T0 = datetime(2027, 3, 11, 6, 30, tzinfo=UTC)
Y, N, A = Choice.YES, Choice.NO, Choice.ABSTAIN


@pytest.mark.parametrize(
    ("text", "choice"),
    [("yes", Y), ("YES", Y), ("  Yes\n", Y), ("y", Y), ("Y", Y), ("赞成", Y), ("同意", Y),
     ("no", N), ("No", N), ("n", N), ("反对", N),
     ("abstain", A), ("ABSTAIN", A), ("a", A), (" 弃权 ", A)],
)
def test_choices_in_words_initials_and_chinese(text: str, choice: Choice) -> None:
    """yes/no/abstain in any case, their initials and the Chinese words are understood."""
    assert parse_choice(text) is choice


@pytest.mark.parametrize("text", ["", "   ", "maybe", "ye", "yes please", "nay", "abs", "是",
                                  "赞成票", "+1", "yes\x00"])
def test_anything_else_is_refused(text: str) -> None:
    """Junk, partial words and unknown Chinese get the short explanation, not a guess."""
    with pytest.raises(InvalidInput, match="vote yes, no or abstain"):
        parse_choice(text)


# --- the electorate -----------------------------------------------------------------------------

# Six member departments: the quorum is more than half of them, four.
NAMED = Motion(council_id=1, kind=MotionKind.NAMED, text="Adopt the data catalogue",
               rule=MajorityRule.SIMPLE, quorum=0.5, opened_at=T0, meeting_id=3, membership=6,
               quorum_needed=4, id=2)
SIMPLE, ABSOLUTE, TWO_THIRDS = MajorityRule.SIMPLE, MajorityRule.ABSOLUTE, MajorityRule.TWO_THIRDS
CAST, MEMBERS = MajorityBase.CAST, MajorityBase.MEMBERS
CIRCULAR = replace(NAMED, kind=MotionKind.CIRCULAR, meeting_id=None,
                   closes_at=T0 + timedelta(days=3))
WITH_CIO = [1, 2, 3, 4, 5, 6]


def attendance(department_id: int, status: AttendanceStatus) -> Attendance:
    return Attendance(meeting_id=3, department_id=department_id, status=status)


ROLL = [attendance(1, AttendanceStatus.PRESENT), attendance(2, AttendanceStatus.PRESENT),
        attendance(3, AttendanceStatus.PROXY), attendance(4, AttendanceStatus.EXCUSED),
        attendance(5, AttendanceStatus.ABSENT),
        # An expert's own record is present but has no department to count.
        Attendance(meeting_id=3, department_id=None, status=AttendanceStatus.PRESENT,
                   member_id=90)]


def ballot(department_id: int, choice: Choice, *, at: datetime = T0, ballot_id: int = 0,
           motion_id: int = 2) -> Ballot:
    return Ballot(motion_id=motion_id, member_id=100 + department_id,
                  department_id=department_id, choice=choice, cast_at=at,
                  id=ballot_id or department_id)


def test_in_a_meeting_only_departments_present_in_person_count() -> None:
    """Proxy, excused, absent and departments without a record are not in the electorate."""
    assert electorate(NAMED, WITH_CIO, ROLL, []) == 2


def test_a_department_present_without_a_cio_does_not_count() -> None:
    """Only departments with a CIO can vote, so only they count towards the total."""
    assert electorate(NAMED, [1], ROLL, []) == 1


def test_a_department_that_voted_and_left_still_counts() -> None:
    """EPB voted and was then recorded excused: its ballot stands and so does its place."""
    left = [*ROLL[:3], attendance(4, AttendanceStatus.EXCUSED)]
    assert electorate(NAMED, WITH_CIO, left, [ballot(1, Y), ballot(4, N)]) == 3
    # Ballots of departments already counted do not count twice.
    assert electorate(NAMED, WITH_CIO, left, [ballot(1, Y), ballot(2, N)]) == 2


def test_a_circular_vote_counts_every_department_with_a_cio() -> None:
    """Between meetings attendance is irrelevant: every department with a CIO is eligible,
    plus one whose CIO voted and has since gone."""
    assert electorate(CIRCULAR, WITH_CIO, ROLL, []) == 6
    assert electorate(CIRCULAR, WITH_CIO, [], []) == 6
    assert electorate(CIRCULAR, WITH_CIO, [], [ballot(9, Y)]) == 7


# --- declaring the result -----------------------------------------------------------------------

def test_declare_stores_the_result_on_the_motion() -> None:
    """The closed motion carries state, time, counts, electorate, verdict and the digest; its
    basis (rule, base, membership, quorum) is the one it opened with."""
    current = [ballot(1, Y), ballot(2, Y), ballot(3, N), ballot(4, A)]
    closed, outcome = declare(NAMED, current, eligible=6, now=T0 + timedelta(minutes=5))
    assert (closed.state, closed.closed_at) == (MotionState.CLOSED, T0 + timedelta(minutes=5))
    assert (closed.yes, closed.no, closed.abstain, closed.eligible, closed.passed) == (
        2, 1, 1, 6, True)
    assert closed.digest == ballot_digest(current) == outcome.digest
    assert (outcome.yes, outcome.no, outcome.abstain, outcome.quorum_needed) == (2, 1, 1, 4)
    assert outcome.basis == basis_of(NAMED) == basis_of(closed)
    assert replace(closed, state=MotionState.OPEN, closed_at=None, eligible=None, yes=None,
                   no=None, abstain=None, passed=None, digest="") == NAMED


def test_without_a_quorum_a_majority_does_not_carry() -> None:
    """Two yes of six members is short of more than half: the motion fails though nobody
    voted no."""
    closed, outcome = declare(NAMED, [ballot(1, Y), ballot(2, Y)], eligible=2, now=T0)
    assert (outcome.quorum_met, closed.passed) == (False, False)


def test_the_quorum_is_of_the_membership_not_of_those_present() -> None:
    """Three of nine member departments came and all voted yes: three of three present is
    still short of the quorum of five."""
    motion = replace(NAMED, membership=9, quorum_needed=Quorum(Fraction(1, 2)).needed(9))
    closed, outcome = declare(motion, [ballot(1, Y), ballot(2, Y), ballot(3, Y)], eligible=3,
                              now=T0)
    assert (outcome.quorum_needed, outcome.cast, outcome.quorum_met, closed.passed) == (
        5, 3, False, False)


def test_membership_changing_during_a_vote_leaves_its_basis() -> None:
    """The membership is counted when the vote opens: a department that gets its CIO while
    the vote runs may vote, but neither the quorum nor an absolute majority's base moves."""
    opened = replace(NAMED, kind=MotionKind.CIRCULAR, meeting_id=None, rule=ABSOLUTE,
                     base=MEMBERS, membership=4, quorum_needed=3)
    # A fifth department gained a CIO after the opening; three yes of the four members carry.
    current = [ballot(1, Y), ballot(2, Y), ballot(5, Y), ballot(3, N)]
    closed, outcome = declare(opened, current, eligible=electorate(opened, [1, 2, 3, 4, 5], [],
                                                                   current), now=T0)
    assert (closed.membership, outcome.quorum_needed, closed.eligible, closed.passed) == (
        4, 3, 5, True)
    # A department whose CIO left after voting: its vote still counts, the basis is unchanged.
    closed, outcome = declare(opened, [ballot(1, Y), ballot(2, Y)], eligible=4, now=T0)
    assert (outcome.quorum_met, closed.passed) == (False, False)


def test_a_closed_motion_is_not_declared_again() -> None:
    """Declaring twice is refused, so a result cannot be overwritten."""
    closed, _ = declare(NAMED, [ballot(1, Y)], eligible=1, now=T0)
    with pytest.raises(VotingClosed, match="motion M2 is closed"):
        declare(closed, [ballot(1, N)], eligible=1, now=T0 + timedelta(minutes=1))


# A cast: (department, choice, seconds after the previous cast; 0 makes a tie on the clock).
casts = st.lists(st.tuples(st.integers(1, 8), st.sampled_from(list(Choice)),
                           st.integers(0, 3)), max_size=40)
# Quorums as exact fractions, so the hand recount needs no floating point: (share, of, over).
quorums = st.sampled_from([(1, 4, True), (1, 2, True), (1, 2, False), (3, 5, False),
                           (2, 3, False), (2, 3, True), (1, 1, False)])
rules = st.sampled_from([(SIMPLE, CAST), (ABSOLUTE, MEMBERS), (TWO_THIRDS, CAST),
                         (TWO_THIRDS, MEMBERS)])


def _recount(history: list[tuple[int, Choice]], rule: tuple[MajorityRule, MajorityBase],
             quorum: tuple[int, int, bool], membership: int) -> tuple[int, int, int, bool]:
    """The result counted by hand: the last choice of each department in the order cast."""
    last: dict[int, Choice] = {}
    for department, choice in history:
        last[department] = choice
    yes = sum(1 for c in last.values() if c is Y)
    no = sum(1 for c in last.values() if c is N)
    abstain = sum(1 for c in last.values() if c is A)
    share, whole, over = quorum
    # The fewest departments that are more than (or at least) share/whole of the membership.
    needed = next(n for n in range(membership + 2)
                  if (n * whole > share * membership if over else n * whole >= share * membership))
    quorate = yes + no + abstain >= max(needed, 1)
    match rule:
        case (MajorityRule.SIMPLE, _):
            carried = yes > no
        case (MajorityRule.ABSOLUTE, _):
            carried = yes > membership / 2
        case (_, MajorityBase.MEMBERS):
            carried = yes > 0 and yes / membership >= 2 / 3 - 1e-12
        case _:
            carried = yes > 0 and yes / (yes + no) >= 2 / 3 - 1e-12
    return yes, no, abstain, quorate and carried


@settings(max_examples=300, deadline=None)
@given(cast=casts, rule=rules, quorum=quorums, extra=st.integers(0, 4),
       seed=st.integers(0, 2**32 - 1))
def test_declared_result_equals_a_recount_by_hand(
        cast: list[tuple[int, Choice, int]], rule: tuple[MajorityRule, MajorityBase],
        quorum: tuple[int, int, bool], extra: int, seed: int) -> None:
    """Whatever the history (changed votes, ties on the clock, any reading order), rule, base
    and quorum, declaring on the current ballots gives the counts and verdict of a plain
    recount, and recounting the stored motion later gives the stored result."""
    history: list[Ballot] = []
    at = T0
    for number, (department, choice, gap) in enumerate(cast, start=1):
        at += timedelta(seconds=gap)
        history.append(ballot(department, choice, at=at, ballot_id=number))
    shuffled = history[:]
    random.Random(seed).shuffle(shuffled)
    voted = {department for department, _, _ in cast}
    membership = len(voted) + extra
    share, whole, over = quorum
    motion = replace(NAMED, rule=rule[0], base=rule[1], membership=membership,
                     quorum_needed=Quorum(Fraction(share, whole), over).needed(membership))

    closed, outcome = declare(motion, current_ballots(shuffled), eligible=membership, now=at)

    expected = _recount([(d, c) for d, c, _ in cast], rule, quorum, membership)
    assert (closed.yes, closed.no, closed.abstain, closed.passed) == expected
    assert (outcome.yes, outcome.no, outcome.abstain, outcome.passed) == expected
    assert closed.eligible == membership
    recount = tally(current_ballots(history), basis_of(closed), eligible=membership)
    assert (recount.digest, recount.passed, recount.yes, recount.no) == (
        closed.digest, closed.passed, closed.yes, closed.no)


def test_update_numbers_order_ballots_sent_close_together() -> None:
    """A replayed press (lower update number, handled later) is overtaken by the one sent after
    it; far apart in time, or without numbers, the time of casting decides."""
    t0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    sent_second = Ballot(1, 1, 7, Choice.NO, t0, update_id=102, id=1)
    replayed = Ballot(1, 1, 7, Choice.YES, t0 + timedelta(minutes=1), update_id=101, id=2)
    assert overtaken(replayed, sent_second)
    assert not sent_later(replayed, sent_second)
    assert current_ballots([replayed, sent_second]) == [sent_second]
    assert not overtaken(replayed, None)
    # Numbers restart after a week idle: a week later the new, smaller number is still later.
    next_week = Ballot(1, 1, 7, Choice.YES, t0 + timedelta(days=8), update_id=5, id=3)
    assert not overtaken(next_week, sent_second)
    assert current_ballots([sent_second, next_week]) == [next_week]
    # Without numbers (the command line, old rows) arrival order is sending order.
    unnumbered = Ballot(1, 1, 7, Choice.ABSTAIN, t0, id=4)
    assert not overtaken(unnumbered, sent_second)
