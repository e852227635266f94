"""Use cases of agenda collection: proposals, the chair's decisions on them, and reading a
meeting's agenda.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from meetings.domain import actions, agenda, scheduling
from meetings.domain.agenda import Agenda
from meetings.domain.errors import (
    NotFound,
    Word,
)
from meetings.domain.model import (
    AgendaItem,
    AgendaState,
    Council,
    Meeting,
    Member,
)
from meetings.domain.permissions import Act, require
from meetings.domain.reminders import agenda_deadline
from meetings.domain.text import TEXT_MAX, clean
from meetings.ports import UnitOfWork
from meetings.usecases.common import (
    DAY,
    RUNNING_WINDOW,
    Actor,
    authorise,
    council_of,
    local_today,
    meeting_of,
    record,
)


@dataclass(frozen=True, slots=True)
class Proposal:
    """A stored proposal, the meeting it went to, and the next meeting it missed (if it did)."""

    item: AgendaItem
    meeting: Meeting
    missed: Meeting | None


async def propose_item(
    uow: UnitOfWork, council_id: int, *, title: str, description: str, actor: Member,
    now: datetime,
) -> Proposal:
    """A department CIO proposes an item for the next meeting still taking proposals."""
    require(actor, Act.PROPOSE)
    title = clean(title, field=Word("title"))
    description = (clean(description, field=Word("description"), max_length=TEXT_MAX,
                         multiline=True) if description.strip() else "")
    async with uow:
        council = await council_of(uow, council_id)
        meetings = await uow.meetings.list(council_id, since=now)
        meeting, _ = agenda.target_meeting(meetings, council, now=now)
        item = await uow.agenda.add(AgendaItem(
            meeting_id=meeting.id, title=title, proposer_id=actor.id,
            department_id=actor.department_id, proposed_at=now, description=description))
        await record(uow, council_id, actor, "agenda.propose", now, item=item.id,
                     meeting=meeting.id)
        await uow.commit()
    return Proposal(item, meeting, agenda.passed_over(meetings, meeting, now=now))


async def add_urgent_item(
    uow: UnitOfWork, council_id: int, *, title: str, description: str, actor: Member,
    now: datetime, meeting_id: int | None = None,
) -> tuple[AgendaItem, Meeting]:
    """The chair or the secretariat adds urgent business (临时动议), accepted at once, to the
    meeting in progress, else the next one, or the one given; any time until it ends."""
    require(actor, Act.ADD_URGENT_ITEM)
    title = clean(title, field=Word("title"))
    description = (clean(description, field=Word("description"), max_length=TEXT_MAX,
                         multiline=True) if description.strip() else "")
    async with uow:
        if meeting_id is None:
            meetings = await uow.meetings.list(council_id, since=now - RUNNING_WINDOW)
        else:
            meetings = [await meeting_of(uow, council_id, meeting_id)]
        meeting = agenda.urgent_target(meetings, now=now, meeting_id=meeting_id)
        item = await uow.agenda.add(agenda.urgent_item(
            meeting, title=title, description=description, proposer=actor, now=now))
        await record(uow, council_id, actor, "agenda.urgent", now, item=item.id,
                     meeting=meeting.id)
        await uow.commit()
    return item, meeting


async def _agenda_item(uow: UnitOfWork, council_id: int, item_id: int
                       ) -> tuple[AgendaItem, Meeting]:
    item = await uow.agenda.get(item_id)
    meeting = await uow.meetings.get(item.meeting_id) if item else None
    if item is None or meeting is None or meeting.council_id != council_id:
        raise NotFound("no agenda item #{id} in this council", id=item_id)
    return item, meeting


async def decide_item(
    uow: UnitOfWork, council_id: int, item_id: int, *, state: AgendaState, actor: Actor,
    now: datetime,
) -> tuple[AgendaItem, Meeting]:
    """The chair accepts, defers or rejects an item; returns it and the meeting it is now on.

    A deferred item moves to the following meeting (still marked deferred, so that meeting's
    agenda shows it was put off and the chair accepts it there), rather than lingering on a
    meeting that will not discuss it.
    """
    authorise(actor, Act.DECIDE_AGENDA)
    async with uow:
        item, meeting = await _agenda_item(uow, council_id, item_id)
        agenda.open_for_decisions(meeting, item)
        decided = agenda.decide(item, state)
        if state is AgendaState.DEFERRED:
            meeting = agenda.following(
                await uow.meetings.list(council_id, since=meeting.starts_at), meeting)
            decided = replace(decided, meeting_id=meeting.id)
        decided = await uow.agenda.update(decided)
        await record(uow, council_id, actor, f"agenda.{state.value}", now, item=item.id,
                     meeting=meeting.id, was=item.meeting_id)
        await uow.commit()
    return decided, meeting


async def mark_major_item(
    uow: UnitOfWork, council_id: int, item_id: int, *, actor: Actor, now: datetime
) -> AgendaItem:
    """The chair marks an item as one of the meeting's major issues (accepting it)."""
    authorise(actor, Act.DECIDE_AGENDA)
    async with uow:
        council = await council_of(uow, council_id)
        item, meeting = await _agenda_item(uow, council_id, item_id)
        agenda.open_for_decisions(meeting, item)
        marked = agenda.mark_major(item, await uow.agenda.list(meeting.id),
                                   limit=council.max_major_issues)
        if marked != item:
            marked = await uow.agenda.update(marked)
            await record(uow, council_id, actor, "agenda.major", now, item=item.id,
                         meeting=meeting.id)
        await uow.commit()
    return marked


async def meeting_agenda(uow: UnitOfWork, council_id: int, *, now: datetime,
                         meeting_id: int | None = None) -> Agenda | None:
    """The agenda of the given meeting, or of the next one (None when nothing is scheduled)."""
    async with uow:
        council = await council_of(uow, council_id)
        if meeting_id is None:
            meeting = scheduling.next_meeting(
                await uow.meetings.list(council_id, since=now - DAY), now)
            if meeting is None:
                return None
        else:
            meeting = await meeting_of(uow, council_id, meeting_id)
        return await agenda_of(uow, council, meeting, now=now)


async def agenda_of(uow: UnitOfWork, council: Council, meeting: Meeting, *,
                    now: datetime) -> Agenda:
    """Reads a meeting's agenda inside the caller's unit of work (shared with the outbox)."""
    today = local_today(council, now)
    return Agenda(
        meeting=meeting,
        deadline=agenda_deadline(meeting, council),
        items=tuple(sorted(await uow.agenda.list(meeting.id), key=lambda i: i.id)),
        departments=tuple(await uow.departments.list(council.id)),
        review=tuple(actions.carried_over(await uow.actions.list(council.id), today=today)),
        today=today,
    )

