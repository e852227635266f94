"""A property of every history a council can have: its feeds stay valid and deterministic, and no
event's SEQUENCE ever goes down."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import icalendar
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meetings import usecases
from meetings.domain.errors import CouncilError
from meetings.domain.model import Role
from tests.unit import icsread
from tests.unit.fakes import FakeUnitOfWork

START = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)
CLI = usecases.common.Operator()
ZONE = "Asia/Shanghai"

steps = st.lists(st.one_of(
    st.tuples(st.just("schedule"), st.integers(1, 400), st.integers(8, 17)),
    st.tuples(st.just("move"), st.integers(0, 30), st.integers(1, 400)),
    st.tuples(st.just("cancel"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("action"), st.integers(0, 1), st.integers(0, 200)),
    st.tuples(st.just("done"), st.integers(0, 10), st.just(0)),
    st.tuples(st.just("propose"), st.integers(0, 1), st.just(0)),
    st.tuples(st.just("tick"), st.integers(0, 60), st.just(0)),
), max_size=12)


async def _history(start_month: int, plan: list[tuple[str, int, int]]) -> None:
    uow = FakeUnitOfWork()
    now = START
    council = await usecases.councils.create_council(uow, name="Property council", actor=CLI,
                                                     now=now, timezone=ZONE)
    for code in ("EPB", "MSB"):
        await usecases.councils.add_department(uow, council.id, code=code, name=code, actor=CLI,
                                               now=now)
    cios = [await usecases.councils.add_member(uow, council.id, name=code, role=Role.CIO,
                                               actor=CLI, now=now, department=code,
                                               telegram_id=index + 10)
            for index, code in enumerate(("EPB", "MSB"))]
    # The first Thursday of each month: National Day and Spring Festival move some of them.
    await usecases.schedule.set_series(
        uow, council.id, spec="FREQ=MONTHLY;BYDAY=1TH 14:30 120", actor=CLI, now=now,
        starting=(START + timedelta(days=30 * start_month)).date())
    token = await usecases.calendar.issue_token(uow, council.id, actor=CLI, now=now,
                                                member_id=cios[0].id)
    seen: dict[str, int] = {}
    for kind, first, second in plan:
        meetings = list(await usecases.schedule.list_meetings(uow, council.id))
        try:
            if kind == "schedule":
                local = (now + timedelta(days=first)).strftime(f"%Y-%m-%d {second:02d}:00")
                await usecases.schedule.schedule_meeting(uow, council.id, local_start=local,
                                                         actor=CLI, now=now)
            elif kind == "move" and meetings:
                meeting = meetings[first % len(meetings)]
                local = (now + timedelta(days=second)).strftime("%Y-%m-%d 10:00")
                await usecases.schedule.reschedule_meeting(uow, council.id, meeting.id,
                                                           local_start=local, actor=CLI, now=now)
            elif kind == "cancel" and meetings:
                await usecases.schedule.cancel_meeting(
                    uow, council.id, meetings[first % len(meetings)].id, actor=CLI, now=now)
            elif kind == "action":
                due = (now + timedelta(days=second)).strftime("%Y-%m-%d")
                await usecases.actions.assign_action(uow, council.id, code=("EPB", "MSB")[first],
                                                     due=due, text=f"Action {second}",
                                                     actor=CLI, now=now)
            elif kind == "done":
                items = uow.rows("action_items")
                if items:
                    await usecases.actions.complete_action(
                        uow, council.id, items[first % len(items)].id, note="", actor=CLI,
                        now=now)
            elif kind == "propose":
                await usecases.agenda.propose_item(uow, council.id, title="Item, with; text",
                                                   description="", actor=cios[first], now=now)
            elif kind == "tick":
                now += timedelta(days=first)
        except CouncilError:
            pass  # a refused step (a holiday, a past meeting) changes nothing
        council_data = await usecases.calendar.council_feed(uow, council.id, now=now)
        assert council_data == await usecases.calendar.council_feed(uow, council.id, now=now)
        access = await usecases.calendar.resolve(uow, token, now=now)
        personal = await usecases.calendar.feed(uow, access, now=now)
        assert personal == await usecases.calendar.feed(uow, access, now=now)
        for data in (council_data, personal):
            icsread.agreed(data, ZONE)
            for event in icalendar.Calendar.from_ical(data).walk("VEVENT"):
                uid, sequence = str(event["UID"]), icsread.sequence(event)
                assert sequence >= seen.get(uid, 0), uid
                seen[uid] = sequence


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start_month=st.integers(0, 12), plan=steps)
def test_every_history_gives_valid_deterministic_feeds_with_growing_sequences(
        start_month: int, plan: list[tuple[str, int, int]]) -> None:
    """Whatever is scheduled, moved, cancelled, moved off holidays, assigned or completed, the
    council's and a CIO's feeds parse alike in three parsers, the same data gives the same
    bytes, and an event's SEQUENCE never decreases."""
    asyncio.run(_history(start_month, plan))
