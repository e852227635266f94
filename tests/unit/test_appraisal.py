"""The appraisal rules: periods, tenures, tallies with their evidence, and the weighted score."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetings.domain import appraisal
from meetings.domain.appraisal import History, Period, Tally, Tenure, TenureStart, Weights
from meetings.domain.errors import InvalidInput
from meetings.domain.model import (
    ActionItem,
    AgendaItem,
    AgendaState,
    Attendance,
    AttendanceStatus,
    Ballot,
    Choice,
    MajorityRule,
    Meeting,
    MeetingKind,
    MeetingState,
    Motion,
    MotionKind,
    MotionState,
)

SHANGHAI = timedelta(hours=8)
SINCE, UNTIL = Period("2026", date(2026, 1, 1), date(2026, 12, 31)).window("Asia/Shanghai")
TODAY = date(2026, 12, 31)


def at(month: int, day: int = 10) -> datetime:
    return datetime(2026, month, day, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "label", "first", "last"), [
    ("2026", "2026", date(2026, 1, 1), date(2026, 12, 31)),
    (" 2026-h2 ", "2026-H2", date(2026, 7, 1), date(2026, 12, 31)),
    ("2026-Q1", "2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
    ("2024-Q4", "2024-Q4", date(2024, 10, 1), date(2024, 12, 31)),
    ("2028-01-15..2028-02-29", "2028-01-15..2028-02-29", date(2028, 1, 15), date(2028, 2, 29)),
])
def test_periods_parse(text: str, label: str, first: date, last: date) -> None:
    """A year, a half, a quarter and a date range each become their first and last local day."""
    assert Period(label, first, last) == appraisal.parse_period(text)


@pytest.mark.parametrize("text", ["", "26", "2026-H3", "2026-Q5", "2026-02-30..2026-03-01",
                                  "2026-05-01..2026-04-01", "0001", "=1+1", "2026 Q1" * 50])
def test_bad_periods_are_refused(text: str) -> None:
    """Anything else is an InvalidInput naming the accepted forms or the problem."""
    with pytest.raises(InvalidInput):
        appraisal.parse_period(text)


def test_a_period_window_is_local_midnight_to_midnight() -> None:
    """2026 in Shanghai runs from 16:00 UTC on 31 Dec 2025 to 16:00 UTC on 31 Dec 2026."""
    assert (datetime(2025, 12, 31, 16, tzinfo=UTC), datetime(2026, 12, 31, 16, tzinfo=UTC)) == (
        SINCE, UNTIL)


@pytest.mark.parametrize("weights", [(-1, 20, 20, 20), (40, 20, 101, 20), (0, 0, 0, 0)])
def test_bad_weights_are_refused(weights: tuple[int, int, int, int]) -> None:
    """Weights (attendance, agenda, votes, actions) are 0..100 each and not all zero."""
    with pytest.raises(InvalidInput):
        Weights(*weights)


def test_a_successor_ends_the_predecessors_tenure() -> None:
    """A person's first evidence starts their tenure; the next person's start ends it."""
    starts = [TenureStart(1, 10, at(1)), TenureStart(1, 11, at(7)), TenureStart(1, 10, at(3)),
              TenureStart(2, 12, at(2))]
    assert [Tenure(1, 10, at(1), at(7)), Tenure(1, 11, at(7)), Tenure(2, 12, at(2))] == (
        appraisal.tenures(starts))


def test_a_cio_who_comes_back_has_a_second_tenure() -> None:
    """Person 10 hands over to 11 in May and takes the post back in September: two tenures for
    10, and 11's ends at the return instead of running on."""
    starts = [TenureStart(1, 10, at(1)), TenureStart(1, 10, at(2)), TenureStart(1, 11, at(5)),
              TenureStart(1, 10, at(9))]
    assert [Tenure(1, 10, at(1), at(5)), Tenure(1, 11, at(5), at(9)), Tenure(1, 10, at(9))] == (
        appraisal.tenures(starts))


def test_both_tenures_of_a_returning_cio_make_one_card() -> None:
    """Person 10 is CIO January to July and again from September: one card holding the meetings
    of both tenures (2, 4, 6 and 10), none of person 11's in between (8)."""
    people = [Tenure(1, 10, at(1, 1), at(7, 1)), Tenure(1, 11, at(7, 1), at(9, 1)),
              Tenure(1, 10, at(9, 1))]
    cards = {card.tally.member_id: card for card in appraisal.cards(
        _history(), people, since=SINCE, until=UNTIL, today=TODAY, utc_offset=SHANGHAI)}
    held = [ref.label.split(" (")[0] for ref in cards[10].evidence["held"]]
    assert held == ["meeting 2", "meeting 4", "meeting 6", "meeting 10"]
    assert (cards[10].since, cards[10].until) == (at(1, 1), UNTIL)
    assert [ref.label.split(" (")[0] for ref in cards[11].evidence["held"]] == ["meeting 8"]


def _history() -> History:
    held = [Meeting(1, MeetingKind.REGULAR, at(m), state=MeetingState.ENDED, id=m)
            for m in (2, 4, 6, 8, 10)]
    cancelled = Meeting(1, MeetingKind.REGULAR, at(12), state=MeetingState.CANCELLED, id=12)
    attendance = [Attendance(2, 1, AttendanceStatus.PRESENT, 10),
                  Attendance(4, 1, AttendanceStatus.PROXY, 10),
                  Attendance(6, 1, AttendanceStatus.EXCUSED, 10),
                  Attendance(8, 1, AttendanceStatus.PRESENT, 11)]  # meeting 10: no record
    agenda = [AgendaItem(2, "Cloud", 10, 1, at(1, 20), state=AgendaState.ACCEPTED, major=True,
                         id=1),
              AgendaItem(8, "Data", 11, 1, at(7, 20), state=AgendaState.DEFERRED, id=2)]
    motions = [Motion(1, MotionKind.NAMED, "Adopt", MajorityRule.SIMPLE, 0.5, at(2),
                      meeting_id=2, state=MotionState.CLOSED, id=1),
               Motion(1, MotionKind.NAMED, "Fund", MajorityRule.SIMPLE, 0.5, at(4),
                      meeting_id=4, state=MotionState.CLOSED, id=2),
               Motion(1, MotionKind.CIRCULAR, "Ratify", MajorityRule.SIMPLE, 0.5, at(9),
                      state=MotionState.CLOSED, id=3),
               Motion(1, MotionKind.CIRCULAR, "Open", MajorityRule.SIMPLE, 0.5, at(9), id=4)]
    ballots = [Ballot(1, 10, 1, Choice.NO, at(2), current=False, id=1),
               Ballot(1, 10, 1, Choice.YES, at(2), id=2)]
    actions = [ActionItem(1, 1, "Plan", date(2026, 3, 1), at(2), done_at=at(2, 28), id=1),
               ActionItem(1, 1, "Late", date(2026, 3, 1), at(2), done_at=at(3, 5), id=2),
               ActionItem(1, 1, "Due", date(2026, 6, 1), at(5), id=3),
               ActionItem(1, 1, "Next", date(2027, 6, 1), at(9), id=4)]
    return History([*held, cancelled], attendance, agenda, motions, ballots, actions)


def test_a_cio_who_took_over_mid_year_is_counted_from_their_start() -> None:
    """Person 10 until July answers for four meetings, person 11 from July for two; each their
    own items, votes and the actions assigned while they were CIO."""
    people = [Tenure(1, 10, at(1, 1), at(7, 1)), Tenure(1, 11, at(7, 1))]
    first, second = appraisal.cards(_history(), people, since=SINCE, until=UNTIL, today=TODAY,
                                    utc_offset=SHANGHAI)
    assert Tally(1, 10, held=3, present=1, proxy=1, excused=1, proposed=1, accepted=1, major=1,
                 eligible_votes=1, votes_cast=1, actions=3, on_time=1, late=1,
                 overdue=1) == first.tally
    assert Tally(1, 11, held=2, present=1, absent=1, proposed=1, eligible_votes=1, actions=1,
                 open=1) == second.tally
    held = ["meeting 8 (2026-08-10)", "meeting 10 (2026-10-10)"]
    assert held == [ref.label for ref in second.evidence["held"]]
    assert [ref.label for ref in second.evidence["absent"]] == ["meeting 10 (2026-10-10)"]
    assert [ref.label for ref in second.evidence["eligible_votes"]] == ["M3 (2026-09-10)"]


def test_the_score_weighs_the_rates() -> None:
    """Attendance 1 of 2 (excused left out), agenda 1/3, votes 1/1, actions 1/3: 40 x 1/2 + 20 x
    1/3 + 20 + 20 x 1/3 = 53.3; with excused counted as absent, attendance falls to 1 of 3."""
    tally = Tally(1, 10, held=3, present=1, proxy=1, excused=1, accepted=1, eligible_votes=1,
                  votes_cast=1, on_time=1, late=1, overdue=1)
    assert appraisal.score(tally, Weights()) == 53.3
    assert appraisal.score(tally, Weights(excused_neutral=False)) == 46.7
    assert appraisal.score(tally, Weights(attendance=0, agenda=0, actions=0)) == 100.0


def test_nothing_to_judge_has_no_score_and_empty_parts_share_their_weight() -> None:
    """No meetings, motions or actions: no score; only votes to judge: votes decide it all."""
    assert appraisal.score(Tally(1, 1), Weights()) is None
    assert appraisal.score(Tally(1, 1, eligible_votes=2, votes_cast=1), Weights()) == 50.0


@pytest.mark.parametrize(("text", "safe"), [
    ("=SUM(A1)", "'=SUM(A1)"), ("+1", "'+1"), ("-1", "'-1"), ("@cmd", "'@cmd"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("环保局", "环保局"), ("a=b", "a=b")])
def test_formula_looking_text_is_made_text(text: str, safe: str) -> None:
    """A leading = + - @ tab or CR gets an apostrophe; other text is unchanged."""
    assert safe == appraisal.spreadsheet_safe(text)


# ---- property: random histories ------------------------------------------------------------

MONTHS = st.integers(min_value=1, max_value=12)
STATUSES = st.sampled_from([*AttendanceStatus, None])


@st.composite
def histories(draw: st.DrawFn) -> tuple[History, list[Tenure]]:
    meetings = [Meeting(1, MeetingKind.REGULAR, at(month, day),
                        state=draw(st.sampled_from([MeetingState.ENDED, MeetingState.CANCELLED,
                                                    MeetingState.MINUTES_APPROVED])), id=i + 1)
                for i, (month, day) in enumerate(draw(st.lists(
                    st.tuples(MONTHS, st.integers(1, 28)), max_size=12, unique=True)))]
    attendance = [Attendance(m.id, dept, status, 10)
                  for m in meetings for dept in (1, 2)
                  if (status := draw(STATUSES)) is not None]
    motions = [Motion(1, draw(st.sampled_from(list(MotionKind))), "m", MajorityRule.SIMPLE, 0.5,
                      m.starts_at, meeting_id=m.id, state=MotionState.CLOSED, id=m.id)
               for m in meetings if draw(st.booleans())]
    ballots = [Ballot(mo.id, draw(st.sampled_from([10, 11, 12])), draw(st.sampled_from([1, 2])),
                      Choice.YES, mo.opened_at, id=mo.id) for mo in motions if draw(st.booleans())]
    actions = [ActionItem(1, draw(st.sampled_from([1, 2])), "a", date(2026, month, 15), at(month),
                          done_at=at(draw(MONTHS), 20) if draw(st.booleans()) else None, id=i + 1)
               for i, month in enumerate(draw(st.lists(MONTHS, max_size=6)))]
    handover = at(draw(MONTHS), draw(st.integers(1, 28)))
    people = appraisal.tenures([TenureStart(1, 10, appraisal.BEGINNING),
                                TenureStart(1, 11, handover), TenureStart(2, 12, at(1, 1))])
    return History(meetings, attendance, (), motions, ballots, actions), people


@settings(max_examples=150, deadline=None)
@given(histories(), st.integers(1, 100), st.integers(0, 100), st.booleans())
def test_random_histories_add_up(case: tuple[History, list[Tenure]], attendance_weight: int,
                                 votes_weight: int, excused_neutral: bool) -> None:
    """For every CIO: the four attendance kinds add up to the meetings held while they were CIO,
    a successor is counted only from their start, the score stays in 0..100, and other weights
    change the score and nothing else."""
    history, people = case
    cards = appraisal.cards(history, people, since=SINCE, until=UNTIL, today=TODAY,
                            utc_offset=SHANGHAI)
    weights = Weights(attendance=attendance_weight, votes=votes_weight,
                      excused_neutral=excused_neutral)
    for card in cards:
        t = card.tally
        assert t.held == t.present + t.proxy + t.excused + t.absent
        assert all(card.since <= m.starts_at < card.until for m in history.meetings
                   if m.id in {ref.id for ref in card.evidence["held"]})
        held = [m for m in history.meetings
                if m.state in appraisal.HELD and card.since <= m.starts_at < card.until]
        assert len(held) == t.held
        for chosen in (weights, Weights()):
            result = appraisal.score(t, chosen)
            assert result is None or 0 <= result <= 100
    department_one = [c for c in cards if c.tally.department_id == 1]
    assert sum(c.tally.held for c in department_one) == len(
        [m for m in history.meetings if m.state in appraisal.HELD])
    period = Period("2026", date(2026, 1, 1), date(2026, 12, 31))
    tallies = [c.tally for c in cards]
    mine, default = (appraisal.appraisal("C", period, w, tallies, departments={}, names={},
                                         spans={}, today=TODAY) for w in (weights, Weights()))
    assert [replace(r, score=None) for r in mine.rows] == [
        replace(r, score=None) for r in default.rows]
    successor = next(c for c in department_one if c.tally.member_id == 11) if any(
        c.tally.member_id == 11 for c in department_one) else None
    if successor is not None:
        assert all(ref.day >= (successor.since + SHANGHAI).date()
                   for refs in successor.evidence.values() for ref in refs
                   if ref.kind != "action")
        assert successor.since == max(people[1].starts, SINCE)
