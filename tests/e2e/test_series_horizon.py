"""A council running for more than a year still has a year of meetings ahead: the reminder
worker's housekeeping tops the series up every day, once across instances, and public holidays
move the new meetings as they moved the first ones. The real bot Application and two worker
instances against the sandbox, the clock moved a day per tick for thirteen months."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.reminders import Reminders
from meetings import usecases
from meetings.domain.model import MeetingKind
from storage import Database
from storage.tables import AuditEventRow, JobRow
from tests.e2e.harness import NOW, CouncilChat, council_chat

DAYS = 395  # 25 November 2026 to 25 December 2027: thirteen months
THE_END = NOW + timedelta(days=DAYS)
# Year two's holidays, which no meeting planned when the series was set could reach.
MOVED_IN_YEAR_TWO = {
    date(2028, 1, 3): (datetime(2028, 1, 4, 6, 30, tzinfo=UTC),
                       "moved from 2028-01-03 (New Year's Day (observed))"),
    date(2028, 5, 1): (datetime(2028, 5, 3, 6, 30, tzinfo=UTC),
                       "moved from 2028-05-01 (Labor Day)"),
    date(2028, 10, 2): (datetime(2028, 10, 5, 6, 30, tzinfo=UTC),
                        "moved from 2028-10-02 (National Day)"),
}


@pytest.fixture
async def chat(migrated_url: str) -> AsyncIterator[CouncilChat]:
    async with council_chat(migrated_url, cios=2) as council:
        await council.founded()
        await council.command(council.chair, "/cadence monthly 1MO 14:30")
        yield council


async def test_thirteen_months_on_a_year_of_meetings_is_still_planned(
        chat: CouncilChat, second_db: Database) -> None:
    """Two instances tick together once a day for thirteen months. Each council day's top-up
    ran exactly once; twelve monthly meetings lie ahead, the last in December 2028; the
    holidays of 2028 moved theirs to the next working day with the reason, and /next shows the
    first of them."""
    async with chat.database.uow() as uow:
        council = await usecases.common.council_by_ref(uow, None)
    planned_at_start = await usecases.schedule.list_meetings(chat.database.uow(), council.id)
    assert max(m.starts_at for m in planned_at_start) < datetime(2027, 12, 1, tzinfo=UTC)
    instances = [Reminders(chat.database, chat.application.bot, chat.clock, worker="host-1"),
                 Reminders(second_db, chat.application.bot, chat.clock, worker="host-2")]

    for _ in range(DAYS):
        chat.clock.advance(timedelta(days=1))
        await asyncio.gather(*(instance.tick() for instance in instances))

    assert chat.clock.now() == THE_END
    ahead = await usecases.schedule.list_meetings(chat.database.uow(), council.id,
                                                  since=THE_END)
    assert [(m.kind, m.starts_at.year, m.starts_at.month) for m in ahead] == [
        (MeetingKind.REGULAR, 2028, month) for month in range(1, 13)]
    assert ahead[-1].starts_at == datetime(2028, 12, 4, 6, 30, tzinfo=UTC)
    moved = {m.occurrence: (m.starts_at, m.moved_reason) for m in ahead if m.moved_reason}
    assert moved == MOVED_IN_YEAR_TWO
    assert await chat.command(chat.chair, "/next") == (
        f"Next meeting: S{ahead[0].id} Tue 4 Jan 2028, 14:30 "
        "(moved from Mon 3 Jan 2028 (New Year's Day (observed)))\n"
        "Agenda items: 0 (0 accepted, 0 proposed).\n"
        "Proposals close Sat 1 Jan 2028, 14:30.")

    async with chat.database.transaction() as session:
        jobs = (await session.exec(select(JobRow).where(col(JobRow.kind) == "series"))).all()
        extended = (await session.exec(select(AuditEventRow).where(
            col(AuditEventRow.action) == "series.extend"))).all()
    days = [(NOW + timedelta(days=n)).date().isoformat() for n in range(1, DAYS + 1)]
    assert sorted(job.dedupe_key for job in jobs) == [
        f"series:extend:{council.id}:{day}" for day in days]
    assert all(job.done_at is not None for job in jobs)
    # One new month entered the horizon at a time: thirteen top-ups of one meeting each.
    assert [json.loads(event.payload)["planned"] for event in extended] == [1] * 13
