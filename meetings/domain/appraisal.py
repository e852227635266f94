"""Performance-appraisal tallies: each department CIO's council work in a period, and its score.

The figures count what was recorded, never what anyone reports about themselves, and they belong
to a person: a CIO is answerable only for the time they were their department's CIO (a `Tenure`).
The model keeps no "CIO since" date, so a tenure starts at the earliest of the audit event that
made the person the department's CIO and their first own record for it (an attendance row naming
them, a ballot, a proposal); it ends where the next person's starts. A CIO who hands over and
later comes back has two tenures, tallied together as one row. A current CIO with neither
is taken to have held the post all along (their council predates the audit log).

Per tenure, within the period:
- meetings held (ended, or minutes approved) and the department's attendance at each: present,
  proxy, excused, absent (no record at a held meeting is an absence);
- agenda items they proposed (by ``proposed_at``), accepted, marked major;
- closed motions opened then that they could vote on (a circular vote; a meeting vote with the
  department present in person; any motion they cast a ballot on), and those they voted on;
- action items assigned to the department (by ``created_at``): done on time, done late, open,
  overdue, on the council's local dates.

The score weighs four rates (attendance, agenda contribution, vote participation, actions on
time) with the council's weights; a rate with nothing to judge (no motion to vote on) is left out
and the other weights share its part, so nobody gains or loses from an empty category.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta

from meetings.domain.errors import InvalidInput, template
from meetings.domain.model import (
    ActionItem,
    AgendaItem,
    AgendaState,
    Attendance,
    AttendanceStatus,
    Ballot,
    Meeting,
    MeetingState,
    Motion,
    MotionKind,
    MotionState,
    SecretVote,
)
from meetings.domain.scheduling import zone
from meetings.domain.text import shown

HELD = frozenset({MeetingState.ENDED, MeetingState.MINUTES_APPROVED})
# Before any record: a tenure with no known start began "always".
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)

_YEAR = re.compile(r"(\d{4})")
_HALF = re.compile(r"(\d{4})-[Hh]([12])")
_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\s*(?:\.\.|/)\s*(\d{4}-\d{2}-\d{2})")
_BAD_PERIOD = template("bad period {value}: use YYYY, YYYY-H1, YYYY-Q3 or YYYY-MM-DD..YYYY-MM-DD")


@dataclass(frozen=True, slots=True)
class Period:
    """A span of local dates, both ends included."""

    label: str
    first: date
    last: date

    def window(self, tz: str) -> tuple[datetime, datetime]:
        """The period as UTC instants [since, until): local midnights in the council's zone."""
        local = zone(tz)
        since = datetime.combine(self.first, time(), tzinfo=local)
        until = datetime.combine(self.last + timedelta(days=1), time(), tzinfo=local)
        return since.astimezone(UTC), until.astimezone(UTC)


def _year(text: str) -> int:
    year = int(text)
    if not 1900 <= year <= 9998:
        raise InvalidInput("year {year} is out of range", year=year)
    return year


def parse_period(text: str) -> Period:
    """``2026``, ``2026-H1``, ``2026-Q3`` or ``2026-01-01..2026-03-31`` (ends included)."""
    spec = text.strip()
    if match := _YEAR.fullmatch(spec):
        year = _year(match.group(1))
        return Period(spec, date(year, 1, 1), date(year, 12, 31))
    if match := _HALF.fullmatch(spec):
        year, half = _year(match.group(1)), int(match.group(2))
        first = date(year, 1 + 6 * (half - 1), 1)
        return Period(f"{year}-H{half}", first, _month_end(year, 6 * half))
    if match := _QUARTER.fullmatch(spec):
        year, quarter = _year(match.group(1)), int(match.group(2))
        return Period(f"{year}-Q{quarter}", date(year, 3 * quarter - 2, 1),
                      _month_end(year, 3 * quarter))
    if match := _RANGE.fullmatch(spec):
        try:
            first, last = (date.fromisoformat(part) for part in match.groups())
        except ValueError:
            raise InvalidInput("impossible date in period {value}", value=shown(spec, 30)) from None
        _year(str(first.year))
        _year(str(last.year))
        if last < first:
            raise InvalidInput("period {value} ends before it starts", value=shown(spec, 30))
        return Period(f"{first.isoformat()}..{last.isoformat()}", first, last)
    raise InvalidInput(_BAD_PERIOD, value=shown(spec, 30))


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Weights:
    """How the score is made; set per council. Excused absences are neutral by default: they are
    left out of the attendance denominator rather than counted as absences."""

    attendance: int = 40
    agenda: int = 20
    votes: int = 20
    actions: int = 20
    excused_neutral: bool = True

    def __post_init__(self) -> None:
        parts = (self.attendance, self.agenda, self.votes, self.actions)
        if any(not 0 <= part <= 100 for part in parts):
            raise InvalidInput("each weight must be between 0 and 100")
        if sum(parts) == 0:
            raise InvalidInput("at least one weight must be above 0")


@dataclass(frozen=True, slots=True)
class TenureStart:
    """Evidence that a person was a department's CIO at an instant."""

    department_id: int
    member_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Tenure:
    """A person's time as a department's CIO: [starts, ends), ``ends`` None while it lasts."""

    department_id: int
    member_id: int
    starts: datetime
    ends: datetime | None = None

    def clip(self, since: datetime, until: datetime) -> tuple[datetime, datetime] | None:
        """The part of [since, until) that falls in the tenure, or None."""
        start = max(self.starts, since)
        end = until if self.ends is None else min(self.ends, until)
        return (start, end) if start < end else None


def spans(people: Iterable[Tenure], since: datetime, until: datetime
          ) -> dict[tuple[int, int], tuple[datetime, datetime]]:
    """Per (department, person), the time their tenures cover in [since, until): from the first
    tenure's start to the last one's end, so a CIO who came back has one span (and one row)."""
    found: dict[tuple[int, int], tuple[datetime, datetime]] = {}
    for tenure in people:
        window = tenure.clip(since, until)
        if window is None:
            continue
        key = (tenure.department_id, tenure.member_id)
        start, end = found.get(key, window)
        found[key] = (min(start, window[0]), max(end, window[1]))
    return found


def tenures(starts: Iterable[TenureStart]) -> list[Tenure]:
    """Who held each department's CIO post when: in time order, a tenure begins wherever the
    evidence names another person than the one before, and ends where the next begins. A CIO
    who hands over and later comes back has two tenures.

    Ordered by department, then start.
    """
    ordered = sorted(starts, key=lambda s: (s.department_id, s.at, s.member_id))
    result: list[Tenure] = []
    for start in ordered:
        if result and result[-1].department_id == start.department_id:
            if result[-1].member_id == start.member_id:
                continue  # more evidence of the tenure already running
            result[-1] = replace(result[-1], ends=start.at)
        result.append(Tenure(start.department_id, start.member_id, start.at))
    return [t for t in result if t.ends is None or t.starts < t.ends]


@dataclass(frozen=True, slots=True)
class Tally:
    """The figures of one person's tenure in one period (counts only: what SQL aggregates)."""

    department_id: int
    member_id: int
    held: int = 0
    present: int = 0
    proxy: int = 0
    excused: int = 0
    absent: int = 0
    proposed: int = 0
    accepted: int = 0
    major: int = 0
    eligible_votes: int = 0
    votes_cast: int = 0
    actions: int = 0
    on_time: int = 0
    late: int = 0
    open: int = 0
    overdue: int = 0


FIGURES: tuple[str, ...] = tuple(f.name for f in fields(Tally))[2:]


@dataclass(frozen=True, slots=True)
class Ref:
    """What a figure counts: a meeting, agenda item, motion or action item, with its local day."""

    kind: str  # "meeting" | "item" | "motion" | "action"
    id: int
    day: date
    title: str = ""

    @property
    def label(self) -> str:
        prefix = {"meeting": "meeting ", "item": "item #", "motion": "M", "action": "A"}[self.kind]
        return f"{prefix}{self.id} ({self.day.isoformat()})"


@dataclass(frozen=True, slots=True)
class Card:
    """A tally with, for every figure, the records behind it."""

    tally: Tally
    since: datetime  # the tenure within the period: [since, until)
    until: datetime
    evidence: dict[str, tuple[Ref, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class History:
    """The raw records of a council in a period, as stored (what `cards` counts from)."""

    meetings: Sequence[Meeting] = ()
    attendance: Sequence[Attendance] = ()
    agenda: Sequence[AgendaItem] = ()
    motions: Sequence[Motion] = ()
    ballots: Sequence[Ballot] = ()  # current and superseded
    actions: Sequence[ActionItem] = ()
    secret_votes: Sequence[SecretVote] = ()  # who voted on secret ballots (never what)


def action_kind(item: ActionItem, *, today: date, utc_offset: timedelta) -> str:
    """``on_time``, ``late``, ``open`` or ``overdue``: done by the end of the due day where the
    council sits (a fixed ``utc_offset``, as the SQL tally compares)."""
    if item.done_at is None:
        return "overdue" if today > item.due else "open"
    return "on_time" if (item.done_at + utc_offset).date() <= item.due else "late"


def cards(history: History, people: Iterable[Tenure], *, since: datetime, until: datetime,
          today: date, utc_offset: timedelta) -> list[Card]:
    """Each person's card per department for the period [since, until), from the raw records:
    the tenures of one person in one department (a CIO who came back) make one card, from the
    first one's start to the last one's end, as the store's tallies sum them."""
    status = {(a.meeting_id, a.department_id): a.status for a in history.attendance}
    current = {(b.motion_id, b.department_id, b.member_id) for b in history.ballots if b.current}
    current |= {(v.motion_id, v.department_id, v.member_id) for v in history.secret_votes}
    found: dict[tuple[int, int], tuple[dict[str, int], dict[str, list[Ref]]]] = {}

    def day(instant: datetime) -> date:
        return (instant + utc_offset).date()

    for tenure in people:
        window = tenure.clip(since, until)
        if window is None:
            continue
        start, end = window
        dept, who = tenure.department_id, tenure.member_id
        counts, proof = found.setdefault(
            (dept, who), (dict.fromkeys(FIGURES, 0), {name: [] for name in FIGURES}))

        def add(figure: str, ref: Ref, counts: dict[str, int] = counts,
                proof: dict[str, list[Ref]] = proof) -> None:
            counts[figure] += 1
            proof[figure].append(ref)

        for meeting in history.meetings:
            if meeting.state in HELD and start <= meeting.starts_at < end:
                ref = Ref("meeting", meeting.id, day(meeting.starts_at), meeting.title)
                add("held", ref)
                kind = status.get((meeting.id, dept), AttendanceStatus.ABSENT)
                add(kind.value, ref)
        for item in history.agenda:
            if item.proposer_id == who and item.department_id == dept \
                    and start <= item.proposed_at < end:
                ref = Ref("item", item.id, day(item.proposed_at), item.title)
                add("proposed", ref)
                if item.state is AgendaState.ACCEPTED:
                    add("accepted", ref)
                if item.major:
                    add("major", ref)
        for motion in history.motions:
            if motion.state is not MotionState.CLOSED or not start <= motion.opened_at < end:
                continue
            ref = Ref("motion", motion.id, day(motion.opened_at), motion.text)
            cast = (motion.id, dept, who) in current
            present = status.get((motion.meeting_id or 0, dept)) is AttendanceStatus.PRESENT
            if motion.kind is MotionKind.CIRCULAR or present or cast:
                add("eligible_votes", ref)
            if cast:
                add("votes_cast", ref)
        for action in history.actions:
            if action.department_id == dept and start <= action.created_at < end:
                ref = Ref("action", action.id, action.due, action.text)
                add("actions", ref)
                add(action_kind(action, today=today, utc_offset=utc_offset), ref)
    covered = spans(people, since, until)
    return [Card(Tally(dept, who, **counts), *covered[(dept, who)],
                 {name: tuple(refs) for name, refs in proof.items()})
            for (dept, who), (counts, proof) in found.items()]


@dataclass(frozen=True, slots=True)
class Rate:
    """One scored part: ``numerator / denominator`` (None when there is nothing to judge)."""

    name: str  # "attendance" | "agenda" | "votes" | "actions"
    numerator: int
    denominator: int
    weight: int

    @property
    def value(self) -> float | None:
        if self.denominator == 0:
            return None
        return min(1.0, self.numerator / self.denominator)


def rates(tally: Tally, weights: Weights) -> tuple[Rate, ...]:
    """The four rates the score weighs, each explained by its numerator and denominator.

    Attendance: present in person / meetings held (less excused ones when they are neutral; a
    proxy is not attendance). Agenda: accepted proposals / meetings held, capped at 1 (one
    accepted item per meeting earns the full weight). Votes: cast / eligible. Actions: done on
    time / due by now (on time + late + overdue; open items not yet due are not judged).
    """
    attendance_base = tally.held - (tally.excused if weights.excused_neutral else 0)
    return (
        Rate("attendance", tally.present, attendance_base, weights.attendance),
        Rate("agenda", tally.accepted, tally.held, weights.agenda),
        Rate("votes", tally.votes_cast, tally.eligible_votes, weights.votes),
        Rate("actions", tally.on_time, tally.on_time + tally.late + tally.overdue,
             weights.actions),
    )


def score(tally: Tally, weights: Weights) -> float | None:
    """0..100, one decimal; None when no weighted rate has anything to judge."""
    judged = [r for r in rates(tally, weights) if r.value is not None and r.weight > 0]
    total = sum(r.weight for r in judged)
    if total == 0:
        return None
    points = sum(r.weight * (r.value or 0.0) for r in judged)
    return round(100 * points / total, 1)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the council's appraisal table: a person in a department, with the score."""

    department_code: str
    department_name: str
    member_name: str
    tally: Tally
    score: float | None
    since: date  # local dates of the tenure within the period, both included
    until: date


@dataclass(frozen=True, slots=True)
class Appraisal:
    """The read model every output renders: the council's table for a period."""

    council_name: str
    period: Period
    weights: Weights
    rows: tuple[Row, ...]
    today: date


def appraisal(council_name: str, period: Period, weights: Weights, tallies: Iterable[Tally],
              *, departments: dict[int, tuple[str, str]], names: dict[int, str],
              spans: dict[tuple[int, int], tuple[date, date]], today: date) -> Appraisal:
    """Puts tallies in table order (department code, then tenure start) with their scores."""
    rows = [Row(departments.get(t.department_id, ("?", ""))[0],
                departments.get(t.department_id, ("?", ""))[1],
                names.get(t.member_id, f"#{t.member_id}"), t, score(t, weights),
                *spans.get((t.department_id, t.member_id), (period.first, period.last)))
            for t in tallies]
    rows.sort(key=lambda r: (r.department_code, r.since, r.member_name))
    return Appraisal(council_name, period, weights, tuple(rows), today)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """Text that no spreadsheet reads as a formula: a leading ``= + - @``, tab or CR gets an
    apostrophe in front (the OWASP advice for CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


# The audit actions that can make someone a department's CIO (meetings.usecases.councils).
CIO_ACTIONS = ("member.add", "member.role", "join.approve")


def audit_starts(events: Iterable[tuple[str, datetime, dict[str, object]]],
                 approved: dict[int, tuple[int, int]]) -> list[TenureStart]:
    """Tenure starts from audit events ``(action, at, payload)``: a member added or re-roled as a
    department's CIO, or a join request approved (``approved``: request id -> (department id,
    member id) of the person it made CIO)."""
    found: list[TenureStart] = []
    for action, at, payload in events:
        if action in ("member.add", "member.role") and payload.get("role") == "cio":
            member, department = payload.get("member"), payload.get("department")
            if isinstance(member, int) and isinstance(department, int):
                found.append(TenureStart(department, member, at))
        elif action == "join.approve":
            request = payload.get("request")
            if isinstance(request, int) and request in approved:
                department, member = approved[request]
                found.append(TenureStart(department, member, at))
    return found


@dataclass(frozen=True, slots=True)
class Explained:
    """One person's card with its explanation: the figures, the records behind each, and the
    rates the score was made of."""

    council_name: str
    period: Period
    weights: Weights
    row: Row
    evidence: dict[str, tuple[Ref, ...]]
    rates: tuple[Rate, ...]


def explained(table: Appraisal, row: Row, card: Card) -> Explained:
    return Explained(table.council_name, table.period, table.weights, row, card.evidence,
                     rates(row.tally, table.weights))


def parse_weights(current: Weights, *, attendance: int | None = None, agenda: int | None = None,
                  votes: int | None = None, actions: int | None = None,
                  excused: str | None = None) -> Weights:
    """The council's weights with the given parts changed; ``excused`` is ``neutral`` (left out
    of attendance) or ``absent`` (counted as not attended)."""
    if excused is not None and excused.strip().lower() not in ("neutral", "absent"):
        raise InvalidInput("excused must be neutral or absent, not {value}",
                           value=shown(excused, 20))
    return replace(
        current,
        attendance=current.attendance if attendance is None else attendance,
        agenda=current.agenda if agenda is None else agenda,
        votes=current.votes if votes is None else votes,
        actions=current.actions if actions is None else actions,
        excused_neutral=(current.excused_neutral if excused is None
                         else excused.strip().lower() == "neutral"))
