"""Chat throughput: our bot against a bare PTB bot, both polling the local sandbox Bot API server.

    .venv/bin/python benchmarks/chat_throughput.py [--users 50] [--commands 400]
        [--concurrency 20] [--rounds 2] [--bot-process] [--postgres URL]

The sandbox server (rate limits off) and the simulated people run in this process; the bot under
test runs in the same event loop, as in tests/e2e/harness.py, or with `--bot-process` in a process
of its own. Our bot (`build_application`, no rate limiter) runs on a fresh, migrated SQLite
database in a temporary directory; a council is founded through the group chat (setup, N
departments whose CIOs /join and are approved, a secretariat, a bimonthly /cadence). Then people
send a fixed mix of reads (the CIOs) and writes (the chair and the secretariat), each in their own
private chat with the bot, at most one command in flight per chat and `--concurrency` in all. A
command's latency runs from `send_text` to the bot's reply appearing in the sandbox (the
control's change notifications wake the waiter: no sleeps, no polling). A bare PTB Application
that answers "ok" to the same commands, with no database, gets the same load from the same people
on the same sandbox, in alternating rounds: the ratios ours/bare are the figures to compare across
runs and machines, since both sides see the same noise. After the last round each bot also
answers `--unloaded` commands one at a time, for each command's latency without queueing.
`--postgres URL` names a server where the benchmark creates a scratch database, runs our bot on it
too, and drops it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy
import telegram
from scratch import ScratchDatabaseError, scratch_postgres  # benchmarks/scratch.py
from sqlalchemy.engine import make_url
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes, filters

from bot.clock import FixedClock
from bot.sandbox import Chat, Control, Message, SandboxServer, User
from bot.telegram.app import build_application
from bot.telegram.context import BotEnv, Defaults
from meetings.domain.calendars import public_holidays
from storage import Database, migrate

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # the harness's date: the bot's clock stands still
COUNCIL = "Riverside District CIO Council"
CADENCE = "bimonthly 2TH 14:30 120"
SETUP_TIMEOUT = 30.0  # seconds for any one founding step (a first command warms caches)
# The load, repeated in this order: 40% /next, 20% /members, 20% /help (reads, by the CIOs),
# 10% /department and 10% /schedule (writes, each a new code or date, by the chair and the
# secretariat in turn).
MIX = ("next", "members", "next", "help", "department", "next", "members", "help", "next",
       "schedule")
WRITES = frozenset({"department", "schedule"})
# What each of our replies starts with; the bare bot always answers "ok".
OUR_REPLIES = {
    "next": "Next meeting: ",
    "members": f"Members of {COUNCIL}:",
    "help": "Commands you can use:",
    "department": "Department ",
    "schedule": "Scheduled: ",
}


class BenchmarkError(Exception):
    """The bot did not answer as expected: the message says which command, who and what."""


# --- people and commands -------------------------------------------------------------------------


def secretariat_size(concurrency: int) -> int:
    """Enough office holders that the writes (a fifth of the load, one in flight per person)
    keep up with the reads at this concurrency, rather than holding the load back."""
    return max(1, concurrency // 4)


@dataclass
class Cast:
    chair: User
    secretaries: list[User]
    cios: dict[str, User]

    @classmethod
    def create(cls, control: Control, users: int, secretaries: int) -> Cast:
        codes = [f"D{number:03d}" for number in range(1, users + 1)]
        cast = cls(chair=control.create_user("Wang Lei", username="wang_lei"),
                   secretaries=[control.create_user(f"Secretary {number}",
                                                    username=f"secretary_{number}")
                                for number in range(1, secretaries + 1)],
                   cios={code: control.create_user(f"CIO {code}", username=f"cio_{code.lower()}")
                         for code in codes})
        for person in cast.everyone:
            control.start_bot(person.id)
        return cast

    @property
    def office(self) -> list[User]:
        return [self.chair, *self.secretaries]

    @property
    def everyone(self) -> list[User]:
        return [*self.office, *self.cios.values()]


@dataclass(frozen=True, slots=True)
class Job:
    kind: str
    user: User
    text: str


class Workload:
    """An endless, deterministic stream of commands; writes never repeat a code or a date."""

    def __init__(self, cast: Cast) -> None:
        self.cast = cast
        self._serial = 0
        self._reads = 0
        self._writes = 0
        self._days = self._working_days()

    @staticmethod
    def _working_days() -> Iterator[date]:
        calendar = public_holidays("CN")  # the council's default: its own rule for /schedule
        day = date(2027, 3, 1)  # after the series' first meeting, so /next stays the same
        while True:
            if calendar.is_working_day(day):
                yield day
            day += timedelta(days=1)

    def take(self, count: int) -> list[Job]:
        readers, writers = list(self.cast.cios.values()), self.cast.office
        jobs = []
        for _ in range(count):
            kind = MIX[self._serial % len(MIX)]
            self._serial += 1
            if kind in WRITES:
                writer = writers[self._writes % len(writers)]
                self._writes += 1
                if kind == "department":
                    code = f"W{self._serial:05d}"
                    jobs.append(Job(kind, writer, f"/department {code} Working group {code}"))
                else:
                    day = next(self._days)
                    jobs.append(Job(kind, writer,
                                    f"/schedule {day.isoformat()} 10:00 60 Extra {self._serial}"))
            else:
                jobs.append(Job(kind, readers[self._reads % len(readers)], f"/{kind}"))
                self._reads += 1
        return jobs


# --- asking the bot and waiting for its answer ---------------------------------------------------


async def wait_until(control: Control, condition: Callable[[], bool], timeout: float,
                     what: str | None = None) -> None:
    """`Control.wait_until` that also ends when this task is being cancelled (Ctrl-C): on
    Python 3.11 `asyncio.wait_for`, which the sandbox waits with, can lose a cancellation that
    coincides with a wake-up, and the waiter would then run on to its timeout. With ``what``, a
    timeout is a `BenchmarkError` saying what did not happen."""
    task = asyncio.current_task()

    def cancelled() -> bool:
        return task is not None and task.cancelling() > 0

    try:
        await control.wait_until(lambda: cancelled() or condition(), timeout)
    except TimeoutError:
        if what is None:
            raise
        raise BenchmarkError(f"{what} did not happen within {timeout:g} s") from None
    if cancelled():
        raise asyncio.CancelledError


def _replies_after(chat: Chat, after_id: int, bot_id: int) -> list[Message]:
    """The bot's messages in ``chat`` newer than ``after_id``, oldest first (reads from the end)."""
    found: list[Message] = []
    for message in reversed(chat.messages.values()):
        if message.message_id <= after_id:
            break
        if message.sender.id == bot_id and not message.deleted:
            found.append(message)
    found.reverse()
    return found


@dataclass
class Asker:
    """Sends as a person and waits for the bot's reply that ``accept`` recognises."""

    control: Control
    bot_id: int
    bot_name: str

    async def ask(self, user: User, chat_id: int, text: str, accept: Callable[[str], bool], *,
                  timeout: float, strays: bool = False) -> tuple[Message, float]:
        """Returns the reply and the seconds from sending to its appearance. A reply that
        ``accept`` refuses is an error at once, unless ``strays`` (the rest of a long reply to
        the previous command may still be arriving in this chat)."""
        chat = self.control.chat(chat_id)
        start = time.perf_counter()
        sent = self.control.send_text(user.id, chat_id, text)
        reply: Message | None = None
        wrong: Message | None = None
        answered = start

        def ready() -> bool:
            nonlocal reply, wrong, answered
            for message in _replies_after(chat, sent.message_id, self.bot_id):
                if accept(message.text or ""):
                    reply, answered = message, time.perf_counter()
                    return True
                if not strays:
                    wrong = message
                    return True
            return False

        try:
            await wait_until(self.control, ready, timeout)
        except TimeoutError:
            said = [m.text for m in _replies_after(chat, sent.message_id, self.bot_id)]
            raise BenchmarkError(f"no expected reply to {text!r} from {user.first_name} "
                                 f"(user {user.id}, chat {chat_id}) within {timeout:g} s; "
                                 f"the bot said since: {said!r}") from None
        if reply is None:
            assert wrong is not None
            raise BenchmarkError(f"unexpected reply to {text!r} from {user.first_name} "
                                 f"(user {user.id}, chat {chat_id}): {wrong.text!r}")
        return reply, answered - start

    async def command(self, user: User, chat_id: int, text: str, expect: str) -> Message:
        """A command addressed to the bot in a group (``/cmd@bot``), as privacy mode needs."""
        name, _, rest = text.partition(" ")
        addressed = f"{name}@{self.bot_name} {rest}".rstrip()
        reply, _ = await self.ask(user, chat_id, addressed, lambda said: said.startswith(expect),
                                  timeout=SETUP_TIMEOUT)
        return reply


def _answered(control: Control, query: str) -> Callable[[], bool]:
    return lambda: any(a.callback_query_id == query for a in control.callback_answers())


def _edited(message: Message, before: str | None) -> Callable[[], bool]:
    return lambda: message.text != before


async def found_council(asker: Asker, group: Chat, cast: Cast, progress: Callable[[str], None],
                        ) -> None:
    """As tests/e2e/harness.py does: setup, departments, joins approved by the chair, a
    secretary, then the secretariat sets the bimonthly series."""
    control, chair, where = asker.control, cast.chair, group.id
    start = time.perf_counter()
    await asker.command(chair, where, f"/setup {COUNCIL}", "This group is now the council")
    progress(f"/setup done; adding {len(cast.cios)} departments")
    for number, code in enumerate(cast.cios, 1):
        await asker.command(chair, where, f"/department {code} {code} Bureau", "Department ")
        if number % 25 == 0 or number == len(cast.cios):
            progress(f"departments: {number}/{len(cast.cios)}")
    for number, (code, cio) in enumerate(cast.cios.items(), 1):
        request = await asker.command(cio, where, f"/join {code}", f"{cio.first_name} asks")
        asked = request.text
        query = control.press_button(chair.id, where, request.message_id, text="Approve")
        await wait_until(control, _answered(control, query), SETUP_TIMEOUT,
                         f"the bot's answer to the chair approving {cio.first_name}")
        refused = [a.text for a in control.callback_answers() if a.callback_query_id == query]
        if refused[0]:
            raise BenchmarkError(f"approving {cio.first_name} was refused: {refused[0]!r}")
        await wait_until(control, _edited(request, asked), SETUP_TIMEOUT,
                         f"the edit of {cio.first_name}'s join request")
        if number % 25 == 0 or number == len(cast.cios):
            progress(f"CIOs joined and approved: {number}/{len(cast.cios)}")
    for secretary in cast.secretaries:
        await asker.command(chair, where, f"/role {secretary.id} secretary",
                            f"{secretary.first_name} is now")
    series = await asker.command(cast.secretaries[0], where, f"/cadence {CADENCE}",
                                 "Regular series set")
    first = (series.text or "").splitlines()[1:2]
    office = plural(len(cast.secretaries), "secretary", "secretaries")
    progress(f"{office} named; /cadence {CADENCE}: first meeting {first[0] if first else '?'}; "
             f"founded in {time.perf_counter() - start:.1f} s")


# --- the load ------------------------------------------------------------------------------------


@dataclass
class Figures:
    label: str
    latencies: list[float] = field(default_factory=list)  # seconds
    by_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    seconds: float = 0.0  # wall time of the measured load

    @property
    def commands(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.commands / self.seconds if self.seconds else 0.0

    def ms(self, percent: int, values: Sequence[float] | None = None) -> float:
        return percentile(self.latencies if values is None else values, percent) * 1000


def percentile(values: Sequence[float], percent: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def _leaves(group: BaseExceptionGroup[Any]) -> Iterator[BaseException]:
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            yield from _leaves(error)
        else:
            yield error


async def run_load(asker: Asker, jobs: list[Job], expect: Callable[[str], Callable[[str], bool]],
                   *, concurrency: int, timeout: float, figures: Figures | None) -> None:
    """Sends ``jobs`` from ``concurrency`` workers, one command in flight per person's chat:
    a worker takes the first job whose chat is free, so none waits while others could go."""
    waiting = list(jobs)
    busy: set[int] = set()  # chats (= people) with a command in flight
    freed = asyncio.Condition()
    previous: dict[int, str] = {}  # the kind last asked in each chat

    async def next_job() -> Job | None:
        async with freed:
            while waiting:
                job = next((job for job in waiting if job.user.id not in busy), None)
                if job is not None:
                    waiting.remove(job)
                    busy.add(job.user.id)
                    return job
                await freed.wait()
        return None

    async def worker() -> None:
        while (job := await next_job()) is not None:
            strays = previous.get(job.user.id) == "members"  # a roster may come in pieces
            previous[job.user.id] = job.kind
            _, seconds = await asker.ask(job.user, job.user.id, job.text, expect(job.kind),
                                         timeout=timeout, strays=strays)
            async with freed:
                busy.discard(job.user.id)
                freed.notify_all()
            if figures is not None:
                figures.latencies.append(seconds)
                figures.by_kind[job.kind].append(seconds)

    start = time.perf_counter()
    try:
        async with asyncio.TaskGroup() as workers:
            for _ in range(concurrency):
                workers.create_task(worker())
    except ExceptionGroup as failed:  # the first worker's error stopped the others: report it
        first = next(_leaves(failed))
        if isinstance(first, BenchmarkError):
            raise first from None
        raise
    if figures is not None:
        figures.seconds += time.perf_counter() - start


def ours_expect(kind: str) -> Callable[[str], bool]:
    prefix = OUR_REPLIES[kind]
    return lambda text: text.startswith(prefix)


def bare_expect(_kind: str) -> Callable[[str], bool]:
    return lambda text: text == "ok"


# --- the bots ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recipe:
    """How to build one bot: ours on ``database``, or the bare baseline (no database)."""

    token: str
    base_url: str
    base_file_url: str
    database: str | None = None  # None: the bare PTB bot

    def build(self, clock: FixedClock) -> tuple[AnyApplication, Database | None]:
        if self.database is None:
            return bare_application(self), None
        database = Database(self.database)
        env = BotEnv(database=database, clock=clock, defaults=Defaults())
        return build_application(self.token, env, base_url=self.base_url,
                                 base_file_url=self.base_file_url, rate_limit=False), database


async def _ok(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text("ok", do_quote=False)


def bare_application(recipe: Recipe) -> AnyApplication:
    """The baseline: PTB alone, answering "ok" to the benchmark's commands; no database."""
    application = (ApplicationBuilder().token(recipe.token).base_url(recipe.base_url)
                   .base_file_url(recipe.base_file_url).build())
    application.add_handler(CommandHandler([*MIX, "start"], _ok,
                                           filters=filters.UpdateType.MESSAGE))
    return application


async def start_polling(application: AnyApplication) -> None:
    await application.start()
    assert application.updater is not None
    # As the harness polls; earlier bots' leftovers (a /start, an unconfirmed offset) go.
    await application.updater.start_polling(poll_interval=0, timeout=1, drop_pending_updates=True)


async def stop_polling(application: AnyApplication) -> None:
    assert application.updater is not None
    if application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()


class InProcess:
    """The bot in the benchmark's own event loop, beside the sandbox (as the e2e harness runs)."""

    def __init__(self, recipe: Recipe) -> None:
        self.recipe = recipe
        self._built: tuple[AnyApplication, Database | None] | None = None

    async def start(self) -> None:
        if self._built is None:
            self._built = self.recipe.build(FixedClock(NOW))
            await self._built[0].initialize()
        await start_polling(self._built[0])

    async def stop(self) -> None:
        if self._built is not None:
            await stop_polling(self._built[0])

    async def close(self) -> None:
        if self._built is not None:
            application, database = self._built
            self._built = None
            await stop_polling(application)
            await application.shutdown()
            if database is not None:
                await database.dispose()


class ChildProcess:
    """The bot alone in a process of its own (``--bot-process``): this script run with
    ``--child``, told its recipe on standard input (so no password shows in the process list)
    and polling until that input closes."""

    def __init__(self, recipe: Recipe) -> None:
        self.recipe = recipe
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, str(Path(__file__).resolve()), "--child",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(json.dumps(dataclasses.asdict(self.recipe)).encode() + b"\n")
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), SETUP_TIMEOUT)
        except TimeoutError:
            line = b""
        if line.strip() != b"polling":
            await self.stop()
            raise BenchmarkError(f"the bot process did not start polling within "
                                 f"{SETUP_TIMEOUT:g} s (it said {line!r}; see its errors above)")

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()  # the child's signal to stop polling and exit
        try:
            await asyncio.wait_for(process.wait(), SETUP_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise BenchmarkError("the bot process did not stop; killed it") from None

    async def close(self) -> None:
        await self.stop()


async def child() -> None:
    """In the child: read the recipe, poll the sandbox until the parent closes our input."""
    loop = asyncio.get_running_loop()
    recipe = Recipe(**json.loads(await loop.run_in_executor(None, sys.stdin.readline)))
    application, database = recipe.build(FixedClock(NOW))
    try:
        async with application:
            await start_polling(application)
            print("polling", flush=True)
            try:
                await loop.run_in_executor(None, sys.stdin.read)
            finally:
                await stop_polling(application)
    finally:
        if database is not None:
            await database.dispose()


Runner = InProcess | ChildProcess


@dataclass
class Contender:
    label: str
    runner: Runner
    expect: Callable[[str], Callable[[str], bool]]
    figures: Figures = field(init=False)  # under load
    unloaded: Figures = field(init=False)  # one command at a time

    def __post_init__(self) -> None:
        self.figures = Figures(self.label)
        self.unloaded = Figures(self.label)


# --- the run -------------------------------------------------------------------------------------


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def say(line: str = "") -> None:
    print(line, flush=True)


async def greeting(control: Control, chat_id: int) -> None:
    await wait_until(control, lambda: bool(control.bot_messages(chat_id)), SETUP_TIMEOUT,
                     "the bot's greeting in the new group")


def _prefixed(label: str) -> Callable[[str], None]:
    return lambda line: say(f"[{label}] {line}")


async def benchmark(args: argparse.Namespace) -> list[Contender]:
    clock = FixedClock(NOW)
    runner: type[InProcess] | type[ChildProcess] = ChildProcess if args.bot_process else InProcess
    async with AsyncExitStack() as stack:
        sandbox = await stack.enter_async_context(SandboxServer(clock=clock.timestamp))
        control = sandbox.control
        bot = sandbox.bot
        asker = Asker(control, bot.user.id, bot.username)
        cast = Cast.create(control, args.users, secretariat_size(args.concurrency))
        say(f"sandbox at {sandbox.url} (rate limits off); {len(cast.everyone)} people; bots run "
            + ("each in a process of its own" if args.bot_process else "in this event loop"))

        def recipe(database: str | None) -> Recipe:
            return Recipe(sandbox.token, sandbox.base_url, sandbox.base_file_url, database)

        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="throughput-")))
        databases = [("ours (SQLite)", f"sqlite:///{directory / 'council.sqlite3'}")]
        if args.postgres:
            databases.append(("ours (PostgreSQL)", stack.enter_context(
                scratch_postgres(args.postgres, prefix="chat_throughput"))))

        contenders: list[Contender] = []
        group: Chat | None = None
        for label, url in databases:
            say(f"[{label}] migrating {make_url(url).render_as_string(hide_password=True)}")
            migrate.upgrade(url)
            contender = Contender(label, runner(recipe(url)), ours_expect)
            contenders.append(contender)
            stack.push_async_callback(contender.runner.close)
            await contender.runner.start()
            try:
                if group is None:  # the bot is added to the group and greets it
                    group = control.create_group("CIO Council", creator=cast.chair.id,
                                                 admins=[cast.chair.id],
                                                 members=[p.id for p in cast.everyone[1:]])
                    await greeting(control, group.id)
                await found_council(asker, group, cast, _prefixed(label))
            finally:
                await contender.runner.stop()

        bare = Contender("bare PTB", runner(recipe(None)), bare_expect)
        stack.push_async_callback(bare.runner.close)
        contenders.insert(1, bare)

        workload = Workload(cast)
        for round_number in range(1, args.rounds + 1):
            for contender in contenders:
                await contender.runner.start()
                try:
                    if round_number == 1 and args.warmup:
                        await run_load(asker, workload.take(args.warmup), contender.expect,
                                       concurrency=args.concurrency, timeout=args.timeout,
                                       figures=None)
                    before = contender.figures.seconds
                    await run_load(asker, workload.take(args.commands), contender.expect,
                                   concurrency=args.concurrency, timeout=args.timeout,
                                   figures=contender.figures)
                    seconds = contender.figures.seconds - before
                    say(f"round {round_number}/{args.rounds}: {contender.label}: "
                        f"{args.commands} commands in {seconds:.2f} s "
                        f"({args.commands / seconds:.1f}/s)")
                    if round_number == args.rounds and args.unloaded:
                        await run_load(asker, workload.take(args.unloaded), contender.expect,
                                       concurrency=1, timeout=args.timeout,
                                       figures=contender.unloaded)
                finally:
                    await contender.runner.stop()
        return contenders


def report(contenders: list[Contender]) -> None:
    results = [contender.figures for contender in contenders]
    bare = next(figures for figures in results if figures.label == "bare PTB")
    say()
    say(f"{'under load':<20}{'commands':>9}{'updates/s':>11}{'ms/update':>11}{'p50 ms':>9}"
        f"{'p95 ms':>9}{'p99 ms':>9}")
    for figures in results:
        say(f"{figures.label:<20}{figures.commands:>9}{figures.rate:>11.1f}"
            f"{1000 / figures.rate:>11.2f}{figures.ms(50):>9.1f}{figures.ms(95):>9.1f}"
            f"{figures.ms(99):>9.1f}")
    say()
    say(f"{'ours / bare':<20}{'throughput':>11}{'p50':>9}{'p99':>9}{'added ms/update':>17}")
    for figures in results:
        if figures is not bare:
            say(f"{figures.label:<20}{figures.rate / bare.rate:>10.2f}x"
                f"{figures.ms(50) / bare.ms(50):>8.2f}x{figures.ms(99) / bare.ms(99):>8.2f}x"
                f"{1000 / figures.rate - 1000 / bare.rate:>17.2f}")
    unloaded = [contender.unloaded for contender in contenders]
    if not unloaded[0].commands:
        return
    kinds = list(dict.fromkeys(MIX))
    say()
    say(f"one command at a time ({unloaded[0].commands} per bot): p50 ms of each command")
    say(f"{'':<20}" + "".join(f"{'/' + kind:>12}" for kind in kinds) + f"{'all':>9}")
    for figures in unloaded:
        say(f"{figures.label:<20}" + "".join(
            f"{figures.ms(50, figures.by_kind[kind]):>12.1f}" for kind in kinds)
            + f"{figures.ms(50):>9.1f}")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Command-to-reply latency and updates/s of our bot against a bare PTB bot, "
                    "through the local sandbox Bot API server.")
    parser.add_argument("--users", type=int, default=50, help="department CIOs (default 50)")
    parser.add_argument("--commands", type=int, default=400,
                        help="measured commands per bot and round (default 400)")
    parser.add_argument("--concurrency", type=int, default=20,
                        help="commands in flight at once, one per chat (default 20)")
    parser.add_argument("--warmup", type=int, default=20,
                        help="unmeasured commands per bot before its first round (default 20)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds; each runs every bot in turn, so drift in the machine's "
                             "speed hits all of them (default 2)")
    parser.add_argument("--unloaded", type=int, default=100,
                        help="commands per bot sent one at a time after the last round, for each "
                             "command's latency without queueing (default 100; 0: skip)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for any one reply (default 10)")
    parser.add_argument("--bot-process", action="store_true",
                        help="run each bot in a process of its own instead of beside the sandbox "
                             "in this event loop")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # the bot
    parser.add_argument("--postgres", metavar="URL",
                        help="also run our bot on PostgreSQL: a scratch database is created on "
                             "this server and dropped afterwards")
    args = parser.parse_args(argv)
    if args.users < 1 or args.commands < 1 or args.rounds < 1 or min(args.warmup,
                                                                     args.unloaded) < 0:
        parser.error("--users, --commands and --rounds must be at least 1, --warmup and "
                     "--unloaded at least 0")
    people = args.users + 1 + secretariat_size(args.concurrency)
    if not 1 <= args.concurrency <= people:
        parser.error(f"--concurrency must be 1..{people}: one command in flight per person "
                     f"(the CIOs, the chair and the secretariat)")
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.child:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(child())
        return 0
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    say(f"machine: Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpus} usable), "
        f"load average {load}")
    say(f"libraries: python-telegram-bot {telegram.__version__}, "
        f"SQLAlchemy {sqlalchemy.__version__}")
    say(f"parameters: --users {args.users} --commands {args.commands} "
        f"--concurrency {args.concurrency} --warmup {args.warmup} --rounds {args.rounds} "
        f"--unloaded {args.unloaded} "
        f"--timeout {args.timeout:g}" + (" --bot-process" if args.bot_process else "")
        + (" --postgres" if args.postgres else ""))
    say(f"mix: {', '.join(f'/{kind}' for kind in MIX)} (repeated), each in the sender's "
        f"private chat; reads by the CIOs, writes by the chair and "
        f"{plural(secretariat_size(args.concurrency), 'secretary', 'secretaries')} in turn")
    started = time.perf_counter()
    try:
        results = asyncio.run(benchmark(args))
    except (BenchmarkError, ScratchDatabaseError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    report(results)
    say(f"\ntotal run time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
