"""Setting a new series over an earlier one: what is replaced, moved to the new time, kept and
why, where agenda items go, and which days already hold a meeting; and the slot a one-off
meeting may not share with another."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.telegram.render import series_change_lines
from meetings.domain.calendars import public_holidays
from meetings.domain.errors import SlotTaken
from meetings.domain.model import (
    AgendaItem,
    AgendaState,
    Meeting,
    MeetingKind,
    MeetingState,
    Series,
)
from meetings.domain.scheduling import (
    KeptBecause,
    clashes,
    parse_cadence,
    plan_series,
    refuse_clash,
    replan_series,
    series_from_cadence,
    to_local,
)

SHANGHAI = "Asia/Shanghai"
CN = public_holidays("CN")
NOW = datetime(2027, 1, 1, tzinfo=UTC)


def series(spec: str) -> Series:
    return series_from_cadence(1, parse_cadence(spec), starting=date(2027, 1, 1))


def stored(spec: str = "bimonthly 2TH 14:30 120") -> list[Meeting]:
    """The earlier series' six meetings as stored (ids 1-6): 14 Jan, 11 Mar, 13 May, 8 Jul,
    9 Sep and 11 Nov 2027."""
    return [replace(m, id=n) for n, m in enumerate(
        plan_series(series(spec), SHANGHAI, CN, [], now=NOW), start=1)]


def item(meeting_id: int, item_id: int, state: AgendaState = AgendaState.DEFERRED) -> AgendaItem:
    return AgendaItem(meeting_id, f"Item {item_id}", proposer_id=1, department_id=None,
                      proposed_at=NOW, state=state, id=item_id)


def day(meeting: Meeting) -> date:
    return to_local(meeting.starts_at, SHANGHAI).date()


def test_the_same_cadence_again_changes_nothing() -> None:
    """Re-running the cadence keeps every meeting as it is: nothing new, removed or moved."""
    old = stored()
    change = replan_series(series("bimonthly 2TH 14:30 120"), SHANGHAI, CN, old, {}, [], now=NOW)
    assert (change.planned, change.updated, change.removed, change.kept, change.moves) == (
        (), (), (), (), ())
    assert [m.id for m in change.unchanged] == [1, 2, 3, 4, 5, 6]


def test_a_new_time_moves_the_meetings_and_keeps_their_ids_and_agenda() -> None:
    """Same days at 09:30: each meeting takes the new time and keeps its id; no item moves."""
    old = stored()
    change = replan_series(series("bimonthly 2TH 09:30 120"), SHANGHAI, CN, old,
                           {3: [item(3, 7)]}, [], now=NOW)
    assert [(before.id, after.id) for before, after in change.updated] == [
        (n, n) for n in range(1, 7)]
    assert {to_local(after.starts_at, SHANGHAI).hour for _, after in change.updated} == {9}
    assert (change.planned, change.removed, change.moves) == ((), (), ())


def test_a_moved_meeting_is_kept_and_its_day_gets_no_second_meeting() -> None:
    """The meeting the office moved by hand to 16 March stays (it does not vanish), and the new
    series adds nothing beside it that day."""
    old = stored()
    moved = replace(old[1], starts_at=datetime(2027, 3, 16, 6, 30, tzinfo=UTC),
                    moved_reason="rescheduled from 2027-03-11 14:30")
    old[1] = moved
    change = replan_series(series("bimonthly 3TU 14:30 120"), SHANGHAI, CN, old, {}, [],
                           now=NOW)
    assert [(k.meeting.id, k.because) for k in change.kept] == [(2, KeptBecause.MOVED_BY_HAND)]
    assert date(2027, 3, 16) not in [day(m) for m in change.planned]
    assert [(s.day, s.holder.id) for s in change.skipped] == [(date(2027, 3, 16), 2)]
    assert [m.id for m in change.removed] == [1, 3, 4, 5, 6]


def test_a_deferred_item_goes_to_the_new_meeting_on_or_after_its_day() -> None:
    """The 13 May meeting holding a deferred item is removed (not left beside a new one), and
    the item goes to the new series' meeting of 18 May."""
    old = stored()
    change = replan_series(series("bimonthly 3TU 14:30 120"), SHANGHAI, CN, old,
                           {3: [item(3, 7)]}, [], now=NOW)
    assert 3 in [m.id for m in change.removed]
    [move] = change.moves
    assert (move.item.id, move.source.id, day(move.target)) == (7, 3, date(2027, 5, 18))
    assert move.target in change.planned


def test_meetings_with_a_final_agenda_or_apologies_stay() -> None:
    """A meeting whose final agenda is out, and one with apologies recorded, are kept."""
    old = stored()
    old[0] = replace(old[0], state=MeetingState.AGENDA_CLOSED)
    change = replan_series(series("bimonthly 3TU 14:30 120"), SHANGHAI, CN, old, {}, [2],
                           now=NOW)
    assert [(k.meeting.id, k.because) for k in change.kept] == [
        (1, KeptBecause.AGENDA_CLOSED), (2, KeptBecause.ATTENDANCE)]


def test_items_with_nowhere_to_go_keep_their_meeting() -> None:
    """A series that ends in March leaves the May meeting's items no later meeting: it stays."""
    old = stored()
    change = replan_series(
        series("FREQ=MONTHLY;INTERVAL=2;BYDAY=+3TU;UNTIL=20270401 14:30"), SHANGHAI, CN, old,
        {3: [item(3, 7)]}, [], now=NOW)
    assert [(k.meeting.id, k.because) for k in change.kept] == [(3, KeptBecause.NO_SUCCESSOR)]
    assert change.moves == ()


def test_the_series_adds_no_meeting_on_a_day_that_has_one() -> None:
    """An extraordinary meeting on 11 March: the series plans nothing else that day."""
    extra = Meeting(1, MeetingKind.EXTRAORDINARY, datetime(2027, 3, 11, 1, 0, tzinfo=UTC), id=9)
    planned = plan_series(series("bimonthly 2TH 14:30 120"), SHANGHAI, CN, [extra], now=NOW)
    assert date(2027, 3, 11) not in [day(m) for m in planned]
    assert len(planned) == 5


def test_a_slot_is_taken_by_an_overlapping_meeting_only() -> None:
    """Overlap clashes; back to back, cancelled or over does not."""
    start = datetime(2027, 1, 20, 6, 0, tzinfo=UTC)
    there = Meeting(1, MeetingKind.EXTRAORDINARY, start, duration_minutes=120, id=4)
    cancelled = replace(there, state=MeetingState.CANCELLED, id=5)
    assert clashes([there, cancelled], start + timedelta(minutes=90), 60, now=NOW) == [there]
    assert clashes([there], start + timedelta(minutes=120), 60, now=NOW) == []
    assert clashes([there], start, 60, now=NOW, other_than=4) == []
    assert clashes([there], start, 60, now=start + timedelta(hours=3)) == []


def test_a_taken_slot_is_refused_naming_the_meeting() -> None:
    """The refusal names the meeting holding the time, as the chat shows it (S4)."""
    start = datetime(2027, 1, 20, 6, 0, tzinfo=UTC)
    there = Meeting(1, MeetingKind.EXTRAORDINARY, start, id=4)
    with pytest.raises(SlotTaken, match=r"meeting S4 already holds that time \(2027-01-20 14:00"):
        refuse_clash([there], replace(there, id=0), SHANGHAI, now=NOW)


def test_the_summary_reads_in_both_languages() -> None:
    """The re-plan summary names each meeting by its S-id, in English and in Chinese (full-width
    punctuation after Chinese text)."""
    old = stored()
    old[2] = replace(old[2], starts_at=datetime(2027, 5, 18, 2, 0, tzinfo=UTC),
                     moved_reason="rescheduled from 2027-05-13 14:30")
    change = replan_series(series("bimonthly 3TU 14:30 120"), SHANGHAI, CN, old,
                           {1: [item(1, 7)]}, [], now=NOW)
    moved = replace(change, moves=tuple(replace(m, target=replace(m.target, id=20))
                                        for m in change.moves))
    english = series_change_lines("en", SHANGHAI, moved)
    chinese = series_change_lines("zh", SHANGHAI, moved)
    assert ("• S3 Tue 18 May 2027, 10:00 (rescheduled from Thu 13 May 2027, 14:30): moved by "
            "hand") in english
    assert ("Agenda #7 (deferred) moved from meeting S1 to meeting S20 (Tue 19 Jan 2027, "
            "14:30).") in english
    assert "以下会议保持不变：" in chinese
    assert "议题 #7（已推迟）已从会议 S1 移至会议 S20（2027年1月19日 周二 14:30）。" in chinese
    assert "2027年5月18日 周二 不新增会议：当天已有会议 S3。" in chinese
    assert len(english) == len(chinese)
