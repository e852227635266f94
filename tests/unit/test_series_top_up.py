"""The daily top-up of every council's regular series: once per council and local day, whoever
asks how often, and only for councils with a series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meetings import usecases
from meetings.domain.model import Council
from tests.unit.fakes import FakeUnitOfWork

CLI = usecases.common.Operator()
SET_AT = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


async def _council(uow: FakeUnitOfWork, name: str, timezone: str = "Asia/Shanghai",
                   spec: str | None = "monthly 1MO 14:30") -> Council:
    council = await usecases.councils.create_council(uow, name=name, actor=CLI, now=SET_AT,
                                                     timezone=timezone)
    if spec is not None:
        await usecases.schedule.set_series(uow, council.id, spec=spec, actor=CLI, now=SET_AT)
    return council


def _done_keys(uow: FakeUnitOfWork) -> list[str]:
    done = uow.committed.table("jobs_done")
    return sorted(job.dedupe_key for job in uow.rows("jobs") if job.id in done)


async def test_each_council_with_a_series_is_topped_up_once_a_local_day(
        uow: FakeUnitOfWork) -> None:
    """Three calls on one day make one done job per council with a series and nothing for the
    one without; the next local day makes another, keyed by that date."""
    shanghai = await _council(uow, "Shanghai")
    await _council(uow, "No series", spec=None)
    for minutes in (0, 1, 30):
        await usecases.schedule.extend_due_series(uow, now=SET_AT + timedelta(minutes=minutes),
                                                  worker="a")
    assert _done_keys(uow) == [f"series:extend:{shanghai.id}:2026-11-25"]

    await usecases.schedule.extend_due_series(uow, now=SET_AT + timedelta(days=1), worker="b")

    assert _done_keys(uow) == [f"series:extend:{shanghai.id}:2026-11-25",
                               f"series:extend:{shanghai.id}:2026-11-26"]


async def test_the_day_is_the_councils_own(uow: FakeUnitOfWork) -> None:
    """At 02:00 UTC it is already the 25th in Shanghai but still the 24th in Los Angeles."""
    shanghai = await _council(uow, "Shanghai")
    angeles = await _council(uow, "Los Angeles", timezone="America/Los_Angeles")

    await usecases.schedule.extend_due_series(uow, now=SET_AT, worker="a")

    assert _done_keys(uow) == sorted([f"series:extend:{shanghai.id}:2026-11-25",
                                      f"series:extend:{angeles.id}:2026-11-24"])


async def test_the_horizon_moves_with_the_days(uow: FakeUnitOfWork) -> None:
    """Three weeks on, the top-up adds the meeting of December 2027's meeting once, audited; the
    same day again adds nothing."""
    council = await _council(uow, "Shanghai")
    before = {m.id for m in await usecases.schedule.list_meetings(uow, council.id)}
    later = SET_AT + timedelta(days=20)

    added = await usecases.schedule.extend_due_series(uow, now=later, worker="a")
    again = await usecases.schedule.extend_due_series(uow, now=later + timedelta(hours=1),
                                                      worker="b")

    assert ([m.starts_at.date().isoformat() for m in added], again) == (["2027-12-06"], [])
    after = await usecases.schedule.list_meetings(uow, council.id)
    assert {m.id for m in after} - before == {added[0].id}
    assert [e.action for e in uow.rows("audit")][-1] == "series.extend"
