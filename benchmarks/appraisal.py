"""Appraisal tallies at province scale: how much dearer than a bare GROUP BY count of the same rows.

    .venv/bin/python benchmarks/appraisal.py [--councils 500] [--quick] [--repeat 3]
        [--postgres URL]

Synthetic province: ``--councils`` councils (500 by default; ``--quick`` takes 10) x 30
departments x 10 years (2017-2026) of bimonthly meetings, each with the departments' attendance
(present / proxy / excused / absent / no record), three agenda items, a named vote with the
present CIOs' ballots (some changed, so superseded ballots exist), a circular vote every other
meeting, and three action items (done on time, late, open, overdue). Half of the departments
change CIO in mid-2021, so tenures matter. Rows go in with bulk INSERTs of SQLAlchemy Core.

Measured in the same run, on the same rows, the median of ``--repeat`` runs each:
- one council-year (2026): the use case `usecases.appraisal.council_table` (tenures derived
  from the records, four aggregate queries, names) against a bare count: four GROUP BY queries
  over the same tables and year (attendance by department and status, proposals, current
  ballots, actions by department);
- the province-year: `SqlAppraisal.province` over every council, against the same four bare
  GROUP BY counts over every council;
- both at 1x, 2x and 4x the councils (the data is grown in place), to see whether the time is
  linear in the data (the council-year should stay flat: indexes; the province-year double).
Each engine (SQLite in a temporary file; PostgreSQL with ``--postgres URL`` on a scratch
database dropped afterwards) runs one after the other.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy
from scratch import ScratchDatabaseError, scratch_postgres  # benchmarks/scratch.py
from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.pool import NullPool

from meetings import usecases
from meetings.domain.appraisal import Period
from storage import Database, migrate
from storage.appraisal import SqlAppraisal
from storage.db import sync_url
from storage.tables import (
    ActionItemRow,
    AgendaItemRow,
    AttendanceRow,
    BallotRow,
    CouncilRow,
    DepartmentRow,
    MeetingRow,
    MemberRow,
    MotionRow,
)

DEPARTMENTS = 30
YEARS = range(2017, 2027)
MONTHS = (1, 3, 5, 7, 9, 11)
HANDOVER = datetime(2021, 7, 1, tzinfo=UTC)
NOW = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
YEAR = Period("2026", date(2026, 1, 1), date(2026, 12, 31))
SINCE, UNTIL = YEAR.window("Asia/Shanghai")
OFFSET = timedelta(hours=8)
STATUSES = ["present"] * 14 + ["proxy", "proxy", "excused", "excused", "absent", None]


@dataclass
class Ids:
    """Ids assigned here, so rows can be inserted in bulk without reading ids back."""

    council: int = 0
    department: int = 0
    member: int = 0
    meeting: int = 0
    item: int = 0
    motion: int = 0
    ballot: int = 0
    action: int = 0

    def next(self, kind: str) -> int:
        value: int = getattr(self, kind) + 1
        setattr(self, kind, value)
        return value


def council_rows(ids: Ids, rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """One council's ten years, as rows per table (motions still open: ballots need that)."""
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in (
        "councils", "departments", "members", "meetings", "attendance", "agenda_items",
        "motions", "ballots", "action_items")}
    council = ids.next("council")
    rows["councils"].append({
        "id": council, "name": f"Council {council}", "timezone": "Asia/Shanghai", "language": "zh",
        "holiday_country": "CN", "majority_rule": "simple", "quorum": 0.5, "max_major_issues": 2,
        "agenda_call_days": 14, "agenda_deadline_days": 3, "chat_id": None, "active": True,
        "majority_base": "cast", "quorum_over": True})
    departments, predecessors, cios = [], {}, {}
    for number in range(DEPARTMENTS):
        department = ids.next("department")
        departments.append(department)
        rows["departments"].append({"id": department, "council_id": council,
                                        "code": f"D{number:02d}", "name": f"第{number}局"})
        cio = ids.next("member")
        cios[department] = cio
        rows["members"].append({"id": cio, "council_id": council, "name": f"CIO {cio}",
                                "role": "cio", "telegram_id": None, "username": None,
                                "department_id": department})
        if number % 2 == 0:  # half the departments had another CIO until mid-2021
            before = ids.next("member")
            predecessors[department] = before
            rows["members"].append({
                "id": before, "council_id": council, "name": f"Former {before}", "role": "expert",
                "telegram_id": None, "username": None, "department_id": department})

    def cio_at(department: int, at: datetime) -> int:
        if at < HANDOVER and department in predecessors:
            return predecessors[department]
        return cios[department]

    for year in YEARS:
        for index, month in enumerate(MONTHS):
            starts = datetime(year, month, 10, 2, 0, tzinfo=UTC)
            meeting = ids.next("meeting")
            rows["meetings"].append({
                "id": meeting, "council_id": council, "kind": "regular", "starts_at": starts,
                "duration_minutes": 120, "title": "", "location": "", "state": "ended",
                "occurrence": starts.date(), "moved_reason": "", "started_at": starts,
                "ended_at": starts + timedelta(hours=2), "topic_id": None})
            present = []
            for department in departments:
                status = rng.choice(STATUSES)
                if status is not None:
                    rows["attendance"].append({
                        "id": None, "meeting_id": meeting, "department_id": department,
                        "status": status, "member_id": cio_at(department, starts),
                        "proxy_name": "", "reason": ""})
                if status == "present":
                    present.append(department)
            for department in rng.sample(departments, 3):
                rows["agenda_items"].append({
                    "id": ids.next("item"), "meeting_id": meeting, "title": "议题",
                    "proposer_id": cio_at(department, starts), "department_id": department,
                    "proposed_at": starts - timedelta(days=rng.randint(1, 10)), "description": "",
                    "state": rng.choice(["accepted", "accepted", "deferred", "rejected"]),
                    "major": rng.random() < 0.2})
            # A meeting's vote, and every other meeting a circular vote (no meeting).
            votes: list[tuple[int | None, list[int]]] = [(meeting, present)]
            if index % 2 == 0:
                votes.append((None, departments))
            for meeting_id, voters in votes:
                motion = ids.next("motion")
                opened = starts + timedelta(minutes=30 if meeting_id else 0)
                rows["motions"].append({
                    "id": motion, "council_id": council,
                    "kind": "named" if meeting_id else "circular", "text": "表决",
                    "rule": "simple", "quorum": 0.5, "opened_at": opened,
                    "meeting_id": meeting_id, "agenda_item_id": None, "closes_at": None,
                    "state": "open", "closed_at": None, "chat_id": None, "message_id": None,
                    "eligible": None, "yes": None, "no": None, "abstain": None, "passed": None,
                    "digest": "", "base": "cast", "membership": DEPARTMENTS,
                    "quorum_needed": DEPARTMENTS // 2 + 1})
                for department in voters:
                    if rng.random() < 0.8:
                        voter = cio_at(department, opened)
                        changed = rng.random() < 0.1
                        for current in ((False, True) if changed else (True,)):
                            rows["ballots"].append({
                                "id": ids.next("ballot"), "motion_id": motion, "member_id": voter,
                                "department_id": department, "choice": "yes", "cast_at": opened,
                                "current": current, "update_id": None})
            for department in rng.sample(departments, 3):
                due = starts.date() + timedelta(days=30)
                due_end = datetime.combine(due, datetime.min.time(), tzinfo=UTC) + timedelta(
                    hours=16)
                done = rng.choice([None, due_end - timedelta(days=3), due_end + timedelta(days=3)])
                rows["action_items"].append({
                    "id": ids.next("action"), "council_id": council, "department_id": department,
                    "text": "事项", "due": due, "created_at": starts, "meeting_id": meeting,
                    "done_at": done, "done_note": ""})
    return rows


TABLES = {"councils": CouncilRow, "departments": DepartmentRow, "members": MemberRow,
          "meetings": MeetingRow, "attendance": AttendanceRow, "agenda_items": AgendaItemRow,
          "motions": MotionRow, "ballots": BallotRow, "action_items": ActionItemRow}


def load(url: str, ids: Ids, councils: int, rng: random.Random) -> int:
    """Adds ``councils`` councils in bulk; returns the number of rows written."""
    engine = create_engine(sync_url(url), poolclass=NullPool)
    written = 0
    try:
        for first in range(0, councils, 10):
            batch: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
            motions: list[int] = []
            for _ in range(min(10, councils - first)):
                for name, rows in council_rows(ids, rng).items():
                    batch[name] += rows
            with engine.begin() as connection:
                for name, row_type in TABLES.items():
                    rows = batch[name]
                    if name == "attendance":
                        rows = [{k: v for k, v in r.items() if k != "id"} for r in rows]
                    if rows:
                        connection.execute(row_type.__table__.insert(), rows)  # type: ignore[attr-defined]
                        written += len(rows)
                motions = [r["id"] for r in batch["motions"]]
                connection.execute(text("UPDATE motions SET state = 'closed' WHERE id >= :low "
                                        "AND id <= :high"),
                                   {"low": min(motions), "high": max(motions)})
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return written


_BARE = [
    "SELECT a.department_id, a.status, count(*) FROM attendance a JOIN meetings m "
    "ON m.id = a.meeting_id WHERE m.council_id IN :councils AND m.starts_at >= :since "
    "AND m.starts_at < :until GROUP BY a.department_id, a.status",
    "SELECT i.department_id, count(*) FROM agenda_items i JOIN meetings m ON m.id = i.meeting_id "
    "WHERE m.council_id IN :councils AND i.proposed_at >= :since AND i.proposed_at < :until "
    "GROUP BY i.department_id",
    "SELECT b.department_id, count(*) FROM ballots b JOIN motions o ON o.id = b.motion_id "
    "WHERE o.council_id IN :councils AND o.opened_at >= :since AND o.opened_at < :until "
    "AND b.current GROUP BY b.department_id",
    "SELECT department_id, count(*) FROM action_items WHERE council_id IN :councils "
    "AND created_at >= :since AND created_at < :until GROUP BY department_id",
]


async def bare_count(database: Database, councils: list[int]) -> int:
    """The baseline: a plain GROUP BY count of the same rows the tallies read."""
    found = 0
    async with database.uow() as uow:
        connection = await uow.session.connection()
        sqlite = connection.dialect.name == "sqlite"
        # The same instants as the tallies bind (SQLite keeps UTC text without a zone).
        since: Any = SINCE.replace(tzinfo=None).isoformat(sep=" ") if sqlite else SINCE
        until: Any = UNTIL.replace(tzinfo=None).isoformat(sep=" ") if sqlite else UNTIL
        for query in _BARE:
            statement = text(query).bindparams(bindparam("councils", expanding=True))
            result = await connection.execute(statement, {"councils": councils,
                                                          "since": since, "until": until})
            found += len(result.all())
    return found


async def council_year(database: Database, council: int) -> int:
    table = await usecases.appraisal.council_table(
        database.uow(), council, period="2026", actor=usecases.common.Operator("bench"),
        now=NOW)
    return len(table.rows)


async def province_year(database: Database, councils: list[int]) -> int:
    async with database.uow() as uow:
        assert isinstance(uow.appraisal, SqlAppraisal)
        return len(await uow.appraisal.province(councils, since=SINCE, until=UNTIL,
                                                today=NOW.date(), utc_offset=OFFSET))


async def province_starts(database: Database, councils: list[int]) -> int:
    async with database.uow() as uow:
        assert isinstance(uow.appraisal, SqlAppraisal)
        return len(await uow.appraisal.starts_of(councils))


async def median_seconds(work: Callable[[], Awaitable[int]], repeat: int) -> tuple[float, int]:
    await work()  # warm the caches and the statement cache once
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        size = await work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), size


@dataclass
class Step:
    scale: int
    councils: int
    rows: int
    council_tally: float
    council_bare: float
    province_tally: float
    province_starts: float  # of which deriving the tenures (who was CIO when)
    province_bare: float
    tally_rows: int


async def measure(url: str, councils: int, repeat: int) -> list[Step]:
    migrate.upgrade(url)
    ids, rng, rows, steps = Ids(), random.Random(2026), 0, []  # noqa: S311 -- synthetic data
    for scale in (1, 2, 4):
        started = time.perf_counter()
        rows += load(url, ids, councils * scale - ids.council, rng)
        print(f"  {scale}x: {ids.council} councils, {rows:,} rows loaded "
              f"({time.perf_counter() - started:.1f} s)", flush=True)
        database = Database(url)
        every = list(range(1, ids.council + 1))
        try:
            figures = [await median_seconds(work, repeat) for work in (
                lambda db=database: council_year(db, 1),
                lambda db=database: bare_count(db, [1]),
                lambda db=database, ids=every: province_year(db, ids),
                lambda db=database, ids=every: province_starts(db, ids),
                lambda db=database, ids=every: bare_count(db, ids))]
        finally:
            await database.dispose()
        (council_tally, _), (council_bare, _), (province_tally, tallied), (starts, _), (
            province_bare, _) = figures
        steps.append(Step(scale, ids.council, rows, council_tally, council_bare, province_tally,
                          starts, province_bare, tallied))
    return steps


def report(engine: str, steps: list[Step]) -> None:
    print(f"\n{engine}: tally vs bare GROUP BY count of the same rows (median seconds)")
    print(f"{'data':>5} {'councils':>8} {'rows':>11} | {'council-year':>12} {'bare':>8} "
          f"{'ratio':>6} | {'province-year':>13} {'tenures':>8} {'bare':>8} {'ratio':>6} "
          f"{'w/o ten.':>8} {'people':>7}")
    for s in steps:
        print(f"{s.scale:>4}x {s.councils:>8} {s.rows:>11,} | {s.council_tally:>12.4f} "
              f"{s.council_bare:>8.4f} {s.council_tally / s.council_bare:>6.2f} | "
              f"{s.province_tally:>13.3f} {s.province_starts:>8.3f} {s.province_bare:>8.3f} "
              f"{s.province_tally / s.province_bare:>6.2f} "
              f"{(s.province_tally - s.province_starts) / s.province_bare:>8.2f} "
              f"{s.tally_rows:>7}")
    base = steps[0]
    growth = ", ".join(f"{s.scale}x data: council-year x{s.council_tally / base.council_tally:.2f}"
                       f", province-year x{s.province_tally / base.province_tally:.2f}"
                       for s in steps[1:])
    print(f"growth against 1x: {growth} (linear would be 1.00 and the data factor)")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--councils", type=int, default=500,
                        help="councils at 1x (the data doubles twice from there)")
    parser.add_argument("--quick", action="store_true", help="10 councils at 1x")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per figure")
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    args = parser.parse_args(argv)
    if args.quick:
        args.councils = 10
    if args.councils < 1 or args.repeat < 1:
        parser.error("--councils and --repeat must be at least 1")
    return args


def engines(args: argparse.Namespace, directory: Path) -> Iterator[tuple[str, str]]:
    yield "SQLite", f"sqlite:///{directory / 'appraisal.sqlite3'}"
    if args.postgres:
        with scratch_postgres(args.postgres, prefix="appraisal") as url:
            yield "PostgreSQL", url


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    print(f"appraisal benchmark: {args.councils} councils x {DEPARTMENTS} departments x "
          f"{len(YEARS)} years at 1x, then 2x and 4x; median of {args.repeat}")
    try:
        with tempfile.TemporaryDirectory() as directory:
            for engine, url in engines(args, Path(directory)):
                print(f"{engine}:", flush=True)
                report(engine, asyncio.run(measure(url, args.councils, args.repeat)))
    except ScratchDatabaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except sqlalchemy.exc.OperationalError as error:
        print(f"error: {str(error.orig).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
