"""`cio-council demo`: a whole council session on this machine, with nothing from outside.

It starts the local Telegram sandbox, the real bot and its database on loopback, then plays a
script: a district CIO binds the group, adds nine departments, their CIOs join and are approved,
the secretariat sets the bimonthly series, and members ask what is next (also in Chinese). Then
the first meeting is held (roll call, proxy and apology, topic, notes, a named vote, a secret
ballot, a decision and an action item) and, after it, a circular vote closes by itself at its
deadline. The demo's clock is a FixedClock moved from step to step, so a whole season passes in
seconds. The database and a transcript stay in the demo directory.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path

from rich.console import Console
from rich.text import Text

from bot.clock import FixedClock
from bot.reminders import Reminders
from bot.sandbox import Control, SandboxServer, User
from bot.sandbox.driver import ChatDriver
from bot.sandbox.state import Message
from bot.telegram.app import AnyApplication, build_application, polling, settle_live
from bot.telegram.context import BotEnv, Defaults
from meetings.domain.model import Council, Meeting, Motion
from meetings.domain.scheduling import to_local
from meetings.ports import Clock
from meetings.usecases.outbox import vote_reminder_at
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
STEPS = 21
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


# Left beside the demo's database, so a later run knows it may replace it.
MARKER = ".cio-council-demo"


class DemoRefused(Exception):
    """The demo will not touch this directory: it holds a database the demo did not create."""


def run_demo(directory: Path, *, clock: Clock, console: Console) -> None:
    asyncio.run(_play(directory, FixedClock(clock.now()), console))


def _claim(directory: Path) -> None:
    """Makes ``directory`` the demo's, refusing one that holds someone else's database."""
    foreign = [p.name for p in (sorted(directory.glob("*.sqlite3")) if directory.is_dir() else [])]
    if foreign and not (directory / MARKER).exists():
        raise DemoRefused(f"{directory} holds a database the demo did not create ({foreign[0]}); "
                          "choose another --dir")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("Made by `cio-council demo`; it replaces its files here.\n",
                                    encoding="utf-8")


async def _play(directory: Path, clock: FixedClock, console: Console) -> None:
    _claim(directory)
    for name in OUTPUTS:
        (directory / name).unlink(missing_ok=True)
    url = f"sqlite:///{(directory / 'council.sqlite3').resolve()}"
    migrate.upgrade(url)
    async with SandboxServer(clock=clock.timestamp) as sandbox:
        console.print(f"Local Telegram sandbox at {sandbox.url}; database {url}")
        database = Database(url)
        # No pause between edits of a vote's live count: the sandbox does not throttle, and the
        # demo should not wait for Telegram's pace.
        application = build_application(
            sandbox.token, BotEnv(database, clock, Defaults()), base_url=sandbox.base_url,
            base_file_url=sandbox.base_file_url, rate_limit=False, count_interval=0)
        try:
            async with polling(application, timeout=1):
                reminders = Reminders(database, application.bot, clock, worker="demo")
                transcript = await _script(sandbox, console, clock, database, reminders,
                                           application)
        finally:
            await database.dispose()
    (directory / "transcript.txt").write_text(transcript, encoding="utf-8")
    console.print(f"\nThe database and transcript.txt are in {directory.resolve()}.")
    console.print(f"Look around: COUNCIL_DATABASE_URL={url} cio-council meetings list")


@dataclass
class Scene:
    """What the steps share: the group chat and its people, the clock and the reminder worker."""

    control: Control
    driver: ChatDriver
    cast: Cast
    group: int
    clock: FixedClock
    database: Database
    reminders: Reminders
    console: Console
    step: Step

    def show(self, reply: str, *, to: str = "") -> None:
        _show(self.console, reply, to=to)

    def later(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    def cio(self, code: str) -> User:
        return self.cast.cios[code]


async def _script(sandbox: SandboxServer, console: Console, clock: FixedClock,
                  database: Database, reminders: Reminders, application: AnyApplication) -> str:
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

    scene = Scene(control, driver, cast, group.id, clock, database, reminders, console, step)
    await _meeting(scene, _item_id(platform))
    await _circular_vote(scene)
    # The votes' own messages show their results (and the roll call its final attendance)
    # before the transcript is taken.
    await settle_live(application)
    return "\n".join(_as_posted(m) for m in control.transcript(group.id)
                     if m.text or "document" in m.content)


# The first meeting's roll call: most CIOs press the button, one types /here, the office records
# a deputy and an apology, and TRN never answers (so it is absent when the meeting ends).
BY_BUTTON = ("EPB", "MSB", "EDU", "HLTH", "PSB")
BY_COMMAND = "FIN"
PROXY = ("HRSS", "Li Na")
EXCUSED = ("CIV", "provincial inspection")
# How the CIOs present vote: MSB first presses No on the named vote, then changes to Yes.
NAMED = {"EPB": "Yes", "MSB": "Yes", "EDU": "Yes", "HLTH": "No", "PSB": "Abstain", "FIN": "Yes"}
SECRET = {"EPB": "Yes", "MSB": "Yes", "EDU": "Yes", "HLTH": "No", "PSB": "No", "FIN": "Yes"}
# The circular vote: four press in the group at once, TRN votes privately once reminded.
CIRCULAR = {"EPB": "Yes", "MSB": "Yes", "EDU": "No", "HLTH": "Yes"}


async def _meeting(scene: Scene, item: str) -> None:
    """The first meeting, from the roll call to its end."""
    driver, cast = scene.driver, scene.cast
    chair, secretary = cast.chair, cast.secretary
    council, meeting = await _first_meeting(scene.database, scene.clock)
    scene.clock.advance(meeting.starts_at - scene.clock.now())
    day = to_local(meeting.starts_at, council.timezone).date()

    scene.step("Meeting day: the chair switches back to English and opens the meeting: "
               "/lang en, /startmeeting")
    scene.show(await driver.command(chair, "/lang en"))
    roll_call = await driver.ask(chair, "/startmeeting")
    scene.show(roll_call.text or "")

    scene.step(f"Roll call: {len(BY_BUTTON)} CIOs and the expert press ✋ Here, CIO {BY_COMMAND} "
               "sends /here; CIO TRN does not answer")
    scene.later(2)
    answers = [await driver.press(scene.cio(code), roll_call, "✋ Here") for code in BY_BUTTON]
    scene.show(answers[-1], to=scene.cio(BY_BUTTON[-1]).first_name)
    await driver.press(cast.expert, roll_call, "✋ Here")
    scene.show(await driver.command(scene.cio(BY_COMMAND), "/here"))

    scene.step(f"The secretariat records a deputy and an apology: /proxy {PROXY[0]} …, "
               f"/excused {EXCUSED[0]} …")
    scene.later(3)
    scene.show(await driver.command(secretary, f"/proxy {PROXY[0]} {PROXY[1]}"))
    scene.show(await driver.command(secretary, f"/excused {EXCUSED[0]} {EXCUSED[1]}"))

    scene.step(f"The chair opens the major issue (/topic {item}); the expert adds information "
               "(/info) and a CIO an idea (/idea)")
    scene.later(5)
    scene.show(await driver.command(chair, f"/topic {item}"))
    scene.later(10)
    scene.show(await driver.command(cast.expert, "/info Eight bureaus already publish "
                                    "monitoring data, each in its own format"))
    scene.show(await driver.command(scene.cio("HLTH"), "/idea Start with air and water "
                                    "quality, then add health data"))

    scene.step(f"A named vote: /motion …; {len(NAMED)} CIOs press Yes / No / Abstain, MSB "
               "changes its vote; the chair closes it with /close")
    scene.later(15)
    motion = await driver.ask(chair, "/motion Adopt the shared environmental data platform")
    await driver.press(scene.cio("MSB"), motion, "No")
    for code, choice in NAMED.items():
        answer = await driver.press(scene.cio(code), motion, choice)
        if code == "MSB":
            scene.show(answer, to=scene.cio(code).first_name)
    scene.later(5)
    scene.show(await driver.command(chair, "/close"))

    scene.step("A secret ballot: /secret …; each CIO gets the ballot in a private chat and "
               f"the {len(SECRET)} present vote there; /close")
    scene.later(5)
    opened = await driver.command(chair, "/secret Name EPB the lead department of the platform")
    ballot = _motion_id(opened)
    for code, choice in SECRET.items():
        cio = scene.cio(code)
        await driver.press(cio, await _private_ballot(scene, cio, ballot), choice)
    scene.later(5)
    scene.show(await driver.command(chair, "/close"))

    scene.step("A decision without a vote and an action item: /agreed …, /action EPB …")
    scene.later(5)
    scene.show(await driver.command(chair, "/agreed Each bureau names a data steward by the "
                                    "next meeting"))
    due = day + timedelta(days=30)
    scene.show(await driver.command(secretary, f"/action EPB {due.isoformat()} Draft the "
                                    "platform's data catalogue"))

    scene.step("The chair ends the meeting; whoever did not answer is recorded absent: "
               "/endmeeting")
    scene.later(30)
    scene.show(await driver.command(chair, "/endmeeting"))


async def _circular_vote(scene: Scene) -> None:
    """A vote between meetings that the reminder worker reminds about and closes."""
    driver, chair = scene.driver, scene.cast.chair
    council = await _council(scene.database)
    # Closes three days later at 17:00 local time.
    local_now = to_local(scene.clock.now(), council.timezone)
    deadline = datetime.combine(local_now.date() + timedelta(days=3), time(17, 0))
    scene.step(f"After the meeting, a circular vote: /circular {deadline:%Y-%m-%d %H:%M} …; "
               f"{len(CIRCULAR)} CIOs press in the group")
    scene.later(10)
    message = await driver.ask(chair, f"/circular {deadline:%Y-%m-%d %H:%M} Approve the "
                                      "platform's first-year budget of 1.2 million yuan")
    scene.show("\n".join((message.text or "").splitlines()[:2]))  # the motion, its deadline
    for code, choice in CIRCULAR.items():
        await driver.press(scene.cio(code), message, choice)
    motion = await _motion(scene.database, _motion_id(message.text or ""))

    scene.step("A day before the deadline the reminder worker reminds the CIOs who have not "
               "voted; CIO TRN votes in its private chat: /vote")
    scene.clock.advance(vote_reminder_at(motion) - scene.clock.now())
    report = await scene.reminders.tick()
    trn = scene.cio("TRN")
    scene.show(scene.control.bot_messages(trn.id)[-1].text or "", to=trn.first_name)
    scene.console.print(f"    ({report.sent} reminders sent privately to the CIOs who had "
                        "not voted)")
    scene.later(60)
    scene.show(await driver.command(trn, f"/vote M{motion.id} yes", chat_id=trn.id),
               to=trn.first_name)

    scene.step("The deadline passes; the reminder worker's next tick closes the vote and posts "
               "the result")
    assert motion.closes_at is not None  # a circular vote (`_motion` checked)
    scene.clock.advance(motion.closes_at + timedelta(minutes=1) - scene.clock.now())
    report = await scene.reminders.tick()
    scene.show(scene.control.bot_messages(scene.group)[-1].text or "")
    scene.console.print(f"    ({report.sent} message sent: the result, to the group)")


async def _private_ballot(scene: Scene, cio: User, motion_id: int) -> Message:
    """The secret ballot's buttons in the CIO's private chat (sent just after the group's
    message, so they may still be on their way)."""
    prefix = f"v:{motion_id}:"

    def found() -> Message | None:
        for message in scene.control.bot_messages(cio.id):
            rows = (message.reply_markup or {}).get("inline_keyboard", [])
            if any(str(button.get("callback_data", "")).startswith(prefix)
                   for row in rows for button in row):
                return message
        return None

    await scene.control.wait_until(lambda: found() is not None)
    ballot = found()
    assert ballot is not None
    return ballot


async def _council(database: Database) -> Council:
    async with database.uow() as uow:
        return (await uow.councils.list())[0]


async def _first_meeting(database: Database, clock: FixedClock) -> tuple[Council, Meeting]:
    """The demo council and its next meeting (before the first one: the first)."""
    council = await _council(database)
    async with database.uow() as uow:
        first = (await uow.meetings.list(council.id, since=clock.now()))[0]
    return council, first


async def _motion(database: Database, motion_id: int) -> Motion:
    async with database.uow() as uow:
        motion = await uow.motions.get(motion_id)
    if motion is None or motion.closes_at is None:
        raise LookupError(f"no circular vote M{motion_id}")
    return motion


async def _until_agenda_call(database: Database, clock: FixedClock) -> timedelta:
    """How far the demo's clock must move for the first meeting's agenda call to fall due."""
    council, first = await _first_meeting(database, clock)
    return first.starts_at - timedelta(days=council.agenda_call_days) - clock.now()


def _as_posted(message: Message) -> str:
    """A transcript entry: the message as it was posted and, when the bot edited it later (a
    join request once decided, a vote's live count once closed), the first line it ends with."""
    document = message.content.get("document")
    if isinstance(document, dict):  # a file in the chat (the minutes): its name and caption
        caption = message.content.get("caption") or ""
        return f"{message.sender.first_name}: [{document.get('file_name')}] {caption}"
    first = next((text for text in message.history if text), message.text)
    entry = f"{message.sender.first_name}: {first}"
    if first != message.text and message.text:
        entry += f"\n    (edited since; it now reads: {message.text.splitlines()[0]})"
    return entry


def _item_id(reply: str) -> str:
    """The `#N` a /propose reply names first."""
    return reply.split("#", 1)[1].split()[0]


def _motion_id(reply: str) -> int:
    """The motion `M<n>` a vote's opening message names first."""
    found = re.search(r"\bM(\d+)\b", reply)
    if found is None:
        raise ValueError(f"no motion id in {reply!r}")
    return int(found.group(1))


def _show(console: Console, reply: str, *, to: str = "") -> None:
    """Prints the bot's reply; ``to`` names the one person who sees it (a private chat or the
    pop-up answering a button)."""
    speaker = f"bot → {to}: " if to else "bot: "
    for line in reply.splitlines():
        # The bot's text is shown as it is: brackets in it are not console markup.
        console.print(Text.assemble(("    " + speaker, "green"), line))
