"""When meetings happen: the regular series, holiday moves, and one-off changes.

Time handling, decided once for the whole module:

* A council thinks in wall-clock time in its own zone ("14:30 on the 2nd Thursday"); domain values
  store aware UTC. A series keeps its wall-clock time across daylight-saving changes, so its UTC
  start moves by the offset change (Europe/London: 13:30 UTC in summer, 14:30 UTC in winter).
* Local to UTC uses zoneinfo with ``fold=0``. For a wall-clock time that does not exist (the
  spring-forward gap) that means the offset in force before the change, which lands the meeting
  the length of the gap later (01:30 becomes 02:30 in London). For a time that happens twice (the
  autumn fall-back) it means the first of the two. Both are rare for a 14:30 meeting; they are
  pinned so that the same input always gives the same instant.
* An RRULE's UNTIL is compared with local wall-clock occurrences. A date-only UNTIL includes that
  whole day (RFC 5545). A UTC UNTIL (``...Z``, what calendar programs write) is converted to the
  council's zone when the zone is known; where it is not (while parsing a cadence) it is read as
  local time, which can only misjudge a meeting within a few hours of the bound.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr

from meetings.domain.calendars import WorkingCalendar
from meetings.domain.errors import (
    InvalidInput,
    InvalidSchedule,
    InvalidState,
    SlotTaken,
    Word,
    template,
)
from meetings.domain.model import (
    NEW,
    AgendaItem,
    Meeting,
    MeetingKind,
    MeetingState,
    Series,
    meeting_ref,
)
from meetings.domain.text import optional, shown

DEFAULT_DURATION_MINUTES = 120
# A raw RRULE may leave out the time; the product's example series meets at 14:30.
MIN_DURATION_MINUTES = 15
MAX_DURATION_MINUTES = 24 * 60
MAX_SPEC_LENGTH = 300
MAX_TITLE_LENGTH = 200
MAX_LOCATION_LENGTH = 200

PRESET_INTERVALS = {"monthly": 1, "bimonthly": 2, "quarterly": 3}
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# A council series meets at most weekly: anything denser is a working group, not a council.
MIN_DAYS_BETWEEN_MEETINGS = 7
# Long enough for a YEARLY rule on 29 February to show at least one occurrence.
_PROBE_YEARS = 8
_PROBE_START = datetime(2000, 1, 1, 14, 30)  # noqa: DTZ001 - a naive wall-clock anchor
# The longest run of non-working days seen (Spring Festival) is 9 days; a move further than this
# means the calendar is broken, not that the council should meet months later.
_MAX_MOVE_DAYS = 45
# Occurrences just outside a window still decide where moved ones inside it may land.
_CONTEXT_DAYS = 62

_RULE_PARTS = (
    "FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS",
    "BYWEEKNO", "BYYEARDAY", "WKST",
)
_TIME_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_SUBDAILY = ("HOURLY", "MINUTELY", "SECONDLY")

_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})")
_MINUTES_RE = re.compile(r"\d{1,5}")
_ORDINAL_DAY_RE = re.compile(r"([+-]?)(\d{1,2})([A-Z]{2})")
_POSITIVE_INT_RE = re.compile(r"\d{1,6}")
_UNTIL_UTC_RE = re.compile(r"(\d{8}T\d{6})Z")
_UNTIL_DATE_RE = re.compile(r"UNTIL=(\d{8})(?=;|$)")
_LOCAL_DATETIME_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})")

_CLOSED_STATES = (MeetingState.ENDED, MeetingState.MINUTES_APPROVED)
# How the series words a holiday move (`occurrences`); any other reason is a move by hand.
_HOLIDAY_MOVE = "moved from "


# --- time zones ----------------------------------------------------------------------------------


def zone(tz: str) -> ZoneInfo:
    """The zoneinfo zone named ``tz``; an unknown name is refused as bad input."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise InvalidInput(
            "unknown time zone {zone}: use an IANA name such as Asia/Shanghai", zone=shown(tz)
        ) from err


def to_local(dt: datetime, tz: str) -> datetime:
    """The aware instant ``dt`` as an aware datetime in the zone ``tz``."""
    _require_aware(dt, "dt")
    return dt.astimezone(zone(tz))


def to_utc(local: datetime, tz: str) -> datetime:
    """The UTC instant of the wall-clock time ``local`` in ``tz`` (fold=0, see the module notes).

    An aware ``local`` is already an instant and is only converted.
    """
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    try:
        return local.replace(tzinfo=zone(tz), fold=0).astimezone(UTC)
    except OverflowError as err:  # e.g. 0001-01-01 00:00 east of UTC: before datetime.min
        raise InvalidSchedule("impossible date {day}", day=local.date().isoformat()) from err


def local_text(instant: datetime, tz: str) -> str:
    """The instant on the wall clock of ``tz``, written as `parse_local_datetime` reads it."""
    return to_local(instant, tz).strftime("%Y-%m-%d %H:%M")


def _wall_clock(instant: datetime, tz: str) -> datetime:
    # Round-tripping through UTC turns a nonexistent wall-clock time into the one that happens.
    return instant.astimezone(zone(tz)).replace(tzinfo=None)


def _require_aware(dt: datetime, name: str) -> None:
    # A naive instant here is a programming error in the caller, not something a user typed.
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {dt!r}")


# --- cadence -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cadence:
    """A parsed ``/cadence``: an RRULE without DTSTART, the local start time and the length."""

    rrule: str
    local_time: time
    duration_minutes: int = DEFAULT_DURATION_MINUTES


def parse_cadence(spec: str) -> Cadence:
    """Parse ``bimonthly 2TH 14:30 120`` or ``[RRULE:]FREQ=...[ HH:MM [minutes]]``.

    Every refusal is an ``InvalidSchedule`` whose one-line message names the part that is wrong.
    """
    if len(spec) > MAX_SPEC_LENGTH:
        raise InvalidSchedule("cadence too long: at most {limit} characters", limit=MAX_SPEC_LENGTH)
    tokens = spec.split()
    if not tokens:
        raise InvalidSchedule("empty cadence: give e.g. 'bimonthly 2TH 14:30 120' or an RRULE")
    if "DTSTART" in spec.upper():
        raise InvalidSchedule("no DTSTART in a cadence: the series starts from the set-up date")
    first = tokens[0].upper()
    if first.startswith("RRULE:") or "=" in first:
        return _parse_raw_rule(tokens)
    return _parse_preset(tokens)


def _parse_preset(tokens: list[str]) -> Cadence:
    rest = list(tokens)
    interval = PRESET_INTERVALS["bimonthly"]
    word = rest[0].lower()
    if word in PRESET_INTERVALS:
        interval = PRESET_INTERVALS[word]
        rest.pop(0)
    elif not _ORDINAL_DAY_RE.fullmatch(rest[0].upper()):
        raise InvalidSchedule(
            "unknown frequency {value}: use monthly, bimonthly, quarterly or an RRULE",
            value=shown(rest[0]),
        )
    if not rest:
        raise InvalidSchedule("missing the day: e.g. 2TH (2nd Thursday) or -1FR (last Friday)")
    byday = _parse_ordinal_day(rest.pop(0))
    if not rest:
        raise InvalidSchedule("missing the time: give HH:MM after the day, e.g. 14:30")
    local_time = _parse_time(rest.pop(0))
    duration = _parse_duration(rest.pop(0)) if rest else DEFAULT_DURATION_MINUTES
    if rest:
        raise InvalidSchedule("unexpected {value} after the duration", value=shown(rest[0]))
    rule = f"FREQ=MONTHLY;INTERVAL={interval};BYDAY={byday}"
    _validate_rule(rule)
    return Cadence(rule, local_time, duration)


def _parse_ordinal_day(token: str) -> str:
    match = _ORDINAL_DAY_RE.fullmatch(token.upper())
    # Each message is one literal so the catalog holds it whole (a concatenated hint is not
    # translated).
    if match is None:
        raise InvalidSchedule("bad day {value}: use 1-4 or -1..-4 followed by MO, TU, WE, TH or FR "
                             "(e.g. 2TH, -1FR)", value=shown(token))
    sign, number, weekday = match.groups()
    if weekday not in WEEKDAY_CODES:
        raise InvalidSchedule(
            "bad weekday {weekday} in {value}: use 1-4 or -1..-4 followed by MO, TU, "
            "WE, TH or FR (e.g. 2TH, -1FR)", weekday=shown(weekday),
            value=shown(token),
        )
    if weekday in ("SA", "SU"):
        raise InvalidSchedule("{value} is a weekend day: councils meet MO-FR", value=shown(token))
    # A 5th weekday exists only in some months, so a series on it would silently skip meetings.
    if not 1 <= int(number) <= 4:
        raise InvalidSchedule("bad ordinal in {value}: use 1-4 or -1..-4 followed by MO, TU, "
                             "WE, TH or FR (e.g. 2TH, -1FR)", value=shown(token))
    return f"{'-' if sign == '-' else '+'}{int(number)}{weekday}"


def _parse_time(token: str) -> time:
    match = _TIME_RE.fullmatch(token)
    if match is None:
        raise InvalidSchedule("bad time {value}: use HH:MM, e.g. 14:30", value=shown(token))
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise InvalidSchedule("impossible time {value}: use 00:00-23:59", value=shown(token))
    return time(hour, minute)


def _parse_duration(token: str) -> int:
    if _MINUTES_RE.fullmatch(token) is None:
        raise InvalidSchedule(
            "bad duration {value}: give whole minutes, e.g. 120", value=shown(token)
        )
    return _check_duration(int(token))


def _check_duration(minutes: int) -> int:
    if not MIN_DURATION_MINUTES <= minutes <= MAX_DURATION_MINUTES:
        raise InvalidSchedule(
            "bad duration {minutes}: between {low} and {high} minutes",
            minutes=minutes, low=MIN_DURATION_MINUTES, high=MAX_DURATION_MINUTES,
        )
    return minutes


def _parse_raw_rule(tokens: list[str]) -> Cadence:
    rule_text = tokens[0].upper().removeprefix("RRULE:")
    parts = _rule_parts(rule_text)
    rule = ";".join(f"{name}={value}" for name, value in parts.items())
    _validate_rule(rule)
    if len(tokens) < 2:
        # A guessed hour would put a whole year of meetings at a time nobody chose.
        raise InvalidSchedule("missing the time: give HH:MM after the rule, e.g. {rule} 14:30",
                              rule=shown(tokens[0], 60))
    local_time = _parse_time(tokens[1])
    duration = _parse_duration(tokens[2]) if len(tokens) > 2 else DEFAULT_DURATION_MINUTES
    if len(tokens) > 3:
        raise InvalidSchedule("unexpected {value} after the duration", value=shown(tokens[3]))
    return Cadence(rule, local_time, duration)


def _rule_parts(rule_text: str) -> dict[str, str]:
    """Split and check an RRULE body into its parts, in the order given."""
    if not rule_text:
        raise InvalidSchedule("empty RRULE: give e.g. FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TH")
    if "DTSTART" in rule_text:
        raise InvalidSchedule("no DTSTART in a cadence: the series starts from the set-up date")
    parts: dict[str, str] = {}
    for part in rule_text.split(";"):
        name, sep, value = part.partition("=")
        if not sep or not name or not value or "=" in value:
            raise InvalidSchedule(
                "bad RRULE part {value}: expected NAME=VALUE", value=shown(part)
            )
        if name in _TIME_PARTS:
            raise InvalidSchedule(
                "{part} is not allowed: give the time as HH:MM after the rule", part=name
            )
        if name not in _RULE_PARTS:
            raise InvalidSchedule("unknown RRULE part {value}", value=shown(name))
        if name in parts:
            raise InvalidSchedule("RRULE part {part} given twice", part=name)
        parts[name] = value
    freq = parts.get("FREQ")
    if freq is None:
        raise InvalidSchedule("RRULE needs FREQ, e.g. FREQ=MONTHLY")
    if freq in _SUBDAILY:
        raise InvalidSchedule(
            "FREQ={freq} is more often than weekly: not a council series", freq=freq
        )
    if freq not in _FREQUENCIES:
        raise InvalidSchedule(
            "unknown FREQ {value}: use WEEKLY, MONTHLY or YEARLY", value=shown(freq)
        )
    for name in ("INTERVAL", "COUNT"):
        if name in parts and (
            _POSITIVE_INT_RE.fullmatch(parts[name]) is None or int(parts[name]) < 1
        ):
            raise InvalidSchedule(
                "bad {part} {value}: give a whole number >= 1", part=name,
                value=shown(parts[name]),
            )
    if "COUNT" in parts and "UNTIL" in parts:
        raise InvalidSchedule("give COUNT or UNTIL, not both (RFC 5545)")
    return parts


def _validate_rule(rule: str) -> None:
    """Refuse a rule dateutil cannot read, that never happens, or that meets too often."""
    # COUNT and UNTIL only cut a series short; whether it can happen at all, and how often, is
    # the shape of the rest. A past UNTIL is caught by series_from_cadence, which knows the date.
    shape = ";".join(
        part for part in rule.split(";") if not part.startswith(("COUNT=", "UNTIL="))
    )
    # dateutil searches period after period up to the year 9999 for a rule that never matches,
    # so the probe starts close to that end: the Gregorian calendar repeats every 400 years,
    # and a rule that never matches is then refused after 20 years of search, not 8000.
    probe = datetime(9980, 1, 1, 14, 30)  # noqa: DTZ001 - a naive wall-clock anchor
    bound = probe + relativedelta(years=_PROBE_YEARS)
    days: list[date] = []
    for dt in _iterate(shape, probe):
        if dt > bound:
            break
        days.append(dt.date())
    if not days:
        raise InvalidSchedule("the rule {rule} produces no meeting dates", rule=rule)
    gaps = [(later - earlier).days for earlier, later in pairwise(days)]
    if gaps and min(gaps) < MIN_DAYS_BETWEEN_MEETINGS:
        shortest = min(gaps)
        if shortest == 1:  # two whole literals, not a word chosen at run time: both translate
            raise InvalidSchedule("the rule meets more often than weekly (meetings 1 day apart): "
                                  "not a council series")
        raise InvalidSchedule("the rule meets more often than weekly (meetings {days} days "
                              "apart): not a council series", days=shortest)
    # The parts the shape left out still have to be readable.
    next(iter(_iterate(rule, _PROBE_START)), None)


def _iterate(rule: str, dtstart: datetime, tz: str | None = None) -> Iterator[datetime]:
    """The rule's naive local occurrences from ``dtstart``; a bad rule is InvalidSchedule."""
    # RFC 5545 makes a date-only UNTIL include that whole day; dateutil would stop at midnight.
    rule = _UNTIL_DATE_RE.sub(r"UNTIL=\1T235959", rule)
    try:
        if tz is not None:
            rule = _UNTIL_UTC_RE.sub(lambda m: _local_until(m.group(1), tz), rule)
        parsed = rrulestr(rule, dtstart=dtstart, ignoretz=True)
        yield from parsed
    except ValueError as err:
        raise InvalidSchedule("bad RRULE {rule}: {reason}", rule=rule, reason=str(err)) from err
    except (TypeError, IndexError, OverflowError) as err:
        # dateutil lets these through for values it never range-checks (BYDAY=+9TH).
        raise InvalidSchedule("bad RRULE {rule}: a value is out of range", rule=rule) from err


def _local_until(stamp: str, tz: str) -> str:
    instant = datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return _wall_clock(instant, tz).strftime("%Y%m%dT%H%M%S")


def series_start(starting: date | None, *, today: date) -> date:
    """The first day a new series may have a meeting: today unless a later day is given; a day
    already past would plan meetings nobody can attend."""
    if starting is None:
        return today
    if starting < today:
        raise InvalidSchedule("the series cannot start on {day}: that day is past",
                              day=starting)
    return starting


def series_from_cadence(
    council_id: int, cadence: Cadence, *, starting: date, location: str = ""
) -> Series:
    """The series whose first meeting is the rule's first day on or after ``starting``."""
    dtstart = datetime.combine(starting, cadence.local_time)
    first = next(iter(_iterate(cadence.rrule, dtstart)), None)
    if first is None:
        raise InvalidSchedule(
            "the rule has no meeting on or after {day}", day=starting
        )
    return Series(
        council_id=council_id,
        rrule=cadence.rrule,
        local_start=first,
        duration_minutes=_check_duration(cadence.duration_minutes),
        location=optional(location, field=Word("location"), max_length=MAX_LOCATION_LENGTH),
    )


# --- occurrences ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One meeting of a series: its original date and where it actually lands."""

    occurrence: date  # the rule's own local date, the series' key for this meeting
    local_start: datetime  # naive wall clock in the council's zone, after any holiday move
    starts_at: datetime  # aware UTC
    moved_reason: str = ""


def occurrences(
    series: Series,
    tz: str,
    calendar: WorkingCalendar,
    *,
    since: datetime,
    until: datetime,
) -> list[Occurrence]:
    """The series' occurrences whose original start lies in [since, until), moved off holidays.

    An occurrence on a non-working day moves to the next working day at the same wall-clock
    time, skipping days on which another occurrence of the series stays. The moves are worked
    out from the series' first occurrence, so an occurrence lands on the same day whatever
    window it is asked through.
    """
    _require_aware(since, "since")
    _require_aware(until, "until")
    local_zone = zone(tz)
    horizon = (until.astimezone(local_zone) + timedelta(days=_CONTEXT_DAYS)).replace(tzinfo=None)
    originals: list[datetime] = []
    for dt in _iterate(series.rrule, series.local_start, tz):
        if dt > horizon:
            break
        originals.append(dt)
    staying = {dt.date() for dt in originals if calendar.is_working_day(dt.date())}
    taken: set[date] = set()
    result: list[Occurrence] = []
    for original in originals:
        day = original.date()
        landing, reason = day, ""
        if day not in staying:
            landing = _next_free_day(day, calendar, staying | taken)
            reason = f"{_HOLIDAY_MOVE}{day.isoformat()} ({_why_not_working(day, calendar)})"
        taken.add(landing)
        if not since <= to_utc(original, tz) < until:
            continue
        starts_at = to_utc(datetime.combine(landing, original.time()), tz)
        result.append(Occurrence(day, _wall_clock(starts_at, tz), starts_at, reason))
    return result


def _next_free_day(day: date, calendar: WorkingCalendar, occupied: set[date]) -> date:
    candidate = day
    for _ in range(_MAX_MOVE_DAYS):
        candidate += timedelta(days=1)
        if candidate not in occupied and calendar.is_working_day(candidate):
            return candidate
    raise InvalidSchedule(
        "no free working day within {limit} days after {day}", limit=_MAX_MOVE_DAYS,
        day=day,
    )


def _why_not_working(day: date, calendar: WorkingCalendar) -> str:
    name = calendar.holiday_name(day)
    if name:
        return name
    return Word("weekend") if day.weekday() >= 5 else Word("non-working day")


def plan_series(
    series: Series,
    tz: str,
    calendar: WorkingCalendar,
    existing: Sequence[Meeting],
    *,
    now: datetime,
    horizon_months: int = 12,
) -> list[Meeting]:
    """The regular meetings to create so the series is materialised ``horizon_months`` ahead.

    An occurrence is materialised once any meeting of the council carries its original date,
    whatever became of that meeting (moved, cancelled, held), so planning never brings back a
    meeting someone cancelled and calling this twice creates nothing the second time. Only
    meetings that start after ``now`` are planned; an occurrence whose original date has just
    passed but which a holiday moved into the future is still planned. Nor is one planned on a
    local day that already holds a meeting of the council (not cancelled): two meetings of one
    council on one day are a mistake, not a plan (`same_day_as`).
    """
    _require_aware(now, "now")
    if horizon_months < 1:
        raise InvalidInput(
            "horizon must be at least one month, got {months}", months=horizon_months
        )
    done = {
        m.occurrence
        for m in existing
        if m.occurrence is not None and m.council_id == series.council_id
    }
    window = occurrences(
        series,
        tz,
        calendar,
        since=now - timedelta(days=_MAX_MOVE_DAYS),
        until=now + relativedelta(months=horizon_months),
    )
    planned = [
        Meeting(
            council_id=series.council_id,
            kind=MeetingKind.REGULAR,
            starts_at=occ.starts_at,
            duration_minutes=series.duration_minutes,
            location=series.location,
            occurrence=occ.occurrence,
            moved_reason=occ.moved_reason,
            announced_at=now,
            id=NEW,
        )
        for occ in window
        if occ.occurrence not in done and occ.starts_at > now
    ]
    ours = [m for m in existing if m.council_id == series.council_id]
    return [m for m in planned if same_day_as(m, ours, tz) is None]


def same_day_as(meeting: Meeting, meetings: Iterable[Meeting], tz: str) -> Meeting | None:
    """A meeting (not cancelled, not ``meeting`` itself) on the same local day, if any."""
    day = to_local(meeting.starts_at, tz).date()
    return next((m for m in meetings if m.state is not MeetingState.CANCELLED
                 and (m.id == NEW or m.id != meeting.id)
                 and to_local(m.starts_at, tz).date() == day), None)


def replaceable_by_new_series(
    meetings: Iterable[Meeting], agendas: Mapping[int, Sequence[AgendaItem]], *, now: datetime
) -> list[Meeting]:
    """The meetings a new series may replace: future regular meetings nobody has touched yet
    (still scheduled, not moved by hand, nothing proposed for their agenda). Anything with
    agenda items, moved by hand or into another state, or extraordinary stays; ``agendas`` maps
    a meeting's id to its items."""
    _require_aware(now, "now")
    return [m for m in meetings
            if m.kind is MeetingKind.REGULAR and m.state is MeetingState.SCHEDULED
            and m.starts_at >= now and not agendas.get(m.id) and not moved_by_hand(m)]


def moved_by_hand(meeting: Meeting) -> bool:
    """Rescheduled by the office (the series' own holiday moves do not count)."""
    return bool(meeting.moved_reason) and not meeting.moved_reason.startswith(_HOLIDAY_MOVE)


class KeptBecause(StrEnum):
    """Why a meeting of the earlier series stays when a new series is set."""

    MOVED_BY_HAND = "moved_by_hand"  # the office chose its time: people were told of it
    AGENDA_CLOSED = "agenda_closed"  # its final agenda has been posted
    ATTENDANCE = "attendance"  # apologies or proxies are recorded for it
    NO_SUCCESSOR = "no_successor"  # holds agenda items, and no later meeting could take them


@dataclass(frozen=True, slots=True)
class Kept:
    meeting: Meeting
    because: KeptBecause


@dataclass(frozen=True, slots=True)
class ItemMove:
    """An agenda item of a removed meeting, and the meeting it goes to: one that stays (its
    id) or a new one of the series (id NEW; the stored one has the same ``occurrence``)."""

    item: AgendaItem
    source: Meeting
    target: Meeting


@dataclass(frozen=True, slots=True)
class Skipped:
    """A day of the new series left without a new meeting, because ``holder`` is on it (or
    stands for that occurrence: moved by hand, or cancelled)."""

    day: date
    holder: Meeting


@dataclass(frozen=True, slots=True)
class SeriesChange:
    """What setting a new series does to the council's calendar, to be done and then told."""

    planned: tuple[Meeting, ...]  # the new series' meetings to add (id NEW)
    # Earlier meetings on an occurrence the new series has too: they stay, with their id and
    # agenda, at the new series' time (before, after); those already at it are `unchanged`.
    updated: tuple[tuple[Meeting, Meeting], ...]
    unchanged: tuple[Meeting, ...]
    removed: tuple[Meeting, ...]  # earlier regular meetings the new series has no place for
    kept: tuple[Kept, ...]  # earlier regular meetings that stay as they are, and why
    moves: tuple[ItemMove, ...]  # the agenda items of removed meetings, and where they go
    skipped: tuple[Skipped, ...]  # new-series days that already hold a meeting


_REPLACEABLE_STATES = (MeetingState.SCHEDULED, MeetingState.AGENDA_OPEN)


def replan_series(
    series: Series,
    tz: str,
    calendar: WorkingCalendar,
    existing: Sequence[Meeting],
    agendas: Mapping[int, Sequence[AgendaItem]],
    attended: Iterable[int],
    *,
    now: datetime,
    horizon_months: int = 12,
) -> SeriesChange:
    """How a new ``series`` replaces the regular meetings ahead, nothing silently.

    Of the council's future regular meetings that have not started, these stay as they are
    (`Kept`): one moved by hand, one whose final agenda has been posted, one with apologies or
    proxies recorded (``attended``: the ids of meetings with attendance). Each other one is
    replaced: if the new series has its occurrence (its original date), the meeting takes the
    new series' time and keeps its id and agenda (`updated`); if not, it is removed and its
    agenda items (deferred ones included) go to the first meeting of the series on or after
    its day, new or staying; with none in the horizon, it stays instead. The new series never
    adds a meeting on a day that already holds one (`Skipped`). ``agendas`` maps a meeting's id
    to its items.
    """
    _require_aware(now, "now")
    attended = set(attended)
    ours = [m for m in existing if m.council_id == series.council_id]
    ahead = [m for m in ours if m.kind is MeetingKind.REGULAR and m.starts_at > now
             and m.state in (*_REPLACEABLE_STATES, MeetingState.AGENDA_CLOSED)]
    kept: list[Kept] = []
    replaceable: list[Meeting] = []
    for meeting in sorted(ahead, key=lambda m: (m.starts_at, m.id)):
        if meeting.state is MeetingState.AGENDA_CLOSED:
            kept.append(Kept(meeting, KeptBecause.AGENDA_CLOSED))
        elif moved_by_hand(meeting):
            kept.append(Kept(meeting, KeptBecause.MOVED_BY_HAND))
        elif meeting.id in attended:
            kept.append(Kept(meeting, KeptBecause.ATTENDANCE))
        else:
            replaceable.append(meeting)
    candidates = {m.id for m in replaceable}
    remaining = [m for m in ours if m.id not in candidates]
    fresh = plan_series(series, tz, calendar, remaining, now=now, horizon_months=horizon_months)
    by_occurrence = {m.occurrence: m for m in replaceable if m.occurrence is not None}
    planned: list[Meeting] = []
    updated: list[tuple[Meeting, Meeting]] = []
    unchanged: list[Meeting] = []
    for new in fresh:
        old = by_occurrence.pop(new.occurrence, None) if new.occurrence else None
        if old is None:
            planned.append(new)
            continue
        after = replace(old, starts_at=new.starts_at, duration_minutes=new.duration_minutes,
                        location=new.location, moved_reason=new.moved_reason)
        if after == old:
            unchanged.append(old)
        else:
            updated.append((old, after))
    reused = {old.id for old in unchanged} | {old.id for old, _ in updated}
    removed = [m for m in replaceable if m.id not in reused]
    # Where each removed meeting's items go: the series' next meeting on or after its day (not
    # one whose final agenda is out: nothing joins that any more).
    targets = sorted([*planned, *unchanged, *(after for _, after in updated),
                      *(k.meeting for k in kept if k.because is not KeptBecause.AGENDA_CLOSED)],
                     key=lambda m: m.starts_at)
    moves: list[ItemMove] = []
    for meeting in list(removed):
        items = agendas.get(meeting.id, ())
        if not items:
            continue
        day = to_local(meeting.starts_at, tz).date()
        target = next((m for m in targets if to_local(m.starts_at, tz).date() >= day), None)
        if target is None:
            removed.remove(meeting)
            kept.append(Kept(meeting, KeptBecause.NO_SUCCESSOR))
            continue
        moves.extend(ItemMove(item, meeting, target) for item in items)
    # Days the new series would have had a meeting on, but for one already there (staying,
    # extraordinary, or cancelled on that very occurrence).
    staying = [m for m in remaining if m.starts_at > now]
    free = plan_series(series, tz, calendar, [m for m in remaining if m.starts_at <= now],
                       now=now, horizon_months=horizon_months)
    taken = {m.occurrence for m in fresh}
    skipped = []
    for candidate in free:
        if candidate.occurrence in taken:
            continue
        holder = next((m for m in staying if m.occurrence == candidate.occurrence),
                      None) or same_day_as(candidate, staying, tz)
        if holder is not None:
            skipped.append(Skipped(to_local(candidate.starts_at, tz).date(), holder))
    return SeriesChange(tuple(planned), tuple(updated), tuple(unchanged), tuple(removed),
                        tuple(sorted(kept, key=lambda k: (k.meeting.starts_at, k.meeting.id))),
                        tuple(moves), tuple(skipped))


# --- one-off changes -----------------------------------------------------------------------------


def meeting_ends_at(meeting: Meeting) -> datetime:
    """When the meeting is planned to end."""
    return meeting.starts_at + timedelta(minutes=meeting.duration_minutes)


def has_ended(meeting: Meeting, now: datetime) -> bool:
    """Closed by the chair, or (unless still running) past its planned end."""
    if meeting.state in _CLOSED_STATES:
        return True
    if meeting.state is MeetingState.IN_PROGRESS:
        return False
    return meeting_ends_at(meeting) <= now


@dataclass(frozen=True, slots=True)
class _Unchangeable:
    """Why a change is refused, one whole catalog message per reason (a verb put into the text
    at run time would not be translated)."""

    cancelled: str
    in_progress: str
    ended: str


_NO_RESCHEDULE = _Unchangeable(
    cancelled=template("cannot reschedule meeting {meeting}: it is cancelled"),
    in_progress=template("cannot reschedule meeting {meeting}: it is in progress"),
    ended=template("cannot reschedule meeting {meeting}: it has ended"),
)
_NO_CANCEL = _Unchangeable(
    cancelled=template("cannot cancel meeting {meeting}: it is cancelled"),
    in_progress=template("cannot cancel meeting {meeting}: it is in progress"),
    ended=template("cannot cancel meeting {meeting}: it has ended"),
)


def _refuse_unchangeable(meeting: Meeting, now: datetime, refusals: _Unchangeable) -> None:
    if meeting.state is MeetingState.CANCELLED:
        raise InvalidState(refusals.cancelled, meeting=meeting.id)
    if meeting.state is MeetingState.IN_PROGRESS:
        raise InvalidState(refusals.in_progress, meeting=meeting.id)
    if has_ended(meeting, now):
        raise InvalidState(refusals.ended, meeting=meeting.id)


def _checked_start(
    local_start: datetime, tz: str, calendar: WorkingCalendar, now: datetime
) -> datetime:
    """The UTC start of a requested local time, refused if past or on a non-working day."""
    _require_aware(now, "now")
    starts_at = to_utc(local_start, tz)
    wall = _wall_clock(starts_at, tz)
    if starts_at <= now:
        raise InvalidSchedule("{start} is in the past", start=wall)
    day = wall.date()
    if not calendar.is_working_day(day):
        raise InvalidSchedule(
            "{day} is not a working day ({reason})", day=day,
            reason=_why_not_working(day, calendar),
        )
    return starts_at


def clashes(meetings: Iterable[Meeting], starts_at: datetime, duration_minutes: int, *,
            now: datetime, other_than: int | None = None) -> list[Meeting]:
    """The council's meetings still to come (not cancelled, not over) whose time overlaps
    ``duration_minutes`` from ``starts_at``; ``other_than`` leaves out the meeting being moved."""
    _require_aware(now, "now")
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    return sorted((m for m in meetings
                   if m.id != other_than and m.state is not MeetingState.CANCELLED
                   and not has_ended(m, now)
                   and m.starts_at < ends_at and starts_at < meeting_ends_at(m)),
                  key=lambda m: (m.starts_at, m.id))


def refuse_clash(meetings: Iterable[Meeting], candidate: Meeting, tz: str, *, now: datetime,
                 other_than: int | None = None) -> None:
    """Refuses ``candidate``'s time when another meeting already holds it (`SlotTaken`)."""
    taken = clashes(meetings, candidate.starts_at, candidate.duration_minutes, now=now,
                    other_than=other_than)
    if taken:
        first = taken[0]
        raise SlotTaken(
            "meeting {meeting} already holds that time ({start}, {minutes} minutes): choose "
            "another time, or move or cancel {meeting} first",
            meeting=meeting_ref(first.id), start=to_local(first.starts_at, tz),
            minutes=first.duration_minutes)


def reschedule(
    meeting: Meeting,
    new_local_start: datetime,
    tz: str,
    calendar: WorkingCalendar,
    *,
    now: datetime,
    reason: str = "",
) -> Meeting:
    """The meeting moved to ``new_local_start`` (wall clock in ``tz``), keeping its occurrence."""
    _require_aware(now, "now")
    _refuse_unchangeable(meeting, now, _NO_RESCHEDULE)
    starts_at = _checked_start(new_local_start, tz, calendar, now)
    old = _wall_clock(meeting.starts_at, tz)
    why = optional(reason, field=Word("reason"), max_length=MAX_TITLE_LENGTH) or (
        f"rescheduled from {old:%Y-%m-%d %H:%M}"
    )
    # The new start is news as of now: a meeting moved closer gets a deadline fitting that.
    return replace(meeting, starts_at=starts_at, moved_reason=why, announced_at=now)


def cancel(meeting: Meeting, *, now: datetime) -> Meeting:
    """The meeting cancelled; one that is running, over or already cancelled is refused."""
    _require_aware(now, "now")
    _refuse_unchangeable(meeting, now, _NO_CANCEL)
    return replace(meeting, state=MeetingState.CANCELLED)


def schedule_extraordinary(
    council_id: int,
    local_start: datetime,
    tz: str,
    calendar: WorkingCalendar,
    *,
    now: datetime,
    duration_minutes: int = DEFAULT_DURATION_MINUTES,
    title: str = "",
    location: str = "",
) -> Meeting:
    """A new extraordinary meeting at ``local_start`` (wall clock in ``tz``)."""
    starts_at = _checked_start(local_start, tz, calendar, now)
    return Meeting(
        council_id=council_id,
        kind=MeetingKind.EXTRAORDINARY,
        starts_at=starts_at,
        duration_minutes=_check_duration(duration_minutes),
        title=optional(title, field=Word("title"), max_length=MAX_TITLE_LENGTH),
        location=optional(location, field=Word("location"), max_length=MAX_LOCATION_LENGTH),
        announced_at=now,
        id=NEW,
    )


def proposal_deadline(starts_at: datetime, regular: datetime,
                      announced_at: datetime | None) -> datetime:
    """When CIOs' proposals for a meeting close, given the council's ``regular`` deadline and
    the notice the meeting was given (``announced_at``; None: not known, taken as ample).

    The regular deadline keeps the time between it and the start for the chair to decide on the
    items and circulate the agenda. A meeting announced with less than twice that much notice
    would leave the CIOs less time to propose than the office keeps for itself (none at all
    once the regular deadline has passed, as for tomorrow's extraordinary meeting), so its
    proposals close halfway through the notice instead: the CIOs get the first half, the
    office the second. Halving needs no setting of its own, so it fits whatever deadline the
    council sets, and it is continuous: a meeting announced exactly twice the deadline ahead
    keeps the regular deadline and one announced a little later gets a little more time,
    never the cliff where a minute's difference takes a three-day window to nothing. An
    adjusted deadline falls on a whole minute (rounded down), as the chat shows it.
    """
    if announced_at is None or announced_at >= starts_at:
        return regular
    halfway = announced_at + (starts_at - announced_at) / 2
    if halfway <= regular:
        return regular
    return max(regular, halfway.replace(second=0, microsecond=0))


def parse_local_datetime(text: str) -> datetime:
    """A naive wall-clock datetime from ``YYYY-MM-DD HH:MM`` (a ``T`` separator is accepted)."""
    match = _LOCAL_DATETIME_RE.fullmatch(text.strip())
    if match is None:
        raise InvalidSchedule("bad date/time {value}: use YYYY-MM-DD HH:MM", value=shown(text))
    year, month, day, hour, minute = (int(g) for g in match.groups())
    try:
        day_value = date(year, month, day)
    except ValueError as err:
        raise InvalidSchedule(
            "impossible date {day}", day=f"{year:04d}-{month:02d}-{day:02d}"
        ) from err
    if hour > 23 or minute > 59:
        raise InvalidSchedule(
            "impossible time {value}: use 00:00-23:59", value=f"{hour:02d}:{minute:02d}"
        )
    return datetime.combine(day_value, time(hour, minute))


def next_meeting(meetings: Sequence[Meeting], now: datetime) -> Meeting | None:
    """The earliest meeting that is neither cancelled nor over (a running one counts)."""
    _require_aware(now, "now")
    upcoming = [
        m for m in meetings if m.state is not MeetingState.CANCELLED and not has_ended(m, now)
    ]
    return min(upcoming, key=lambda m: (m.starts_at, m.id), default=None)
