"""Talking to a bot as people do, through the sandbox: for tests, benchmarks and the demo."""

from __future__ import annotations

from bot.sandbox.control import Control
from bot.sandbox.state import Message, User


class ChatDriver:
    """Sends what a person types and waits for the bot's answer (no sleeps: it wakes on change)."""

    def __init__(self, control: Control, bot_name: str, chat_id: int,
                 timeout: float = 10.0) -> None:
        self.control = control
        self.bot_name = bot_name
        self.chat_id = chat_id
        self.timeout = timeout

    async def say(self, user: User, text: str, *, chat_id: int | None = None) -> Message:
        """Sends ``text`` as ``user`` (in the driver's chat by default); returns the bot's reply."""
        where = self.chat_id if chat_id is None else chat_id
        sent = self.control.send_text(user.id, where, text)
        return await self.control.next_bot_message(where, after=sent, timeout=self.timeout)

    async def command(self, user: User, text: str, *, chat_id: int | None = None) -> str:
        """Sends a command addressed to the bot (``/cmd@bot``, as privacy mode needs); returns
        the reply's text, or its caption when the reply is a file."""
        reply = await self.ask(user, text, chat_id=chat_id)
        return reply.text or str(reply.content.get("caption") or "")

    async def ask(self, user: User, text: str, *, chat_id: int | None = None) -> Message:
        name, _, rest = text.partition(" ")
        return await self.say(user, f"{name}@{self.bot_name} {rest}".rstrip(), chat_id=chat_id)

    async def press(self, user: User, message: Message, label: str) -> str:
        """Presses the button labelled ``label``; returns the bot's answer to the press."""
        query = self.control.press_button(user.id, message.chat.id, message.message_id,
                                          text=label)
        answer = await self.control.answer_to(query, timeout=self.timeout)
        return answer.text or ""

    async def edited(self, message: Message, before: str | None) -> str:
        """Waits until the bot edits ``message`` away from ``before``; returns the new text."""
        await self.control.wait_until(lambda: message.text != before, self.timeout)
        return message.text or ""
