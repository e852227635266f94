"""Agenda rules: where a proposal goes, how the chair decides on it, and the major-issue cap."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from meetings.errors import InvalidState, TooManyMajorIssues, UnknownMeeting
from meetings.model import AgendaItem, AgendaState, Council, Meeting, MeetingState
from meetings.reminders import agenda_deadline

_OPEN_FOR_PROPOSALS = {MeetingState.SCHEDULED, MeetingState.AGENDA_OPEN}


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


_DECIDABLE = {
    AgendaState.ACCEPTED: {AgendaState.PROPOSED, AgendaState.DEFERRED},
    AgendaState.DEFERRED: {AgendaState.PROPOSED, AgendaState.ACCEPTED},
    AgendaState.REJECTED: {AgendaState.PROPOSED, AgendaState.DEFERRED},
}


def decide(item: AgendaItem, state: AgendaState) -> AgendaItem:
    """The chair accepts, defers or rejects an item; a rejected item stays rejected."""
    if state not in _DECIDABLE:
        raise InvalidState("an item cannot be set back to {state}", state=state.value)
    if item.state not in _DECIDABLE[state]:
        raise InvalidState("agenda #{id} is {current} and cannot be {state}", id=item.id,
                           current=item.state.value, state=state.value)
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
