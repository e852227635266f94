"""The local demo: a sample district council, its departments and its next year of meetings.

Safe to run again: an existing demo database is reused, not duplicated.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from rich.console import Console

from bot.render import meeting_table
from meetings import services
from meetings.model import Council, Meeting, Role
from meetings.ports import Clock, UnitOfWork
from storage import Database, migrate

COUNCIL_NAME = "Riverside District CIO Council"
DEPARTMENTS = [
    ("EPB", "Environmental Protection Bureau"),
    ("MSB", "Market Supervision Bureau"),
    ("EDU", "Education Bureau"),
    ("HLTH", "Health Commission"),
    ("PSB", "Public Security Bureau"),
    ("FIN", "Finance Bureau"),
    ("HRSS", "Human Resources and Social Security Bureau"),
    ("TRN", "Transport Commission"),
    ("CIV", "Civil Affairs Bureau"),
]
PEOPLE = [
    ("Wang Lei", Role.CHAIR, None),
    ("Chen Jing", Role.SECRETARY, None),
    ("Prof. Zhou Min", Role.EXPERT, None),
    *[(f"CIO of {code}", Role.CIO, code) for code, _ in DEPARTMENTS],
]
CADENCE = "bimonthly 2TH 14:30 120"


def run_demo(directory: Path, *, clock: Clock, console: Console) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{(directory / 'council.sqlite3').resolve()}"
    console.print(f"[1/3] Database in {directory.resolve()}")
    migrate.upgrade(url)
    council, meetings = asyncio.run(_populate(url, clock, console))
    console.print(meeting_table(council, meetings))
    console.print(f"\nThe demo's data stays in {directory.resolve()}; try "
                  f"`COUNCIL_DATA_DIR={directory} cio-council member list`.")


async def _populate(url: str, clock: Clock, console: Console) -> tuple[Council, list[Meeting]]:
    database = Database(url)
    try:
        uow = database.uow()
        operator = services.Operator("demo")
        async with uow:
            council = await uow.councils.by_name(COUNCIL_NAME)
        if council is None:
            console.print(f"[2/3] Creating {COUNCIL_NAME} with {len(DEPARTMENTS)} departments")
            council = await _create(uow, clock, operator)
            await services.set_series(uow, council.id, spec=CADENCE, actor=operator,
                                      now=clock.now())
        else:
            console.print(f"[2/3] Reusing {COUNCIL_NAME}; topping its series up to a year ahead")
            await services.extend_series(uow, council.id, now=clock.now())
        console.print(f"[3/3] Regular series: {CADENCE} (Asia/Shanghai, CN holidays avoided)")
        horizon = clock.now() + timedelta(days=366)
        meetings = await services.list_meetings(uow, council.id, since=clock.now(), until=horizon)
        return council, list(meetings)
    finally:
        await database.dispose()


async def _create(uow: UnitOfWork, clock: Clock, operator: services.Operator) -> Council:
    council = await services.create_council(uow, name=COUNCIL_NAME, actor=operator, now=clock.now())
    for code, name in DEPARTMENTS:
        await services.add_department(uow, council.id, code=code, name=name, actor=operator,
                                      now=clock.now())
    for name, role, department in PEOPLE:
        await services.add_member(uow, council.id, name=name, role=role, actor=operator,
                                  now=clock.now(), department=department)
    return council
