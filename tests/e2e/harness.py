"""A council chat for end-to-end tests: the real PTB Application polling the sandbox over HTTP,
storing in a real database, with people the test acts for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.clock import FixedClock
from bot.demo import Cast, found_council
from bot.sandbox import Chat, Message, SandboxServer, User
from bot.sandbox.driver import ChatDriver
from bot.telegram.app import AnyApplication, build_application, polling
from bot.telegram.context import BotEnv, Defaults
from bot.telegram.live import Pause
from storage import Database

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
CODES = ["EPB", "MSB", "EDU", "HLTH", "PSB", "FIN", "HRSS", "TRN", "CIV"]


@dataclass
class CouncilChat:
    sandbox: SandboxServer
    database: Database
    clock: FixedClock
    application: AnyApplication
    group: Chat
    chair: User
    secretary: User
    expert: User
    stranger: User
    cios: dict[str, User] = field(default_factory=dict)

    def __repr__(self) -> str:  # hypothesis prints fixtures of failing examples
        return f"CouncilChat(group={self.group.id})"

    @property
    def bot_name(self) -> str:
        return self.sandbox.bot.username

    @property
    def driver(self) -> ChatDriver:
        return ChatDriver(self.sandbox.control, self.bot_name, self.group.id)

    async def say(self, user: User, text: str, *, chat_id: int | None = None) -> Message:
        return await self.driver.say(user, text, chat_id=chat_id)

    async def command(self, user: User, text: str, *, chat_id: int | None = None) -> str:
        return await self.driver.command(user, text, chat_id=chat_id)

    async def settle(self) -> None:
        """Waits until the bot has handled everything sent so far (it handles updates in
        order, so an answered /help means all before it are done)."""
        await self.command(self.chair, "/help")

    async def founded(self) -> CouncilChat:
        """Sets the council up as the demo's chair does: departments, approved CIOs, office."""
        cast = Cast(self.chair, self.secretary, self.expert, self.cios)
        await found_council(self.driver, cast, [(code, f"{code} Bureau") for code in CODES])
        return self

    async def press(self, user: User, message: Message, label: str) -> str:
        return await self.driver.press(user, message, label)


@asynccontextmanager
async def council_chat(database_url: str, *, cios: int = 9,
                       live_pause: Pause | None = None) -> AsyncIterator[CouncilChat]:
    """``live_pause``: how the live messages wait between edits (default: not at all)."""
    clock = FixedClock(NOW)
    async with SandboxServer(clock=clock.timestamp) as sandbox:
        control = sandbox.control
        cast = Cast.create(control, CODES[:cios])
        stranger = control.create_user("Passer By", username="passer_by")
        control.start_bot(stranger.id)
        everyone = [*cast.everyone[1:], stranger]
        chair, secretary, expert, people = cast.chair, cast.secretary, cast.expert, cast.cios
        group = control.create_group("CIO Council", creator=chair.id, admins=[chair.id],
                                     members=[u.id for u in everyone])
        database = Database(database_url)
        env = BotEnv(database=database, clock=clock, defaults=Defaults())
        application = build_application(sandbox.token, env, base_url=sandbox.base_url,
                                        base_file_url=sandbox.base_file_url, rate_limit=False,
                                        count_interval=0, live_pause=live_pause)
        try:
            async with polling(application, timeout=1):
                # The bot greets the group it was added to; wait so replies are not confused.
                await control.wait_until(lambda: bool(control.bot_messages(group.id)))
                yield CouncilChat(sandbox, database, clock, application, group, chair,
                                  secretary, expert, stranger, people)
        finally:
            await database.dispose()
