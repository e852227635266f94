"""Use cases of the performance appraisal: the council's table for a period, one person's card
with its explanation, and the council's weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from meetings.domain import appraisal, scheduling
from meetings.domain.appraisal import Appraisal, Explained, Period, Tenure, Weights
from meetings.domain.errors import NotAllowed, NotFound
from meetings.domain.model import Council, Member, Role
from meetings.domain.permissions import Act, may_see_card
from meetings.ports import UnitOfWork
from meetings.usecases.common import (
    Actor,
    authorise,
    council_of,
    department_of,
    local_today,
    record,
)


@dataclass(frozen=True, slots=True)
class _Frame:
    """What every appraisal read needs: the period's window and the council's clock."""

    council: Council
    period: Period
    weights: Weights
    since: datetime
    until: datetime
    today: date
    utc_offset: timedelta
    tenures: Sequence[Tenure]


async def _frame(uow: UnitOfWork, council_id: int, period_text: str, now: datetime) -> _Frame:
    period = appraisal.parse_period(period_text)
    council = await council_of(uow, council_id)
    since, until = period.window(council.timezone)
    offset = scheduling.zone(council.timezone).utcoffset(now) or timedelta()
    tenures = appraisal.tenures(await uow.appraisal.tenure_starts(council_id))
    return _Frame(council, period, await uow.appraisal.weights(council_id), since, until,
                  local_today(council, now), offset, tenures)


async def _table(uow: UnitOfWork, frame: _Frame, tenures: Sequence[Tenure]) -> Appraisal:
    tallies = await uow.appraisal.tallies(
        frame.council.id, tenures, since=frame.since, until=frame.until, today=frame.today,
        utc_offset=frame.utc_offset)
    departments = {d.id: (d.code, d.name) for d in await uow.departments.list(frame.council.id)}
    names = {m.id: m.name for m in await uow.members.list(frame.council.id)}
    # Local dates, both included: the end instant is exclusive, so step back an instant.
    spans = {key: ((start + frame.utc_offset).date(),
                   (end - timedelta(microseconds=1) + frame.utc_offset).date())
             for key, (start, end) in appraisal.spans(tenures, frame.since, frame.until).items()}
    return appraisal.appraisal(frame.council.name, frame.period, frame.weights, tallies,
                               departments=departments, names=names, spans=spans,
                               today=frame.today)


async def council_table(uow: UnitOfWork, council_id: int, *, period: str, actor: Actor,
                        now: datetime) -> Appraisal:
    """The office's table: every person who was a department's CIO in the period, with their
    figures (counted by the store in a few queries for the whole council) and score."""
    authorise(actor, Act.EXPORT)
    async with uow:
        frame = await _frame(uow, council_id, period, now)
        return await _table(uow, frame, frame.tenures)


async def explain(uow: UnitOfWork, council_id: int, *, period: str, actor: Actor, now: datetime,
                  code: str | None = None) -> list[Explained]:
    """The cards of a department's CIOs in the period, each figure with the records behind it.

    A CIO gets only their own card (their department's, from when they took over), whatever
    department they name; the office names the department.
    """
    authorise(actor, Act.APPRAISAL)
    async with uow:
        if isinstance(actor, Member) and actor.role is Role.CIO:
            if actor.department_id is None:
                raise NotAllowed("only department CIOs may do this")
            department = await uow.departments.get(actor.department_id)
            if department is None or (code is not None
                                      and department.code != code.strip().upper()):
                raise NotAllowed("a CIO may see only their own appraisal card")
        elif code is None:
            raise NotFound("name the department: /appraisal PERIOD CODE")
        else:
            department = await department_of(uow, council_id, code)
        frame = await _frame(uow, council_id, period, now)
        people = [t for t in frame.tenures if t.department_id == department.id
                  and (not isinstance(actor, Member) or may_see_card(actor, t.member_id))]
        table = await _table(uow, frame, people)
        history = await uow.appraisal.history(council_id, since=frame.since, until=frame.until)
        cards = {(c.tally.department_id, c.tally.member_id): c for c in appraisal.cards(
            history, people, since=frame.since, until=frame.until, today=frame.today,
            utc_offset=frame.utc_offset)}
        return [appraisal.explained(table, row, cards[(row.tally.department_id,
                                                         row.tally.member_id)])
                for row in table.rows]


async def weights(uow: UnitOfWork, council_id: int) -> Weights:
    async with uow:
        await council_of(uow, council_id)
        return await uow.appraisal.weights(council_id)


async def set_weights(uow: UnitOfWork, council_id: int, *, actor: Actor, now: datetime,
                      attendance: int | None = None, agenda: int | None = None,
                      votes: int | None = None, actions: int | None = None,
                      excused: str | None = None) -> Weights:
    """The chair (or the operator) changes how the council's score is made; audited."""
    authorise(actor, Act.SET_WEIGHTS)
    async with uow:
        await council_of(uow, council_id)
        changed = appraisal.parse_weights(
            await uow.appraisal.weights(council_id), attendance=attendance, agenda=agenda,
            votes=votes, actions=actions, excused=excused)
        stored = await uow.appraisal.set_weights(council_id, changed)
        await record(uow, council_id, actor, "appraisal.weights", now,
                     attendance=stored.attendance, agenda=stored.agenda, votes=stored.votes,
                     actions=stored.actions, excused_neutral=stored.excused_neutral)
        await uow.commit()
    return stored
