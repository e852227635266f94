"""Vote bursts: how long a CIO waits for the button's answer when the whole council presses at once.

    .venv/bin/python benchmarks/vote_burst.py [--bursts 50 200 500] [--council N] [--single 20]
        [--instances 1] [--postgres URL]

The sandbox Bot API server (rate limits off), the people and the service run in this process and
its event loop, as in the e2e tests. The service is `bot.runner.serve` in webhook mode, as
`cio-council serve --webhook` runs it (durable intake, PTB's rate limiter, live counts edited
at most every 3 s), behind a round-robin load balancer (`bot.sandbox.balancer`); `--instances 2`
runs two copies on the same database behind it. The chair sets the council up and opens a
meeting through the chat; its departments, their CIOs (as many as the largest burst) and their
presence are written straight to the database, in one transaction each, through the
repositories the use cases use (through the chat, 500 of each would take minutes).

Measured: a press's latency, from `Control.press_button` to the bot's answerCallbackQuery
reaching the sandbox (a listener on the sandbox's changes stamps it: no polling). First one
press alone, `--single` times on one motion by different CIOs, each after the previous one's
answer: the median is the baseline. Then, for each burst size N, a new /motion and N CIOs press
Yes in the same instant (no await between the presses); p50 and p99 of the N latencies are
reported with their ratios to the baseline. Each burst is checked: every press answered without
an alert, and /close counts exactly N votes. Each engine (SQLite; PostgreSQL with `--postgres
URL`, on a scratch database dropped afterwards) and instance count runs on its own sandbox and
database, one after the other.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy
import telegram
from scratch import ScratchDatabaseError, scratch_postgres  # benchmarks/scratch.py

from bot.clock import FixedClock
from bot.runner import serve
from bot.sandbox import Chat, Control, Message, SandboxServer, User, WebhookPolicy
from bot.sandbox.balancer import RoundRobin
from bot.sandbox.state import BotAccount
from bot.settings import Settings
from meetings.domain.model import Attendance, AttendanceStatus, Department, Member, Role
from storage import Database, migrate

# 10:00 on a Wednesday in Shanghai; the meeting is scheduled for 14:30 the same day.
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
SECRET = "vote-burst-webhook-secret_0123456789"  # noqa: S105 -- a loopback-only fixture
SETUP_TIMEOUT = 60.0  # seconds for any one step of setting the council up
ANSWER_WINDOW = 15.0  # seconds Telegram waits for a callback answer before the query expires
STARTS_WITHIN = 20.0


class BenchmarkError(Exception):
    """The bot did not behave as expected; the message says how."""


# --- measuring ---------------------------------------------------------------------------------


class AnswerStamps:
    """A listener on the sandbox's changes: notes the moment each callback answer arrives.

    The sandbox calls its listeners synchronously as it records an answer, so the stamp is the
    moment the bot's answerCallbackQuery was served, whoever is waiting and however busy the
    loop is afterwards."""

    def __init__(self, account: BotAccount) -> None:
        self._account = account
        self._seen = 0
        self.at: dict[str, float] = {}

    def __call__(self) -> None:
        answers = self._account.answers
        while self._seen < len(answers):
            self.at[answers[self._seen].callback_query_id] = time.perf_counter()
            self._seen += 1


@dataclass
class Figures:
    label: str
    single: list[float] = field(default_factory=list)  # seconds, one press alone
    bursts: dict[int, list[float]] = field(default_factory=dict)  # voters -> seconds per press
    spans: dict[int, float] = field(default_factory=dict)  # voters -> first press to last answer


def percentile(values: Sequence[float], percent: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


# --- the deployment ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def serving(settings: Settings, clock: FixedClock) -> AsyncIterator[None]:
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, webhook=True, clock=clock, stop=stop,
                                     ready=ready.set_result))
    either: set[asyncio.Future[Any]] = {task, ready}
    done, _ = await asyncio.wait(either, timeout=STARTS_WITHIN,
                                 return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()
        raise BenchmarkError("serve returned before it was ready")
    if ready not in done:
        task.cancel()
        raise BenchmarkError(f"serve was not ready within {STARTS_WITHIN:g} s")
    try:
        yield
    finally:
        stop.set()
        await task


@asynccontextmanager
async def deployment(sandbox: SandboxServer, database_url: str, clock: FixedClock,
                     directory: Path, instances: int) -> AsyncIterator[RoundRobin]:
    """``instances`` copies of the service on one database behind one balancer."""
    ports = [free_port() for _ in range(instances)]
    async with RoundRobin([f"http://127.0.0.1:{port}" for port in ports]) as balancer, \
            AsyncExitStack() as stack:
        for index, port in enumerate(ports):
            await stack.enter_async_context(serving(Settings(
                bot_token=sandbox.token, bot_api_url=sandbox.base_url, database_url=database_url,
                data_dir=directory / f"instance-{index}", web_host="127.0.0.1", web_port=port,
                public_url=balancer.url, webhook_secret=SECRET), clock))
        yield balancer


# --- the council -------------------------------------------------------------------------------


class Chair:
    """Sends the chair's commands and waits for the reply that starts as expected (other bot
    messages in the group, such as a reminder, are passed over)."""

    def __init__(self, control: Control, bot_name: str, user: User, group: Chat) -> None:
        self.control = control
        self.bot_name = bot_name
        self.user = user
        self.group = group

    async def command(self, text: str, expect: str) -> Message:
        """``expect`` is a regular expression the reply's text starts with."""
        name, _, rest = text.partition(" ")
        sent = self.control.send_text(self.user.id, self.group.id,
                                      f"{name}@{self.bot_name} {rest}".rstrip())

        def reply() -> Message | None:
            return next((m for m in self.control.bot_messages(self.group.id)
                         if m.message_id > sent.message_id and re.match(expect, m.text or "")),
                        None)

        try:
            await self.control.wait_until(lambda: reply() is not None, SETUP_TIMEOUT)
        except TimeoutError:
            said = [m.text for m in self.control.bot_messages(self.group.id)
                    if m.message_id > sent.message_id]
            raise BenchmarkError(f"{text!r}: expected a reply starting {expect!r} within "
                                 f"{SETUP_TIMEOUT:g} s; the bot said {said}") from None
        found = reply()
        assert found is not None
        return found


async def seed_cios(database_url: str, chat_id: int, cios: dict[str, User]) -> None:
    """A department per code and its CIO, in one transaction through the repositories the use
    cases use (one /department and one approved /join each would take minutes for 500)."""
    database = Database(database_url)
    try:
        async with database.uow() as uow:
            council = await uow.councils.by_chat(chat_id)
            if council is None:
                raise BenchmarkError("the council was not set up")
            for code, person in cios.items():
                department = await uow.departments.add(
                    Department(council.id, code, f"Bureau {code}"))
                await uow.members.add(Member(
                    council_id=council.id, name=person.first_name, role=Role.CIO,
                    telegram_id=person.id, username=person.username,
                    department_id=department.id))
            await uow.commit()
    finally:
        await database.dispose()


async def seed_presence(database_url: str, chat_id: int, meeting_id: int) -> None:
    """Every CIO present in person, as if each had pressed Here."""
    database = Database(database_url)
    try:
        async with database.uow() as uow:
            council = await uow.councils.by_chat(chat_id)
            assert council is not None
            for member in await uow.members.list(council.id):
                if member.role is Role.CIO:
                    await uow.attendance.put(Attendance(
                        meeting_id, member.department_id, AttendanceStatus.PRESENT,
                        member_id=member.id))
            await uow.commit()
    finally:
        await database.dispose()


async def answered(control: Control, stamps: AnswerStamps, queries: Sequence[str],
                   timeout: float, what: str) -> None:
    pending = set(queries)
    try:
        await control.wait_until(lambda: pending <= stamps.at.keys(), timeout)
    except TimeoutError:
        missing = len(set(queries) - stamps.at.keys())
        raise BenchmarkError(f"{what}: {missing} of {len(queries)} presses unanswered after "
                             f"{timeout:g} s") from None
    alerts = [a.text for a in control.callback_answers()
              if a.callback_query_id in pending and a.show_alert]
    if alerts:
        raise BenchmarkError(f"{what}: {len(alerts)} presses refused, e.g. {alerts[0]!r}")


async def open_motion(chair: Chair, text: str) -> tuple[int, Message]:
    message = await chair.command(f"/motion {text}", "🗳 Motion M")
    found = re.match(r"🗳 Motion M(\d+): ", message.text or "")
    assert found is not None
    return int(found.group(1)), message


async def close_motion(chair: Chair, motion_id: int, voters: int) -> None:
    # A burst smaller than the council may miss the quorum: only the count matters here.
    result = await chair.command(f"/close M{motion_id}", f"[✅❌] M{motion_id} ")
    tally = (result.text or "").splitlines()[1]
    if tally != f"Yes {voters} · No 0 · Abstain 0":
        raise BenchmarkError(f"M{motion_id}: expected {voters} Yes votes, the result says "
                             f"{tally!r}")


async def run_configuration(label: str, database_url: str, instances: int,
                            args: argparse.Namespace, directory: Path) -> Figures:
    def progress(line: str) -> None:
        say(f"[{label}] {line}")

    clock = FixedClock(NOW)
    figures = Figures(label)
    largest = args.council or max(args.bursts)
    started = time.perf_counter()
    await asyncio.to_thread(migrate.upgrade, database_url)
    policy = WebhookPolicy(first_delay=0.05, backoff=1.0)
    async with SandboxServer(clock=clock.timestamp, webhook_policy=policy) as sandbox, \
            deployment(sandbox, database_url, clock, directory, instances) as balancer:
        control = sandbox.control
        stamps = AnswerStamps(sandbox.bot)
        sandbox.world.listeners.append(stamps)
        chair_user = control.create_user("Wang Lei", username="wang_lei")
        cios = {f"D{n:03d}": control.create_user(f"CIO D{n:03d}", username=f"cio_d{n:03d}")
                for n in range(1, largest + 1)}
        group = control.create_group("CIO Council", creator=chair_user.id,
                                     admins=[chair_user.id], members=[p.id for p in cios.values()])
        await control.wait_until(lambda: bool(control.bot_messages(group.id)), SETUP_TIMEOUT)
        chair = Chair(control, sandbox.bot.username, chair_user, group)
        await chair.command("/setup Riverside CIO Council", "This group is now the council")
        await seed_cios(database_url, group.id, cios)
        await chair.command("/schedule 2026-11-25 14:30 120 Vote bursts", r"Scheduled: S1 ")
        await chair.command("/startmeeting", "🏛 Meeting S1 is open")
        await seed_presence(database_url, group.id, meeting_id=1)
        progress(f"{largest} departments and CIOs, all present; set up in "
                 f"{time.perf_counter() - started:.1f} s")
        voters = list(cios.values())

        motion_id, message = await open_motion(chair, "One press at a time")
        for cio in voters[:args.single]:
            pressed = time.perf_counter()
            query = control.press_button(cio.id, group.id, message.message_id, text="Yes")
            await answered(control, stamps, [query], args.timeout, "a single press")
            figures.single.append(stamps.at[query] - pressed)
        await close_motion(chair, motion_id, args.single)
        progress(f"one press alone: median {statistics.median(figures.single) * 1000:.1f} ms "
                 f"over {args.single}")

        for size in args.bursts:
            motion_id, message = await open_motion(chair, f"A burst of {size}")
            pressed_at: dict[str, float] = {}
            for cio in voters[:size]:  # all at once: nothing is awaited in this loop
                pressed_at[control.press_button(cio.id, group.id, message.message_id,
                                                text="Yes")] = time.perf_counter()
            first = min(pressed_at.values())
            await answered(control, stamps, list(pressed_at), args.timeout, f"burst of {size}")
            figures.bursts[size] = [stamps.at[q] - at for q, at in pressed_at.items()]
            figures.spans[size] = max(stamps.at[q] for q in pressed_at) - first
            await close_motion(chair, motion_id, size)
            progress(f"burst of {size}: all answered in {figures.spans[size]:.2f} s, "
                     f"{size} votes counted")
        shares = [sum(1 for u in balancer.accepted(i) if "callback_query" in u)
                  for i in range(instances)]
        if instances > 1:
            progress("presses handled per instance: " + ", ".join(map(str, shares)))
    return figures


# --- the run -----------------------------------------------------------------------------------


def say(line: str = "") -> None:
    print(line, flush=True)


async def benchmark(args: argparse.Namespace) -> list[Figures]:
    results = []
    with tempfile.TemporaryDirectory(prefix="vote-burst-") as name:
        directory = Path(name)
        for instances in args.instances:
            suffix = f", {instances} instance{'s' if instances > 1 else ''}"
            url = f"sqlite:///{directory / f'sqlite-{instances}' / 'council.sqlite3'}"
            results.append(await run_configuration(f"SQLite{suffix}", url, instances, args,
                                                   directory / f"sqlite-{instances}"))
            if args.postgres:
                with scratch_postgres(args.postgres, prefix="vote_burst") as url:
                    results.append(await run_configuration(
                        f"PostgreSQL{suffix}", url, instances, args,
                        directory / f"postgresql-{instances}"))
    return results


def report(results: list[Figures], args: argparse.Namespace) -> None:
    say()
    say(f"press → answer latency; single = one press alone (median of {args.single})")
    header = (f"{'':<26} {'voters':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
              f"{'p50/single':>10} {'p99/single':>10} {'presses/s':>9} {'>15 s':>5}")
    say(header)
    for figures in results:
        single = statistics.median(figures.single)
        say(f"{figures.label:<26} {'single':>6} {single * 1000:8.1f} "
            f"{percentile(figures.single, 99) * 1000:8.1f} {max(figures.single) * 1000:8.1f}")
        for size, values in figures.bursts.items():
            p50, p99 = percentile(values, 50), percentile(values, 99)
            late = sum(1 for v in values if v > ANSWER_WINDOW)
            say(f"{'':<26} {size:>6} {p50 * 1000:8.1f} {p99 * 1000:8.1f} "
                f"{max(values) * 1000:8.1f} {p50 / single:9.1f}x {p99 / single:9.1f}x "
                f"{size / figures.spans[size]:9.1f} {late:>5}")
    say(f"\n>15 s: answers later than Telegram's {ANSWER_WINDOW:g} s window (a real client "
        "would have given up on them; the sandbox's clock stands still, so it took them)")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Latency of vote-button presses when many CIOs press at once, against one "
                    "press alone, through the local sandbox Bot API server.")
    parser.add_argument("--bursts", type=int, nargs="+", default=[50, 200, 500], metavar="N",
                        help="voters pressing at once, one burst each (default 50 200 500)")
    parser.add_argument("--council", type=int, metavar="N",
                        help="departments (and CIOs, all present) in the council; each press "
                             "costs more in a bigger one (default: the largest burst)")
    parser.add_argument("--single", type=int, default=20,
                        help="presses measured one at a time for the baseline (default 20)")
    parser.add_argument("--instances", type=int, nargs="+", default=[1], metavar="N",
                        help="instances of the service behind the balancer; each count is a "
                             "configuration of its own (default 1)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds to wait for a burst to be answered (default 120)")
    parser.add_argument("--postgres", metavar="URL",
                        help="also run on PostgreSQL: a scratch database is created on this "
                             "server and dropped afterwards")
    args = parser.parse_args(argv)
    if min(args.bursts) < 1 or min(args.instances) < 1 or args.timeout <= 0:
        parser.error("--bursts and --instances must be at least 1, --timeout positive")
    council = args.council or max(args.bursts)
    if council < max(args.bursts):
        parser.error("--council must be at least the largest burst")
    if not 1 <= args.single <= council:
        parser.error("--single must be 1..the council's size (each press is by another CIO)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    say(f"machine: Python {platform.python_version()}, {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load}")
    say(f"libraries: python-telegram-bot {telegram.__version__}, "
        f"SQLAlchemy {sqlalchemy.__version__}")
    say(f"parameters: --bursts {' '.join(map(str, args.bursts))} "
        f"--council {args.council or max(args.bursts)} --single {args.single} "
        f"--instances {' '.join(map(str, args.instances))} --timeout {args.timeout:g}"
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
