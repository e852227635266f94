"""Several instances of the whole service (`bot.runner.serve`, as `cio-council serve --webhook`
runs it) behind a round-robin load balancer, on one database; and a council too big to found
through the chat in a test's time, seeded through `meetings.services` instead.

    async with scaled_out(sandbox, database_url, clock, tmp_path, instances=2) as deployment:
        ...  # the sandbox pushes every update to deployment.balancer, which takes turns
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.clock import FixedClock
from bot.runner import serve
from bot.sandbox import CallbackAnswer, Control, Message, SandboxServer, User
from bot.sandbox.balancer import RoundRobin
from bot.sandbox.driver import ChatDriver
from bot.settings import Settings
from meetings import usecases
from meetings.domain.model import Choice, Role
from storage import Database

SECRET = "scaled-out-webhook-secret_0123456789"
STARTS_WITHIN = 10.0  # seconds; each instance starts in well under one
STOPS_WITHIN = 10.0


@dataclass
class Deployment:
    balancer: RoundRobin
    instance_urls: list[str]


def free_port() -> int:
    """A port nobody listens on: in webhook mode an instance's address must be known before it
    starts, since the balancer in front of it is set up first."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def scaled_out(sandbox: SandboxServer, database_url: str, clock: FixedClock,
                     data_dir: Path, *, instances: int) -> AsyncIterator[Deployment]:
    """``instances`` copies of the service on one database, each with its own engine, web
    server and PTB application, all behind one balancer whose URL is the public webhook URL."""
    ports = [free_port() for _ in range(instances)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    async with RoundRobin(urls) as balancer:
        running: list[Instance] = []
        try:
            for index, port in enumerate(ports):
                instance = Instance(Settings(
                    bot_token=sandbox.token, bot_api_url=sandbox.base_url,
                    database_url=database_url, data_dir=data_dir / f"instance-{index}",
                    web_host="127.0.0.1", web_port=port, public_url=balancer.url,
                    webhook_secret=SECRET), clock)
                await instance.start()
                running.append(instance)
            yield Deployment(balancer, urls)
        finally:
            # All at once, as an orchestrator stops a deployment: each finishes its own work.
            await asyncio.gather(*(instance.stop() for instance in running))


class Instance:
    """One `serve` in webhook mode, in a task of this event loop."""

    def __init__(self, settings: Settings, clock: FixedClock) -> None:
        self._settings = settings
        self._clock = clock
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(serve(self._settings, webhook=True, clock=self._clock,
                                         stop=self._stop, ready=ready.set_result))
        either: set[asyncio.Future[Any]] = {task, ready}
        done, _ = await asyncio.wait(either, timeout=STARTS_WITHIN,
                                     return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()  # a start-up error surfaces here
            raise RuntimeError("serve returned before it was ready")
        if ready not in done:
            task.cancel()
            raise TimeoutError(f"serve was not ready within {STARTS_WITHIN} s")
        self._task = task

    @property
    def running(self) -> bool:
        """Started, and `serve` has neither returned nor raised since."""
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, STOPS_WITHIN)


BUTTON_LABELS = {Choice.YES: "Yes", Choice.NO: "No", Choice.ABSTAIN: "Abstain"}


def rotating_choice(index: int) -> Choice:
    """Yes, No, Abstain, Yes, ...: every choice among the presses of a burst."""
    return [Choice.YES, Choice.NO, Choice.ABSTAIN][index % 3]


@dataclass
class Burst:
    """Every CIO pressing a motion's button at once: which press is whose choice, and the
    answers as they come."""

    control: Control
    presses: dict[str, tuple[str, Choice]]  # callback query id -> (department, choice)
    answers: asyncio.Future[list[CallbackAnswer]]

    def answered(self) -> set[str]:
        """The presses Telegram has answered so far."""
        return {a.callback_query_id for a in self.control.callback_answers()
                if a.callback_query_id in self.presses}


async def motion_with_everyone_present(
        control: Control, driver: ChatDriver, chair: User, group_id: int, cios: dict[str, User],
        *, database_url: str, now: datetime, timeout: float) -> Message:
    """The council set up in the group with a department per CIO, today's meeting started with
    every CIO pressing Here, and a named motion open: its message, ready for a burst."""
    await control.wait_until(lambda: bool(control.bot_messages(group_id)))  # the greeting
    await driver.command(chair, "/setup Riverside CIO Council")
    await seed_cios(database_url, chat_id=group_id, chair=chair, cios=cios, now=now)
    await driver.command(chair, "/schedule 2026-11-25 14:30 90 Budget")
    roll_call = await driver.ask(chair, "/startmeeting")
    here = [control.press_button(cio.id, group_id, roll_call.message_id, text="✋ Here")
            for cio in cios.values()]
    await asyncio.gather(*(control.answer_to(q, timeout=timeout) for q in here))
    motion = await driver.ask(chair, "/motion Adopt the shared data platform")
    assert (motion.text or "").startswith("🗳 Motion M1: ")
    return motion


def press_all_at_once(control: Control, group_id: int, message_id: int,
                      cios: dict[str, User], *, timeout: float) -> Burst:
    """Each CIO presses ``rotating_choice`` of their place on the motion's message, with no
    pause between presses."""
    presses = {control.press_button(cio.id, group_id, message_id,
                                    text=BUTTON_LABELS[rotating_choice(index)]):
               (code, rotating_choice(index))
               for index, (code, cio) in enumerate(cios.items())}
    answers = asyncio.gather(*(control.answer_to(q, timeout=timeout) for q in presses))
    return Burst(control, presses, answers)


def department_codes(count: int) -> list[str]:
    """D001, D002, ...: as many departments as a large council has."""
    return [f"D{number:03d}" for number in range(1, count + 1)]


def create_cios(control: Control, codes: Sequence[str]) -> dict[str, User]:
    """One sandbox person per department. They never open a private chat with the bot: a named
    vote needs only the group."""
    return {code: control.create_user(f"CIO {code}", username=f"cio_{code.lower()}")
            for code in codes}


async def seed_cios(database_url: str, *, chat_id: int, chair: User, cios: dict[str, User],
                    now: datetime) -> None:
    """Adds a department per code and makes each person its CIO, as the chair, through the
    same use cases /department and an approved /join run (the chat would take ~0.1 s each)."""
    database = Database(database_url)
    try:
        async with database.uow() as uow:
            council = await uow.councils.by_chat(chat_id)
            assert council is not None, "send /setup in the group first"
            actor = await uow.members.by_telegram(council.id, chair.id)
            assert actor is not None
        for code, person in cios.items():
            await usecases.councils.add_department(database.uow(), council.id, code=code,
                                                   name=f"Bureau {code}", actor=actor, now=now)
            await usecases.councils.add_member(database.uow(), council.id, name=person.first_name,
                                               role=Role.CIO, actor=actor, now=now,
                                               telegram_id=person.id, username=person.username,
                                               department=code)
    finally:
        await database.dispose()
