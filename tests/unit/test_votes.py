"""Tally, quorum, eligibility and ballot history."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetings.domain.errors import NotEligible, VotingClosed
from meetings.domain.model import (
    Attendance,
    AttendanceStatus,
    Ballot,
    Choice,
    MajorityBase,
    MajorityRule,
    Member,
    Motion,
    MotionKind,
    MotionState,
    Role,
)
from meetings.domain.rules import BASES, Quorum
from meetings.domain.votes import (
    Basis,
    ballot_digest,
    check_eligible,
    current_ballots,
    eligible_departments,
    tally,
)

T0 = datetime(2027, 3, 11, 6, 30, tzinfo=UTC)


def ballots(*choices: Choice) -> list[Ballot]:
    return [Ballot(motion_id=1, member_id=10 + i, department_id=i, choice=c, cast_at=T0, id=i + 1)
            for i, c in enumerate(choices)]


Y, N, A = Choice.YES, Choice.NO, Choice.ABSTAIN


MORE_THAN_HALF = Quorum(Fraction(1, 2))


def basis(rule: MajorityRule, membership: int, base: MajorityBase | None = None) -> Basis:
    """A vote's basis with the default quorum, more than half of the membership."""
    return Basis(rule, base or BASES[rule][0], membership, MORE_THAN_HALF.needed(membership))


SIMPLE, ABSOLUTE, TWO_THIRDS = MajorityRule.SIMPLE, MajorityRule.ABSOLUTE, MajorityRule.TWO_THIRDS
CAST, MEMBERS = MajorityBase.CAST, MajorityBase.MEMBERS


@pytest.mark.parametrize(
    ("rule", "base", "choices", "membership", "quorate", "passed"),
    [
        # simple: more yes than no among the votes cast; abstentions count for the quorum only
        (SIMPLE, CAST, [Y, Y, N], 9, False, False),  # 3 of 9 voted: quorum 5 not met
        (SIMPLE, CAST, [Y, Y, N, A, A], 9, True, True),
        (SIMPLE, CAST, [Y, N, A, A, A], 9, True, False),  # a tie does not pass
        (SIMPLE, CAST, [A, A, A, A, A], 9, True, False),  # everyone abstaining
        (SIMPLE, CAST, [], 9, False, False),  # nobody there
        (SIMPLE, CAST, [Y, Y, Y, Y, N], 8, True, True),  # 5 of 8 is more than half
        (SIMPLE, CAST, [Y, Y, Y, N], 8, False, False),  # 4 of 8 is only half
        # absolute: more than half of all member departments vote yes
        (ABSOLUTE, MEMBERS, [Y, Y, Y, Y, N], 9, True, False),  # 4 yes is not more than 9/2
        (ABSOLUTE, MEMBERS, [Y, Y, Y, Y, Y], 9, True, True),
        (ABSOLUTE, MEMBERS, [Y, Y, Y, Y, A, A, A, A], 8, True, False),  # 4 of 8 is a tie
        (ABSOLUTE, MEMBERS, [Y, Y, Y, Y, Y, N, N, N, N], 9, True, True),
        (ABSOLUTE, MEMBERS, [A] * 9, 9, True, False),
        (ABSOLUTE, MEMBERS, [], 0, False, False),  # no members, nobody voted
        # two thirds of the yes and no votes cast
        (TWO_THIRDS, CAST, [Y, Y, N, A, A], 9, True, True),  # exactly two thirds
        (TWO_THIRDS, CAST, [Y, Y, Y, N, N], 9, True, False),
        (TWO_THIRDS, CAST, [A, A, A, A, A], 9, True, False),  # nobody for it
        (TWO_THIRDS, CAST, [Y, Y, Y, Y], 9, False, False),  # unanimous, but no quorum
        # two thirds of all member departments
        (TWO_THIRDS, MEMBERS, [Y, Y, Y, Y, Y], 9, True, False),  # 5 of 9 < 6, cast all yes
        (TWO_THIRDS, MEMBERS, [Y, Y, Y, Y, Y, Y], 9, True, True),  # exactly two thirds
        (TWO_THIRDS, MEMBERS, [Y, Y, Y, Y, Y, Y, N, N, N], 9, True, True),
        (TWO_THIRDS, MEMBERS, [Y, Y, Y, Y, Y, N, A, A, A], 9, True, False),
        (TWO_THIRDS, MEMBERS, [A] * 9, 9, True, False),
    ],
)
def test_every_rule_of_each_base(rule: MajorityRule, base: MajorityBase, choices: list[Choice],
                                 membership: int, quorate: bool, passed: bool) -> None:
    """Each majority rule decides by its own arithmetic against its base, and only once more
    than half of the membership has voted."""
    outcome = tally(ballots(*choices), basis(rule, membership, base), eligible=len(choices))
    assert (outcome.quorum_met, outcome.passed) == (quorate, passed)
    assert outcome.cast == len(choices)


@pytest.mark.parametrize(
    ("quorum", "membership", "needed"),
    [(Quorum(Fraction(1, 2)), 9, 5), (Quorum(Fraction(1, 2)), 10, 6),
     (Quorum(Fraction(1, 2)), 8, 5), (Quorum(Fraction(1, 2)), 1, 1),
     (Quorum(Fraction(1, 2)), 0, 1), (Quorum(Fraction(1, 2), over=False), 9, 5),
     (Quorum(Fraction(1, 2), over=False), 10, 5), (Quorum(Fraction(2, 3), over=False), 9, 6),
     (Quorum(Fraction(2, 3), over=False), 10, 7), (Quorum(Fraction(2, 3)), 9, 7),
     (Quorum(Fraction(1, 1), over=False), 9, 9), (Quorum(Fraction(1, 100), over=False), 9, 1)])
def test_quorum_is_a_share_of_the_membership(quorum: Quorum, membership: int,
                                             needed: int) -> None:
    """More than the share (default) or at least it, of all member departments, never below
    one: more than half of 9 is 5, of 10 is 6."""
    assert quorum.needed(membership) == needed


def test_tally_refuses_two_ballots_of_one_department() -> None:
    """Passing history instead of current ballots is a programming error, not a result."""
    doubled = [*ballots(Y), replace(ballots(N)[0], id=99)]
    with pytest.raises(ValueError, match="one per department"):
        tally(doubled, basis(SIMPLE, 9), eligible=9)


def test_latest_ballot_of_a_department_counts() -> None:
    """A changed vote replaces the earlier one; the history keeps both."""
    first = Ballot(1, 10, 3, Y, T0, current=False, id=1)
    second = Ballot(1, 10, 3, N, T0 + timedelta(seconds=5), id=2)
    assert current_ballots([second, first]) == [second]


choice_lists = st.lists(st.tuples(st.integers(0, 11), st.sampled_from(list(Choice))),
                        min_size=0, max_size=60)


@settings(max_examples=200, deadline=None)
@given(history=choice_lists, seed=st.integers(0, 2**32 - 1),
       rule=st.sampled_from(list(MajorityRule)))
def test_recount_ignores_ballot_order(history: list[tuple[int, Choice]], seed: int,
                                      rule: MajorityRule) -> None:
    """A recount from the full history, in any order, equals the result of the stored ballots."""
    cast = [Ballot(1, 100 + dept, dept, choice, T0 + timedelta(seconds=i), id=i + 1)
            for i, (dept, choice) in enumerate(history)]
    stored = tally(current_ballots(cast), basis(rule, 12), eligible=12)
    shuffled = cast[:]
    random.Random(seed).shuffle(shuffled)
    assert tally(current_ballots(shuffled), basis(rule, 12), eligible=12) == stored


def test_digest_ignores_order_and_sees_a_changed_vote() -> None:
    """The posted digest identifies the ballot set, not the order it was read in."""
    set_a = ballots(Y, N, A)
    assert ballot_digest(set_a) == ballot_digest(list(reversed(set_a)))
    assert ballot_digest(set_a) != ballot_digest([*set_a[:2], replace(set_a[2], choice=Y)])


CIO = Member(council_id=1, name="CIO", role=Role.CIO, department_id=4, id=7)
NAMED = Motion(council_id=1, kind=MotionKind.NAMED, text="m", rule=MajorityRule.SIMPLE,
               quorum=0.5, opened_at=T0, meeting_id=3, id=2)
CIRCULAR = replace(NAMED, kind=MotionKind.CIRCULAR, meeting_id=None,
                   closes_at=T0 + timedelta(days=2))
HERE = Attendance(meeting_id=3, department_id=4, status=AttendanceStatus.PRESENT, member_id=7)


def test_present_cio_votes_for_their_department() -> None:
    """A department CIO present in person votes for their department."""
    assert check_eligible(CIO, NAMED, HERE, now=T0) == 4


@pytest.mark.parametrize(
    ("member", "motion", "attendance", "error", "match"),
    [
        (replace(CIO, role=Role.EXPERT), NAMED, HERE, NotEligible, "only department CIOs"),
        (replace(CIO, role=Role.CHAIR), NAMED, HERE, NotEligible, "only department CIOs"),
        (CIO, NAMED, replace(HERE, status=AttendanceStatus.PROXY, member_id=None), NotEligible,
         "proxy"),
        (CIO, NAMED, None, NotEligible, "present in person"),
        (CIO, NAMED, replace(HERE, status=AttendanceStatus.EXCUSED), NotEligible, "in person"),
        (CIO, replace(NAMED, state=MotionState.CLOSED), HERE, VotingClosed, "closed"),
        (CIO, CIRCULAR, None, None, ""),
    ],
)
def test_eligibility(member: Member, motion: Motion, attendance: Attendance | None,
                     error: type[Exception] | None, match: str) -> None:
    """Experts, the chair, proxies, absentees and closed motions are refused; circulars need no
    attendance."""
    if error is None:
        assert check_eligible(member, motion, attendance, now=T0) == 4
        return
    with pytest.raises(error, match=match):
        check_eligible(member, motion, attendance, now=T0)


def test_circular_vote_closes_at_its_deadline() -> None:
    """A circular vote refuses ballots from its deadline on, even before anyone closes it."""
    assert CIRCULAR.closes_at is not None
    with pytest.raises(VotingClosed):
        check_eligible(CIO, CIRCULAR, None, now=CIRCULAR.closes_at)


def test_eligible_departments_in_meeting_are_those_present() -> None:
    """In a meeting, only departments present in person count towards the eligible total."""
    attendance = [HERE, Attendance(3, 5, AttendanceStatus.PROXY, proxy_name="Deputy"),
                  Attendance(3, 6, AttendanceStatus.EXCUSED)]
    assert eligible_departments(NAMED, [4, 5, 6, 8], attendance) == {4}
    assert eligible_departments(CIRCULAR, [4, 5, 6, 8], attendance) == {4, 5, 6, 8}
