"""Meeting reminders: when each is due and how it is deduplicated."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from meetings.domain.model import NEW, Council, Meeting, MeetingKind, MeetingState
from meetings.domain.reminders import (
    Reminder,
    ReminderKind,
    agenda_deadline,
    reminders_due,
    reminders_for,
)
from meetings.domain.scheduling import cancel

COUNCIL = Council(name="District CIO Committee", id=1)  # Asia/Shanghai, 14 and 3 days
# 14:30 in Shanghai on Thursday 11 March 2027.
MEETING = Meeting(1, MeetingKind.REGULAR, datetime(2027, 3, 11, 6, 30, tzinfo=UTC), id=12)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_a_meeting_gets_four_reminders_with_their_due_times_and_keys() -> None:
    """Agenda call 14 days, agenda deadline 3 days, a day and an hour before the start."""
    expected = [
        Reminder(ReminderKind.AGENDA_CALL, 12, utc(2027, 2, 25, 6, 30),
                 "meeting:12:agenda_call:2027-03-11T06:30"),
        Reminder(ReminderKind.AGENDA_DEADLINE, 12, utc(2027, 3, 8, 6, 30),
                 "meeting:12:agenda_deadline:2027-03-11T06:30"),
        Reminder(ReminderKind.DAY_BEFORE, 12, utc(2027, 3, 10, 6, 30),
                 "meeting:12:day_before:2027-03-11T06:30"),
        Reminder(ReminderKind.HOUR_BEFORE, 12, utc(2027, 3, 11, 5, 30),
                 "meeting:12:hour_before:2027-03-11T06:30"),
    ]
    assert expected == reminders_for(MEETING, COUNCIL)


def test_the_councils_own_lead_times_are_used() -> None:
    """A council with a 21-day call and a 5-day deadline gets reminders at those distances."""
    council = replace(COUNCIL, agenda_call_days=21, agenda_deadline_days=5)
    expected = [utc(2027, 2, 18, 6, 30), utc(2027, 3, 6, 6, 30)]
    assert expected == [r.due_at for r in reminders_for(MEETING, council)][:2]


def test_zero_lead_days_switch_the_agenda_reminders_off() -> None:
    """A council with 0 agenda-call and 0 deadline days only gets the day and hour reminders."""
    council = replace(COUNCIL, agenda_call_days=0, agenda_deadline_days=0)
    expected = [ReminderKind.DAY_BEFORE, ReminderKind.HOUR_BEFORE]
    assert expected == [r.kind for r in reminders_for(MEETING, council)]


def test_agenda_deadline_is_the_configured_days_before_the_start() -> None:
    """The agenda deadline is 3 days before the meeting, at the meeting's local time."""
    expected = utc(2027, 3, 8, 6, 30)
    assert expected == agenda_deadline(MEETING, COUNCIL)


def test_day_based_reminders_keep_local_time_across_daylight_saving() -> None:
    """In London, 14 days before a 14:30 BST meeting is 14:30 GMT, not 13:30 GMT."""
    council = replace(COUNCIL, timezone="Europe/London", holiday_country="GB")
    meeting = replace(MEETING, starts_at=utc(2027, 3, 30, 13, 30))  # 14:30 BST
    expected = [utc(2027, 3, 16, 14, 30), utc(2027, 3, 27, 14, 30), utc(2027, 3, 29, 13, 30),
                utc(2027, 3, 30, 12, 30)]
    assert expected == [r.due_at for r in reminders_for(meeting, council)]


@pytest.mark.parametrize(
    "state",
    [MeetingState.CANCELLED, MeetingState.IN_PROGRESS, MeetingState.ENDED,
     MeetingState.MINUTES_APPROVED],
)
def test_no_reminders_for_meetings_that_will_not_take_place(state: MeetingState) -> None:
    """Cancelled, running and finished meetings get no reminders."""
    expected: list[Reminder] = []
    assert expected == reminders_for(replace(MEETING, state=state), COUNCIL)


def test_a_rescheduled_meeting_gets_fresh_dedupe_keys() -> None:
    """Moving the start changes every key, so the new reminders are not mistaken for sent ones."""
    moved = replace(MEETING, starts_at=utc(2027, 3, 18, 6, 30))
    old_keys = {r.dedupe_key for r in reminders_for(MEETING, COUNCIL)}
    new_keys = {r.dedupe_key for r in reminders_for(moved, COUNCIL)}
    expected: set[str] = set()
    assert expected == old_keys & new_keys


def test_an_unsaved_meeting_has_no_reminders_yet() -> None:
    """A meeting without its stored id would share keys with every other unsaved meeting."""
    with pytest.raises(ValueError, match="stored id"):
        reminders_for(replace(MEETING, id=NEW), COUNCIL)


def test_reminders_due_in_the_window_exclude_since_and_include_now() -> None:
    """Only reminders with since < due_at <= now are due."""
    day_before = utc(2027, 3, 10, 6, 30)
    at_now = reminders_due([MEETING], COUNCIL, now=day_before, since=utc(2027, 3, 10))
    at_since = reminders_due([MEETING], COUNCIL, now=utc(2027, 3, 10, 7), since=day_before)
    expected: tuple[list[ReminderKind], list[ReminderKind]] = ([ReminderKind.DAY_BEFORE], [])
    assert expected == ([r.kind for r in at_now], [r.kind for r in at_since])


def test_reminders_due_are_ordered_by_due_time_across_meetings() -> None:
    """Reminders of several meetings come out in due-time order."""
    extraordinary = Meeting(1, MeetingKind.EXTRAORDINARY, utc(2027, 3, 10, 8, 0), id=13)
    due = reminders_due([MEETING, extraordinary], COUNCIL, now=utc(2027, 3, 10, 7),
                        since=utc(2027, 3, 7))
    expected = [
        (13, ReminderKind.AGENDA_DEADLINE, utc(2027, 3, 7, 8, 0)),
        (12, ReminderKind.AGENDA_DEADLINE, utc(2027, 3, 8, 6, 30)),
        (13, ReminderKind.DAY_BEFORE, utc(2027, 3, 9, 8, 0)),
        (12, ReminderKind.DAY_BEFORE, utc(2027, 3, 10, 6, 30)),
        (13, ReminderKind.HOUR_BEFORE, utc(2027, 3, 10, 7, 0)),
    ]
    assert expected == [(r.meeting_id, r.kind, r.due_at) for r in due]


def test_reminders_of_a_started_meeting_are_dropped_after_downtime() -> None:
    """After a long outage, reminders for a meeting that has already begun are not sent."""
    due = reminders_due([MEETING], COUNCIL, now=utc(2027, 3, 11, 7), since=utc(2027, 3, 1))
    expected: list[Reminder] = []
    assert expected == due


def test_a_cancelled_meeting_has_nothing_due() -> None:
    """Once cancelled, a meeting's pending reminders stop being due."""
    cancelled = cancel(MEETING, now=utc(2027, 3, 1))
    due = reminders_due([cancelled], COUNCIL, now=utc(2027, 3, 10, 7), since=utc(2027, 3, 1))
    expected: list[Reminder] = []
    assert expected == due


def test_reminders_due_need_aware_times() -> None:
    """A naive `now` is a programming error."""
    naive = datetime.combine(utc(2027, 3, 10).date(), utc(2027, 3, 10).time())
    with pytest.raises(ValueError, match="timezone-aware"):
        reminders_due([MEETING], COUNCIL, now=naive, since=utc(2027, 3, 1))
