"""Feeds as iCalendar bytes (RFC 5545), written with icalendar 7.

What real clients need, and what icalendar would otherwise do on its own:
- UID and DTSTAMP are always passed (its defaults are random and "now": the bytes would change on
  every build and the ETag with them);
- the calendar-level UID that ``Calendar.new()`` adds is removed (some clients collapse every event
  of a calendar carrying one into a single event);
- times are written in the council's zone with a VTIMEZONE (``add_missing_timezones``) and
  X-WR-TIMEZONE, so clients show local wall-clock times across DST changes;
- ``REFRESH-INTERVAL;VALUE=DURATION`` and ``X-PUBLISHED-TTL`` ask clients to poll hourly;
- no ATTENDEE ever (a published feed must not turn into invitations, nor leak the roster).
Text goes through icalendar's escaping, so a title holding newlines, ``BEGIN:VEVENT``, commas or
semicolons stays inside its property.
"""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar, Event, vDuration
from icalendar.enums import STATUS

from meetings.domain.feeds import Feed, FeedEvent
from meetings.domain.scheduling import zone

PRODID = "-//CIO Council//Calendar feeds//EN"


def _duration_text(span: timedelta) -> str:
    return vDuration(span).to_ical().decode()


def _event(item: FeedEvent, tz: str) -> Event:
    local = zone(tz)
    if item.day is not None:
        start: object = item.day
        end: object = item.day + timedelta(days=1)
    else:
        assert item.start is not None
        assert item.end is not None
        start, end = item.start.astimezone(local), item.end.astimezone(local)
    event = Event.new(
        uid=item.uid, stamp=item.stamp, last_modified=item.stamp, sequence=item.sequence,
        summary=item.summary, description=item.description or None,
        location=item.location or None, start=start, end=end,  # type: ignore[arg-type]
        status=STATUS.CANCELLED if item.cancelled else STATUS.CONFIRMED,
        categories=item.categories,
    )
    if item.day is not None:
        event.add("TRANSP", "TRANSPARENT")  # a due date does not make anyone busy
    return event


def feed_bytes(feed: Feed) -> bytes:
    """The feed as a VCALENDAR; identical feeds give identical bytes."""
    calendar = Calendar.new(prodid=PRODID, name=feed.name, refresh_interval=feed.refresh,
                            subcomponents=[_event(e, feed.timezone) for e in feed.events])
    calendar.pop("UID", None)
    # RFC 7986 requires the VALUE parameter; icalendar leaves it out.
    calendar["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("X-WR-TIMEZONE", feed.timezone)
    calendar.add("X-PUBLISHED-TTL", _duration_text(feed.refresh))
    calendar.add_missing_timezones()
    data: bytes = calendar.to_ical()
    return data
