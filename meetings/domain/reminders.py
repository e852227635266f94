"""Which reminders a meeting needs and which are due now.

The shell stores reminders in a durable job table and claims each by its ``dedupe_key``, so the
key has to name everything that makes a reminder distinct: the meeting, the kind, and the
meeting's start. Rescheduling changes the start and therefore yields fresh keys, while the stale
reminders of the old time stop being produced here.

Day-based reminders keep the meeting's wall-clock time in the council's zone ("3 days before, at
14:30"), so across a daylight-saving change they are 3 calendar days, not 72 hours, before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum

from meetings.domain.model import NEW, ActionItem, Council, Meeting, MeetingState, Member
from meetings.domain.permissions import Act, can
from meetings.domain.scheduling import proposal_deadline, to_local, to_utc


class ReminderKind(StrEnum):
    AGENDA_CALL = "agenda_call"  # CIOs are invited to propose agenda items
    AGENDA_DEADLINE = "agenda_deadline"  # proposals close
    DAY_BEFORE = "day_before"
    HOUR_BEFORE = "hour_before"
    ACTION_DUE = "action_due"  # to the owning CIO, before the due date
    ACTION_OVERDUE = "action_overdue"  # to the owning CIO, the day after it
    ACTION_ESCALATION = "action_escalation"  # to the chair, with the overdue notice
    VOTE_REMINDER = "vote_reminder"  # to a CIO who has not voted on a circular vote yet
    VOTE_CLOSED = "vote_closed"  # a circular vote reached its deadline: the result, to the group
    BALLOT = "ballot"  # a secret ballot's buttons, to each CIO privately
    # A private message to a member bounced (they never pressed Start, or blocked the bot): the
    # secretariat hears of it in the group, once per member.
    UNREACHABLE = "unreachable"


_KIND_ORDER = {kind: position for position, kind in enumerate(ReminderKind)}
# No reminders for a meeting that will not (or no longer) take place.
_SILENT_STATES = (
    MeetingState.CANCELLED,
    MeetingState.IN_PROGRESS,
    MeetingState.ENDED,
    MeetingState.MINUTES_APPROVED,
)


@dataclass(frozen=True, slots=True)
class Reminder:
    kind: ReminderKind
    meeting_id: int
    due_at: datetime  # aware UTC
    dedupe_key: str


def _days_before(meeting: Meeting, council: Council, days: int) -> datetime:
    local = to_local(meeting.starts_at, council.timezone).replace(tzinfo=None)
    return to_utc(local - timedelta(days=days), council.timezone)


def regular_agenda_deadline(meeting: Meeting, council: Council) -> datetime:
    """The council's proposal deadline for ``meeting`` (aware UTC): its setting, in days
    before the start. The one place that reads the setting."""
    return _days_before(meeting, council, council.agenda_deadline_days)


def agenda_deadline(meeting: Meeting, council: Council) -> datetime:
    """When agenda proposals for ``meeting`` close (aware UTC): the council's deadline, or a
    later one fitting the notice of a meeting announced at short notice
    (`scheduling.proposal_deadline`)."""
    return proposal_deadline(meeting.starts_at, regular_agenda_deadline(meeting, council),
                             meeting.announced_at)


def short_notice(meeting: Meeting, council: Council) -> bool:
    """Whether ``meeting`` takes proposals until a deadline later than the council's, because
    it was announced at short notice."""
    return agenda_deadline(meeting, council) != regular_agenda_deadline(meeting, council)


def dedupe_key(meeting: Meeting, kind: ReminderKind) -> str:
    """The unique key of one reminder, e.g. ``meeting:12:day_before:2027-03-11T06:30``."""
    start = meeting.starts_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    return f"meeting:{meeting.id}:{kind.value}:{start}"


def reminders_for(meeting: Meeting, council: Council) -> list[Reminder]:
    """Every reminder of ``meeting``, earliest first; none once it is cancelled, running or over.

    A day-based reminder configured as zero days (or less) is switched off.
    """
    if meeting.id == NEW:
        # Without an id every unsaved meeting would share the same dedupe keys.
        raise ValueError("a meeting needs its stored id before it gets reminders")
    if meeting.state in _SILENT_STATES:
        return []
    due: dict[ReminderKind, datetime] = {}
    if council.agenda_call_days > 0:
        due[ReminderKind.AGENDA_CALL] = _days_before(meeting, council, council.agenda_call_days)
    if council.agenda_deadline_days > 0:
        due[ReminderKind.AGENDA_DEADLINE] = agenda_deadline(meeting, council)
    due[ReminderKind.DAY_BEFORE] = _days_before(meeting, council, 1)
    due[ReminderKind.HOUR_BEFORE] = meeting.starts_at.astimezone(UTC) - timedelta(hours=1)
    reminders = [
        Reminder(kind, meeting.id, at, dedupe_key(meeting, kind)) for kind, at in due.items()
    ]
    return sorted(reminders, key=lambda r: (r.due_at, _KIND_ORDER[r.kind]))


# The agenda call asks for proposals: privately it goes only to those who may propose (the
# department CIOs), not to the chair, the secretariat, experts or observers, who still see it
# in the group. The rest go to everyone: that proposals have closed matters to the chair, who
# decides the agenda, as much as to the CIOs.
_TO_PROPOSERS = frozenset({ReminderKind.AGENDA_CALL})


def private_audience(kind: ReminderKind, members: Sequence[Member]) -> list[Member]:
    """The members who hear a meeting reminder of ``kind`` in their private chat (those the
    bot can write to: with a Telegram id)."""
    reachable = [m for m in members if m.telegram_id is not None]
    if kind in _TO_PROPOSERS:
        return [m for m in reachable if can(m.role, Act.PROPOSE) and m.department_id is not None]
    return reachable


def reminders_due(
    meetings: Sequence[Meeting], council: Council, *, now: datetime, since: datetime
) -> list[Reminder]:
    """The reminders of the council's ``meetings`` with ``since < due_at <= now``, by due time.

    A reminder whose meeting has already started is dropped: after downtime, "tomorrow's
    meeting" for a meeting that is under way would only confuse.
    """
    if now.tzinfo is None or since.tzinfo is None:
        raise ValueError("now and since must be timezone-aware")
    due = [
        reminder
        for meeting in meetings
        if meeting.starts_at > now
        for reminder in reminders_for(meeting, council)
        if since < reminder.due_at <= now
    ]
    return sorted(due, key=lambda r: (r.due_at, r.meeting_id, _KIND_ORDER[r.kind]))


# Action items: the owner hears 3 days before the due date and again the morning after it, when
# it is overdue (the chair is told then too). Both at 09:00 local: a due date has no time of its
# own, and the start of the working day is when a notice gets read.
ACTION_NOTICE_DAYS = 3
ACTION_NOTICE_TIME = time(9, 0)


@dataclass(frozen=True, slots=True)
class ActionNotice:
    kind: ReminderKind  # ACTION_DUE or ACTION_OVERDUE (which also escalates to the chair)
    action_id: int
    due_at: datetime  # aware UTC
    dedupe_key: str


def action_reminders(item: ActionItem, council: Council) -> list[ActionNotice]:
    """The due-soon and overdue notices of an open item (none once done), earliest first.

    The key names the due date, so should the date ever change the notices are new ones:
    ``action:7:due:2027-03-11``.
    """
    if item.id == NEW:
        raise ValueError("an action item needs its stored id before it gets reminders")
    if item.done_at is not None:
        return []
    notices = [(ReminderKind.ACTION_DUE, "due", item.due - timedelta(days=ACTION_NOTICE_DAYS)),
               (ReminderKind.ACTION_OVERDUE, "overdue", item.due + timedelta(days=1))]
    return [ActionNotice(kind, item.id,
                     to_utc(datetime.combine(day, ACTION_NOTICE_TIME), council.timezone),
                     f"action:{item.id}:{name}:{item.due.isoformat()}")
            for kind, name, day in notices]


def action_reminder_due(item: ActionItem, council: Council, *,
                        now: datetime) -> ActionNotice | None:
    """The newest notice of ``item`` that is due by ``now``: after downtime, or for an item
    assigned close to its date, "due soon" is not sent once "overdue" is the news."""
    due = [r for r in action_reminders(item, council) if r.due_at <= now]
    return due[-1] if due else None
