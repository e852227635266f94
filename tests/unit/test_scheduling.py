"""The meeting series, holiday moves and one-off schedule changes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import TypedDict
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.i18n.catalog import translated
from meetings.domain.calendars import WeekdaysOnly, public_holidays
from meetings.domain.errors import InvalidInput, InvalidSchedule, InvalidState
from meetings.domain.model import NEW, Meeting, MeetingKind, MeetingState, Series
from meetings.domain.scheduling import (
    Cadence,
    Occurrence,
    cancel,
    next_meeting,
    occurrences,
    parse_cadence,
    parse_local_datetime,
    plan_series,
    reschedule,
    schedule_extraordinary,
    series_from_cadence,
    series_start,
    to_local,
    to_utc,
)

SHANGHAI = "Asia/Shanghai"
LONDON = "Europe/London"
CN = public_holidays("CN")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def wall(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A naive wall-clock time in some council's zone (what users type and series store)."""
    return datetime.combine(date(year, month, day), time(hour, minute))


def bimonthly_2th(starting: date = date(2027, 1, 1), council_id: int = 1) -> Series:
    return series_from_cadence(council_id, parse_cadence("bimonthly 2TH 14:30 120"),
                               starting=starting, location="Room 301")


@dataclass(frozen=True)
class StubHolidays:
    """A calendar with chosen holidays and, unless told otherwise, every other day working."""

    days: dict[date, str]
    weekends_off: bool = False

    def is_working_day(self, day: date) -> bool:
        if self.weekends_off and day.weekday() >= 5:
            return False
        return day not in self.days

    def holiday_name(self, day: date) -> str | None:
        return self.days.get(day)


def holiday_run(first: date, last: date, name: str) -> dict[date, str]:
    return {first + timedelta(days=n): name for n in range((last - first).days + 1)}


# --- parse_cadence ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("bimonthly 2TH 14:30 120",
         Cadence("FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TH", time(14, 30), 120)),
        ("monthly 1MO 09:00 90", Cadence("FREQ=MONTHLY;INTERVAL=1;BYDAY=+1MO", time(9, 0), 90)),
        ("quarterly -1FR 16:00", Cadence("FREQ=MONTHLY;INTERVAL=3;BYDAY=-1FR", time(16, 0), 120)),
        ("2TH 14:30", Cadence("FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TH", time(14, 30), 120)),
        ("  Bimonthly  3we 8:05  60 ",
         Cadence("FREQ=MONTHLY;INTERVAL=2;BYDAY=+3WE", time(8, 5), 60)),
        ("+4TU 10:00", Cadence("FREQ=MONTHLY;INTERVAL=2;BYDAY=+4TU", time(10, 0), 120)),
    ],
)
def test_presets_become_monthly_rules(spec: str, expected: Cadence) -> None:
    """A preset names the frequency (bimonthly by default), the ordinal weekday, time and length."""
    assert expected == parse_cadence(spec)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("RRULE:FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TH 14:30 90",
         Cadence("FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TH", time(14, 30), 90)),
        ("FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TH 15:00",
         Cadence("FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TH", time(15, 0), 120)),
        ("rrule:freq=weekly;byday=th 16:00", Cadence("FREQ=WEEKLY;BYDAY=TH", time(16, 0), 120)),
        ("FREQ=MONTHLY;BYDAY=TU;BYSETPOS=-1;COUNT=6 10:00",
         Cadence("FREQ=MONTHLY;BYDAY=TU;BYSETPOS=-1;COUNT=6", time(10, 0), 120)),
        ("FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TH;UNTIL=20281231T160000Z 14:30",
         Cadence("FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TH;UNTIL=20281231T160000Z", time(14, 30), 120)),
        ("FREQ=DAILY;INTERVAL=7 14:30", Cadence("FREQ=DAILY;INTERVAL=7", time(14, 30), 120)),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29 14:30",
         Cadence("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", time(14, 30), 120)),
    ],
)
def test_raw_rrules_are_accepted_with_a_time_and_an_optional_length(
    spec: str, expected: Cadence
) -> None:
    """A raw RRULE (with or without the RRULE: prefix) keeps its text; the length defaults."""
    assert expected == parse_cadence(spec)


# Each malformed cadence and a part of the message that must name what is wrong.
BAD_CADENCES = [
    ("", "empty cadence"),
    ("   ", "empty cadence"),
    ("bimonthly 2TH 14:30 " + "9" * 400, "cadence too long"),
    ("DTSTART:20270101T000000 RRULE:FREQ=MONTHLY", "no DTSTART"),
    ("FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TH", "missing the time: give HH:MM after the rule"),
    ("weekly 2TH 14:30", "unknown frequency 'weekly'"),
    ("bimonthly", "missing the day"),
    ("bimonthly second-thursday 14:30", "bad day 'second-thursday'"),
    ("2XX 14:30", "bad weekday 'XX'"),
    ("2SA 14:30", "'2SA' is a weekend day"),
    ("5TH 14:30", "bad ordinal in '5TH'"),
    ("0TH 14:30", "bad ordinal in '0TH'"),
    ("-5TH 14:30", "bad ordinal in '-5TH'"),
    ("bimonthly 2TH", "missing the time"),
    ("2TH 2pm", "bad time '2pm'"),
    ("2TH 24:00", "impossible time '24:00'"),
    ("2TH 14:60", "impossible time '14:60'"),
    ("2TH 14:30 two-hours", "bad duration 'two-hours'"),
    ("2TH 14:30 5", "bad duration 5: between 15 and 1440 minutes"),
    ("2TH 14:30 1441", "bad duration 1441"),
    ("2TH 14:30 120 extra", "unexpected 'extra' after the duration"),
    ("FREQ=MONTHLY 14:30 120 extra", "unexpected 'extra' after the duration"),
    ("FREQ=MONTHLY half-past-two", "bad time 'half-past-two'"),
    ("RRULE:", "empty RRULE"),
    ("FREQ=MONTHLY;BYDAY", "bad RRULE part 'BYDAY': expected NAME=VALUE"),
    ("FREQ=MONTHLY;;BYDAY=TH", "bad RRULE part ''"),
    ("FREQ=MONTHLY;COLOR=RED", "unknown RRULE part 'COLOR'"),
    ("FREQ=MONTHLY;BYEASTER=0", "unknown RRULE part 'BYEASTER'"),
    ("FREQ=MONTHLY;FREQ=WEEKLY", "RRULE part FREQ given twice"),
    ("FREQ=MONTHLY;BYHOUR=9", "BYHOUR is not allowed: give the time as HH:MM"),
    ("FREQ=MONTHLY;BYMINUTE=30", "BYMINUTE is not allowed"),
    ("INTERVAL=2;BYDAY=+2TH", "RRULE needs FREQ"),
    ("FREQ=HOURLY;INTERVAL=200", "FREQ=HOURLY is more often than weekly"),
    ("FREQ=FORTNIGHTLY", "unknown FREQ 'FORTNIGHTLY'"),
    ("FREQ=MONTHLY;INTERVAL=0", "bad INTERVAL '0'"),
    ("FREQ=MONTHLY;INTERVAL=two", "bad INTERVAL 'TWO'"),
    ("FREQ=MONTHLY;COUNT=-1", "bad COUNT '-1'"),
    ("FREQ=MONTHLY;COUNT=3;UNTIL=20280101", "give COUNT or UNTIL, not both"),
    ("FREQ=MONTHLY;BYDAY=XX", "invalid 'BYDAY': XX"),
    ("FREQ=MONTHLY;UNTIL=someday", "invalid 'UNTIL'"),
    ("FREQ=MONTHLY;BYDAY=+9TH", "a value is out of range"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "produces no meeting dates"),
    ("FREQ=MONTHLY;BYMONTH=13", "produces no meeting dates"),
    ("FREQ=DAILY", "more often than weekly (meetings 1 day apart)"),
    ("FREQ=WEEKLY;BYDAY=MO,TH", "more often than weekly (meetings 3 days apart)"),
    ("FREQ=MONTHLY;BYMONTHDAY=1,5;COUNT=4", "more often than weekly (meetings 4 days apart)"),
]


@pytest.mark.parametrize(("spec", "message"), BAD_CADENCES)
def test_bad_cadences_are_refused_with_a_specific_one_line_message(spec: str, message: str) -> None:
    """Each malformed part of a cadence is named in a single-line InvalidSchedule message."""
    with pytest.raises(InvalidSchedule) as caught:
        parse_cadence(spec)
    text = str(caught.value)
    expected = (True, False)  # the part is named, and the message is a single line
    assert expected == (message in text, "\n" in text), text


@pytest.mark.parametrize("spec", [spec for spec, _ in BAD_CADENCES])
def test_bad_cadences_are_refused_in_chinese_too(spec: str) -> None:
    """Each refusal is one whole message of the Chinese catalog, so a Chinese council never reads
    it in English (a hint added to a message's text at run time was not translated)."""
    with pytest.raises(InvalidSchedule) as caught:
        parse_cadence(spec)
    assert translated().get(caught.value.template), caught.value.template


def test_user_input_stays_out_of_the_error_template() -> None:
    """The offending token is a template parameter, so translation never sees user text."""
    with pytest.raises(InvalidSchedule) as caught:
        parse_cadence("2TH {evil}")
    expected = ("bad time {value}: use HH:MM, e.g. 14:30", {"value": "'{evil}'"})
    assert expected == (caught.value.template, caught.value.params)


def test_a_huge_bad_token_is_cut_short_in_the_message() -> None:
    """User input echoed in an error message is truncated so a reply stays short."""
    with pytest.raises(InvalidSchedule) as caught:
        parse_cadence("2TH " + "x" * 200)
    assert len(str(caught.value)) < 120


# --- series_from_cadence -----------------------------------------------------------------------


def test_series_starts_on_the_first_rule_day_on_or_after_the_starting_date() -> None:
    """The series is anchored at the first occurrence on/after `starting`, with the rule text."""
    cadence = parse_cadence("bimonthly 2TH 14:30 90")
    expected = Series(
        council_id=7,
        rrule="FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TH",
        local_start=wall(2027, 3, 11, 14, 30),  # 2027-01-14 is before `starting`
        duration_minutes=90,
        location="Room 301",
    )
    assert expected == series_from_cadence(7, cadence, starting=date(2027, 1, 20),
                                           location="Room 301")


def test_series_starting_on_an_occurrence_day_includes_that_day() -> None:
    """`starting` itself is the first meeting when the rule falls on it."""
    series = series_from_cadence(1, parse_cadence("2TH 14:30"), starting=date(2027, 1, 14))
    assert wall(2027, 1, 14, 14, 30) == series.local_start


def test_series_with_an_until_in_the_past_is_refused() -> None:
    """A rule that has stopped before `starting` produces no meeting and is refused."""
    cadence = parse_cadence("FREQ=MONTHLY;BYDAY=+2TH;UNTIL=20250101 14:30")
    with pytest.raises(InvalidSchedule, match="no meeting on or after 2027-01-01"):
        series_from_cadence(1, cadence, starting=date(2027, 1, 1))


# --- occurrences -------------------------------------------------------------------------------


def test_bimonthly_series_in_shanghai_starts_at_0630_utc() -> None:
    """14:30 China Standard Time is 06:30 UTC for every meeting of the series."""
    found = occurrences(bimonthly_2th(), SHANGHAI, CN, since=utc(2027, 1, 1),
                        until=utc(2027, 12, 31))
    expected = [
        (date(2027, 1, 14), utc(2027, 1, 14, 6, 30)),
        (date(2027, 3, 11), utc(2027, 3, 11, 6, 30)),
        (date(2027, 5, 13), utc(2027, 5, 13, 6, 30)),
        (date(2027, 7, 8), utc(2027, 7, 8, 6, 30)),
        (date(2027, 9, 9), utc(2027, 9, 9, 6, 30)),
        (date(2027, 11, 11), utc(2027, 11, 11, 6, 30)),
    ]
    assert expected == [(o.occurrence, o.starts_at) for o in found]


def test_london_series_keeps_its_wall_clock_across_daylight_saving() -> None:
    """In Europe/London the meeting stays at 14:30 local while its UTC time shifts by an hour."""
    series = series_from_cadence(1, parse_cadence("monthly -1TU 14:30"), starting=date(2027, 2, 1))
    found = occurrences(series, LONDON, WeekdaysOnly(), since=utc(2027, 2, 1),
                        until=utc(2027, 12, 1))
    expected = [
        (wall(2027, 2, 23, 14, 30), utc(2027, 2, 23, 14, 30)),  # GMT
        (wall(2027, 3, 30, 14, 30), utc(2027, 3, 30, 13, 30)),  # BST from 28 March
        (wall(2027, 4, 27, 14, 30), utc(2027, 4, 27, 13, 30)),
        (wall(2027, 5, 25, 14, 30), utc(2027, 5, 25, 13, 30)),
        (wall(2027, 6, 29, 14, 30), utc(2027, 6, 29, 13, 30)),
        (wall(2027, 7, 27, 14, 30), utc(2027, 7, 27, 13, 30)),
        (wall(2027, 8, 31, 14, 30), utc(2027, 8, 31, 13, 30)),
        (wall(2027, 9, 28, 14, 30), utc(2027, 9, 28, 13, 30)),
        (wall(2027, 10, 26, 14, 30), utc(2027, 10, 26, 13, 30)),
        (wall(2027, 11, 30, 14, 30), utc(2027, 11, 30, 14, 30)),  # GMT from 31 October
    ]
    assert expected == [(o.local_start, o.starts_at) for o in found]


def test_a_wall_clock_time_in_the_spring_forward_gap_moves_forward() -> None:
    """01:30 on the night London skips 01:00-02:00 becomes 02:30 BST (01:30 UTC)."""
    series = Series(1, "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", wall(2027, 3, 28, 1, 30))
    found = occurrences(series, LONDON, StubHolidays({}), since=utc(2027, 1, 1),
                        until=utc(2028, 1, 1))
    assert [Occurrence(date(2027, 3, 28), wall(2027, 3, 28, 2, 30),
                       utc(2027, 3, 28, 1, 30))] == found


def test_an_ambiguous_wall_clock_time_takes_the_first_instant() -> None:
    """01:30 on the night London repeats 01:00-02:00 is the first one, still BST (00:30 UTC)."""
    series = Series(1, "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", wall(2027, 10, 31, 1, 30))
    found = occurrences(series, LONDON, StubHolidays({}), since=utc(2027, 1, 1),
                        until=utc(2028, 1, 1))
    assert [utc(2027, 10, 31, 0, 30)] == [o.starts_at for o in found]


def test_national_day_moves_the_meeting_to_the_next_working_day() -> None:
    """A meeting on 1 October 2026 (National Day week) moves to 8 October with the reason."""
    series = series_from_cadence(1, parse_cadence("bimonthly 1TH 14:30"), starting=date(2026, 8, 1))
    found = occurrences(series, SHANGHAI, CN, since=utc(2026, 9, 1), until=utc(2026, 11, 1))
    expected = [Occurrence(date(2026, 10, 1), wall(2026, 10, 8, 14, 30),
                           utc(2026, 10, 8, 6, 30), "moved from 2026-10-01 (National Day)")]
    assert expected == found


def test_a_holiday_calendar_move_records_the_holiday_name() -> None:
    """With a 1-7 October holiday week, an occurrence on 2027-10-07 lands on Friday 8 October."""
    calendar = StubHolidays(holiday_run(date(2027, 10, 1), date(2027, 10, 7), "National Day"),
                            weekends_off=True)
    series = series_from_cadence(1, parse_cadence("bimonthly 1TH 14:30"), starting=date(2027, 8, 1))
    found = occurrences(series, SHANGHAI, calendar, since=utc(2027, 9, 1), until=utc(2027, 11, 1))
    expected = [Occurrence(date(2027, 10, 7), wall(2027, 10, 8, 14, 30),
                           utc(2027, 10, 8, 6, 30), "moved from 2027-10-07 (National Day)")]
    assert expected == found


def test_a_weekend_make_up_working_day_counts_as_working() -> None:
    """New Year 2026 is off Thu 1 - Sat 3 January; Sunday 4 January is worked and hosts the move."""
    series = series_from_cadence(1, parse_cadence("bimonthly 1TH 14:30"), starting=date(2026, 1, 1))
    found = occurrences(series, SHANGHAI, CN, since=utc(2025, 12, 1), until=utc(2026, 2, 1))
    expected = [Occurrence(date(2026, 1, 1), wall(2026, 1, 4, 14, 30),
                           utc(2026, 1, 4, 6, 30), "moved from 2026-01-01 (New Year's Day)")]
    assert expected == found


def test_cn_calendar_knows_make_up_days_and_holiday_names() -> None:
    """Sunday 2025-09-28 is a make-up working day; 2026-10-01 is National Day; Saturdays are off."""
    expected = (True, None, False, "National Day", False, None)
    assert expected == (
        CN.is_working_day(date(2025, 9, 28)), CN.holiday_name(date(2025, 9, 28)),
        CN.is_working_day(date(2026, 10, 1)), CN.holiday_name(date(2026, 10, 1)),
        CN.is_working_day(date(2027, 3, 13)), CN.holiday_name(date(2027, 3, 13)),
    )


def test_a_weekend_occurrence_names_the_weekend_as_reason() -> None:
    """A rule day on a plain weekend moves to Monday with 'weekend' as the reason."""
    series = Series(1, "FREQ=MONTHLY;INTERVAL=2;BYDAY=+2SA", wall(2027, 1, 9, 10, 0))
    found = occurrences(series, SHANGHAI, WeekdaysOnly(), since=utc(2027, 1, 1),
                        until=utc(2027, 2, 1))
    expected = ["moved from 2027-01-09 (weekend)"]
    assert expected == [o.moved_reason for o in found]


def test_a_moved_occurrence_never_lands_on_another_occurrences_day() -> None:
    """A weekly Thursday meeting moved off 30 Sep skips 7 Oct (another meeting's day) for 8 Oct."""
    calendar = StubHolidays(holiday_run(date(2027, 9, 30), date(2027, 10, 6), "Golden Week"))
    series = Series(1, "FREQ=WEEKLY;BYDAY=TH", wall(2027, 9, 23, 14, 30))
    found = occurrences(series, SHANGHAI, calendar, since=utc(2027, 9, 20), until=utc(2027, 10, 20))
    expected = [
        (date(2027, 9, 23), date(2027, 9, 23)),
        (date(2027, 9, 30), date(2027, 10, 8)),
        (date(2027, 10, 7), date(2027, 10, 7)),
        (date(2027, 10, 14), date(2027, 10, 14)),
    ]
    assert expected == [(o.occurrence, o.local_start.date()) for o in found]


def test_moves_do_not_depend_on_the_window_asked_through() -> None:
    """An occurrence lands on the same day whether asked alone or within a wider window."""
    calendar = StubHolidays(holiday_run(date(2027, 9, 30), date(2027, 10, 6), "Golden Week"))
    series = Series(1, "FREQ=WEEKLY;BYDAY=TH", wall(2027, 9, 23, 14, 30))
    wide = occurrences(series, SHANGHAI, calendar, since=utc(2027, 9, 1), until=utc(2027, 12, 1))
    narrow = occurrences(series, SHANGHAI, calendar, since=utc(2027, 9, 30),
                         until=utc(2027, 10, 1))
    assert [o for o in wide if o.occurrence == date(2027, 9, 30)] == narrow


def test_occurrence_window_is_half_open() -> None:
    """An occurrence starting exactly at `since` is in, one starting exactly at `until` is out."""
    found = occurrences(bimonthly_2th(), SHANGHAI, CN, since=utc(2027, 3, 11, 6, 30),
                        until=utc(2027, 5, 13, 6, 30))
    assert [date(2027, 3, 11)] == [o.occurrence for o in found]


def test_occurrences_stop_at_count() -> None:
    """A COUNT rule yields exactly that many meetings."""
    cadence = parse_cadence("FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TH;COUNT=3 14:30")
    series = series_from_cadence(1, cadence, starting=date(2027, 1, 1))
    found = occurrences(series, SHANGHAI, CN, since=utc(2027, 1, 1), until=utc(2030, 1, 1))
    assert [date(2027, 1, 14), date(2027, 3, 11), date(2027, 5, 13)] == [
        o.occurrence for o in found
    ]


def test_a_utc_until_is_compared_in_the_councils_zone() -> None:
    """UNTIL=...T063000Z is 14:30 in Shanghai, so the meeting at exactly 14:30 is still in."""
    cadence = parse_cadence("FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TH;UNTIL=20270311T063000Z 14:30")
    series = series_from_cadence(1, cadence, starting=date(2027, 1, 1))
    found = occurrences(series, SHANGHAI, CN, since=utc(2027, 1, 1), until=utc(2030, 1, 1))
    assert [date(2027, 1, 14), date(2027, 3, 11)] == [o.occurrence for o in found]


def test_a_date_only_until_includes_that_day() -> None:
    """UNTIL=20270311 keeps the meeting at 14:30 on 11 March 2027 (RFC 5545: the whole day)."""
    cadence = parse_cadence("FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TH;UNTIL=20270311 14:30")
    series = series_from_cadence(1, cadence, starting=date(2027, 1, 1))
    found = occurrences(series, SHANGHAI, CN, since=utc(2027, 1, 1), until=utc(2030, 1, 1))
    expected = [date(2027, 1, 14), date(2027, 3, 11)]
    assert expected == [o.occurrence for o in found]


def test_unknown_time_zone_and_country_are_invalid_input() -> None:
    """A misspelt zone or holiday country is refused as bad input, not a crash."""
    with pytest.raises(InvalidInput, match="unknown time zone 'Asia/Shangai'"):
        occurrences(bimonthly_2th(), "Asia/Shangai", CN, since=utc(2027, 1, 1),
                    until=utc(2027, 2, 1))
    with pytest.raises(InvalidInput, match="unknown holiday country 'XX'"):
        public_holidays("XX")
    with pytest.raises(InvalidInput, match="unknown holiday country"):
        public_holidays("../etc")


def test_country_codes_are_case_insensitive() -> None:
    """'cn' is the same calendar as 'CN'."""
    assert public_holidays("cn") is CN


def test_weekdays_only_has_no_holidays() -> None:
    """WeekdaysOnly works Monday to Friday and names no holidays."""
    week = [date(2027, 3, 8) + timedelta(days=n) for n in range(7)]
    calendar = WeekdaysOnly()
    expected = ([True] * 5 + [False] * 2, [None] * 7)
    assert expected == (
        [calendar.is_working_day(d) for d in week], [calendar.holiday_name(d) for d in week]
    )


def test_to_local_and_to_utc_round_trip() -> None:
    """06:30 UTC is 14:30 in Shanghai, and back."""
    local = to_local(utc(2027, 3, 11, 6, 30), SHANGHAI)
    expected = (wall(2027, 3, 11, 14, 30), ZoneInfo(SHANGHAI), utc(2027, 3, 11, 6, 30))
    wall_clock = local.replace(tzinfo=None)
    assert expected == (wall_clock, local.tzinfo, to_utc(wall_clock, SHANGHAI))


# --- plan_series -------------------------------------------------------------------------------


def test_plan_series_creates_the_next_twelve_months_of_regular_meetings() -> None:
    """Six bimonthly meetings fall in the 12-month horizon, each a new regular meeting."""
    planned = plan_series(bimonthly_2th(), SHANGHAI, CN, [], now=utc(2027, 1, 1))
    first = Meeting(council_id=1, kind=MeetingKind.REGULAR, starts_at=utc(2027, 1, 14, 6, 30),
                    duration_minutes=120, location="Room 301", occurrence=date(2027, 1, 14),
                    announced_at=utc(2027, 1, 1), id=NEW)
    days = [date(2027, 1, 14), date(2027, 3, 11), date(2027, 5, 13), date(2027, 7, 8),
            date(2027, 9, 9), date(2027, 11, 11)]
    assert (first, days) == (planned[0], [m.occurrence for m in planned])


def test_plan_series_is_idempotent() -> None:
    """Planning again with the first plan as existing meetings creates nothing."""
    series = bimonthly_2th()
    first = plan_series(series, SHANGHAI, CN, [], now=utc(2027, 1, 1))
    stored = [replace(m, id=n) for n, m in enumerate(first, start=1)]
    expected: list[Meeting] = []
    assert expected == plan_series(series, SHANGHAI, CN, stored, now=utc(2027, 1, 1))


def test_plan_series_never_recreates_cancelled_or_rescheduled_occurrences() -> None:
    """An occurrence whose meeting was cancelled or moved counts as materialised."""
    series = bimonthly_2th()
    cancelled = Meeting(1, MeetingKind.REGULAR, utc(2027, 1, 14, 6, 30),
                        state=MeetingState.CANCELLED, occurrence=date(2027, 1, 14), id=1)
    moved = Meeting(1, MeetingKind.REGULAR, utc(2027, 3, 18, 6, 30),
                    occurrence=date(2027, 3, 11), moved_reason="chair travelling", id=2)
    planned = plan_series(series, SHANGHAI, CN, [cancelled, moved], now=utc(2027, 1, 1))
    assert [date(2027, 5, 13), date(2027, 7, 8), date(2027, 9, 9), date(2027, 11, 11)] == [
        m.occurrence for m in planned
    ]


def test_plan_series_ignores_other_councils_meetings() -> None:
    """A meeting of another council with the same occurrence date does not count."""
    other = Meeting(2, MeetingKind.REGULAR, utc(2027, 1, 14, 6, 30),
                    occurrence=date(2027, 1, 14), id=9)
    planned = plan_series(bimonthly_2th(), SHANGHAI, CN, [other], now=utc(2027, 1, 1),
                          horizon_months=1)
    assert [date(2027, 1, 14)] == [m.occurrence for m in planned]


def test_plan_series_respects_the_horizon() -> None:
    """Only meetings within now + horizon_months are planned (12 by default, here also 3)."""
    planned = plan_series(bimonthly_2th(), SHANGHAI, CN, [], now=utc(2027, 1, 14, 7, 0))
    short = plan_series(bimonthly_2th(), SHANGHAI, CN, [], now=utc(2027, 1, 1), horizon_months=3)
    expected = (
        [date(2027, 3, 11), date(2027, 5, 13), date(2027, 7, 8), date(2027, 9, 9),
         date(2027, 11, 11), date(2028, 1, 13)],
        [date(2027, 1, 14), date(2027, 3, 11)],
    )
    assert expected == ([m.occurrence for m in planned], [m.occurrence for m in short])


def test_plan_series_horizon_is_half_open() -> None:
    """A meeting starting exactly at now + horizon waits for a later run; a minute on, it is in."""
    at_edge = plan_series(bimonthly_2th(), SHANGHAI, CN, [], now=utc(2027, 1, 13, 6, 30))
    past_edge = plan_series(bimonthly_2th(), SHANGHAI, CN, [], now=utc(2027, 1, 13, 6, 31))
    assert (date(2027, 11, 11), date(2028, 1, 13)) == (
        at_edge[-1].occurrence, past_edge[-1].occurrence
    )


def test_plan_series_skips_meetings_that_already_started() -> None:
    """Only meetings starting after `now` are planned."""
    planned = plan_series(bimonthly_2th(), SHANGHAI, CN, [], now=utc(2027, 3, 11, 6, 30),
                          horizon_months=3)
    assert [date(2027, 5, 13)] == [m.occurrence for m in planned]


def test_plan_series_plans_a_moved_meeting_whose_original_day_has_passed() -> None:
    """On 3 October 2026 the 1 October occurrence, moved to 8 October, is still planned."""
    series = series_from_cadence(1, parse_cadence("bimonthly 1TH 14:30"), starting=date(2026, 8, 1))
    planned = plan_series(series, SHANGHAI, CN, [], now=utc(2026, 10, 3), horizon_months=1)
    expected = [
        (date(2026, 10, 1), utc(2026, 10, 8, 6, 30), "moved from 2026-10-01 (National Day)")
    ]
    assert expected == [(m.occurrence, m.starts_at, m.moved_reason) for m in planned]


def test_plan_series_refuses_a_horizon_below_one_month() -> None:
    """A zero or negative horizon is refused."""
    with pytest.raises(InvalidInput, match="horizon"):
        plan_series(bimonthly_2th(), SHANGHAI, CN, [], now=utc(2027, 1, 1), horizon_months=0)


def test_naive_now_is_a_programming_error() -> None:
    """Passing a naive `now` raises ValueError rather than guessing a zone."""
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_series(bimonthly_2th(), SHANGHAI, CN, [], now=wall(2027, 1, 1))


# --- reschedule / cancel / extraordinary ---------------------------------------------------------

NOW = utc(2027, 3, 1)
REGULAR = Meeting(1, MeetingKind.REGULAR, utc(2027, 3, 11, 6, 30), occurrence=date(2027, 3, 11),
                  id=4)


def test_reschedule_moves_the_meeting_and_keeps_its_occurrence() -> None:
    """Rescheduling changes the start, records why and when (the notice of the new start), and
    keeps the series' occurrence date."""
    moved = reschedule(REGULAR, wall(2027, 3, 18, 9, 0), SHANGHAI, CN, now=NOW)
    expected = replace(REGULAR, starts_at=utc(2027, 3, 18, 1, 0),
                       moved_reason="rescheduled from 2027-03-11 14:30", announced_at=NOW)
    assert expected == moved


def test_reschedule_keeps_a_given_reason() -> None:
    """A reason given by the chair is stored as the move reason."""
    moved = reschedule(REGULAR, wall(2027, 3, 18, 9, 0), SHANGHAI, CN, now=NOW,
                       reason="chair at the provincial conference")
    expected = "chair at the provincial conference"
    assert expected == moved.moved_reason


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (MeetingState.CANCELLED, "it is cancelled"),
        (MeetingState.ENDED, "it has ended"),
        (MeetingState.MINUTES_APPROVED, "it has ended"),
        (MeetingState.IN_PROGRESS, "it is in progress"),
    ],
)
def test_reschedule_refuses_closed_meetings(state: MeetingState, message: str) -> None:
    """A cancelled, running or finished meeting cannot be rescheduled."""
    with pytest.raises(InvalidState, match=message):
        reschedule(replace(REGULAR, state=state), wall(2027, 3, 18, 9, 0), SHANGHAI, CN,
                   now=NOW)


def test_reschedule_refuses_a_start_in_the_past() -> None:
    """A new start before `now` is refused."""
    with pytest.raises(InvalidSchedule, match="2027-02-25 09:00 is in the past"):
        reschedule(REGULAR, wall(2027, 2, 25, 9, 0), SHANGHAI, CN, now=NOW)


def test_reschedule_refuses_a_holiday_and_names_it() -> None:
    """Moving onto a Labour Day holiday is refused with the holiday's name."""
    with pytest.raises(InvalidSchedule, match=r"2027-05-03 is not a working day \(Labor Day"):
        reschedule(REGULAR, wall(2027, 5, 3, 9, 0), SHANGHAI, CN, now=NOW)


def test_cancel_sets_the_state() -> None:
    """Cancelling a scheduled meeting marks it cancelled and changes nothing else."""
    assert replace(REGULAR, state=MeetingState.CANCELLED) == cancel(REGULAR, now=NOW)


@pytest.mark.parametrize(
    ("meeting", "message"),
    [
        (replace(REGULAR, state=MeetingState.CANCELLED), "it is cancelled"),
        (replace(REGULAR, state=MeetingState.ENDED), "it has ended"),
        (replace(REGULAR, starts_at=utc(2027, 2, 20)), "it has ended"),
        (replace(REGULAR, state=MeetingState.IN_PROGRESS), "it is in progress"),
    ],
)
def test_cancel_refuses_closed_meetings(meeting: Meeting, message: str) -> None:
    """A meeting already cancelled, over (by state or by clock) or running cannot be cancelled."""
    with pytest.raises(InvalidState, match=message):
        cancel(meeting, now=NOW)


def test_schedule_extraordinary_builds_a_meeting() -> None:
    """An extraordinary meeting gets the UTC start, length, title and place, no occurrence, and
    the time it was announced."""
    meeting = schedule_extraordinary(1, wall(2027, 3, 5, 10, 0), SHANGHAI, CN, now=NOW,
                                     duration_minutes=60, title=" Budget\n review ",
                                     location="Room 2")
    expected = Meeting(1, MeetingKind.EXTRAORDINARY, utc(2027, 3, 5, 2, 0), duration_minutes=60,
                       title="Budget review", location="Room 2", announced_at=NOW, id=NEW)
    assert expected == meeting


class MeetingDetails(TypedDict, total=False):
    """The optional arguments of `schedule_extraordinary` a case overrides."""

    duration_minutes: int
    title: str


@pytest.mark.parametrize(
    ("local_start", "kwargs", "error", "message"),
    [
        (wall(2027, 2, 1, 10, 0), {}, InvalidSchedule, "in the past"),
        (wall(2027, 3, 6, 10, 0), {}, InvalidSchedule, r"2027-03-06 is not a working day"),
        (wall(2027, 3, 5, 10, 0), {"duration_minutes": 0}, InvalidSchedule, "bad duration"),
        (wall(2027, 3, 5, 10, 0), {"title": "x" * 201}, InvalidInput, "title is too long"),
    ],
)
def test_schedule_extraordinary_validates(
    local_start: datetime, kwargs: MeetingDetails, error: type[Exception], message: str
) -> None:
    """Past starts, non-working days, bad lengths and bad titles are refused."""
    with pytest.raises(error, match=message):
        schedule_extraordinary(1, local_start, SHANGHAI, CN, now=NOW, **kwargs)


def test_control_characters_are_dropped_from_titles() -> None:
    """Control and bidi-override characters never reach storage; the rest of the title does."""
    meeting = schedule_extraordinary(1, wall(2027, 3, 5, 10, 0), SHANGHAI, CN, now=NOW,
                                     title="a\x00b\u202e")
    assert meeting.title == "ab"


def test_titles_keep_emoji_and_right_to_left_text() -> None:
    """Emoji sequences with joiners and Arabic text are ordinary title text."""
    title = "👩\u200d💻 \u0645\u0631\u062d\u0628\u0627"
    meeting = schedule_extraordinary(1, wall(2027, 3, 5, 10, 0), SHANGHAI, CN, now=NOW,
                                     title=title)
    assert title == meeting.title


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-03-11 14:30", wall(2027, 3, 11, 14, 30)),
        (" 2027-03-11T9:05 ", wall(2027, 3, 11, 9, 5)),
    ],
)
def test_parse_local_datetime(text: str, expected: datetime) -> None:
    """'YYYY-MM-DD HH:MM' (or with a T) parses to a naive wall-clock datetime."""
    assert expected == parse_local_datetime(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2027-02-30 10:00", "impossible date 2027-02-30"),
        ("2027-13-01 10:00", "impossible date 2027-13-01"),
        ("2027-03-11 24:00", "impossible time 24:00"),
        ("2027-03-11", "bad date/time '2027-03-11': use YYYY-MM-DD HH:MM"),
        ("11/03/2027 14:30", "bad date/time"),
        ("tomorrow", "bad date/time"),
    ],
)
def test_parse_local_datetime_refuses_bad_text(text: str, message: str) -> None:
    """Malformed or impossible dates and times are refused with what is wrong."""
    with pytest.raises(InvalidSchedule, match=message):
        parse_local_datetime(text)


def test_next_meeting_skips_cancelled_and_ended_meetings() -> None:
    """The next meeting is the earliest one neither cancelled nor over."""
    over = Meeting(1, MeetingKind.REGULAR, utc(2027, 1, 14, 6, 30), id=1)
    cancelled = Meeting(1, MeetingKind.REGULAR, utc(2027, 3, 11, 6, 30),
                        state=MeetingState.CANCELLED, id=2)
    later = Meeting(1, MeetingKind.REGULAR, utc(2027, 5, 13, 6, 30), id=3)
    extra = Meeting(1, MeetingKind.EXTRAORDINARY, utc(2027, 4, 1, 2, 0), id=4)
    assert extra == next_meeting([later, cancelled, over, extra], NOW)


def test_next_meeting_includes_one_running_over_time() -> None:
    """A meeting still in progress past its planned end is the current one."""
    running = Meeting(1, MeetingKind.REGULAR, utc(2027, 2, 28, 6, 30),
                      state=MeetingState.IN_PROGRESS, id=1)
    assert running == next_meeting([running], NOW)


def test_next_meeting_is_none_without_upcoming_meetings() -> None:
    """With nothing ahead there is no next meeting."""
    ended = Meeting(1, MeetingKind.REGULAR, utc(2027, 5, 13, 6, 30), state=MeetingState.ENDED,
                    id=1)
    assert None is next_meeting([ended], NOW)


# --- properties ----------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(
    ordinal=st.sampled_from([1, 2, 3, 4, -1]),
    weekday=st.sampled_from(["MO", "TU", "WE", "TH", "FR"]),
    hour=st.integers(min_value=8, max_value=17),
    minute=st.sampled_from([0, 15, 30, 45]),
    starting=st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31)),
)
def test_bimonthly_meetings_land_on_cn_working_days_about_two_months_apart(
    ordinal: int, weekday: str, hour: int, minute: int, starting: date
) -> None:
    """Every planned meeting is on a CN working day and consecutive ones are 45-75 days apart."""
    spec = f"bimonthly {ordinal}{weekday} {hour:02d}:{minute:02d}"
    series = series_from_cadence(1, parse_cadence(spec), starting=starting)
    now = datetime.combine(starting, time(0, 0), tzinfo=ZoneInfo(SHANGHAI)).astimezone(UTC)
    planned = plan_series(series, SHANGHAI, CN, [], now=now)
    days = [to_local(m.starts_at, SHANGHAI).date() for m in planned]
    gaps = [(later - earlier).days for earlier, later in pairwise(days)]
    expected = (True, True, True)  # a full year planned, all on working days, all ~2 months apart
    assert expected == (
        len(planned) >= 5,
        all(CN.is_working_day(d) for d in days),
        all(45 <= gap <= 75 for gap in gaps),
    ), (spec, starting, days)


def test_a_series_starts_today_or_later() -> None:
    """No start date means today; a later one is kept; a past one is refused, naming it."""
    today = date(2026, 11, 25)
    assert series_start(None, today=today) == today
    assert series_start(date(2027, 1, 1), today=today) == date(2027, 1, 1)
    with pytest.raises(InvalidSchedule, match="cannot start on 2026-11-24: that day is past"):
        series_start(date(2026, 11, 24), today=today)
