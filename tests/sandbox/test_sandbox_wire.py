"""The Bot API wire format: bodies in, envelopes and HTTP statuses out, PTB's exceptions."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Conflict, Forbidden, InvalidToken, RetryAfter

from bot.sandbox import Control, ManualClock, SandboxServer
from tests.present import present


async def _post(url: str, *, json: object = None, data: dict[str, str] | None = None,
                ) -> tuple[int, dict[str, Any]]:
    """The status and the decoded envelope (JSON, so its values are Any) of one POST."""
    async with aiohttp.ClientSession() as session, session.post(url, json=json,
                                                                 data=data) as response:
        return response.status, await response.json()


async def test_json_form_and_query_requests_get_the_same_envelope(sandbox: SandboxServer) -> None:
    """getMe answers the same `ok` envelope to a JSON body, a form and a query string."""
    url = f"{sandbox.base_url}{sandbox.token}/getMe"
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            by_query = await response.json()
        async with session.post(url, json={}) as response:
            by_json = await response.json()
        async with session.post(url, data={"unused": "1"}) as response:
            by_form = await response.json()
    assert by_query == by_json == by_form
    assert by_query["ok"] is True
    assert by_query["result"]["username"] == "council_bot"
    assert by_query["result"]["can_read_all_group_messages"] is False


async def test_form_fields_carry_nested_objects_as_json_text(
        sandbox: SandboxServer, control: Control) -> None:
    """reply_markup arrives as a JSON string in a form and as an object in a JSON body."""
    alice = control.create_user("Alice")
    control.start_bot(alice.id)
    keyboard = {"inline_keyboard": [[{"text": "Yes", "callback_data": "v:1:yes"}]]}
    url = f"{sandbox.base_url}{sandbox.token}/sendMessage"
    _, by_form = await _post(url, data={"chat_id": str(alice.id), "text": "Vote?",
                                        "reply_markup": json.dumps(keyboard)})
    _, by_json = await _post(url, json={"chat_id": alice.id, "text": "Vote?",
                                        "reply_markup": keyboard})
    assert [by_form["result"]["reply_markup"], by_json["result"]["reply_markup"]] == [keyboard] * 2


async def test_errors_use_telegram_statuses_and_envelopes(sandbox: SandboxServer) -> None:
    """Unknown token is 401, unknown method 404, a refused call 400, all with an error body."""
    good, bad = sandbox.token, "1:wrong"
    assert await _post(f"{sandbox.base_url}{bad}/getMe") == (
        401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    assert await _post(f"{sandbox.base_url}{good}/noSuchMethod") == (
        404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert await _post(f"{sandbox.base_url}{good}/sendMessage",
                       json={"chat_id": -42, "text": "hi"}) == (
        400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})


async def test_method_names_are_case_insensitive(sandbox: SandboxServer) -> None:
    """Telegram accepts `getme` as well as `getMe`."""
    status, body = await _post(f"{sandbox.base_url}{sandbox.token}/getme")
    assert (status, body["ok"]) == (200, True)


async def test_unknown_token_raises_invalid_token(sandbox: SandboxServer) -> None:
    """PTB turns the 401 into InvalidToken when it initializes."""
    with pytest.raises(InvalidToken):
        async with telegram.Bot("1:wrong", base_url=sandbox.base_url):
            pass


@pytest.mark.parametrize(("text", "message"), [
    ("x" * 4097, "Message is too long"),
    ("   ", "Message text is empty"),
])
async def test_bad_text_raises_bad_request(
        bot: telegram.Bot, control: Control, text: str, message: str) -> None:
    """Text must be 1..4096 characters after parsing."""
    alice = control.create_user("Alice")
    control.start_bot(alice.id)
    with pytest.raises(BadRequest, match=message):
        await bot.send_message(alice.id, text)


async def test_text_limit_counts_characters_not_utf16_units(
        bot: telegram.Bot, control: Control) -> None:
    """4096 emoji (8192 UTF-16 units) still fit, as measured against Telegram."""
    alice = control.create_user("Alice")
    control.start_bot(alice.id)
    sent = await bot.send_message(alice.id, "😀" * 4096)
    assert len(present(sent.text)) == 4096


async def test_callback_data_is_limited_to_64_bytes(bot: telegram.Bot, control: Control) -> None:
    """64 bytes pass even when they are 32 two-byte characters; 65 bytes do not."""
    alice = control.create_user("Alice")
    control.start_bot(alice.id)

    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("Vote", callback_data=data)]])

    await bot.send_message(alice.id, "ok", reply_markup=keyboard("я" * 32))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(alice.id, "too long", reply_markup=keyboard("я" * 32 + "x"))


async def test_chat_errors_raise_the_right_classes(bot: telegram.Bot, control: Control) -> None:
    """Unknown chats are BadRequest; people who never started or blocked the bot Forbidden."""
    stranger = control.create_user("Stranger")
    blocker = control.create_user("Blocker")
    control.start_bot(blocker.id)
    control.block_bot(blocker.id)
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(-100, "hi")
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(stranger.id, "hi")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(blocker.id, "hi")


async def test_rate_limit_raises_retry_after_until_the_clock_moves(
        sandbox: SandboxServer, bot: telegram.Bot, control: Control,
        clock: ManualClock) -> None:
    """With limits on, the 21st group message in a minute gets 429 and its retry_after."""
    alice = control.create_user("Alice")
    council = control.create_group("Council", creator=alice.id)
    control.set_rate_limits(True)
    for n in range(20):
        clock.advance(0.1)  # stay under the 30/s overall limit
        await bot.send_message(council.id, f"item {n}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(council.id, "one too many")
    # PTB_TIMEDELTA (tests/conftest.py) makes retry_after a timedelta rather than seconds.
    assert isinstance(caught.value.retry_after, timedelta)
    assert caught.value.retry_after.total_seconds() == 59
    clock.advance(59)
    assert (await bot.send_message(council.id, "after the wait")).text == "after the wait"


async def test_private_chats_allow_about_one_message_per_second(
        bot: telegram.Bot, control: Control, clock: ManualClock) -> None:
    """The per-chat limit refuses a second message in the same second."""
    alice = control.create_user("Alice")
    control.start_bot(alice.id)
    control.set_rate_limits(True)
    await bot.send_message(alice.id, "one")
    with pytest.raises(RetryAfter):
        await bot.send_message(alice.id, "two")
    clock.advance(1)
    await bot.send_message(alice.id, "two")


async def test_get_updates_conflicts_with_an_active_webhook(bot: telegram.Bot) -> None:
    """Like Telegram, polling while a webhook is set is a 409 Conflict."""
    await bot.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()


async def test_migrated_group_raises_chat_migrated(bot: telegram.Bot, control: Control) -> None:
    """The old id answers 400 with migrate_to_chat_id, which PTB raises as ChatMigrated."""
    alice = control.create_user("Alice")
    group = control.create_group("Council", creator=alice.id)
    supergroup = control.migrate(group.id)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(group.id, "hello?")
    assert caught.value.new_chat_id == supergroup.id
