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

from icalendar import Calendar, Event, vText
from icalendar.enums import STATUS

from meetings.domain.feeds import Feed, FeedEvent
from meetings.domain.scheduling import zone

PRODID = "-//CIO Council//Calendar feeds//EN"
YEAR = timedelta(days=366)


def _duration_text(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    return f"PT{seconds // 3600}H" if seconds % 3600 == 0 else f"PT{seconds}S"


def _text(text: str) -> str:
    # iCalendar text has one line break (escaped as \n); a CR would be a bare control character.
    return text.replace("\r\n", "\n").replace("\r", "\n")


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
        summary=_text(item.summary), description=_text(item.description) or None,
        location=_text(item.location) or None, start=start, end=end,  # type: ignore[arg-type]
        status=STATUS.CANCELLED if item.cancelled else STATUS.CONFIRMED,
        categories=item.categories,
    )
    if item.url:
        event.add("URL", item.url)
    if item.day is not None:
        event.add("TRANSP", "TRANSPARENT")  # a due date does not make anyone busy
    return event


def _one_rdate_per_line(calendar: Calendar) -> None:
    """Splits each VTIMEZONE transition list into one RDATE property per date: vobject (and so
    the clients built on it) keeps only the first date of a comma-separated RDATE, and would put
    every summer meeting an hour off."""
    for timezone in calendar.timezones:
        for transitions in timezone.subcomponents:
            if "RDATE" not in transitions:
                continue
            found = transitions.pop("RDATE")
            lists = found if isinstance(found, list) else [found]
            for instant in sorted(d.dt for values in lists for d in values.dts):
                transitions.add("RDATE", instant)


def feed_bytes(feed: Feed) -> bytes:
    """The feed as a VCALENDAR; identical feeds give identical bytes."""
    calendar = Calendar.new(prodid=PRODID, refresh_interval=feed.refresh,
                            subcomponents=[_event(e, feed.timezone) for e in feed.events])
    calendar.pop("UID", None)
    # Calendar.new(name=...) writes the name unescaped (a newline in it breaks the feed).
    calendar.add("NAME", vText(_text(feed.name)))
    calendar.add("X-WR-CALNAME", vText(_text(feed.name)))
    # RFC 7986 requires the VALUE parameter; icalendar leaves it out.
    calendar["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("X-WR-TIMEZONE", feed.timezone)
    calendar.add("X-PUBLISHED-TTL", _duration_text(feed.refresh))
    # Transitions for the feed's own span only (icalendar's default, 1970-2038, would both bloat
    # every feed and miss meetings planned past 2038).
    days = [e.day or e.start.date() for e in feed.events if e.day or e.start]  # type: ignore[union-attr]
    if days:
        calendar.add_missing_timezones(first_date=min(days) - YEAR, last_date=max(days) + YEAR)
    _one_rdate_per_line(calendar)
    data: bytes = calendar.to_ical()
    return data
