"""What a bot does to messages: send, format, reply, edit, delete, pin, answer buttons."""

from __future__ import annotations

import pytest
import telegram
from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)
from telegram.error import BadRequest

from bot.sandbox import Control, ManualClock, User
from tests.present import present


def _keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d.title(), callback_data=d) for d in data]])


@pytest.fixture
def alice(control: Control) -> User:
    person = control.create_user("Alice", username="alice")
    control.start_bot(person.id)
    return person


async def test_html_becomes_text_and_utf16_entities(bot: telegram.Bot, alice: User) -> None:
    """Markup is parsed away; offsets count UTF-16 units (the emoji counts two)."""
    sent = await bot.send_message(
        alice.id, '😀 <b>Vote</b> on <a href="https://example.org/m/1">motion 1</a>',
        parse_mode="HTML")
    assert sent.text == "😀 Vote on motion 1"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 3, 4), ("text_link", 11, 8)]
    assert sent.parse_entity(sent.entities[1]) == "motion 1"


async def test_links_to_known_users_become_text_mentions(bot: telegram.Bot, alice: User) -> None:
    """tg://user?id= links to people Telegram knows carry the user, as text_mention."""
    sent = await bot.send_message(
        alice.id, f'Chair: <a href="tg://user?id={alice.id}">Alice</a>, '
                  '<a href="tg://user?id=1">nobody</a>', parse_mode="HTML")
    assert [(e.type, e.user.id if e.user else None) for e in sent.entities] == [
        ("text_mention", alice.id), ("text_link", None)]


async def test_unparsable_markup_is_refused(bot: telegram.Bot, alice: User) -> None:
    """Unsupported HTML tags and unescaped MarkdownV2 characters are 400s."""
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "br"'):
        await bot.send_message(alice.id, "line<br>line", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)character '.' is reserved"):
        await bot.send_message(alice.id, "*Meeting* at 14.30", parse_mode="MarkdownV2")


async def test_replies_quote_one_level_and_missing_targets_fail(
        bot: telegram.Bot, control: Control, alice: User) -> None:
    """reply_parameters nests the quoted message (without its own reply) or fails."""
    question = control.send_text(alice.id, alice.id, "When is the meeting?")
    first = await bot.send_message(alice.id, "Thursday",
                                   reply_parameters=ReplyParameters(question.message_id))
    second = await bot.send_message(alice.id, "At 14:30",
                                    reply_parameters=ReplyParameters(first.message_id))
    assert present(first.reply_to_message).text == "When is the meeting?"
    assert present(second.reply_to_message).reply_to_message is None
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(alice.id, "?", reply_parameters=ReplyParameters(999))
    lenient = ReplyParameters(999, allow_sending_without_reply=True)
    assert (await bot.send_message(alice.id, "ok", reply_parameters=lenient)).text == "ok"


async def test_only_inline_keyboards_are_echoed(bot: telegram.Bot, alice: User) -> None:
    """ForceReply is accepted but, as on Telegram, not part of the returned message."""
    sent = await bot.send_message(alice.id, "Your department?", reply_markup=ForceReply(),
                                  protect_content=True)
    assert sent.reply_markup is None
    assert sent.has_protected_content


async def test_editing_text_replaces_the_keyboard_and_must_change_something(
        bot: telegram.Bot, alice: User, control: Control) -> None:
    """editMessageText without reply_markup drops the keyboard; a no-op edit is refused."""
    sent = await bot.send_message(alice.id, "Vote?", reply_markup=_keyboard("yes", "no"))
    kept = await bot.edit_message_text("Vote (2 left)?", alice.id, sent.message_id,
                                       reply_markup=_keyboard("yes", "no"))
    assert isinstance(kept, Message)  # an edit of a bot's own message returns it, not True
    assert kept.reply_markup == _keyboard("yes", "no")
    assert kept.edit_date is not None
    closed = await bot.edit_message_text("Vote closed", alice.id, sent.message_id)
    assert isinstance(closed, Message)
    assert closed.reply_markup is None
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("Vote closed", alice.id, sent.message_id)
    reopened = await bot.edit_message_reply_markup(alice.id, sent.message_id,
                                                   reply_markup=_keyboard("yes"))
    assert isinstance(reopened, Message)
    assert reopened.text == "Vote closed"
    assert control.transcript(alice.id)[-1].history == ["Vote?", "Vote (2 left)?"]


async def test_bots_edit_only_their_own_messages(
        bot: telegram.Bot, control: Control, alice: User) -> None:
    """A person's message cannot be edited; an unknown one is not found."""
    said = control.send_text(alice.id, alice.id, "hello")
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("changed", alice.id, said.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("changed", alice.id, 999)


async def test_deleting_flags_the_message_in_the_transcript(
        bot: telegram.Bot, control: Control, alice: User, clock: ManualClock) -> None:
    """Deleted messages stay flagged in the transcript; after 48 hours deletion is refused."""
    sent = await bot.send_message(alice.id, "oops")
    assert await bot.delete_message(alice.id, sent.message_id)
    assert control.transcript(alice.id)[-1].deleted
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(alice.id, sent.message_id)
    batch = [await bot.send_message(alice.id, text) for text in ("a", "b")]
    assert await bot.delete_messages(alice.id, [m.message_id for m in batch] + [999])
    assert [m.deleted for m in control.transcript(alice.id)[-2:]] == [True, True]
    old = await bot.send_message(alice.id, "archive")
    clock.advance(49 * 3600)
    with pytest.raises(BadRequest, match="Message can't be deleted"):
        await bot.delete_message(alice.id, old.message_id)


async def test_callback_queries_are_answered_once_and_in_time(
        bot: telegram.Bot, control: Control, alice: User, clock: ManualClock) -> None:
    """A second answer, an unknown id and a late answer are all 'query is too old'."""
    sent = await bot.send_message(alice.id, "Vote?", reply_markup=_keyboard("yes", "no"))
    first = control.press_button(alice.id, alice.id, sent.message_id, data="yes")
    assert await bot.answer_callback_query(first, text="Recorded")
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(first)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("12345")
    late = control.press_button(alice.id, alice.id, sent.message_id, text="No")
    clock.advance(16)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(late)
    [answer] = control.callback_answers()
    assert (answer.callback_query_id, answer.data, answer.text) == (first, "yes", "Recorded")


async def test_commands_are_kept_per_scope_and_language(bot: telegram.Bot) -> None:
    """set/get/deleteMyCommands key on scope and language; bad names are refused."""
    commands = [telegram.BotCommand("agenda", "Show the agenda")]
    chinese = [telegram.BotCommand("agenda", "查看议程")]
    groups = telegram.BotCommandScopeAllGroupChats()
    await bot.set_my_commands(commands)
    await bot.set_my_commands(chinese, scope=groups, language_code="zh")
    assert await bot.get_my_commands() == tuple(commands)
    assert await bot.get_my_commands(scope=groups, language_code="zh") == tuple(chinese)
    assert await bot.get_my_commands(scope=groups) == ()
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([telegram.BotCommand("Agenda-Now", "bad name")])


async def test_chat_action_is_accepted(bot: telegram.Bot, alice: User) -> None:
    """sendChatAction answers True for known actions."""
    assert await bot.send_chat_action(alice.id, "typing")
