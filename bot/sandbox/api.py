"""Bot API methods: read the parameters, validate them as Telegram does, ask the world.

Each handler returns what the Bot API puts in `result`; refusals are `ApiError`s. Method names
are matched case-insensitively, as Telegram matches them.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.sandbox.changes import Changes
from bot.sandbox.errors import ApiError, bad_request
from bot.sandbox.media import image_size
from bot.sandbox.state import (
    ADMIN_STATUSES,
    JSON,
    BotAccount,
    Chat,
    Member,
    Message,
    StoredFile,
    Webhook,
)
from bot.sandbox.text import MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH, formatted
from bot.sandbox.wire import Params, Upload
from bot.sandbox.world import World

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses bigger files
_INLINE_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})
# What getChat reports for every chat; the sandbox models none of these features.
_CHAT_DEFAULTS: JSON = {
    "accent_color_id": 0,
    "max_reaction_count": 11,
    "accepted_gift_types": {
        "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
        "premium_subscription": False, "gifts_from_channels": False,
    },
}
_GROUP_PERMISSIONS: JSON = {
    "can_send_messages": True, "can_send_audios": True, "can_send_documents": True,
    "can_send_photos": True, "can_send_videos": True, "can_send_video_notes": True,
    "can_send_voice_notes": True, "can_send_polls": True, "can_send_other_messages": True,
    "can_add_web_page_previews": True, "can_change_info": True, "can_invite_users": True,
    "can_pin_messages": True, "can_manage_topics": True,
}


@dataclass
class Call:
    """One Bot API request: who calls, with what, and the server pieces a method may need."""

    world: World
    bot: BotAccount
    params: Params
    changes: Changes
    webhook_changed: Callable[[BotAccount], None]
    closing: Callable[[], bool]


@dataclass(frozen=True)
class Described:
    """A result Telegram accompanies with a `description` ("Webhook was set")."""

    result: Any
    description: str


Handler = Callable[[Call], Awaitable[Any]]
METHODS: dict[str, Handler] = {}
H = TypeVar("H", bound=Handler)


def method(name: str) -> Callable[[H], H]:
    def register(handler: H) -> H:
        METHODS[name.lower()] = handler
        return handler

    return register


# --- updates and webhooks ------------------------------------------------------------------

@method("getMe")
async def get_me(call: Call) -> JSON:
    return call.bot.me()


@method("getUpdates")
async def get_updates(call: Call) -> list[JSON]:
    bot, params = call.bot, call.params
    if bot.webhook is not None:
        raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                            "use deleteWebhook to delete the webhook first")
    limit = min(max(params.integer("limit") or 100, 1), 100)
    timeout = max(params.number("timeout") or 0.0, 0.0)  # PTB may send fractions of seconds
    _set_allowed_updates(bot, params)
    call.world.confirm_updates(bot, params.integer("offset") or 0)
    bot.poll_generation += 1
    mine = bot.poll_generation
    call.world.changed()  # wakes an older poll so it can notice it has been superseded
    await call.changes.wait_until(
        lambda: bool(bot.updates) or bot.poll_generation != mine or call.closing(), timeout)
    if bot.poll_generation != mine:
        raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                            "make sure that only one bot instance is running")
    return bot.updates[:limit]


def _set_allowed_updates(bot: BotAccount, params: Params) -> None:
    # Telegram keeps the last list given; an empty list restores the default selection.
    allowed = params.object("allowed_updates")
    if allowed is None:
        return
    if not isinstance(allowed, list) or not all(isinstance(kind, str) for kind in allowed):
        raise bad_request("can't parse allowed_updates JSON object")
    bot.allowed_updates = frozenset(allowed) or None


@method("setWebhook")
async def set_webhook(call: Call) -> Described:
    params = call.params
    url = params.text("url") or ""
    if not url:
        return await delete_webhook(call)
    # Telegram insists on HTTPS; the sandbox also takes plain HTTP so tests need no certificates.
    if not url.startswith(("https://", "http://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.text("secret_token")
    if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    _set_allowed_updates(call.bot, params)
    already = call.bot.webhook is not None and call.bot.webhook.url == url
    hook = Webhook(url, secret, params.integer("max_connections") or 40,
                   params.text("ip_address"))
    call.world.set_webhook(call.bot, hook, drop_pending=params.flag("drop_pending_updates"))
    call.webhook_changed(call.bot)
    return Described(True, "Webhook is already set" if already else "Webhook was set")


@method("deleteWebhook")
async def delete_webhook(call: Call) -> Described:
    had_one = call.bot.webhook is not None
    call.world.set_webhook(call.bot, None,
                           drop_pending=call.params.flag("drop_pending_updates"))
    call.webhook_changed(call.bot)
    return Described(True, "Webhook was deleted" if had_one else "Webhook is already deleted")


@method("getWebhookInfo")
async def get_webhook_info(call: Call) -> JSON:
    bot = call.bot
    info: JSON = {
        "url": bot.webhook.url if bot.webhook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(bot.updates),
    }
    if bot.webhook is not None:
        info["max_connections"] = bot.webhook.max_connections
        info["ip_address"] = bot.webhook.ip_address or "127.0.0.1"
        if bot.allowed_updates is not None:
            info["allowed_updates"] = sorted(bot.allowed_updates)
    if bot.webhook_error is not None:
        info["last_error_date"], info["last_error_message"] = bot.webhook_error
    return info


# --- messages ------------------------------------------------------------------------------

@method("sendMessage")
async def send_message(call: Call) -> JSON:
    chat = _chat_to_write(call)
    text, entities = _message_text(call, too_long="message is too long")
    message = call.world.bot_sends(
        call.bot, chat, text=text, entities=entities, reply_markup=_reply_markup(call.params),
        reply_to=_reply_target(call, chat), content=_protection(call.params))
    return message.to_api()


@method("editMessageText")
async def edit_message_text(call: Call) -> JSON:
    chat, message_id = _edited(call)
    text, entities = _message_text(call, too_long="MESSAGE_TOO_LONG")
    # Leaving out reply_markup removes the keyboard, as it does on Telegram.
    return call.world.bot_edits(call.bot, chat, message_id, text=text, entities=entities,
                                reply_markup=_inline_markup(call.params)).to_api()


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(call: Call) -> JSON:
    chat, message_id = _edited(call)
    return call.world.bot_edits(call.bot, chat, message_id, text=None, entities=[],
                                reply_markup=_inline_markup(call.params)).to_api()


@method("deleteMessage")
async def delete_message(call: Call) -> bool:
    chat = call.world.chat_for(call.bot, call.params.chat_id())
    call.world.bot_deletes(call.bot, chat, call.params.require_integer("message_id"))
    return True


@method("deleteMessages")
async def delete_messages(call: Call) -> bool:
    chat = call.world.chat_for(call.bot, call.params.chat_id())
    message_ids = call.params.object("message_ids")
    if not isinstance(message_ids, list) or not 1 <= len(message_ids) <= 100:
        raise bad_request("message_ids must be a list of 1-100 ids")
    for message_id in message_ids:
        # Telegram skips the ones it cannot find or delete instead of failing the call.
        with contextlib.suppress(ApiError):
            call.world.bot_deletes(call.bot, chat, int(message_id))
    return True


@method("answerCallbackQuery")
async def answer_callback_query(call: Call) -> bool:
    params = call.params
    text = params.text("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    call.world.answer(call.bot, params.require_text("callback_query_id"), text=text,
                      show_alert=params.flag("show_alert"), url=params.text("url"),
                      cache_time=params.integer("cache_time") or 0)
    return True


@method("sendDocument")
async def send_document(call: Call) -> JSON:
    chat = _chat_to_write(call)
    return _send_media(call, chat, {"document": _file(call, "document").as_document()})


@method("sendPhoto")
async def send_photo(call: Call) -> JSON:
    chat = _chat_to_write(call)
    stored = _file(call, "photo")
    size = image_size(stored.data)
    if size is None:
        raise bad_request("IMAGE_PROCESS_FAILED")
    # Telegram returns several re-encoded sizes; the sandbox keeps the one it was given.
    photo = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
             "file_size": len(stored.data), "width": size[0], "height": size[1]}
    return _send_media(call, chat, {"photo": [photo]})


@method("sendChatAction")
async def send_chat_action(call: Call) -> bool:
    _chat_to_write(call)
    if call.params.require_text("action") not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return True


@method("getFile")
async def get_file(call: Call) -> JSON:
    stored = call.world.files.get(call.params.require_text("file_id"))
    if stored is None:
        raise bad_request("invalid file_id")
    if len(stored.data) > MAX_DOWNLOAD_BYTES:
        raise bad_request("file is too big")
    return stored.to_api()


# --- chats ---------------------------------------------------------------------------------

@method("getChat")
async def get_chat(call: Call) -> JSON:
    chat = call.world.chat_for(call.bot, call.params.chat_id())
    info = chat.to_api() | _CHAT_DEFAULTS
    if chat.is_group:
        info["permissions"] = _GROUP_PERMISSIONS
    if chat.pinned:
        info["pinned_message"] = chat.messages[chat.pinned[-1]].to_api(with_reply=False)
    return info


@method("getChatMember")
async def get_chat_member(call: Call) -> JSON:
    chat = call.world.chat_for(call.bot, call.params.chat_id())
    user = call.world.users.get(call.params.require_integer("user_id"))
    if user is None:
        raise bad_request("user not found")
    if not chat.is_group:
        if user.id not in (chat.id, call.bot.user.id):
            raise bad_request("user not found")
        return Member(user, "member").to_api()
    return chat.member(user).to_api()


@method("getChatAdministrators")
async def get_chat_administrators(call: Call) -> list[JSON]:
    chat = call.world.chat_for(call.bot, call.params.chat_id())
    if not chat.is_group:
        raise bad_request("there are no administrators in the private chat")
    return [m.to_api() for m in chat.active_members() if m.status in ADMIN_STATUSES]


@method("getChatMemberCount")
async def get_chat_member_count(call: Call) -> int:
    chat = call.world.chat_for(call.bot, call.params.chat_id())
    return len(chat.active_members()) if chat.is_group else 2


@method("pinChatMessage")
async def pin_chat_message(call: Call) -> bool:
    chat = call.world.chat_for(call.bot, call.params.chat_id())
    call.world.bot_pins(call.bot, chat, call.params.require_integer("message_id"))
    return True


@method("unpinChatMessage")
async def unpin_chat_message(call: Call) -> bool:
    chat = call.world.chat_for(call.bot, call.params.chat_id())
    call.world.bot_unpins(call.bot, chat, call.params.integer("message_id"))
    return True


@method("leaveChat")
async def leave_chat(call: Call) -> bool:
    chat = call.world.chat_for(call.bot, call.params.chat_id())
    call.world.bot_leaves(call.bot, chat)
    return True


# --- commands ------------------------------------------------------------------------------

def _commands_key(params: Params) -> tuple[str, str]:
    scope = params.object("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), params.text("language_code") or ""


@method("setMyCommands")
async def set_my_commands(call: Call) -> bool:
    commands = call.params.object("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    for command in commands:
        if not _COMMAND_NAME.fullmatch(str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    key = _commands_key(call.params)
    cleaned = [{"command": c["command"], "description": c["description"]} for c in commands]
    if cleaned:
        call.bot.commands[key] = cleaned
    else:
        call.bot.commands.pop(key, None)
    return True


@method("getMyCommands")
async def get_my_commands(call: Call) -> list[JSON]:
    return call.bot.commands.get(_commands_key(call.params), [])


@method("deleteMyCommands")
async def delete_my_commands(call: Call) -> bool:
    call.bot.commands.pop(_commands_key(call.params), None)
    return True


# --- shared steps --------------------------------------------------------------------------

def _chat_to_write(call: Call) -> Chat:
    chat = call.world.writable_chat(call.bot, call.params.chat_id())
    if call.world.rate_limits:
        call.bot.limiter.acquire(chat.id, group=chat.is_group)
    return chat


def _edited(call: Call) -> tuple[Chat, int]:
    if "inline_message_id" in call.params:
        raise bad_request("MESSAGE_ID_INVALID")  # the sandbox has no inline mode
    chat = call.world.chat_for(call.bot, call.params.chat_id())
    return chat, call.params.require_integer("message_id")


def _message_text(call: Call, *, too_long: str) -> tuple[str, list[JSON]]:
    """A message's text: 1..4096 characters once the markup is parsed away."""
    text, entities = _text(call, "text", "entities")
    if not text.strip():
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise bad_request(too_long)
    return text, entities


def _text(call: Call, name: str, entities_name: str) -> tuple[str, list[JSON]]:
    """Plain text and entities: explicit entities win over parse_mode, as on Telegram."""
    params = call.params
    raw = params.text(name) or ""
    given = params.object(entities_name)
    if given is None:
        users = call.world.users
        return formatted(raw, params.text("parse_mode"),
                         lambda user_id: users[user_id].to_api() if user_id in users else None)
    if not isinstance(given, list) or not all(isinstance(e, dict) for e in given):
        raise bad_request(f"can't parse {entities_name} JSON object")
    return raw, sorted(given, key=lambda e: (e.get("offset", 0), -e.get("length", 0)))


def _reply_markup(params: Params) -> JSON | None:
    """Validate any markup; only an inline keyboard is kept on (and echoed with) the message."""
    markup = params.object("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict) or not (
            {"inline_keyboard", "keyboard", "remove_keyboard", "force_reply"} & markup.keys()):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for button in (b for row in rows for b in row):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise bad_request('can\'t parse inline keyboard button: Field "text" must be of '
                              "type String")
        if sum(action in button for action in _INLINE_ACTIONS) != 1:
            raise bad_request("can't parse inline keyboard button: Text buttons are unallowed "
                              "in the inline keyboard")
        if "callback_data" in button and not 1 <= len(
                str(button["callback_data"]).encode()) <= 64:  # 64 bytes, not characters
            raise bad_request("BUTTON_DATA_INVALID")
    return markup if any(rows) else None


def _inline_markup(params: Params) -> JSON | None:
    markup = _reply_markup(params)
    if markup is None and params.object("reply_markup") not in (None, {}):
        raise bad_request("inline keyboard expected")
    return markup


def _reply_target(call: Call, chat: Chat) -> Message | None:
    params = call.params
    target = params.object("reply_parameters")
    if target is None and "reply_to_message_id" in params:
        target = {"message_id": params.require_integer("reply_to_message_id"),
                  "allow_sending_without_reply": params.flag("allow_sending_without_reply")}
    if target is None:
        return None
    quoted = chat.messages.get(int(target.get("message_id", 0)))
    if quoted is not None and not quoted.deleted:
        return quoted
    if target.get("allow_sending_without_reply"):
        return None
    raise bad_request("message to be replied not found")


def _file(call: Call, kind: str) -> StoredFile:
    source: Upload | str | None = call.params.upload(kind)
    if source is None:
        raise bad_request(f"there is no {kind} in the request")
    if isinstance(source, str):
        if source.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")  # the sandbox is offline
        stored = call.world.files.get(source)
        if stored is None or not stored.path.startswith(f"{kind}s/"):
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored
    if not source.data:
        raise bad_request("file must be non-empty")
    return call.world.store_file(kind, source.data, file_name=source.filename,
                                 mime_type=source.content_type)


def _send_media(call: Call, chat: Chat, content: JSON) -> JSON:
    caption, caption_entities = _text(call, "caption", "caption_entities")
    if len(caption) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    if caption:
        content["caption"] = caption
        if caption_entities:
            content["caption_entities"] = caption_entities
    message = call.world.bot_sends(call.bot, chat, reply_markup=_reply_markup(call.params),
                                   reply_to=_reply_target(call, chat),
                                   content=content | _protection(call.params))
    return message.to_api()


def _protection(params: Params) -> JSON:
    return {"has_protected_content": True} if params.flag("protect_content") else {}
