"""Action items: their status on a given day and which of them the next meeting must review."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from meetings.domain.errors import InvalidInput, InvalidState
from meetings.domain.model import ActionItem, ActionStatus, Department
from meetings.domain.text import shown


def status(item: ActionItem, *, today: date, local_done: date | None = None) -> ActionStatus:
    """Where the item stands on ``today`` (a local date).

    ``local_done`` is the local date it was done on; the shell converts ``done_at`` to the council's
    zone, because "on time" means by the end of the due day where the council sits.
    """
    if item.done_at is not None:
        done_day = local_done if local_done is not None else item.done_at.date()
        return ActionStatus.DONE_ON_TIME if done_day <= item.due else ActionStatus.DONE_LATE
    return ActionStatus.OVERDUE if today > item.due else ActionStatus.OPEN


def complete(item: ActionItem, *, now: datetime, note: str = "") -> ActionItem:
    if item.done_at is not None:
        raise InvalidState("action A{id} is already done", id=item.id)
    return replace(item, done_at=now, done_note=note)


def carried_over(items: Iterable[ActionItem], *, today: date) -> list[ActionItem]:
    """Open items for the next meeting's review: overdue first (oldest due first), then by due."""
    open_items = [i for i in items if i.done_at is None]
    return sorted(open_items, key=lambda i: (today <= i.due, i.due, i.id))


_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def parse_due(text: str, *, today: date) -> date:
    """A due date from ``YYYY-MM-DD``: a real date, today or later (``today`` is local)."""
    match = _DATE.fullmatch(text.strip())
    if match is None:
        raise InvalidInput("bad due date {value}: use YYYY-MM-DD", value=shown(text, 20))
    try:
        due = date(*(int(part) for part in match.groups()))
    except ValueError:
        raise InvalidInput("impossible date {day}", day=match.group(0)) from None
    if due < today:
        raise InvalidInput("due date {due} is in the past", due=due)
    return due


@dataclass(frozen=True, slots=True)
class OpenActions:
    """The council's open action items as `/actions` shows them: overdue first."""

    items: tuple[ActionItem, ...]
    departments: tuple[Department, ...]
    today: date  # the council's local date, which decides what is overdue

    def code(self, department_id: int) -> str:
        return next((d.code for d in self.departments if d.id == department_id), "")

    def overdue(self, item: ActionItem) -> bool:
        return status(item, today=self.today) is ActionStatus.OVERDUE
