"""A broadcast at Telegram's ceiling: the day-before reminder to 100 councils of 30 members.

    .venv/bin/python benchmarks/broadcast.py [--councils 100] [--members 30] [--quick]
        [--instances 1 2] [--postgres URL] [--slack 0]

Each council's group and each member's private chat get the reminder: 100 × (1 + 30) = 3,100
messages. The sandbox Bot API server runs in this process with Telegram's flood limits on
(about 30 messages a second overall, 20 a minute per group, 1 a second per private chat),
answering 429 with ``retry_after`` past them and noting every message to a chat that comes
while a 429 still asks the bot to wait. The councils, members and meetings are written straight
to the database; the clock of the workers is the system clock moved to a minute after the
reminder fell due.

The senders are `bot.reminders.Reminders` workers as `cio-council serve` runs them (the outbox
job table, the flood limits shared in the database, at most 2 s of waiting, 4 messages on their
way at once), each in a worker process of its own (this script with ``--worker``); ``--instances
2`` runs two on the same database at once: the limit is the bot's, so together they should reach
the same rate as one, not twice it.

A 429 is honoured when nothing more goes to its chat until its ``retry_after`` is over (the bot
also holds its other chats for up to the overall window; a message past that window gets a 429
of its own).

Measured on the sandbox's side: the moments it accepted each message. The rate is the messages
after the first over the time from the first to the last (a steady 30 a second gives 30.0); the
wall rate counts from the workers' start (planning 3,100 jobs included). Checked: every chat got
the reminder exactly once, every job is done, no message came during a wait a 429 asked for.
``--slack`` makes each of the bot's windows that share longer; the ceiling it aims at is then
30 / (1 + slack). The default is none: the bot counts each overall slot from the moment Telegram
answered, so the time a request takes to arrive needs no margin.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy
import telegram
from scratch import ScratchDatabaseError, scratch_postgres  # benchmarks/scratch.py
from sqlmodel import col, func, select

from bot.reminders import Reminders, worker_id
from bot.sandbox import SandboxServer
from meetings import usecases
from meetings.domain.flood import Limits
from meetings.domain.model import Member, Role
from storage import Database, migrate
from storage.tables import JobRow

MEETING = "2027-01-14 14:30"  # a Thursday, in Shanghai
MEETING_UTC = datetime(2027, 1, 14, 6, 30, tzinfo=UTC)
DUE = MEETING_UTC - timedelta(days=1)  # the day-before reminder
TEXT = "📅 Reminder: Council "
OPERATOR = usecases.common.Operator("broadcast benchmark")
CEILING = Limits().ceiling
HOLD = timedelta(seconds=2)
SENDERS = 4


class BenchmarkError(Exception):
    """The broadcast did not behave as required; the message says how."""


class ShiftedClock:
    """The system clock moved by a fixed offset: it runs at real speed, at the reminder's hour."""

    def __init__(self, offset: timedelta) -> None:
        self._offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


@dataclass(frozen=True)
class Figures:
    label: str
    messages: int
    rate: float  # messages/s, first to last accepted
    wall_rate: float  # messages/s from the workers' start
    refusals: int  # 429s answered
    unhonoured: int  # messages to a chat during the wait its 429 asked for
    shares: dict[str, int]  # jobs done per worker


def say(line: str = "") -> None:
    print(line, flush=True)


# --- the worker process ------------------------------------------------------------------------


async def done(database: Database) -> int:
    async with database.transaction() as session:
        query = select(func.count()).select_from(JobRow).where(col(JobRow.done_at).is_not(None))
        return int((await session.exec(query)).one())


async def work(args: argparse.Namespace) -> None:
    """One worker: sends what is due until every expected job is done.

    Waiting for a count rather than for "nothing undone": planning 3,100 jobs can outlast the
    first second on PostgreSQL, and a worker that then found nothing undone stopped after its
    first batch.
    """
    database = Database(args.database)
    clock = ShiftedClock(timedelta(seconds=args.offset))
    try:
        async with telegram.Bot(args.token, base_url=args.api) as bot:
            reminders = Reminders(database, bot, clock, worker=worker_id(), batch=args.batch,
                                  hold=HOLD, senders=SENDERS,
                                  limits=Limits().slack(args.slack))
            stop = asyncio.Event()
            running = asyncio.create_task(reminders.run(stop, interval=0.5))
            while await done(database) < args.expect:
                await asyncio.sleep(0.5)
            stop.set()
            await running
    finally:
        await database.dispose()


# --- the run -----------------------------------------------------------------------------------


async def seed(database_url: str, sandbox: SandboxServer, councils: int,
               members: int) -> set[int]:
    """The councils, each with a sandbox group, its members (who all started the bot) and the
    meeting; returns every chat that should get the reminder."""
    control = sandbox.control
    database = Database(database_url)
    now = DUE - timedelta(days=30)
    chats: set[int] = set()
    try:
        for number in range(councils):
            people = [control.create_user(f"Member {number}-{n}") for n in range(members)]
            for person in people:
                control.start_bot(person.id)
            group = control.create_group(f"Council {number}", creator=people[0].id,
                                         members=[p.id for p in people[1:]])
            council = await usecases.councils.create_council(
                database.uow(), name=f"Council {number}", actor=OPERATOR, now=now,
                chat_id=group.id)
            async with database.uow() as uow:
                for person in people:
                    await uow.members.add(Member(council_id=council.id, name=person.first_name,
                                                 role=Role.OBSERVER, telegram_id=person.id))
                await uow.commit()
            await usecases.schedule.schedule_meeting(database.uow(), council.id,
                                                     local_start=MEETING, actor=OPERATOR,
                                                     now=now)
            chats |= {group.id, *(p.id for p in people)}
    finally:
        await database.dispose()
    return chats


async def shares(database_url: str) -> dict[str, int]:
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            rows = (await session.exec(select(JobRow.claimed_by, func.count())
                                       .group_by(col(JobRow.claimed_by)))).all()
        return {str(worker): int(count) for worker, count in rows}
    finally:
        await database.dispose()


async def run_configuration(label: str, database_url: str, instances: int,
                            args: argparse.Namespace) -> Figures:
    await asyncio.to_thread(migrate.upgrade, database_url)
    async with SandboxServer(rate_limits=True) as sandbox:
        began = time.perf_counter()
        expected = await seed(database_url, sandbox, args.councils, args.members)
        say(f"{label}: {args.councils} councils of {args.members} set up in "
            f"{time.perf_counter() - began:.1f} s; {len(expected)} chats to reach")
        offset = (DUE + timedelta(minutes=1) - datetime.now(UTC)).total_seconds()
        command = [sys.executable, __file__, "--worker", "--database", database_url,
                   "--api", sandbox.base_url, "--token", sandbox.token,
                   "--offset", repr(offset), "--slack", repr(args.slack),
                   "--batch", str(args.batch), "--expect", str(len(expected))]
        started = time.time()
        workers = [await asyncio.create_subprocess_exec(*command) for _ in range(instances)]
        try:
            codes = await asyncio.wait_for(
                asyncio.gather(*(worker.wait() for worker in workers)), args.timeout)
        finally:
            for worker in workers:
                if worker.returncode is None:
                    worker.kill()
        if any(codes):
            raise BenchmarkError(f"{label}: a worker exited with {codes}")
        limiter = sandbox.world.bot_named(None).limiter
        accepted = list(limiter.accepted)
        received = Counter(chat for _, chat in accepted)
        if set(received) != expected or set(received.values()) != {1}:
            twice = sum(1 for count in received.values() if count > 1)
            raise BenchmarkError(f"{label}: {len(expected - set(received))} chats missed, "
                                 f"{twice} got more than one message")
        wrong = [chat for chat in expected
                 if not (sandbox.control.bot_messages(chat)[-1].text or "").startswith(TEXT)]
        if wrong:
            raise BenchmarkError(f"{label}: {len(wrong)} chats got something else")
        if limiter.unhonoured:
            raise BenchmarkError(f"{label}: {len(limiter.unhonoured)} messages came during a "
                                 "wait a 429 asked for")
        times = sorted(at for at, _ in accepted)
        span = times[-1] - times[0]
        return Figures(label, len(times), (len(times) - 1) / span,
                       len(times) / (times[-1] - started), len(limiter.refusals),
                       len(limiter.unhonoured), await shares(database_url))


async def benchmark(args: argparse.Namespace) -> list[Figures]:
    results = []
    with tempfile.TemporaryDirectory(prefix="broadcast-") as name:
        directory = Path(name)
        for instances in args.instances:
            suffix = f", {instances} worker{'s' if instances > 1 else ''}"
            url = f"sqlite:///{directory / f'sqlite-{instances}' / 'council.sqlite3'}"
            results.append(await run_configuration(f"SQLite{suffix}", url, instances, args))
            if args.postgres:
                with scratch_postgres(args.postgres, prefix="broadcast") as url:
                    results.append(await run_configuration(f"PostgreSQL{suffix}", url,
                                                           instances, args))
    return results


def report(results: list[Figures], args: argparse.Namespace) -> None:
    aim = CEILING / (1 + args.slack)
    say()
    say(f"Telegram's ceiling {CEILING:g} messages/s; the bot aims at {aim:.1f}/s "
        f"(--slack {args.slack:g})")
    say(f"{'':<26} {'messages':>8} {'msg/s':>7} {'/ceiling':>8} {'wall/s':>7} {'429s':>5} "
        f"{'unhonoured':>10}  jobs per worker")
    for figures in results:
        per_worker = ", ".join(str(count) for _, count in sorted(figures.shares.items()))
        say(f"{figures.label:<26} {figures.messages:>8} {figures.rate:7.1f} "
            f"{figures.rate / CEILING:7.2f}x {figures.wall_rate:7.1f} {figures.refusals:>5} "
            f"{figures.unhonoured:>10}  {per_worker}")
    by_engine: dict[str, list[float]] = {}
    for figures in results:
        by_engine.setdefault(figures.label.partition(",")[0], []).append(figures.rate)
    for engine, rates in by_engine.items():
        if len(rates) > 1:
            say(f"{engine}: the configurations' rates span {min(rates):.1f}..{max(rates):.1f} "
                f"messages/s (median {statistics.median(rates):.1f})")
    say("every chat got the reminder exactly once; no message came to a chat during the wait "
        "its 429 asked for")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Messages/s of a reminder broadcast through the outbox against the sandbox "
                    "Bot API with Telegram's flood limits on.")
    parser.add_argument("--councils", type=int, default=100)
    parser.add_argument("--members", type=int, default=30, help="members of each council")
    parser.add_argument("--quick", action="store_true",
                        help="10 councils instead of 100 (about 310 messages)")
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2], metavar="N",
                        help="worker processes on the same database, one configuration each "
                             "(default 1 2)")
    parser.add_argument("--slack", type=float, default=0.0,
                        help="each flood window this share longer on the bot's side "
                             "(default 0)")
    parser.add_argument("--batch", type=int, default=20, help="jobs a worker claims at once")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds the workers may take (default 600)")
    parser.add_argument("--postgres", metavar="URL",
                        help="also run on PostgreSQL: a scratch database is created on this "
                             "server and dropped afterwards")
    # The worker process's own arguments (this script starts it).
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--offset", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--expect", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.councils = 10
    if args.councils < 1 or args.members < 1 or min(args.instances) < 1 or args.slack < 0:
        parser.error("--councils, --members and --instances must be at least 1, --slack >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    if args.worker:
        asyncio.run(work(args))
        return 0
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    say(f"machine: Python {platform.python_version()}, {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load}")
    say(f"libraries: python-telegram-bot {telegram.__version__}, "
        f"SQLAlchemy {sqlalchemy.__version__}")
    say(f"parameters: --councils {args.councils} --members {args.members} --instances "
        f"{' '.join(map(str, args.instances))} --slack {args.slack:g} --batch {args.batch}"
        + (" --postgres" if args.postgres else ""))
    started = time.perf_counter()
    try:
        results = asyncio.run(benchmark(args))
    except (BenchmarkError, ScratchDatabaseError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    report(results, args)
    say(f"\ntotal run time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
