"""Reading a feed back with three independent parsers, for tests: icalendar, recurring-ical-events
and vobject must agree on every occurrence and its local start time."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import vobject

Occurrences = set[tuple[str, str]]  # (UID, local start as ISO text; a date for all-day events)


def _local(value: date | datetime, tz: str) -> str:
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(tz)).replace(tzinfo=None).isoformat()
    return value.isoformat()


def by_icalendar(data: bytes, tz: str) -> Occurrences:
    calendar = icalendar.Calendar.from_ical(data)
    return {(str(e["UID"]), _local(e.decoded("DTSTART"), tz)) for e in calendar.walk("VEVENT")}


def by_recurring_ical_events(data: bytes, tz: str) -> Occurrences:
    calendar = icalendar.Calendar.from_ical(data)
    found = recurring_ical_events.of(calendar).between(date(1990, 1, 1), date(2100, 1, 1))
    return {(str(e["UID"]), _local(e["DTSTART"].dt, tz)) for e in found}


def by_vobject(data: bytes, tz: str) -> Occurrences:
    calendar: Any = vobject.readOne(data.decode())
    return {(str(e.uid.value), _local(e.dtstart.value, tz))
            for e in calendar.contents.get("vevent", [])}


def agreed(data: bytes, tz: str) -> Occurrences:
    """The occurrences all three parsers read; raises AssertionError when they disagree."""
    first = by_icalendar(data, tz)
    assert first == by_recurring_ical_events(data, tz)
    assert first == by_vobject(data, tz)
    return first


def events(data: bytes) -> dict[str, icalendar.Component]:
    return {str(e["UID"]): e for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}


def sequence(event: icalendar.Component) -> int:
    return int(event.decoded("SEQUENCE"))
