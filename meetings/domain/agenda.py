"""Agenda rules: where a proposal goes, how the chair decides on it, and the major-issue cap."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from meetings.domain.actions import status
from meetings.domain.errors import InvalidState, TooManyMajorIssues, UnknownMeeting
from meetings.domain.model import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    AgendaState,
    Council,
    Department,
    Meeting,
    MeetingState,
    Member,
)
from meetings.domain.reminders import agenda_deadline
from meetings.domain.scheduling import has_ended

# An AGENDA_CLOSED meeting is past its deadline by definition, so it takes no more proposals.
_OPEN_FOR_PROPOSALS = {MeetingState.SCHEDULED, MeetingState.AGENDA_OPEN}
# Meetings still ahead whose agenda may be read and decided on (closed: the chair may still
# correct the agenda until the meeting starts; running: an item can be taken up on the spot).
_DECIDING = {MeetingState.SCHEDULED, MeetingState.AGENDA_OPEN, MeetingState.AGENDA_CLOSED,
             MeetingState.IN_PROGRESS}


def target_meeting(
    meetings: Sequence[Meeting], council: Council, *, now: datetime
) -> tuple[Meeting, bool]:
    """The meeting a proposal made at ``now`` goes to, and whether it missed the very next one.

    A proposal after the next meeting's agenda deadline goes to the following meeting.
    """
    upcoming = sorted(
        (m for m in meetings if m.state in _OPEN_FOR_PROPOSALS and m.starts_at > now),
        key=lambda m: m.starts_at,
    )
    if not upcoming:
        raise UnknownMeeting("no upcoming meeting is scheduled to take proposals")
    for position, meeting in enumerate(upcoming):
        if now < agenda_deadline(meeting, council):
            return meeting, position > 0
    raise UnknownMeeting("every scheduled meeting is past its agenda deadline")


def passed_over(meetings: Sequence[Meeting], target: Meeting, *, now: datetime) -> Meeting | None:
    """The next meeting that a proposal going to ``target`` missed (its deadline has passed or
    its agenda is closed), so the reply can say so; None when ``target`` is the next one."""
    missed = [m for m in meetings
              if m.state in _OPEN_FOR_PROPOSALS | {MeetingState.AGENDA_CLOSED}
              and now < m.starts_at < target.starts_at]
    return min(missed, key=lambda m: (m.starts_at, m.id), default=None)


def following(meetings: Sequence[Meeting], meeting: Meeting) -> Meeting:
    """The meeting a deferred item of ``meeting`` moves to: the first one after it that still
    takes proposals. Its deadline does not matter: the chair, not the proposer, sends it there."""
    later = [m for m in meetings
             if m.state in _OPEN_FOR_PROPOSALS and m.starts_at > meeting.starts_at]
    if not later:
        raise UnknownMeeting("no later meeting is scheduled to defer the item to")
    return min(later, key=lambda m: (m.starts_at, m.id))


def open_for_decisions(meeting: Meeting, item: AgendaItem) -> None:
    """Refuses decisions on the items of a meeting that is cancelled or over."""
    if meeting.state not in _DECIDING:
        raise InvalidState("agenda #{id} belongs to a meeting that is {state}", id=item.id,
                           state=meeting.state)


def close(meeting: Meeting, council: Council, *, now: datetime) -> Meeting | None:
    """The meeting with its agenda closed, once its deadline has passed and before it starts;
    None when there is nothing to close (too early, already closed, cancelled, under way)."""
    if (meeting.state in _OPEN_FOR_PROPOSALS and meeting.starts_at > now
            and now >= agenda_deadline(meeting, council)):
        return replace(meeting, state=MeetingState.AGENDA_CLOSED)
    return None


def urgent_target(meetings: Sequence[Meeting], *, now: datetime,
                  meeting_id: int | None = None) -> Meeting:
    """The meeting urgent business (/item) goes to: the one given, else the one in progress,
    else the next one. Any meeting takes it until it ends, past its deadline or with its agenda
    closed: that is what urgent business is for."""
    if meeting_id is not None:
        meeting = next((m for m in meetings if m.id == meeting_id), None)
        if meeting is None:
            raise UnknownMeeting("no meeting {id} in this council", id=meeting_id)
        if meeting.state not in _DECIDING or has_ended(meeting, now):
            raise InvalidState("meeting S{id} is {state}; urgent business goes to a meeting "
                               "that has not ended", id=meeting.id, state=meeting.state)
        return meeting
    running = next((m for m in meetings if m.state is MeetingState.IN_PROGRESS), None)
    if running is not None:
        return running
    ahead = [m for m in meetings if m.state in _DECIDING and not has_ended(m, now)]
    if not ahead:
        raise UnknownMeeting("no meeting is in progress or scheduled to take urgent business")
    return min(ahead, key=lambda m: (m.starts_at, m.id))


def urgent_item(meeting: Meeting, *, title: str, description: str, proposer: Member,
                now: datetime) -> AgendaItem:
    """An item of urgent business (临时动议): on the agenda at once, no decision needed."""
    return AgendaItem(meeting_id=meeting.id, title=title, proposer_id=proposer.id,
                      department_id=proposer.department_id, proposed_at=now,
                      description=description, state=AgendaState.ACCEPTED, urgent=True)


def taking_order(item: AgendaItem) -> tuple[bool, bool, int]:
    """Where an accepted item is taken: major issues first, urgent business last, else in
    the order proposed."""
    return (not item.major, item.urgent, item.id)


_DECIDABLE = {
    AgendaState.ACCEPTED: {AgendaState.PROPOSED, AgendaState.DEFERRED},
    AgendaState.DEFERRED: {AgendaState.PROPOSED, AgendaState.ACCEPTED},
    AgendaState.REJECTED: {AgendaState.PROPOSED, AgendaState.DEFERRED},
}


def decide(item: AgendaItem, state: AgendaState) -> AgendaItem:
    """The chair accepts, defers or rejects an item; a rejected item stays rejected."""
    if state not in _DECIDABLE:
        raise InvalidState("an item cannot be set back to {state}", state=state)
    if item.state not in _DECIDABLE[state]:
        raise InvalidState("agenda #{id} is {current} and cannot be {state}", id=item.id,
                           current=item.state, state=state)
    # A deferred or rejected item is no longer a major issue of this meeting.
    return replace(item, state=state, major=item.major and state is AgendaState.ACCEPTED)


def mark_major(item: AgendaItem, agenda: Sequence[AgendaItem], *, limit: int) -> AgendaItem:
    """Marks an item as a major issue; at most ``limit`` per meeting. An accepted item only."""
    if item.major:
        return item
    if item.state is AgendaState.REJECTED:
        raise InvalidState("agenda #{id} is rejected", id=item.id)
    majors = [i for i in agenda if i.major and i.id != item.id and i.meeting_id == item.meeting_id]
    if len(majors) >= limit:
        listed = ", ".join(f"#{i.id}" for i in majors)
        raise TooManyMajorIssues("this meeting already has {count} major issues ({listed})",
                                 count=len(majors), listed=listed)
    return replace(item, major=True, state=AgendaState.ACCEPTED)


@dataclass(frozen=True, slots=True)
class Agenda:
    """One meeting's agenda as the council reads it: its items, the departments they come from,
    and the standing review of the council's open action items (overdue first)."""

    meeting: Meeting
    deadline: datetime  # when proposals close (aware UTC)
    items: tuple[AgendaItem, ...]  # in proposal order
    departments: tuple[Department, ...]
    review: tuple[ActionItem, ...]
    today: date  # the council's local date, which decides what is overdue

    def final(self) -> tuple[AgendaItem, ...]:
        """The accepted items in the order they are taken (`taking_order`)."""
        accepted = (i for i in self.items if i.state is AgendaState.ACCEPTED)
        return tuple(sorted(accepted, key=taking_order))

    def code(self, department_id: int | None) -> str:
        """A department's code, or "" when there is none (the CIO's department was removed)."""
        return next((d.code for d in self.departments if d.id == department_id), "")

    def overdue(self, action: ActionItem) -> bool:
        return status(action, today=self.today) is ActionStatus.OVERDUE
