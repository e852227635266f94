"""Use cases of the meeting calendar: the regular series (and keeping it topped up), single
meetings scheduled, moved and cancelled, and what comes next.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from meetings.domain import scheduling
from meetings.domain.calendars import public_holidays
from meetings.domain.model import (
    AgendaItem,
    Council,
    Meeting,
    MeetingKind,
    MeetingState,
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
    meeting_of,
    record,
)


async def set_series(
    uow: UnitOfWork, council_id: int, *, spec: str, actor: Actor, now: datetime,
    starting: date | None = None, location: str = "",
) -> tuple[Series, list[Meeting]]:
    """Sets the regular series and materialises its meetings for the coming twelve months.

    Future regular meetings of an earlier series that nobody has touched yet (still scheduled,
    no agenda items) are replaced; anything with agenda items is kept.
    """
    authorise(actor, Act.SET_CADENCE)
    cadence = scheduling.parse_cadence(spec)
    async with uow:
        council = await council_of(uow, council_id)
        local_today = scheduling.to_local(now, council.timezone).date()
        series = scheduling.series_from_cadence(
            council_id, cadence, starting=scheduling.series_start(starting, today=local_today),
            location=optional(location, field="location"),
        )
        series = await uow.series.put(series)
        for meeting in await uow.meetings.list(council_id, since=now):
            if (meeting.kind is MeetingKind.REGULAR and meeting.state is MeetingState.SCHEDULED
                    and not await uow.agenda.list(meeting.id)):
                await uow.meetings.delete(meeting.id)
        planned = await _plan(uow, council, series, now)
        await record(uow, council_id, actor, "series.set", now, rrule=series.rrule,
                     local_start=series.local_start.isoformat(), planned=len(planned))
        await uow.commit()
    return series, planned


async def extend_series(uow: UnitOfWork, council_id: int, *, now: datetime) -> list[Meeting]:
    """Tops the series up to the rolling twelve-month horizon (run daily)."""
    async with uow:
        council = await council_of(uow, council_id)
        series = await uow.series.get(council_id)
        planned = await _plan(uow, council, series, now) if series else []
        if planned:
            await record(uow, council_id, Operator("scheduler"), "series.extend", now,
                         planned=len(planned))
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
    duration_minutes: int = 120, title: str = "", location: str = "",
) -> Meeting:
    authorise(actor, Act.SCHEDULE)
    start = scheduling.parse_local_datetime(local_start)
    async with uow:
        council = await council_of(uow, council_id)
        meeting = scheduling.schedule_extraordinary(
            council_id, start, council.timezone, public_holidays(council.holiday_country),
            now=now, duration_minutes=duration_minutes,
            title=title, location=location,
        )
        meeting = await uow.meetings.add(meeting)
        await record(uow, council_id, actor, "meeting.schedule", now, meeting=meeting.id,
                     starts_at=meeting.starts_at.isoformat())
        await uow.commit()
    return meeting


async def reschedule_meeting(
    uow: UnitOfWork, council_id: int, meeting_id: int, *, local_start: str, actor: Actor,
    now: datetime, reason: str = "",
) -> Meeting:
    authorise(actor, Act.SCHEDULE)
    start = scheduling.parse_local_datetime(local_start)
    async with uow:
        council = await council_of(uow, council_id)
        meeting = await meeting_of(uow, council_id, meeting_id)
        moved = scheduling.reschedule(
            meeting, start, council.timezone, public_holidays(council.holiday_country), now=now,
            reason=reason,
        )
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

