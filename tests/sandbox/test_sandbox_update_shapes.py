"""Every update and result the sandbox emits is exactly what PTB 22.8 expects from Telegram."""

from __future__ import annotations

import inspect
from typing import Any

import telegram
from telegram import TelegramObject

from bot.sandbox import Control
from tests.present import present


def _unknown_fields(obj: Any, where: str = "") -> list[str]:
    """Fields PTB did not recognise (it files them under api_kwargs), anywhere in the tree."""
    if isinstance(obj, tuple | list):
        return [f for i, item in enumerate(obj) for f in _unknown_fields(item, f"{where}[{i}]")]
    if not isinstance(obj, TelegramObject):
        return []
    found = [f"{where}.{key}" for key in obj.api_kwargs]
    for name in inspect.signature(type(obj)).parameters:
        if name != "api_kwargs":
            found += _unknown_fields(getattr(obj, name, None), f"{where}.{name}")
    return found


def _missing_after_round_trip(original: Any, again: Any, where: str = "") -> list[str]:
    """Where `again` (PTB's to_dict) lost or changed a value `original` had."""
    if isinstance(original, dict):
        if not isinstance(again, dict):
            return [where]
        return [m for key, value in original.items()
                for m in _missing_after_round_trip(value, again.get(key), f"{where}.{key}")]
    if isinstance(original, list):
        if not isinstance(again, list) or len(again) != len(original):
            return [where]
        return [m for i, (a, b) in enumerate(zip(original, again, strict=True))
                for m in _missing_after_round_trip(a, b, f"{where}[{i}]")]
    return [] if original == again else [where]


def _every_kind_of_update(control: Control) -> None:
    """Drive the world through each update kind the sandbox can produce."""
    bot_id = control.world.bot_named().user.id
    alice = control.create_user("Alice", username="alice", last_name="Li", language_code="zh")
    bob = control.create_user("Bob")
    control.start_bot(alice.id, payload="invite-42")
    asked = control.send_text(alice.id, alice.id, "😀 /agenda@council_bot next")
    control.send_text(alice.id, alice.id, "thanks", reply_to=asked.message_id)
    control.edit_text(alice.id, alice.id, asked.message_id, "/agenda")
    control.send_document(alice.id, alice.id, b"%PDF-1.7", file_name="a.pdf",
                          mime_type="application/pdf", caption="budget")
    control.block_bot(alice.id)
    control.block_bot(alice.id, blocked=False)
    group = control.create_group("Council", creator=alice.id, members=[bob.id])
    control.add_member(group.id, control.create_user("Carol").id)
    control.remove_member(group.id, bob.id)
    control.promote(group.id, bot_id)
    control.world.bot_named().allowed_updates = frozenset({"chat_member", "message"})
    control.add_member(group.id, bob.id, by=alice.id)
    control.world.bot_named().allowed_updates = None
    supergroup = control.migrate(group.id)
    control.create_group("Working group", creator=bob.id, supergroup=True)
    control.remove_member(supergroup.id, bot_id)


async def test_every_update_parses_without_unknown_fields_and_round_trips(
        bot: telegram.Bot, control: Control) -> None:
    """Update.de_json accepts each update, knows every field, and to_dict gives them back."""
    _every_kind_of_update(control)
    raw = control.pending_updates()
    kinds = set()
    for data in raw:
        update = telegram.Update.de_json(data, bot)
        kinds.add(next(key for key in data if key != "update_id"))
        assert _unknown_fields(update) == [], data
        assert _missing_after_round_trip(data, update.to_dict()) == [], data
    assert kinds == {"message", "edited_message", "my_chat_member", "chat_member"}


async def test_callback_query_updates_parse(bot: telegram.Bot, control: Control) -> None:
    """A button press parses into a CallbackQuery carrying its message and data."""
    alice = control.create_user("Alice")
    control.start_bot(alice.id)
    keyboard = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("Yes", callback_data="v:M1:y"),
          telegram.InlineKeyboardButton("Minutes", url="https://example.org/m/1")]])
    sent = await bot.send_message(alice.id, "<b>Approve?</b>", parse_mode="HTML",
                                  reply_markup=keyboard)
    query_id = control.press_button(alice.id, alice.id, sent.message_id, data="v:M1:y")
    data = control.pending_updates()[-1]
    query = present(telegram.Update.de_json(data, bot).callback_query)
    assert isinstance(query.message, telegram.Message)  # accessible: the bot sent it just now
    assert (query.id, query.data, query.message.message_id) == (
        query_id, "v:M1:y", sent.message_id)
    assert query.message.reply_markup == keyboard
    assert _unknown_fields(query) == []
    assert _missing_after_round_trip(data, telegram.Update.de_json(data, bot).to_dict()) == []


async def test_method_results_have_no_unknown_fields(bot: telegram.Bot, control: Control) -> None:
    """getMe, getChat, getChatMember, getFile, getWebhookInfo and sent messages parse cleanly."""
    alice = control.create_user("Alice")
    control.start_bot(alice.id)
    group = control.create_group("Council", creator=alice.id, bot_admin=True)
    sent = await bot.send_document(group.id, b"data", filename="d.bin", caption="<i>x</i>",
                                   parse_mode="HTML")
    await bot.pin_chat_message(group.id, sent.message_id)
    results: list[TelegramObject] = [
        await bot.get_me(), await bot.get_chat(group.id), await bot.get_chat(alice.id),
        await bot.get_chat_member(group.id, alice.id),
        await bot.get_chat_member(group.id, bot.id),
        await bot.get_file(present(sent.document).file_id),
        await bot.get_webhook_info(), sent,
    ]
    assert [_unknown_fields(result) for result in results] == [[]] * len(results)


async def test_transcript_messages_parse(bot: telegram.Bot, control: Control) -> None:
    """Transcript entries render as Bot API messages PTB reads without unknown fields."""
    _every_kind_of_update(control)
    chats = [*control.world.groups.values(), *control.world.privates.values()]
    messages = [m for chat in chats for m in chat.messages.values()]
    assert len(messages) > 10
    for message in messages:
        parsed = telegram.Message.de_json(message.to_api(), bot)
        assert _unknown_fields(parsed) == [], message.to_api()
