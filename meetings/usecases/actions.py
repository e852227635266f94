"""Use cases of action items: assigning them to a department, completing them, listing the open
ones.
"""

from __future__ import annotations

from datetime import datetime

from meetings.domain import actions, proceedings
from meetings.domain.errors import (
    NotAllowed,
    NotFound,
    Word,
)
from meetings.domain.model import (
    ActionItem,
    ActionStatus,
    Department,
    Member,
)
from meetings.domain.permissions import Act, may_complete_action
from meetings.domain.text import TEXT_MAX, clean, optional
from meetings.ports import UnitOfWork
from meetings.usecases.common import (
    Actor,
    authorise,
    council_of,
    department_of,
    local_today,
    recent_meetings,
    record,
)


async def assign_action(
    uow: UnitOfWork, council_id: int, *, code: str, due: str, text: str, actor: Actor,
    now: datetime,
) -> tuple[ActionItem, Department]:
    """The office gives a department an action item due on a local date, today or later.

    It is linked to the meeting in progress, if any: that is where actions are agreed. Between
    meetings it belongs to none (``meeting_id`` None) rather than to a guessed one; the review at
    every following meeting lists it either way.
    """
    authorise(actor, Act.ASSIGN_ACTION)
    text = clean(text, field=Word("action"), max_length=TEXT_MAX)
    async with uow:
        council = await council_of(uow, council_id)
        due_day = actions.parse_due(due, today=local_today(council, now))
        department = await department_of(uow, council_id, code)
        running = proceedings.running(await recent_meetings(uow, council_id, now))
        meeting_id = running.id if running else None
        item = await uow.actions.add(ActionItem(council_id, department.id, text, due_day, now,
                                                meeting_id=meeting_id))
        await record(uow, council_id, actor, "action.assign", now, item=item.id,
                     department=department.code, due=due_day.isoformat(), meeting=meeting_id)
        await uow.commit()
    return item, department


async def complete_action(
    uow: UnitOfWork, council_id: int, action_id: int, *, note: str, actor: Actor, now: datetime
) -> tuple[ActionItem, ActionStatus]:
    """The owning department's CIO or the office marks an item done; says on time or late."""
    note = optional(note, field=Word("note"), max_length=TEXT_MAX)
    async with uow:
        council = await council_of(uow, council_id)
        item = await uow.actions.get(action_id)
        if item is None or item.council_id != council_id:
            raise NotFound("no action item A{id} in this council", id=action_id)
        if isinstance(actor, Member) and not may_complete_action(actor, item.department_id):
            raise NotAllowed("only the owning department's CIO, the chair or the secretariat "
                             "may complete action A{id}", id=action_id)
        done = await uow.actions.update(actions.complete(item, now=now, note=note))
        today = local_today(council, now)
        verdict = actions.status(done, today=today, local_done=today)
        await record(uow, council_id, actor, "action.done", now, item=item.id,
                     status=verdict.value)
        await uow.commit()
    return done, verdict


async def open_actions(uow: UnitOfWork, council_id: int, *, now: datetime,
                       code: str | None = None) -> actions.OpenActions:
    """The council's open action items, overdue first; only one department's when given."""
    async with uow:
        council = await council_of(uow, council_id)
        department = await department_of(uow, council_id, code) if code is not None else None
        today = local_today(council, now)
        items = actions.carried_over(await uow.actions.list(council_id), today=today)
        return actions.OpenActions(
            items=tuple(i for i in items if department is None or i.department_id == department.id),
            departments=tuple(await uow.departments.list(council_id)),
            today=today)

