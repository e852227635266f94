"""Calendar feeds as values: the council's meetings and a member's own deadlines as events.

Everything here is derived from stored data, never from process memory, so every instance of the
service builds the same feed from the same data:

- an event's SEQUENCE is the number of audit events that touched what it shows (`revisions`); the
  audit log only grows, so SEQUENCE never goes down, and a reschedule, a cancellation or an agenda
  change each raise it;
- its DTSTAMP / LAST-MODIFIED is the time of the last of those audit events (or the council's
  creation, for meetings the series planned in bulk);
- the feed's version is the council's last audit sequence number plus the local date (a cancelled
  meeting leaves the feed a year after it was due, which only the date can tell).

(`calendars.py` is about working days and public holidays; this module is about iCalendar feeds.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from meetings.domain.agenda import Agenda
from meetings.domain.model import (
    ActionItem,
    AgendaItem,
    AgendaState,
    AuditEvent,
    Council,
    Meeting,
    MeetingKind,
    MeetingState,
    Member,
    Motion,
    MotionKind,
    MotionState,
    Role,
)
from meetings.domain.reminders import agenda_deadline
from meetings.domain.scheduling import meeting_ends_at, to_local

# Cancelled meetings stay in the feed (as STATUS:CANCELLED) this long after they were due, so
# clients that synced them see the cancellation rather than a silently vanished event.
KEEP_CANCELLED = timedelta(days=365)
# How often clients are asked to refresh (REFRESH-INTERVAL and X-PUBLISHED-TTL).
REFRESH = timedelta(hours=1)
# DTSTAMP of an event that no audit event describes (never happens for a stored council, whose
# creation is audited; a fixed value keeps the bytes deterministic all the same).
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
DEADLINE_MINUTES = 15  # a deadline is a short event at the instant it falls


@dataclass(frozen=True, slots=True)
class _Words:
    """A feed's fixed texts in the council's language: subscribers read them in their calendar,
    where nothing translates them."""

    meeting: str
    extraordinary: str
    agenda: str
    proposed: str
    major: str
    place: str
    moved: str
    cancelled: str
    chat: str
    due: str
    action: str
    proposals_close: str
    propose_before: str
    vote_closes: str
    not_voted: str
    categories: Mapping[str, str]


_ENGLISH = _Words(
    meeting="{council}: meeting", extraordinary="{council}: extraordinary meeting",
    agenda="Agenda:", proposed="Proposed:", major="[MAJOR] ", place="Place: {}", moved="Moved: {}",
    cancelled="Cancelled.", chat="In the council's chat: {}", due="Due: {}",
    action="Action item A{}", proposals_close="Agenda proposals close: {}",
    propose_before="Propose items for the meeting S{} before this time.",
    vote_closes="Vote closes: {}",
    not_voted="Circular vote M{}: your department has not voted yet.",
    categories={"meeting": "Meeting", "regular": "Regular", "extraordinary": "Extraordinary",
                "action": "Action item", "deadline": "Deadline"})
_CHINESE = _Words(
    meeting="{council}例会", extraordinary="{council}临时会议", agenda="议程：",
    proposed="已提议题：", major="【重大】", place="地点：{}", moved="改期：{}",
    cancelled="已取消。", chat="委员会群聊：{}", due="到期：{}", action="工作事项 A{}",
    proposals_close="议题征集截止：{}",
    propose_before="请在此时间前为会议 S{} 提出议题。", vote_closes="表决截止：{}",
    not_voted="传阅表决 M{}：本部门尚未投票。",
    categories={"meeting": "会议", "regular": "例会", "extraordinary": "临时会议",
                "action": "工作事项", "deadline": "截止"})


def _words(council: Council) -> _Words:
    return _CHINESE if council.language.startswith("zh") else _ENGLISH


@dataclass(frozen=True, slots=True)
class Revision:
    """How often something shown in a feed was changed, and when last."""

    count: int
    last_at: datetime


Revisions = Mapping[tuple[str, int], Revision]


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One VEVENT: timed (``start``/``end`` aware UTC) or all-day (``day``)."""

    uid: str
    summary: str
    sequence: int
    stamp: datetime  # aware UTC: DTSTAMP and LAST-MODIFIED
    description: str = ""
    location: str = ""
    start: datetime | None = None
    end: datetime | None = None
    day: date | None = None
    cancelled: bool = False
    categories: tuple[str, ...] = ()
    url: str = ""  # a link back to the council (the bot's chat)


@dataclass(frozen=True, slots=True)
class Feed:
    name: str
    timezone: str
    events: tuple[FeedEvent, ...]  # in UID order, so unchanged data gives identical bytes
    refresh: timedelta = REFRESH
    language: str = "en"


@dataclass(frozen=True, slots=True)
class FeedVersion:
    """What a cached feed was built from: equal versions mean equal feeds."""

    audit_seq: int
    local_day: date


def version(last_audit_seq: int, council: Council, now: datetime) -> FeedVersion:
    return FeedVersion(last_audit_seq, to_local(now, council.timezone).date())


def _touched(event: AuditEvent) -> set[tuple[str, int]]:
    """What an audit event changed, as (kind, id) keys of feed events."""
    try:
        payload = json.loads(event.payload)
    except ValueError:
        return set()
    if not isinstance(payload, dict):
        return set()
    keys: set[tuple[str, int]] = set()
    family = event.action.split(".", 1)[0]

    def add(kind: str, value: object) -> None:
        if isinstance(value, int) and not isinstance(value, bool):
            keys.add((kind, value))

    add("meeting", payload.get("meeting"))
    if family == "agenda":
        add("meeting", payload.get("was"))  # a deferred item leaves the meeting it was on
    if family == "action":
        add("action", payload.get("item"))
    add("motion", payload.get("motion"))
    return keys


def revisions(events: Iterable[AuditEvent]) -> dict[tuple[str, int], Revision]:
    """For each meeting, action item and motion: how many audit events touched it, and when the
    last did. Monotone in the log: appending events never lowers a count."""
    found: dict[tuple[str, int], Revision] = {}
    for event in events:
        for key in _touched(event):
            earlier = found.get(key)
            count = earlier.count + 1 if earlier else 1
            last = max(earlier.last_at, event.at) if earlier else event.at
            found[key] = Revision(count, last)
    return found


def _revision(revisions: Revisions, key: tuple[str, int], created: datetime
              ) -> tuple[int, datetime]:
    found = revisions.get(key)
    return (found.count, max(found.last_at, created)) if found else (0, created)


def _shown(meeting: Meeting, now: datetime) -> bool:
    if meeting.state is not MeetingState.CANCELLED:
        return True
    return meeting_ends_at(meeting) + KEEP_CANCELLED > now


def _meeting_summary(council: Council, meeting: Meeting) -> str:
    if meeting.title:
        return meeting.title
    words = _words(council)
    form = words.extraordinary if meeting.kind is MeetingKind.EXTRAORDINARY else words.meeting
    return form.format(council=council.name)


def _agenda_lines(words: _Words, items: Sequence[AgendaItem]) -> list[str]:
    accepted = [i for i in items if i.state is AgendaState.ACCEPTED]
    proposed = [i for i in items if i.state in (AgendaState.PROPOSED, AgendaState.DEFERRED)]
    lines: list[str] = []
    if accepted:
        lines.append(words.agenda)
        for item in sorted(accepted, key=lambda i: (not i.major, i.id)):
            lines.append(f"- {words.major if item.major else ''}{item.title} (#{item.id})")
    if proposed:
        lines.append(words.proposed)
        lines.extend(f"- {item.title} (#{item.id})" for item in proposed)
    return lines


def meeting_event(council: Council, meeting: Meeting, items: Sequence[AgendaItem],
                  revisions: Revisions, *, created: datetime, link: str | None = None
                  ) -> FeedEvent:
    """A meeting as an event: the agenda (majors marked), the place, and why it was moved."""
    sequence, stamp = _revision(revisions, ("meeting", meeting.id), created)
    words = _words(council)
    lines = _agenda_lines(words, items)
    if meeting.location:
        lines.append(words.place.format(meeting.location))
    if meeting.moved_reason:
        lines.append(words.moved.format(meeting.moved_reason))
    if meeting.state is MeetingState.CANCELLED:
        lines.append(words.cancelled)
    if link:
        lines.append(words.chat.format(link))
    return FeedEvent(
        uid=meeting_uid(meeting), summary=_meeting_summary(council, meeting),
        sequence=sequence, stamp=stamp, description="\n".join(lines),
        location=meeting.location, start=meeting.starts_at, end=meeting_ends_at(meeting),
        cancelled=meeting.state is MeetingState.CANCELLED,
        categories=(words.categories["meeting"], words.categories[meeting.kind.value]),
        url=link or "",
    )


def meeting_uid(meeting: Meeting) -> str:
    """Stable for the meeting's life: moving it keeps the UID, so clients update in place.

    UIDs use only ``A-Za-z0-9_.-`` (no ``@``), so storages that name an item after its UID
    (vdirsyncer's filesystem and CalDAV ones, many CalDAV servers) take it as it is.
    """
    return f"meeting-{meeting.id}-council-{meeting.council_id}.cio-council"


def council_feed(council: Council, meetings: Sequence[Meeting],
                 agenda: Mapping[int, Sequence[AgendaItem]], revisions: Revisions, *,
                 created: datetime, now: datetime, link: str | None = None) -> Feed:
    """Every meeting of the council; cancelled ones for a year after they were due."""
    events = [meeting_event(council, m, agenda.get(m.id, ()), revisions, created=created,
                            link=link)
              for m in meetings if _shown(m, now)]
    return _feed(council.name, council, events)


def single_meeting(council: Council, found: Agenda, revisions: Revisions, *,
                   created: datetime) -> Feed:
    """One meeting as its own calendar (the "add to calendar" file)."""
    event = meeting_event(council, found.meeting, found.items, revisions, created=created)
    return _feed(event.summary, council, [event])


@dataclass(frozen=True, slots=True)
class Personal:
    """What only one member's feed holds beyond the council's meetings."""

    member: Member
    actions: Sequence[ActionItem]  # the council's; only the member's department's are shown
    motions: Sequence[Motion]  # the council's; open circular votes are shown
    voted: Mapping[int, frozenset[int]]  # motion id -> departments with a current ballot


def personal_feed(council: Council, meetings: Sequence[Meeting],
                  agenda: Mapping[int, Sequence[AgendaItem]], revisions: Revisions,
                  personal: Personal, *, created: datetime, now: datetime,
                  link: str | None = None) -> Feed:
    """The meetings the member attends (every meeting of the council: each member is expected)
    and what is theirs alone: their department's open action items (all-day, on the due date),
    each coming meeting's proposal deadline for a CIO, and the close of each open circular vote
    their department has not voted on. Nothing of another department's."""
    member = personal.member
    shown = [m for m in meetings if _shown(m, now)]
    events = [meeting_event(council, m, agenda.get(m.id, ()), revisions, created=created,
                            link=link) for m in shown]
    department = member.department_id
    if department is not None:
        events.extend(_action_event(council, a, revisions, created)
                      for a in personal.actions
                      if a.department_id == department and a.done_at is None)
        if member.role is Role.CIO:
            events.extend(_deadline_event(council, m, revisions, created) for m in shown
                          if m.state in (MeetingState.SCHEDULED, MeetingState.AGENDA_OPEN))
            events.extend(_vote_event(council, m, revisions, created) for m in personal.motions
                          if m.kind is MotionKind.CIRCULAR and m.state is MotionState.OPEN
                          and m.closes_at is not None
                          and department not in personal.voted.get(m.id, frozenset()))
    return _feed(f"{council.name} — {member.name}", council, events)


def _action_event(council: Council, item: ActionItem, revisions: Revisions,
                  created: datetime) -> FeedEvent:
    sequence, stamp = _revision(revisions, ("action", item.id), created)
    words = _words(council)
    return FeedEvent(uid=f"action-{item.id}-council-{item.council_id}.cio-council",
                     summary=words.due.format(item.text), sequence=sequence, stamp=stamp,
                     description=words.action.format(item.id), day=item.due,
                     categories=(words.categories["action"],))


def _deadline_event(council: Council, meeting: Meeting, revisions: Revisions,
                    created: datetime) -> FeedEvent:
    # The deadline follows the meeting: it changes exactly when the meeting does.
    sequence, stamp = _revision(revisions, ("meeting", meeting.id), created)
    closes = agenda_deadline(meeting, council)
    words = _words(council)
    return FeedEvent(
        uid=f"deadline-{meeting.id}-council-{meeting.council_id}.cio-council",
        summary=words.proposals_close.format(_meeting_summary(council, meeting)),
        sequence=sequence, stamp=stamp, description=words.propose_before.format(meeting.id),
        start=closes, end=closes + timedelta(minutes=DEADLINE_MINUTES),
        categories=(words.categories["deadline"],))


def _vote_event(council: Council, motion: Motion, revisions: Revisions,
                created: datetime) -> FeedEvent:
    assert motion.closes_at is not None
    sequence, stamp = _revision(revisions, ("motion", motion.id), created)
    words = _words(council)
    return FeedEvent(
        uid=f"vote-{motion.id}-council-{motion.council_id}.cio-council",
        summary=words.vote_closes.format(motion.text), sequence=sequence, stamp=stamp,
        description=words.not_voted.format(motion.id),
        start=motion.closes_at, end=motion.closes_at + timedelta(minutes=DEADLINE_MINUTES),
        categories=(words.categories["deadline"],))


def _feed(name: str, council: Council, events: Iterable[FeedEvent]) -> Feed:
    return Feed(name=name, timezone=council.timezone, language=council.language,
                events=tuple(sorted(events, key=lambda e: e.uid)))
