"""The sandbox's records: people, chats, memberships, messages, files and each bot's account.

Plain data that renders itself as the Bot API does (`to_api()` omits absent fields, as Telegram
does); the rules that change these records live in `world.py`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.ratelimit import RateLimiter

JSON = dict[str, Any]

ACTIVE_STATUSES = frozenset({"creator", "administrator", "member", "restricted"})
ADMIN_STATUSES = frozenset({"creator", "administrator"})
SERVICE_FIELDS = frozenset({
    "new_chat_members", "left_chat_member", "group_chat_created", "supergroup_chat_created",
    "migrate_to_chat_id", "migrate_from_chat_id", "pinned_message", "new_chat_title",
})
# With no allowed_updates, Telegram sends every kind except these opt-in ones.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def compact(fields: JSON) -> JSON:
    return {key: value for key, value in fields.items() if value is not None}


@dataclass
class User:
    id: int
    first_name: str
    is_bot: bool = False
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def to_api(self) -> JSON:
        return compact({
            "id": self.id, "is_bot": self.is_bot, "first_name": self.first_name,
            "last_name": self.last_name, "username": self.username,
            "language_code": self.language_code,
        })


# Telegram's own sender for messages a group signs as itself (e.g. the supergroup's first one).
GROUP_ANONYMOUS_BOT = User(1087968824, "Group", is_bot=True, username="GroupAnonymousBot")


@dataclass(frozen=True)
class AdminRights:
    is_anonymous: bool = False
    can_manage_chat: bool = True
    can_delete_messages: bool = True
    can_manage_video_chats: bool = True
    can_restrict_members: bool = True
    can_promote_members: bool = False
    can_change_info: bool = True
    can_invite_users: bool = True
    can_post_stories: bool = True
    can_edit_stories: bool = True
    can_delete_stories: bool = True
    can_pin_messages: bool = True
    can_manage_topics: bool = True


@dataclass
class Member:
    user: User
    status: str  # creator | administrator | member | left | kicked
    rights: AdminRights = field(default_factory=AdminRights)
    until_date: int = 0

    def to_api(self) -> JSON:
        body: JSON = {"status": self.status, "user": self.user.to_api()}
        if self.status == "creator":
            body["is_anonymous"] = False
        elif self.status == "administrator":
            body["can_be_edited"] = False  # only true for admins this bot promoted itself
            body.update(dataclasses.asdict(self.rights))
        elif self.status == "kicked":
            body["until_date"] = self.until_date
        return body


@dataclass
class Chat:
    id: int
    type: str  # private | group | supergroup
    title: str | None = None
    peer: User | None = None  # the person on the other side of a private chat
    bot_id: int | None = None  # a private chat exists once per (bot, person)
    members: dict[int, Member] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)
    next_message_id: int = 1
    migrated_to: int | None = None
    pinned: list[int] = field(default_factory=list)  # most recent last
    started: bool = False  # private: the person has started the bot
    blocked: bool = False  # private: the person has blocked the bot

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    def to_api(self) -> JSON:
        if self.peer is not None:
            return compact({
                "id": self.id, "type": self.type, "first_name": self.peer.first_name,
                "last_name": self.peer.last_name, "username": self.peer.username,
            })
        return {"id": self.id, "type": self.type, "title": self.title}

    def status(self, user_id: int) -> str:
        member = self.members.get(user_id)
        return member.status if member else "left"

    def member(self, user: User) -> Member:
        return self.members.get(user.id) or Member(user, "left")

    def active_members(self) -> list[Member]:
        return [m for m in self.members.values() if m.status in ACTIVE_STATUSES]


@dataclass
class Message:
    chat: Chat
    message_id: int
    sender: User
    date: int
    text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None  # inline keyboards only: other markups are never echoed
    reply_to: Message | None = None
    content: JSON = field(default_factory=dict)  # Bot API fields: document, photo, caption, ...
    edit_date: int | None = None
    deleted: bool = False
    history: list[str | None] = field(default_factory=list)  # earlier texts, oldest first

    @property
    def is_service(self) -> bool:
        return not SERVICE_FIELDS.isdisjoint(self.content)

    def to_api(self, *, with_reply: bool = True) -> JSON:
        body: JSON = {
            "message_id": self.message_id, "from": self.sender.to_api(),
            "chat": self.chat.to_api(), "date": self.date,
        }
        # Telegram nests one level only: a quoted message never carries its own reply.
        if self.reply_to is not None and with_reply:
            body["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.edit_date is not None:
            body["edit_date"] = self.edit_date
        if self.text is not None:
            body["text"] = self.text
            if self.entities:
                body["entities"] = self.entities
        body.update(self.content)
        if self.reply_markup is not None:
            body["reply_markup"] = self.reply_markup
        return body

    def buttons(self) -> list[JSON]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    path: str
    file_name: str | None = None
    mime_type: str | None = None

    def to_api(self) -> JSON:
        """The Bot API File object (what getFile returns)."""
        return {
            "file_id": self.file_id, "file_unique_id": self.file_unique_id,
            "file_size": len(self.data), "file_path": self.path,
        }

    def as_document(self) -> JSON:
        """The Bot API Document object a message carries."""
        return compact({
            "file_name": self.file_name, "mime_type": self.mime_type, "file_id": self.file_id,
            "file_unique_id": self.file_unique_id, "file_size": len(self.data),
        })


@dataclass(frozen=True)
class CallbackAnswer:
    callback_query_id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int = 0


@dataclass
class CallbackQuery:
    id: str
    user: User
    message: Message
    data: str
    asked_at: float
    answer: CallbackAnswer | None = None


@dataclass(frozen=True)
class Webhook:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None


@dataclass(frozen=True)
class DeliveryAttempt:
    update_id: int
    url: str
    status: int | None  # None when the connection itself failed
    error: str | None
    at: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class BotSpec:
    """A bot to register; the token starts with the bot's user id, as Telegram's tokens do."""

    token: str = "7000000001:SANDBOX-council-bot-token"  # noqa: S105 - a public fixture token
    username: str = "council_bot"
    first_name: str = "CIO Council"
    privacy: bool = True


@dataclass
class BotAccount:
    token: str
    user: User
    privacy: bool
    limiter: RateLimiter
    updates: list[JSON] = field(default_factory=list)
    next_update_id: int = 1
    allowed_updates: frozenset[str] | None = None  # None: Telegram's default selection
    webhook: Webhook | None = None
    webhook_error: tuple[int, str] | None = None  # (unix time, message) of the last failure
    deliveries: list[DeliveryAttempt] = field(default_factory=list)
    commands: dict[tuple[str, str], list[JSON]] = field(default_factory=dict)
    callback_queries: dict[str, CallbackQuery] = field(default_factory=dict)
    answers: list[CallbackAnswer] = field(default_factory=list)
    poll_generation: int = 0  # a newer getUpdates call ends older ones with 409

    @property
    def username(self) -> str:
        return self.user.username or ""

    def me(self) -> JSON:
        return self.user.to_api() | {
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
            "has_topics_enabled": False,
            "allows_users_to_create_topics": False,
        }

    def wants(self, kind: str) -> bool:
        if self.allowed_updates is None:
            return kind not in OPT_IN_UPDATES
        return kind in self.allowed_updates
