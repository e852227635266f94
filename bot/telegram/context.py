"""What every handler gets: the sender as the council knows them, their language, a clock, and a
unit of work that records the Telegram update in the same transaction as the business write.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.i18n import translate
from meetings.domain.errors import InvalidInput, NotFound, Word
from meetings.domain.model import Council, Member
from meetings.ports import Clock, UnitOfWork
from meetings.usecases.councils import Sender
from storage import Database, IncomingUpdate

if TYPE_CHECKING:
    from bot.telegram.live import LiveCounts, LiveRollCalls

BotContext = ContextTypes.DEFAULT_TYPE


@dataclass(frozen=True, slots=True)
class Defaults:
    """What a council created from chat starts with (from settings)."""

    timezone: str = "Asia/Shanghai"
    language: str = "en"
    holiday_country: str = "CN"


@dataclass(frozen=True, slots=True)
class BotEnv:
    """Shared by all handlers; lives in ``application.bot_data["env"]``."""

    database: Database
    clock: Clock
    defaults: Defaults
    public_url: str | None = None  # COUNCIL_PUBLIC_URL: where calendar links point


@dataclass(frozen=True, slots=True)
class Document:
    """A file sent with a reply (minutes, a calendar, a spreadsheet); ``text`` is its caption."""

    filename: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    keyboard: InlineKeyboardMarkup | None = None
    # Called with the message once sent (its last piece), e.g. to remember a motion's message.
    sent: Callable[[Message], Awaitable[None]] | None = None
    # Sent after the text, with the text's last piece as its caption when it fits.
    document: Document | None = None
    # A picture (a chart) sent after the text and before the document.
    photo: Document | None = None
    # False for secret links: Telegram's servers would fetch a previewed link themselves.
    link_preview: bool = True


def env_of(context: BotContext) -> BotEnv:
    env: BotEnv = context.bot_data["env"]
    return env


@dataclass(frozen=True, slots=True)
class ChatRequest:
    env: BotEnv
    update: Update
    sender: Sender
    arguments: str  # the message text after the command, verbatim
    now: datetime
    bot_id: int
    counts: LiveCounts
    roll_calls: LiveRollCalls

    @property
    def language(self) -> str:
        if self.sender.council is not None:
            return self.sender.council.language
        user = self.update.effective_user
        if user is not None and (user.language_code or "").startswith("zh"):
            return "zh"
        return self.env.defaults.language

    @property
    def council(self) -> Council:
        if self.sender.council is None:
            chat = self.update.effective_chat
            if chat is not None and chat.type == ChatType.PRIVATE:
                raise NotFound("you are not a member of a council yet; ask your council's "
                               "chair, or send /join <CODE> in the council's group")
            raise NotFound("this chat is not a council yet; a group admin can send "
                           "/setup <council name>")
        return self.sender.council

    @property
    def member(self) -> Member | None:
        return self.sender.member

    @property
    def in_private(self) -> bool:
        """Whether this came from a private chat with the bot (not the council's group)."""
        chat = self.update.effective_chat
        return chat is not None and chat.type == ChatType.PRIVATE

    @property
    def user_id(self) -> int:
        user = self.update.effective_user
        assert user is not None  # handlers are only registered for updates with a sender
        return user.id

    @property
    def chat_id(self) -> int:
        chat = self.update.effective_chat
        assert chat is not None
        return chat.id

    def uow(self) -> UnitOfWork:
        """A unit of work that applies this update at most once, whatever the redelivery."""
        return self.env.database.uow(update=IncomingUpdate(
            bot=str(self.bot_id), update_id=self.update.update_id, received_at=self.now))

    def t(self, message: str, /, **fields: object) -> str:
        return translate(self.language, message, **fields)

    def args(self, count: int, *, usage: str, at_least: int | None = None) -> list[str]:
        """The arguments split on white space into at most ``count`` parts (the last keeps the
        rest); fewer than ``at_least`` (default: all) is a usage error."""
        parts = self.arguments.split(maxsplit=count - 1) if self.arguments.strip() else []
        if len(parts) < (count if at_least is None else at_least):
            raise InvalidInput("usage: {usage}", usage=Word(usage))
        return parts
