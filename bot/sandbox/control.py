"""The control API: act as the people around the bot, and read back what happened.

`Control` is used in-process by tests (call it from the server's event loop); the same methods
are served over HTTP as `POST /control/<method>` with a JSON object of keyword arguments, for
the demo and benchmarks. Ids are plain ints; `bot` names a bot by username (default: the first).
"""

from __future__ import annotations

import base64
import dataclasses
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from bot.sandbox.changes import Changes
from bot.sandbox.ratelimit import Refusal, Unhonoured
from bot.sandbox.state import (
    JSON,
    CallbackAnswer,
    Chat,
    DeliveryAttempt,
    Message,
    User,
)
from bot.sandbox.world import World


class Control:
    def __init__(self, world: World, changes: Changes) -> None:
        self.world = world
        self._changes = changes

    # --- setting the scene -------------------------------------------------------------------

    def create_user(self, first_name: str, *, username: str | None = None,
                    last_name: str | None = None, language_code: str | None = "en",
                    user_id: int | None = None) -> User:
        return self.world.add_user(first_name, username=username, last_name=last_name,
                                   language_code=language_code, user_id=user_id)

    def create_group(self, title: str, *, creator: int, members: Sequence[int] = (),
                     admins: Sequence[int] = (), bots: Sequence[str] | None = None,
                     bot_admin: bool = False, supergroup: bool = False) -> Chat:
        """A group `creator` made with `bots` in it (default: the first bot).

        The bots hear of it as Telegram tells them: my_chat_member, then the creation message.
        """
        world = self.world
        accounts = [world.bot_named(name) for name in bots] if bots is not None else [
            world.bot_named()]
        return world.create_group(
            title, creator=world.user(creator), members=[world.user(m) for m in members],
            admins=[world.user(a) for a in admins], bots=accounts, bot_admin=bot_admin,
            supergroup=supergroup)

    def add_member(self, chat_id: int, user_id: int, *, by: int | None = None) -> Message:
        """Add a person or a bot (by its user id); emits the service message and member updates."""
        chat = self.world.group(chat_id)
        return self.world.add_member(chat, self.world.user(user_id), by=self._actor(chat, by))

    def remove_member(self, chat_id: int, user_id: int, *, by: int | None = None,
                      ban: bool = False) -> Message:
        """`by` defaults to the creator; pass `by=user_id` for someone leaving on their own."""
        chat = self.world.group(chat_id)
        return self.world.remove_member(chat, self.world.user(user_id),
                                        by=self._actor(chat, by), ban=ban)

    def promote(self, chat_id: int, user_id: int, *, by: int | None = None) -> None:
        chat = self.world.group(chat_id)
        self.world.promote(chat, self.world.user(user_id), by=self._actor(chat, by))

    def migrate(self, chat_id: int, *, by: int | None = None) -> Chat:
        """Upgrade a basic group to a supergroup; returns the new chat (new -100... id)."""
        chat = self.world.group(chat_id)
        return self.world.migrate(chat, by=self._actor(chat, by))

    def set_privacy(self, enabled: bool, *, bot: str | None = None) -> None:
        self.world.bot_named(bot).privacy = enabled

    def set_rate_limits(self, enabled: bool) -> None:
        self.world.rate_limits = enabled

    def flood_refusals(self, *, bot: str | None = None) -> list[Refusal]:
        """Every 429 the bot got from the limits, oldest first."""
        return list(self.world.bot_named(bot).limiter.refusals)

    def unhonoured_refusals(self, *, bot: str | None = None) -> list[Unhonoured]:
        """Messages the bot sent while a 429 still asked it to wait (should be none)."""
        return list(self.world.bot_named(bot).limiter.unhonoured)

    def set_next_update_id(self, update_id: int, *, bot: str | None = None) -> None:
        """Telegram restarts update ids at random after a week idle; this simulates it."""
        self.world.bot_named(bot).next_update_id = update_id

    # --- people acting -------------------------------------------------------------------

    def start_bot(self, user_id: int, *, payload: str | None = None,
                  bot: str | None = None) -> Message:
        """Press Start in the private chat (a deep link adds `payload`): sends /start."""
        account = self.world.bot_named(bot)
        person = self.world.user(user_id)
        self.world.block(person, account, blocked=False)
        chat = self.world.private_chat(account, person)
        return self.world.person_sends(person, chat, text=f"/start {payload}" if payload else
                                       "/start")

    def block_bot(self, user_id: int, *, blocked: bool = True, bot: str | None = None) -> None:
        self.world.block(self.world.user(user_id), self.world.bot_named(bot), blocked=blocked)

    def send_text(self, user_id: int, chat_id: int, text: str, *, reply_to: int | None = None,
                  bot: str | None = None) -> Message:
        """A person writes `text`; their client marks /commands and @mentions as entities."""
        return self.world.person_sends(self.world.user(user_id), self._chat(chat_id, bot),
                                       text=text, reply_to=reply_to)

    def send_document(self, user_id: int, chat_id: int, data: bytes, *, file_name: str,
                      mime_type: str = "application/octet-stream", caption: str | None = None,
                      bot: str | None = None) -> Message:
        stored = self.world.store_file("document", data, file_name=file_name,
                                       mime_type=mime_type)
        content: JSON = {"document": stored.as_document()}
        if caption:
            content["caption"] = caption
        return self.world.person_sends(self.world.user(user_id), self._chat(chat_id, bot),
                                       content=content)

    def edit_text(self, user_id: int, chat_id: int, message_id: int, text: str, *,
                  bot: str | None = None) -> Message:
        return self.world.person_edits(self.world.user(user_id), self._chat(chat_id, bot),
                                       message_id, text)

    def press_button(self, user_id: int, chat_id: int, message_id: int, *,
                     data: str | None = None, text: str | None = None,
                     bot: str | None = None) -> str:
        """Tap the inline button with this callback_data (or label); returns the query id."""
        chat = self._chat(chat_id, bot)
        return self.world.press(self.world.user(user_id), chat, message_id, data=data,
                                text=text).id

    # --- reading back ----------------------------------------------------------------------

    def chat(self, chat_id: int, *, bot: str | None = None) -> Chat:
        return self._chat(chat_id, bot)

    def transcript(self, chat_id: int, *, bot: str | None = None) -> list[Message]:
        """Every message in order, people's and bots', deleted ones flagged, edits in history.

        These are the live records: they follow later edits, deletions and keyboard changes.
        """
        return list(self._chat(chat_id, bot).messages.values())

    def bot_messages(self, chat_id: int, *, bot: str | None = None) -> list[Message]:
        account = self.world.bot_named(bot)
        return [m for m in self.transcript(chat_id, bot=bot)
                if m.sender.id == account.user.id and not m.deleted]

    def callback_answers(self, *, bot: str | None = None) -> list[CallbackAnswer]:
        return list(self.world.bot_named(bot).answers)

    def webhook_deliveries(self, *, bot: str | None = None) -> list[DeliveryAttempt]:
        return list(self.world.bot_named(bot).deliveries)

    def pending_updates(self, *, bot: str | None = None) -> list[JSON]:
        return list(self.world.bot_named(bot).updates)

    def file_bytes(self, file_id: str) -> bytes:
        return self.world.files[file_id].data

    # --- waiting (no sleeps: these wake on every change) -----------------------------------

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        if not await self._changes.wait_until(condition, timeout):
            raise TimeoutError(f"condition not met within {timeout} s")

    async def next_bot_message(self, chat_id: int, *, after: Message | int,
                               timeout: float = 5.0, bot: str | None = None) -> Message:
        """The first message the bot posts in the chat after `after` (a message or its id)."""
        after_id = after.message_id if isinstance(after, Message) else after

        def found() -> Message | None:
            return next((m for m in self.bot_messages(chat_id, bot=bot)
                         if m.message_id > after_id), None)

        await self.wait_until(lambda: found() is not None, timeout)
        message = found()
        assert message is not None
        return message

    async def answer_to(self, callback_query_id: str, *, timeout: float = 5.0,
                        bot: str | None = None) -> CallbackAnswer:
        """Wait until the bot answers this callback query; returns the answer."""
        account = self.world.bot_named(bot)

        def found() -> CallbackAnswer | None:
            return next((a for a in account.answers
                         if a.callback_query_id == callback_query_id), None)

        await self.wait_until(lambda: found() is not None, timeout)
        answer = found()
        assert answer is not None
        return answer

    # --- helpers -----------------------------------------------------------------------------

    def _chat(self, chat_id: int, bot: str | None) -> Chat:
        if chat_id > 0:  # private chats are per bot: find (or open) this bot's one
            return self.world.private_chat(self.world.bot_named(bot), self.world.user(chat_id))
        return self.world.group(chat_id)

    def _actor(self, chat: Chat, by: int | None) -> User:
        if by is not None:
            return self.world.user(by)
        creator = next((m.user for m in chat.members.values() if m.status == "creator"), None)
        if creator is None:
            raise ValueError(f"chat {chat.id} has no creator; say who acts with by=")
        return creator


# --- HTTP ------------------------------------------------------------------------------------

HTTP_METHODS = frozenset({
    "create_user", "create_group", "add_member", "remove_member", "promote", "migrate",
    "set_privacy", "set_rate_limits", "set_next_update_id", "start_bot", "block_bot",
    "send_text", "send_document", "edit_text", "press_button", "chat", "transcript",
    "bot_messages", "callback_answers", "webhook_deliveries", "pending_updates",
    "next_bot_message", "answer_to", "flood_refusals", "unhonoured_refusals",
})


def to_json(value: Any) -> Any:
    """Control results as JSON: Bot API shapes, plus a message's deleted flag and history."""
    if isinstance(value, Message):
        return {"message": value.to_api(), "deleted": value.deleted, "history": value.history}
    if isinstance(value, User | Chat):
        return value.to_api()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list):
        return [to_json(item) for item in value]
    return value


def http_routes(control: Control) -> list[web.RouteDef]:
    async def call(request: web.Request) -> web.Response:
        name = request.match_info["method"]
        if name not in HTTP_METHODS:
            return web.json_response({"ok": False, "description": "Not Found"}, status=404)
        try:
            kwargs = await request.json() if request.can_read_body else {}
            if "data_base64" in kwargs:  # JSON has no bytes: documents travel as base64
                kwargs["data"] = base64.b64decode(kwargs.pop("data_base64"))
            result = getattr(control, name)(**kwargs)
            if inspect.isawaitable(result):
                result = await result
        except (LookupError, ValueError, TypeError, TimeoutError) as err:
            return web.json_response({"ok": False, "description": str(err)}, status=400)
        return web.json_response({"ok": True, "result": to_json(result)})

    async def download(request: web.Request) -> web.Response:
        stored = control.world.files.get(request.match_info["file_id"])
        if stored is None:
            return web.json_response({"ok": False, "description": "Not Found"}, status=404)
        return web.Response(body=stored.data,
                            content_type=stored.mime_type or "application/octet-stream")

    return [web.post("/control/{method}", call), web.get("/control/files/{file_id}", download)]
