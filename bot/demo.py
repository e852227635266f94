"""`cio-council demo`: a whole council session on this machine, with nothing from outside.

It starts the local Telegram sandbox, the real bot and its database on loopback, then plays a
script: a district CIO binds the group, adds nine departments, their CIOs join and are approved,
the secretariat sets the bimonthly series, and members ask what is next (also in Chinese). The
database and a transcript stay in the demo directory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.text import Text

from bot.clock import FixedClock
from bot.reminders import Reminders
from bot.sandbox import Control, SandboxServer, User
from bot.sandbox.driver import ChatDriver
from bot.telegram.app import build_application, polling
from bot.telegram.context import BotEnv, Defaults
from meetings.ports import Clock
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
CADENCE = "bimonthly 2TH 14:30 120"
STEPS = 10
# Files the demo owns in its directory; a new run replaces them and touches nothing else.
OUTPUTS = ("council.sqlite3", "council.sqlite3-wal", "council.sqlite3-shm", "transcript.txt")


@dataclass
class Cast:
    """The people of the sample council, as sandbox users."""

    chair: User
    secretary: User
    expert: User
    cios: dict[str, User] = field(default_factory=dict)

    @classmethod
    def create(cls, control: Control, codes: list[str]) -> Cast:
        cast = cls(chair=control.create_user("Wang Lei", username="wang_lei"),
                   secretary=control.create_user("Chen Jing", username="chen_jing"),
                   expert=control.create_user("Zhou Min", username="zhou_min"),
                   cios={code: control.create_user(f"CIO {code}", username=f"cio_{code.lower()}")
                         for code in codes})
        for person in cast.everyone:
            control.start_bot(person.id)
        return cast

    @property
    def everyone(self) -> list[User]:
        return [self.chair, self.secretary, self.expert, *self.cios.values()]


Step = Callable[[str], None]


async def found_council(driver: ChatDriver, cast: Cast, departments: list[tuple[str, str]],
                        *, step: Step = lambda _: None) -> None:
    """The chair binds the group, adds departments, approves each CIO and names the office."""
    step(f"{cast.chair.first_name} (district CIO) binds the group: /setup {COUNCIL_NAME}")
    await driver.command(cast.chair, f"/setup {COUNCIL_NAME}")
    step(f"The chair adds {len(departments)} departments with /department")
    for code, name in departments:
        await driver.command(cast.chair, f"/department {code} {name}")
    step(f"{len(cast.cios)} department CIOs send /join; the chair presses Approve for each")
    for code, cio in cast.cios.items():
        request = await driver.ask(cio, f"/join {code}")
        before = request.text
        await driver.press(cast.chair, request, "Approve")
        await driver.edited(request, before)
    step("The chair names the secretariat and the expert with /role")
    await driver.command(cast.chair, f"/role {cast.secretary.id} secretary")
    await driver.command(cast.chair, f"/role {cast.expert.id} expert")


def run_demo(directory: Path, *, clock: Clock, console: Console) -> None:
    asyncio.run(_play(directory, FixedClock(clock.now()), console))


async def _play(directory: Path, clock: FixedClock, console: Console) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in OUTPUTS:
        (directory / name).unlink(missing_ok=True)
    url = f"sqlite:///{(directory / 'council.sqlite3').resolve()}"
    migrate.upgrade(url)
    async with SandboxServer(clock=clock.timestamp) as sandbox:
        console.print(f"Local Telegram sandbox at {sandbox.url}; database {url}")
        database = Database(url)
        application = build_application(
            sandbox.token, BotEnv(database, clock, Defaults()), base_url=sandbox.base_url,
            base_file_url=sandbox.base_file_url, rate_limit=False)
        try:
            async with polling(application, timeout=1):
                reminders = Reminders(database, application.bot, clock, worker="demo")
                transcript = await _script(sandbox, console, clock, database, reminders)
        finally:
            await database.dispose()
    (directory / "transcript.txt").write_text(transcript, encoding="utf-8")
    console.print(f"\nThe database and transcript.txt are in {directory.resolve()}.")
    console.print(f"Look around: COUNCIL_DATABASE_URL={url} cio-council meetings list")


async def _script(sandbox: SandboxServer, console: Console, clock: FixedClock,
                  database: Database, reminders: Reminders) -> str:
    control = sandbox.control
    cast = Cast.create(control, [code for code, _ in DEPARTMENTS])
    group = control.create_group("Riverside CIO Council", creator=cast.chair.id,
                                 admins=[cast.chair.id], members=[p.id for p in cast.everyone[1:]])
    await control.wait_until(lambda: bool(control.bot_messages(group.id)))  # the bot's greeting
    driver = ChatDriver(control, sandbox.bot.username, group.id)
    steps = iter(range(1, STEPS + 1))

    def step(text: str) -> None:
        console.print(f"[bold cyan][{next(steps)}/{STEPS}][/] {text}")

    await found_council(driver, cast, DEPARTMENTS, step=step)
    step(f"The secretariat sets the bimonthly series: /cadence {CADENCE}")
    _show(console, await driver.command(cast.secretary, f"/cadence {CADENCE}"))
    step("Two CIOs propose agenda items; the chair marks one a major issue and defers the other")
    platform = await driver.command(cast.cios["EPB"], "/propose Shared environmental data "
                                    "platform | Open monitoring data to all bureaus")
    licences = await driver.command(cast.cios["MSB"], "/propose E-licence pilot for markets")
    await driver.command(cast.chair, f"/major {_item_id(platform)}")
    await driver.command(cast.chair, f"/defer {_item_id(licences)}")
    _show(console, await driver.command(cast.secretary, "/agenda"))
    step("A CIO asks what is next: /next")
    _show(console, await driver.command(cast.cios["EPB"], "/next"))
    step("The chair switches the council to Chinese and a CIO asks again: /lang zh, /next")
    await driver.command(cast.chair, "/lang zh")
    _show(console, await driver.command(cast.cios["MSB"], "/next"))
    step("Roll: /members")
    _show(console, await driver.command(cast.expert, "/members"))
    step("Time passes to 14 days before the first meeting: the agenda call goes out")
    clock.advance(await _until_agenda_call(database, clock))
    report = await reminders.tick()
    _show(console, control.bot_messages(group.id)[-1].text or "")
    console.print(f"    ({report.sent} reminders sent: the group and each member privately)")
    return "\n".join(f"{m.sender.first_name}: {m.text}" for m in control.transcript(group.id)
                     if m.text)


async def _until_agenda_call(database: Database, clock: FixedClock) -> timedelta:
    """How far the demo's clock must move for the first meeting's agenda call to fall due."""
    async with database.uow() as uow:
        council = (await uow.councils.list())[0]
        first = (await uow.meetings.list(council.id, since=clock.now()))[0]
    return first.starts_at - timedelta(days=council.agenda_call_days) - clock.now()


def _item_id(reply: str) -> str:
    """The `#N` a /propose reply names first."""
    return reply.split("#", 1)[1].split()[0]


def _show(console: Console, reply: str) -> None:
    for line in reply.splitlines():
        # The bot's text is shown as it is: brackets in it are not console markup.
        console.print(Text.assemble(("    bot: ", "green"), line))
