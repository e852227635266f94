"""The sandbox's world and its rules: who may write where, what each bot is told, and when.

Pure and synchronous. Refusals raise `ApiError` worded as Telegram words them; misuse by a test
(an unknown user, a button that is not there) raises `LookupError`/`ValueError`. Every change
calls the listeners so the async layer can wake long polls, webhook pushes and waiting tests.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

from bot.sandbox.errors import ApiError, bad_request, forbidden
from bot.sandbox.ratelimit import Clock, RateLimiter, RateLimits
from bot.sandbox.state import (
    ACTIVE_STATUSES,
    ADMIN_STATUSES,
    GROUP_ANONYMOUS_BOT,
    JSON,
    AdminRights,
    BotAccount,
    BotSpec,
    CallbackAnswer,
    CallbackQuery,
    Chat,
    DeliveryAttempt,
    Member,
    Message,
    StoredFile,
    User,
    Webhook,
)
from bot.sandbox.text import client_entities, leading_command

CALLBACK_ANSWER_WINDOW = 15.0  # seconds Telegram waits for answerCallbackQuery
DELETE_WINDOW = 48 * 3600  # messages older than this can no longer be deleted
_BASIC_GROUP_IDS = -4_000_000_000  # new basic groups have ids like -4518810793
_SUPERGROUP_IDS = -1_002_000_000_000  # supergroups: -100 followed by ten digits


class World:
    def __init__(self, clock: Clock = time.time, limits: RateLimits | None = None) -> None:
        self.clock = clock
        self.limits = limits or RateLimits()
        self.users: dict[int, User] = {}
        self.bots: dict[str, BotAccount] = {}  # by token
        self.groups: dict[int, Chat] = {}
        self.privates: dict[tuple[int, int], Chat] = {}  # by (bot id, person id)
        self.files: dict[str, StoredFile] = {}
        self.rate_limits = False  # the limits are enforced only when switched on
        self.listeners: list[Callable[[], None]] = []
        self._serial = itertools.count(1)  # users, groups, files and callback query ids

    def now(self) -> int:
        return int(self.clock())

    def changed(self) -> None:
        for listener in self.listeners:
            listener()

    # --- accounts ------------------------------------------------------------------------

    def add_bot(self, spec: BotSpec) -> BotAccount:
        bot_id = int(spec.token.partition(":")[0])
        user = User(bot_id, spec.first_name, is_bot=True, username=spec.username)
        account = BotAccount(spec.token, user, spec.privacy,
                             RateLimiter(self.clock, self.limits))
        self.users[bot_id] = user
        self.bots[spec.token] = account
        return account

    def bot_by_token(self, token: str) -> BotAccount:
        account = self.bots.get(token)
        if account is None:
            raise ApiError(401, "Unauthorized")
        return account

    def bot_named(self, username: str | None = None) -> BotAccount:
        """The bot called `username` (with or without "@"), or the first one registered."""
        for account in self.bots.values():
            if username is None or account.username.lower() == username.lstrip("@").lower():
                return account
        raise LookupError(f"no bot named {username!r}")

    def account_of(self, user: User) -> BotAccount | None:
        return next((b for b in self.bots.values() if b.user.id == user.id), None)

    def add_user(self, first_name: str, *, username: str | None = None,
                 last_name: str | None = None, language_code: str | None = "en",
                 user_id: int | None = None) -> User:
        user_id = user_id if user_id is not None else 100_000_000 + next(self._serial)
        if user_id in self.users:
            raise ValueError(f"user {user_id} already exists")
        user = User(user_id, first_name, last_name=last_name, username=username,
                    language_code=language_code)
        self.users[user_id] = user
        return user

    def user(self, user_id: int) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise LookupError(f"no user {user_id}") from None

    # --- chats as a bot addresses them ----------------------------------------------------

    def chat_for(self, bot: BotAccount, chat_id: int) -> Chat:
        """The chat `bot` means by `chat_id`, refused as Telegram refuses it."""
        if chat_id > 0:
            chat = self.privates.get((bot.user.id, chat_id))
            if chat is None:
                raise bad_request("chat not found")
            return chat
        chat = self.groups.get(chat_id)
        if chat is None or bot.user.id not in chat.members:
            raise bad_request("chat not found")
        if chat.migrated_to is not None:
            raise bad_request("group chat was upgraded to a supergroup chat",
                              migrate_to_chat_id=chat.migrated_to)
        kind = f"{chat.type} chat"
        if chat.status(bot.user.id) == "kicked":
            raise forbidden(f"bot was kicked from the {kind}")
        if chat.status(bot.user.id) not in ACTIVE_STATUSES:
            raise forbidden(f"bot is not a member of the {kind}")
        return chat

    def writable_chat(self, bot: BotAccount, chat_id: int) -> Chat:
        """`chat_for`, plus the private-chat rules: people must start the bot first."""
        if chat_id <= 0:
            return self.chat_for(bot, chat_id)
        person = self.users.get(chat_id)
        if person is None:
            raise bad_request("chat not found")
        if person.is_bot:
            raise forbidden("bot can't send messages to bots")
        chat = self.privates.get((bot.user.id, chat_id))
        if chat is None or not chat.started:
            raise forbidden("bot can't initiate conversation with a user")
        if chat.blocked:
            raise forbidden("bot was blocked by the user")
        return chat

    def private_chat(self, bot: BotAccount, person: User) -> Chat:
        key = (bot.user.id, person.id)
        if key not in self.privates:
            self.privates[key] = Chat(person.id, "private", peer=person, bot_id=bot.user.id)
        return self.privates[key]

    def group(self, chat_id: int) -> Chat:
        try:
            return self.groups[chat_id]
        except KeyError:
            raise LookupError(f"no group {chat_id}") from None

    def message(self, chat: Chat, message_id: int, *, missing: str) -> Message:
        found = chat.messages.get(message_id)
        if found is None or found.deleted:
            raise bad_request(missing)
        return found

    # --- what bots do ----------------------------------------------------------------------

    def bot_sends(self, bot: BotAccount, chat: Chat, *, text: str | None = None,
                  entities: list[JSON] | None = None, reply_markup: JSON | None = None,
                  reply_to: Message | None = None, content: JSON | None = None) -> Message:
        # Bots never receive bots' messages, so nothing is published.
        message = self._append(chat, bot.user, text=text, entities=entities or [],
                               reply_markup=reply_markup, reply_to=reply_to, content=content)
        self.changed()
        return message

    def bot_edits(self, bot: BotAccount, chat: Chat, message_id: int, *, text: str | None,
                  entities: list[JSON], reply_markup: JSON | None) -> Message:
        """Edit text (when `text` is given) and always replace the inline keyboard."""
        message = self.message(chat, message_id, missing="message to edit not found")
        if message.sender.id != bot.user.id:
            raise bad_request("message can't be edited")
        new_text, new_entities = (text, entities) if text is not None else (
            message.text, message.entities)
        if (new_text, new_entities, reply_markup) == (
                message.text, message.entities, message.reply_markup):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")
        if new_text != message.text:
            message.history.append(message.text)
        message.text, message.entities = new_text, new_entities
        message.reply_markup = reply_markup
        message.edit_date = self.now()
        self.changed()
        return message

    def bot_deletes(self, bot: BotAccount, chat: Chat, message_id: int) -> None:
        message = self.message(chat, message_id, missing="message to delete not found")
        own = message.sender.id == bot.user.id
        may_moderate = chat.type == "private" or (
            chat.status(bot.user.id) in ADMIN_STATUSES
            and chat.member(bot.user).rights.can_delete_messages)
        too_old = self.now() - message.date > DELETE_WINDOW
        if too_old or not (own or may_moderate):
            raise bad_request("message can't be deleted")
        message.deleted = True
        self.changed()

    def bot_pins(self, bot: BotAccount, chat: Chat, message_id: int) -> None:
        self._require_pin_rights(bot, chat)
        pinned = self.message(chat, message_id, missing="message to pin not found")
        chat.pinned = [*[m for m in chat.pinned if m != message_id], message_id]
        notice = self._append(chat, bot.user, content={
            "pinned_message": pinned.to_api(with_reply=False)})
        self._publish(notice)

    def bot_unpins(self, bot: BotAccount, chat: Chat, message_id: int | None) -> None:
        self._require_pin_rights(bot, chat)
        if message_id is None:
            chat.pinned = chat.pinned[:-1]
        elif message_id in chat.pinned:
            chat.pinned.remove(message_id)
        else:
            raise bad_request("message to unpin not found")
        self.changed()

    def _require_pin_rights(self, bot: BotAccount, chat: Chat) -> None:
        if chat.is_group and not (chat.status(bot.user.id) in ADMIN_STATUSES
                                  and chat.member(bot.user).rights.can_pin_messages):
            raise bad_request("not enough rights to manage pinned messages in the chat")

    def bot_leaves(self, bot: BotAccount, chat: Chat) -> None:
        if not chat.is_group:
            raise bad_request("chat member status can't be changed in private chats")
        self.remove_member(chat, bot.user, by=bot.user)

    def press(self, person: User, chat: Chat, message_id: int, *, data: str | None = None,
              text: str | None = None) -> CallbackQuery:
        """A person taps an inline button, found by its callback_data or its label."""
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise LookupError(f"no message {message_id} in chat {chat.id}")
        button = next((b for b in message.buttons()
                       if (data is not None and b.get("callback_data") == data)
                       or (text is not None and b.get("text") == text)), None)
        if button is None or "callback_data" not in button:
            raise LookupError(f"message {message_id} has no callback button {data or text!r}")
        bot = self.account_of(message.sender)
        if bot is None:
            raise ValueError("only bots' messages carry inline keyboards")
        query = CallbackQuery(str(7_000_000_000_000 + next(self._serial)), person, message,
                              button["callback_data"], self.clock())
        bot.callback_queries[query.id] = query
        self._emit(bot, "callback_query", {
            "id": query.id, "from": person.to_api(), "message": message.to_api(),
            "chat_instance": _chat_instance(bot, chat), "data": query.data,
        })
        return query

    def answer(self, bot: BotAccount, query_id: str, *, text: str | None, show_alert: bool,
               url: str | None, cache_time: int) -> None:
        query = bot.callback_queries.get(query_id)
        if (query is None or query.answer is not None
                or self.clock() - query.asked_at > CALLBACK_ANSWER_WINDOW):
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid")
        query.answer = CallbackAnswer(
            query.id, query.user.id, query.message.chat.id, query.message.message_id,
            query.data, text, show_alert, url, cache_time)
        bot.answers.append(query.answer)
        self.changed()

    def store_file(self, kind: str, data: bytes, *, file_name: str | None = None,
                   mime_type: str | None = None) -> StoredFile:
        serial = next(self._serial)
        extension = PurePosixPath(file_name).suffix if file_name else ""
        # Telegram's ids are opaque; these keep Telegram's prefixes (BQAC documents, AgAC photos).
        prefix = {"document": "BQACAgIAAxkBAAI", "photo": "AgACAgIAAxkBAAI"}.get(kind, "CAAC")
        stored = StoredFile(
            f"{prefix}{serial:08d}", f"AgAD{serial:08d}", data,
            f"{kind}s/file_{serial}{extension}", file_name, mime_type)
        self.files[stored.file_id] = stored
        return stored

    # --- updates -------------------------------------------------------------------------

    def confirm_updates(self, bot: BotAccount, offset: int) -> None:
        """getUpdates' offset: forget updates before it (or all but the last -offset)."""
        if offset > 0:
            bot.updates = [u for u in bot.updates if u["update_id"] >= offset]
        elif offset < 0:
            bot.updates = bot.updates[offset:]

    def set_webhook(self, bot: BotAccount, webhook: Webhook | None, *,
                    drop_pending: bool) -> None:
        bot.webhook = webhook
        bot.webhook_error = None
        if drop_pending:
            bot.updates.clear()
        self.changed()

    def record_delivery(self, bot: BotAccount, attempt: DeliveryAttempt, *,
                        final: bool) -> None:
        """Log a webhook push; a success or a final failure removes the update from the queue."""
        bot.deliveries.append(attempt)
        if not attempt.ok:
            bot.webhook_error = (int(attempt.at), attempt.error or f"status {attempt.status}")
        if attempt.ok or final:
            bot.updates = [u for u in bot.updates if u["update_id"] != attempt.update_id]
        self.changed()

    def _emit(self, bot: BotAccount, kind: str, payload: JSON) -> None:
        if bot.wants(kind):
            bot.updates.append({"update_id": bot.next_update_id, kind: payload})
            bot.next_update_id += 1
        self.changed()

    def _publish(self, message: Message, kind: str = "message", *,
                 also: BotAccount | None = None) -> None:
        # Bots never receive what bots send (their own messages included).
        if self.account_of(message.sender) is None:
            for bot in self._audience(message.chat, also):
                if self._sees(bot, message):
                    self._emit(bot, kind, message.to_api())
        self.changed()

    def _audience(self, chat: Chat, also: BotAccount | None) -> list[BotAccount]:
        if not chat.is_group:
            return [b for b in self.bots.values() if b.user.id == chat.bot_id]
        members = [b for b in self.bots.values() if chat.status(b.user.id) in ACTIVE_STATUSES]
        return members + ([also] if also is not None and also not in members else [])

    def _sees(self, bot: BotAccount, message: Message) -> bool:
        """Privacy mode: in groups a bot sees commands, replies to it and service messages."""
        chat = message.chat
        if not chat.is_group or not bot.privacy or chat.status(bot.user.id) in ADMIN_STATUSES:
            return True
        if message.is_service:
            return True
        if message.reply_to is not None and message.reply_to.sender.id == bot.user.id:
            return True
        command = leading_command(message.text, message.entities)
        if command is None:
            return False
        addressee = command[1]  # "/cmd@other_bot" is not for this bot; a bare "/cmd" is for all
        return addressee is None or addressee.lower() == bot.username.lower()

    def _append(self, chat: Chat, sender: User, *, text: str | None = None,
                entities: list[JSON] | None = None, reply_markup: JSON | None = None,
                reply_to: Message | None = None, content: JSON | None = None) -> Message:
        message = Message(chat, chat.next_message_id, sender, self.now(), text=text,
                          entities=entities or [], reply_markup=reply_markup,
                          reply_to=reply_to, content=content or {})
        chat.messages[message.message_id] = message
        chat.next_message_id += 1
        return message

    # --- what people do ----------------------------------------------------------------------

    def person_sends(self, person: User, chat: Chat, *, text: str | None = None,
                     reply_to: int | None = None, content: JSON | None = None) -> Message:
        if chat.is_group and chat.status(person.id) not in ACTIVE_STATUSES:
            raise ValueError(f"user {person.id} is not a member of chat {chat.id}")
        if chat.migrated_to is not None:
            raise ValueError(f"chat {chat.id} was migrated to {chat.migrated_to}")
        if chat.blocked:
            raise ValueError(f"user {person.id} has blocked the bot; start_bot() unblocks")
        if not chat.is_group:
            chat.started = True  # writing to a bot starts it, as the Start button does
        quoted = chat.messages[reply_to] if reply_to is not None else None
        content = dict(content or {})
        if caption_entities := client_entities(content.get("caption", "")):
            content["caption_entities"] = caption_entities
        message = self._append(chat, person, text=text, reply_to=quoted, content=content,
                               entities=client_entities(text) if text is not None else None)
        self._publish(message)
        return message

    def person_edits(self, person: User, chat: Chat, message_id: int, text: str) -> Message:
        message = chat.messages[message_id]
        if message.sender.id != person.id:
            raise ValueError("people can only edit their own messages")
        message.history.append(message.text)
        message.text, message.entities = text, client_entities(text)
        message.edit_date = self.now()
        self._publish(message, "edited_message")
        return message

    def block(self, person: User, bot: BotAccount, *, blocked: bool) -> None:
        """Block or unblock: the bot hears of it only through my_chat_member."""
        chat = self.private_chat(bot, person)
        if chat.blocked == blocked:
            return
        chat.blocked = blocked
        before, after = ("member", "kicked") if blocked else ("kicked", "member")
        self._emit(bot, "my_chat_member", self._member_update(
            chat, person, Member(bot.user, before), Member(bot.user, after)))

    def create_group(self, title: str, *, creator: User, members: Iterable[User] = (),
                     admins: Iterable[User] = (), bots: Iterable[BotAccount] = (),
                     bot_admin: bool = False, supergroup: bool = False) -> Chat:
        serial = next(self._serial)
        chat_id = (_SUPERGROUP_IDS if supergroup else _BASIC_GROUP_IDS) - serial
        chat = Chat(chat_id, "supergroup" if supergroup else "group", title=title)
        self.groups[chat_id] = chat
        chat.members[creator.id] = Member(creator, "creator")
        for person in members:
            chat.members.setdefault(person.id, Member(person, "member"))
        for person in admins:
            chat.members[person.id] = Member(person, "administrator")
        created = "supergroup_chat_created" if supergroup else "group_chat_created"
        for bot in bots:
            self._set_status(chat, bot.user, "administrator" if bot_admin else "member",
                             by=creator)
        self._publish(self._append(chat, creator, content={created: True}))
        return chat

    def add_member(self, chat: Chat, person: User, *, by: User) -> Message:
        self._set_status(chat, person, "member", by=by)
        notice = self._append(chat, by, content={"new_chat_members": [person.to_api()]})
        self._publish(notice)
        return notice

    def remove_member(self, chat: Chat, person: User, *, by: User, ban: bool = False) -> Message:
        # A departing bot is still told about its own departure.
        self._set_status(chat, person, "kicked" if ban else "left", by=by)
        notice = self._append(chat, by, content={"left_chat_member": person.to_api()})
        self._publish(notice, also=self.account_of(person))
        return notice

    def promote(self, chat: Chat, person: User, *, by: User,
                rights: AdminRights | None = None) -> None:
        self._set_status(chat, person, "administrator", by=by, rights=rights)

    def migrate(self, chat: Chat, *, by: User) -> Chat:
        """Upgrade a basic group: it gets a new -100... id and the old id stops answering."""
        if chat.type != "group" or chat.migrated_to is not None:
            raise ValueError(f"chat {chat.id} is not a basic group")
        successor = Chat(_SUPERGROUP_IDS - next(self._serial), "supergroup", title=chat.title)
        self.groups[successor.id] = successor
        moved = {uid: m for uid, m in chat.members.items() if self.account_of(m.user) is None}
        successor.members.update(moved)
        self._publish(self._append(chat, by, content={"migrate_to_chat_id": successor.id}))
        chat.migrated_to = successor.id
        for bot in self.bots.values():
            if chat.status(bot.user.id) in ACTIVE_STATUSES:
                self._set_status(successor, bot.user, chat.status(bot.user.id), by=by,
                                 rights=chat.members[bot.user.id].rights)
        self._publish(self._append(successor, GROUP_ANONYMOUS_BOT, content={
            "sender_chat": successor.to_api(), "migrate_from_chat_id": chat.id}))
        return successor

    def _set_status(self, chat: Chat, person: User, status: str, *, by: User,
                    rights: AdminRights | None = None) -> None:
        before = chat.member(person)
        after = Member(person, status, rights or AdminRights())
        chat.members[person.id] = after
        update = self._member_update(chat, by, before, after)
        affected_bot = self.account_of(person)
        if affected_bot is not None:
            self._emit(affected_bot, "my_chat_member", update)
        # chat_member goes only to admin bots that opted in (BotAccount.wants checks the opt-in).
        for bot in self.bots.values():
            if bot is not affected_bot and chat.status(bot.user.id) in ADMIN_STATUSES:
                self._emit(bot, "chat_member", update)
        self.changed()

    def _member_update(self, chat: Chat, by: User, before: Member, after: Member) -> JSON:
        return {
            "chat": chat.to_api(), "from": by.to_api(), "date": self.now(),
            "old_chat_member": before.to_api(), "new_chat_member": after.to_api(),
        }


def _chat_instance(bot: BotAccount, chat: Chat) -> str:
    """A stable opaque id per (bot, chat), shaped like Telegram's signed 64-bit numbers."""
    digest = hashlib.blake2b(f"{bot.user.id}:{chat.id}".encode(), digest_size=8).digest()
    return str(int.from_bytes(digest, "big", signed=True))
