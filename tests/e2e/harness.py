"""A council chat for end-to-end tests: the real PTB Application polling the sandbox over HTTP,
storing in a real database, with people the test acts for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.clock import FixedClock
from bot.sandbox import Chat, Message, SandboxServer, User
from bot.telegram.app import AnyApplication, build_application
from bot.telegram.context import BotEnv, Defaults
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

    async def say(self, user: User, text: str, *, chat_id: int | None = None) -> Message:
        """Sends ``text`` as ``user`` (in the group by default) and returns the bot's reply."""
        where = self.group.id if chat_id is None else chat_id
        sent = self.sandbox.control.send_text(user.id, where, text)
        return await self.sandbox.control.next_bot_message(where, after=sent)

    async def command(self, user: User, text: str, **kwargs: int) -> str:
        """Sends a command addressed to the bot (``/cmd@bot``, as privacy mode needs)."""
        name, _, rest = text.partition(" ")
        reply = await self.say(user, f"{name}@{self.bot_name} {rest}".rstrip(), **kwargs)
        return reply.text or ""

    async def settle(self) -> None:
        """Waits until the bot has handled everything sent so far (it handles updates in
        order, so an answered /help means all before it are done)."""
        await self.command(self.chair, "/help")

    async def founded(self) -> CouncilChat:
        """Sets the council up as a chair would: departments, approved CIOs, a secretary."""
        await self.command(self.chair, "/setup Riverside District CIO Council")
        for code in CODES:
            await self.command(self.chair, f"/department {code} {code} Bureau")
        for code, cio in self.cios.items():
            request = await self.say(cio, f"/join@{self.bot_name} {code}")
            await self.press(self.chair, request, "Approve")
        await self.command(self.chair, f"/role {self.secretary.id} secretary")
        await self.command(self.chair, f"/role {self.expert.id} expert")
        return self

    async def press(self, user: User, message: Message, label: str) -> str:
        """Presses the button labelled ``label`` and returns the bot's answer text."""
        query = self.sandbox.control.press_button(user.id, message.chat.id, message.message_id,
                                                  text=label)
        answer = await self.sandbox.control.answer_to(query)
        return answer.text or ""


@asynccontextmanager
async def council_chat(database_url: str, *, cios: int = 9) -> AsyncIterator[CouncilChat]:
    clock = FixedClock(NOW)
    async with SandboxServer(clock=clock.timestamp) as sandbox:
        control = sandbox.control
        chair = control.create_user("Wang Lei", username="wang_lei")
        secretary = control.create_user("Chen Jing", username="chen_jing")
        expert = control.create_user("Zhou Min", username="zhou_min")
        stranger = control.create_user("Passer By", username="passer_by")
        people = {code: control.create_user(f"CIO {code}", username=f"cio_{code.lower()}")
                  for code in CODES[:cios]}
        everyone = [secretary, expert, stranger, *people.values()]
        for user in [chair, *everyone]:
            control.start_bot(user.id)
        group = control.create_group("CIO Council", creator=chair.id, admins=[chair.id],
                                     members=[u.id for u in everyone])
        database = Database(database_url)
        env = BotEnv(database=database, clock=clock, defaults=Defaults())
        application = build_application(sandbox.token, env, base_url=sandbox.base_url,
                                        base_file_url=sandbox.base_file_url, rate_limit=False)
        try:
            async with application:
                await application.start()
                assert application.updater is not None
                await application.updater.start_polling(poll_interval=0, timeout=1)
                # The bot greets the group it was added to; wait so replies are not confused.
                await control.wait_until(lambda: bool(control.bot_messages(group.id)))
                try:
                    yield CouncilChat(sandbox, database, clock, application, group, chair,
                                      secretary, expert, stranger, people)
                finally:
                    await application.updater.stop()
                    await application.stop()
        finally:
            await database.dispose()
