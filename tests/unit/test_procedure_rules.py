"""The council's rules of procedure: reading `/rules` values, refusing bad ones, and a change
applying to votes opened afterwards only."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from meetings import usecases
from meetings.domain import rules
from meetings.domain.errors import InvalidInput, NotAllowed
from meetings.domain.model import (
    Attendance,
    AttendanceStatus,
    Choice,
    Council,
    MajorityBase,
    MajorityRule,
    Member,
    Motion,
    MotionKind,
)
from meetings.domain.rules import Quorum, Setting
from meetings.domain.votes import presence
from tests.unit.fakes import FakeUnitOfWork

COUNCIL = Council("Riverside CIO Council", id=1)
AT = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
CAST, MEMBERS = MajorityBase.CAST, MajorityBase.MEMBERS


@pytest.mark.parametrize(
    ("text", "quorum"),
    [("1/2", Quorum(Fraction(1, 2))), (" 1 / 2 ", Quorum(Fraction(1, 2))),
     ("half", Quorum(Fraction(1, 2))), ("过半数", Quorum(Fraction(1, 2))),
     (">1/2", Quorum(Fraction(1, 2))), ("more than 1/2", Quorum(Fraction(1, 2))),
     (">=2/3", Quorum(Fraction(2, 3), over=False)),
     ("at least 2/3", Quorum(Fraction(2, 3), over=False)),
     ("≥2/3", Quorum(Fraction(2, 3), over=False)),
     ("不少于三分之二", Quorum(Fraction(2, 3), over=False)),
     ("60%", Quorum(Fraction(3, 5))), (">=100%", Quorum(Fraction(1), over=False)),
     (">=1/1", Quorum(Fraction(1), over=False)), ("2/4", Quorum(Fraction(1, 2)))])
def test_quorum_values(text: str, quorum: Quorum) -> None:
    """A bare share means more than it (the usual 过半数); >= or "at least" means at least it."""
    assert rules.parse_quorum(text) == quorum


@pytest.mark.parametrize(
    ("text", "error"),
    [("", "a quorum is a share"), ("half of them", "a quorum is a share"),
     ("0.5", "a quorum is a share"), ("1/0", "cannot divide by zero"),
     ("0/3", "above 0 and at most 1"), ("3/2", "above 0 and at most 1"),
     ("1/1", "more than all the members"), ("100%", "more than all the members"),
     ("-1/2", "a quorum is a share"), ("1/2\x00", "a quorum is a share"),
     ("99999/1", "a quorum is a share")])
def test_bad_quorums_are_refused_with_the_reason(text: str, error: str) -> None:
    """Each wrong quorum gets its own explanation."""
    with pytest.raises(InvalidInput, match=error):
        rules.parse_quorum(text)


@pytest.mark.parametrize(
    ("text", "rule", "base"),
    [("simple", MajorityRule.SIMPLE, CAST), ("simple of cast", MajorityRule.SIMPLE, CAST),
     ("absolute", MajorityRule.ABSOLUTE, MEMBERS),
     ("absolute of members", MajorityRule.ABSOLUTE, MEMBERS),
     ("two_thirds", MajorityRule.TWO_THIRDS, CAST),
     ("two-thirds of cast", MajorityRule.TWO_THIRDS, CAST),
     ("TWO_THIRDS of members", MajorityRule.TWO_THIRDS, MEMBERS),
     ("2/3 of the members", MajorityRule.TWO_THIRDS, MEMBERS),
     ("三分之二 全体成员", MajorityRule.TWO_THIRDS, MEMBERS),
     ("绝对多数", MajorityRule.ABSOLUTE, MEMBERS), ("简单多数", MajorityRule.SIMPLE, CAST)])
def test_majority_rules_and_their_bases(text: str, rule: MajorityRule,
                                        base: MajorityBase) -> None:
    """A rule takes its natural base unless one is named; aliases and Chinese names work."""
    assert rules.parse_majority(text) == (rule, base)


@pytest.mark.parametrize(
    ("text", "error"),
    [("plurality", "simple, absolute or two_thirds"), ("", "simple, absolute or two_thirds"),
     ("two_thirds of everyone", "of cast .* or of members"),
     ("simple of members", "use absolute"), ("absolute of cast", "use simple")])
def test_bad_majority_rules_are_refused(text: str, error: str) -> None:
    """An unknown rule, an unknown base, or a base the rule cannot have, each say so."""
    with pytest.raises(InvalidInput, match=error):
        rules.parse_majority(text)


@pytest.mark.parametrize(("setting", "value", "field", "expected"), [
    (Setting.MAJORS, "3", "max_major_issues", 3), (Setting.MAJORS, "0", "max_major_issues", 0),
    (Setting.DEADLINE, "5d", "agenda_deadline_days", 5),
    (Setting.DEADLINE, "0", "agenda_deadline_days", 0),
    (Setting.DEADLINE, "2 days", "agenda_deadline_days", 2),
    (Setting.CALL, "21d", "agenda_call_days", 21), (Setting.CALL, "10天", "agenda_call_days", 10),
    (Setting.CALL, "0d", "agenda_call_days", 0)])
def test_counts_and_days(setting: Setting, value: str, field: str, expected: int) -> None:
    """Major issues take a number; deadlines take days, with or without a unit."""
    assert getattr(rules.change(COUNCIL, setting, value), field) == expected


@pytest.mark.parametrize(("setting", "value", "error"), [
    (Setting.MAJORS, "11", "from 0 to 10"), (Setting.MAJORS, "-1", "from 0 to 10"),
    (Setting.MAJORS, "two", "from 0 to 10"), (Setting.MAJORS, "²", "from 0 to 10"),
    (Setting.DEADLINE, "3h", "whole days"), (Setting.DEADLINE, "61d", "at most 60 days"),
    (Setting.CALL, "181d", "at most 180 days"),
    (Setting.CALL, "3d", r"agenda call \(days before the meeting: 3\) must come before the "
                         r"proposal deadline \(days before: 3\)"),
    (Setting.DEADLINE, "14d", "must come before the proposal deadline"),
    (Setting.QUORUM, " ", "usage")])
def test_bad_values_are_refused(setting: Setting, value: str, error: str) -> None:
    """Out of range, malformed, or contradicting another rule: refused, with the reason."""
    with pytest.raises(InvalidInput, match=error):
        rules.change(COUNCIL, setting, value)


def test_settings_by_name_alias_or_chinese() -> None:
    """Setting names are case-blind and have aliases, Chinese ones among them."""
    assert [rules.parse_setting(name) for name in ("Quorum", "法定人数", "rule", "major",
                                                   "重大议题", "proposal-deadline", "征集")] == [
        Setting.QUORUM, Setting.QUORUM, Setting.MAJORITY, Setting.MAJORS, Setting.MAJORS,
        Setting.DEADLINE, Setting.CALL]
    with pytest.raises(InvalidInput, match="unknown rule 'speed'"):
        rules.parse_setting("speed")


def test_the_defaults_are_what_the_code_had() -> None:
    """A new council: more than half, simple majority of votes cast, two major issues, 3-day
    deadline, agenda call 14 days ahead."""
    assert [rules.setting_text(COUNCIL, setting) for setting in Setting] == [
        ">1/2", "simple of cast", "2", "3d", "14d"]


def test_presence_counts_member_departments_in_person_only() -> None:
    """Proxies, the excused, experts and departments without a CIO do not make a quorum."""
    roll = [Attendance(1, 1, AttendanceStatus.PRESENT), Attendance(1, 2, AttendanceStatus.PROXY),
            Attendance(1, 3, AttendanceStatus.EXCUSED),
            Attendance(1, 4, AttendanceStatus.PRESENT),
            Attendance(1, None, AttendanceStatus.PRESENT, member_id=9),
            Attendance(1, 10, AttendanceStatus.PRESENT)]  # no CIO: not a member
    seen = presence(COUNCIL, range(1, 10), roll)
    assert (seen.present, seen.membership, seen.needed, seen.quorate) == (2, 9, 5, False)
    more = [*roll, *(Attendance(1, d, AttendanceStatus.PRESENT) for d in (5, 6, 7))]
    assert presence(COUNCIL, range(1, 10), more).quorate is True


# --- through the use cases --------------------------------------------------------------------

def audit(uow: FakeUnitOfWork) -> list[tuple[str, object]]:
    return [(event.action, json.loads(event.payload)) for event in uow.rows("audit")]


async def test_the_chair_sets_a_rule_and_it_is_audited(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member]
) -> None:
    """The change is stored and the audit log says what it was and what it became."""
    changed = await usecases.councils.set_rule(uow, council.id, setting="majority",
                                               value="two_thirds of members",
                                               actor=people["chair"], now=AT)
    assert (changed.majority_rule, changed.majority_base) == (MajorityRule.TWO_THIRDS, MEMBERS)
    assert await uow.councils.get(council.id) == changed
    assert audit(uow)[-1] == ("council.rules", {"setting": "majority",
                                                "before": "simple of cast",
                                                "after": "two_thirds of members"})


@pytest.mark.parametrize("who", ["secretary", "EPB", "expert"])
async def test_only_the_chair_changes_the_rules(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], who: str
) -> None:
    """Anyone else is refused and nothing changes."""
    events = len(uow.rows("audit"))
    with pytest.raises(NotAllowed, match="only the chair"):
        await usecases.councils.set_rule(uow, council.id, setting="quorum", value="2/3",
                                         actor=people[who], now=AT)
    assert (await uow.councils.get(council.id), len(uow.rows("audit"))) == (council, events)


async def test_a_bad_value_changes_nothing(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member]
) -> None:
    """A refused value leaves the council and the audit log as they were."""
    events = len(uow.rows("audit"))
    with pytest.raises(InvalidInput, match="use absolute"):
        await usecases.councils.set_rule(uow, council.id, setting="majority",
                                         value="simple of members", actor=people["chair"],
                                         now=AT)
    assert (await uow.councils.get(council.id), len(uow.rows("audit"))) == (council, events)


async def test_a_change_applies_to_votes_opened_afterwards(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member]
) -> None:
    """A circular vote opened under a quorum of more than half (2 of 2) keeps it after the
    chair lowers the quorum; the next vote opened takes the new one (1 of 2)."""
    async def open_circular(now: datetime) -> Motion:
        opened = await usecases.voting.open_motion(
            uow, council.id, kind=MotionKind.CIRCULAR, text="Adopt it", actor=people["chair"],
            now=now, closes_local="2026-11-30 10:00")
        return opened.count.motion

    first = await open_circular(AT)
    await usecases.councils.set_rule(uow, council.id, setting="quorum", value=">=1/2",
                                     actor=people["chair"], now=AT + timedelta(minutes=1))
    second = await open_circular(AT + timedelta(minutes=2))
    assert ((first.membership, first.quorum_needed), (second.membership, second.quorum_needed)) == (
        (2, 2), (2, 1))
    for motion in (first, second):
        await usecases.voting.cast_vote(uow, council.id, motion.id, choice=Choice.YES,
                                        actor=people["EPB"], now=AT + timedelta(minutes=3))
    # A CIO joins a third department meanwhile: neither vote's membership moves.
    await usecases.councils.add_department(uow, council.id, code="ITB", name="ITB",
                                           actor=people["chair"], now=AT)
    await usecases.councils.add_member(uow, council.id, name="ITB CIO", role=people["EPB"].role,
                                       actor=people["chair"], now=AT, department="ITB")
    results = [await usecases.voting.close_motion(uow, council.id, motion.id,
                                                  actor=people["chair"],
                                                  now=AT + timedelta(minutes=4))
               for motion in (first, second)]
    assert [(r.outcome.quorum_needed, r.outcome.basis.membership, r.outcome.quorum_met,
             r.outcome.passed) for r in results] == [(2, 2, False, False), (1, 2, True, True)]
    # Read back later, the declared results are the same whatever the rules are now.
    await usecases.councils.set_rule(uow, council.id, setting="majority", value="absolute",
                                     actor=people["chair"], now=AT + timedelta(minutes=5))
    async with uow:
        again = [await usecases.voting.declared_result(uow, motion.id)
                 for motion in (first, second)]
    assert [(r.outcome, r.count.motion.passed) for r in again if r is not None] == [
        (r.outcome, r.count.motion.passed) for r in results]


def test_a_stored_share_reads_back_as_set() -> None:
    """Two thirds is stored as a float and reads back as exactly 2/3."""
    council = rules.change(COUNCIL, Setting.QUORUM, ">=2/3")
    assert rules.quorum_of(replace(council, quorum=float(council.quorum))) == Quorum(
        Fraction(2, 3), over=False)
