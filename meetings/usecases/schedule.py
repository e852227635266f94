"""Use cases of the meeting calendar: the regular series (and keeping it topped up), single
meetings scheduled, moved and cancelled, and what comes next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from meetings.domain import scheduling
from meetings.domain.calendars import public_holidays
from meetings.domain.errors import Word
from meetings.domain.model import (
    NEW,
    AgendaItem,
    Council,
    Meeting,
    Series,
)
from meetings.domain.permissions import Act
from meetings.domain.text import optional
from meetings.ports import UnitOfWork
from meetings.usecases.common import (
    DAY,
    Actor,
    Operator,
    authorise,
    council_of,
    local_today,
    meeting_of,
    record,
)


@dataclass(frozen=True, slots=True)
class SeriesSet:
    """A new series, and what it did to the calendar (`scheduling.SeriesChange`, stored): the
    new meetings with their ids, and each moved agenda item's new meeting."""

    series: Series
    change: scheduling.SeriesChange

    @property
    def planned(self) -> list[Meeting]:
        return list(self.change.planned)


async def set_series(
    uow: UnitOfWork, council_id: int, *, spec: str, actor: Actor, now: datetime,
    starting: date | None = None, location: str = "",
) -> tuple[Series, list[Meeting]]:
    """Sets the regular series and materialises its meetings for the coming twelve months
    (see `replace_series` for what becomes of the earlier series' meetings)."""
    done = await replace_series(uow, council_id, spec=spec, actor=actor, now=now,
                                starting=starting, location=location)
    return done.series, done.planned


async def replace_series(
    uow: UnitOfWork, council_id: int, *, spec: str, actor: Actor, now: datetime,
    starting: date | None = None, location: str = "",
) -> SeriesSet:
    """Sets the regular series, re-plans the meetings ahead by `scheduling.replan_series`
    and returns what was planned, moved to the new time, removed and kept, and where agenda
    items went, so nothing changes silently."""
    authorise(actor, Act.SET_CADENCE)
    cadence = scheduling.parse_cadence(spec)
    async with uow:
        council = await council_of(uow, council_id)
        series = scheduling.series_from_cadence(
            council_id, cadence,
            starting=scheduling.series_start(starting, today=local_today(council, now)),
            location=optional(location, field=Word("location")),
        )
        series = await uow.series.put(series)
        meetings = await uow.meetings.list(council_id)
        ahead = [m for m in meetings if m.starts_at > now]
        agendas = {m.id: await uow.agenda.list(m.id) for m in ahead}
        attended = [m.id for m in ahead if await uow.attendance.list(m.id)]
        change = scheduling.replan_series(
            series, council.timezone, public_holidays(council.holiday_country), meetings,
            agendas, attended, now=now)
        change = await _store_change(uow, change)
        await record(uow, council_id, actor, "series.set", now, rrule=series.rrule,
                     local_start=series.local_start.isoformat(), planned=len(change.planned),
                     updated=[after.id for _, after in change.updated],
                     removed=[m.id for m in change.removed],
                     kept=[k.meeting.id for k in change.kept],
                     moved={str(move.item.id): move.target.id for move in change.moves})
        await uow.commit()
    return SeriesSet(series, change)


async def _store_change(uow: UnitOfWork, change: scheduling.SeriesChange
                        ) -> scheduling.SeriesChange:
    """Does the change, in an order the constraints allow: the meetings that stay take their
    new time, the new ones are added, agenda items move, and only then are meetings removed
    (removing one would remove its items). Returns it with stored ids."""
    updated = tuple([(before, await uow.meetings.update(after))
                     for before, after in change.updated])
    planned = tuple([await uow.meetings.add(meeting) for meeting in change.planned])
    stored = {m.occurrence: m for m in planned}
    moves = []
    for move in change.moves:
        target = stored[move.target.occurrence] if move.target.id == NEW else move.target
        item = await uow.agenda.update(replace(move.item, meeting_id=target.id))
        moves.append(scheduling.ItemMove(item, move.source, target))
    for meeting in change.removed:
        await uow.meetings.delete(meeting.id)
    return replace(change, planned=planned, updated=updated, moves=tuple(moves))


async def extend_series(uow: UnitOfWork, council_id: int, *, now: datetime) -> list[Meeting]:
    """Tops the series up to the rolling twelve-month horizon (`extend_due_series` runs it
    daily for every council)."""
    async with uow:
        planned = await _extend(uow, await council_of(uow, council_id), now)
        await uow.commit()
    return planned


async def _extend(uow: UnitOfWork, council: Council, now: datetime) -> list[Meeting]:
    series = await uow.series.get(council.id)
    planned = await _plan(uow, council, series, now) if series else []
    if planned:
        await record(uow, council.id, Operator("scheduler"), "series.extend", now,
                     planned=len(planned))
    return planned


SERIES_JOB = "series"
_CLAIM_BATCH = 50


def series_job_key(council: Council, now: datetime) -> str:
    """One top-up per council and local day: the job table refuses a second one."""
    return f"series:extend:{council.id}:{local_today(council, now).isoformat()}"


async def extend_due_series(uow: UnitOfWork, *, now: datetime, worker: str) -> list[Meeting]:
    """Tops up the series of every council once a day (by its local date), once across
    instances, and returns the meetings added.

    Each day's top-up is a job keyed by council and date, enqueued, claimed, done and completed
    in one transaction: an instance racing another waits for that one's insert and then finds
    the key taken (or, should the other roll back, takes it). So a job is either absent or done,
    and a crash in between leaves nothing to expire.
    """
    planned: list[Meeting] = []
    async with uow:
        for council in await uow.councils.list():
            if await uow.series.get(council.id) is not None:
                await uow.jobs.enqueue(kind=SERIES_JOB, dedupe_key=series_job_key(council, now),
                                       payload={"council_id": council.id}, run_at=now)
        while jobs := await uow.jobs.claim_due(kind=SERIES_JOB, now=now, worker=worker,
                                              limit=_CLAIM_BATCH):
            for job in jobs:
                planned += await _extend(uow, await council_of(uow, int(job.payload["council_id"])),
                                         now)
                await uow.jobs.complete(job.id, now=now)
        await uow.commit()
    return planned


async def _plan(uow: UnitOfWork, council: Council, series: Series, now: datetime) -> list[Meeting]:
    existing = await uow.meetings.list(council.id)
    new = scheduling.plan_series(
        series, council.timezone, public_holidays(council.holiday_country), existing, now=now
    )
    return [await uow.meetings.add(meeting) for meeting in new]


async def schedule_meeting(
    uow: UnitOfWork, council_id: int, *, local_start: str, actor: Actor, now: datetime,
    duration_minutes: int = 120, title: str = "", location: str = "", force: bool = False,
) -> Meeting:
    """Schedules an extraordinary meeting; a time another meeting already holds is refused
    (`SlotTaken`) unless ``force``."""
    authorise(actor, Act.SCHEDULE)
    start = scheduling.parse_local_datetime(local_start)
    async with uow:
        council = await council_of(uow, council_id)
        meeting = scheduling.schedule_extraordinary(
            council_id, start, council.timezone, public_holidays(council.holiday_country),
            now=now, duration_minutes=duration_minutes,
            title=title, location=location,
        )
        if not force:
            scheduling.refuse_clash(await uow.meetings.list(council_id, since=now - DAY),
                                    meeting, council.timezone, now=now)
        meeting = await uow.meetings.add(meeting)
        await record(uow, council_id, actor, "meeting.schedule", now, meeting=meeting.id,
                     starts_at=meeting.starts_at.isoformat())
        await uow.commit()
    return meeting


async def reschedule_meeting(
    uow: UnitOfWork, council_id: int, meeting_id: int, *, local_start: str, actor: Actor,
    now: datetime, reason: str = "", force: bool = False,
) -> Meeting:
    """Moves one meeting; a time another meeting already holds is refused (`SlotTaken`)
    unless ``force``."""
    authorise(actor, Act.SCHEDULE)
    start = scheduling.parse_local_datetime(local_start)
    async with uow:
        council = await council_of(uow, council_id)
        meeting = await meeting_of(uow, council_id, meeting_id)
        moved = scheduling.reschedule(
            meeting, start, council.timezone, public_holidays(council.holiday_country), now=now,
            reason=reason,
        )
        if not force:
            scheduling.refuse_clash(await uow.meetings.list(council_id, since=now - DAY),
                                    moved, council.timezone, now=now, other_than=meeting.id)
        moved = await uow.meetings.update(moved)
        await record(uow, council_id, actor, "meeting.reschedule", now, meeting=meeting.id,
                     old=meeting.starts_at.isoformat(), new=moved.starts_at.isoformat())
        await uow.commit()
    return moved


async def cancel_meeting(
    uow: UnitOfWork, council_id: int, meeting_id: int, *, actor: Actor, now: datetime
) -> Meeting:
    authorise(actor, Act.SCHEDULE)
    async with uow:
        meeting = await meeting_of(uow, council_id, meeting_id)
        cancelled = await uow.meetings.update(scheduling.cancel(meeting, now=now))
        await record(uow, council_id, actor, "meeting.cancel", now, meeting=meeting.id)
        await uow.commit()
    return cancelled


async def list_meetings(
    uow: UnitOfWork, council_id: int, *, since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[Meeting]:
    async with uow:
        return await uow.meetings.list(council_id, since=since, until=until)


async def upcoming(uow: UnitOfWork, council_id: int, *, now: datetime
                   ) -> tuple[Meeting | None, Sequence[AgendaItem]]:
    """The next meeting that has not ended, and its agenda."""
    async with uow:
        meeting = scheduling.next_meeting(await uow.meetings.list(council_id, since=now - DAY),
                                          now)
        agenda = await uow.agenda.list(meeting.id) if meeting else []
    return meeting, agenda

