"""The control API over HTTP, as the demo and benchmarks drive it from another process."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import aiohttp
import telegram

from bot.sandbox import SandboxServer


async def _control(sandbox: SandboxServer, method: str, **kwargs: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(
            f"{sandbox.url}/control/{method}", json=kwargs) as response:
        return response.status, await response.json()


async def test_people_act_and_the_transcript_comes_back(
        sandbox: SandboxServer, bot: telegram.Bot) -> None:
    """Create people and a group, write, press a button, read transcript and answers."""
    _, alice = await _control(sandbox, "create_user", first_name="Alice", username="alice")
    alice_id = alice["result"]["id"]
    _, group = await _control(sandbox, "create_group", title="Council", creator=alice_id)
    group_id = group["result"]["id"]
    _, said = await _control(sandbox, "send_text", user_id=alice_id, chat_id=group_id,
                             text="/agenda")
    keyboard = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("Yes", callback_data="y")]])
    waiting = asyncio.create_task(_control(
        sandbox, "next_bot_message", chat_id=group_id,
        after=said["result"]["message"]["message_id"]))
    sent = await bot.send_message(group_id, "Vote?", reply_markup=keyboard)
    _, reply = await waiting
    assert reply["result"]["message"]["text"] == "Vote?"
    _, pressed = await _control(sandbox, "press_button", user_id=alice_id, chat_id=group_id,
                                message_id=sent.message_id, data="y")
    await bot.answer_callback_query(pressed["result"], text="Counted")
    _, answers = await _control(sandbox, "callback_answers")
    assert [(a["data"], a["text"]) for a in answers["result"]] == [("y", "Counted")]
    _, transcript = await _control(sandbox, "transcript", chat_id=group_id)
    assert [(e["message"].get("text"), e["deleted"]) for e in transcript["result"]] == [
        (None, False), ("/agenda", False), ("Vote?", False)]


async def test_documents_travel_as_base64_and_download_raw(sandbox: SandboxServer) -> None:
    """send_document takes data_base64; /control/files/<file_id> serves the bytes."""
    _, alice = await _control(sandbox, "create_user", first_name="Alice")
    alice_id = alice["result"]["id"]
    _, sent = await _control(sandbox, "send_document", user_id=alice_id, chat_id=alice_id,
                             data_base64=base64.b64encode(b"\x00\xffminutes").decode(),
                             file_name="m.bin")
    file_id = sent["result"]["message"]["document"]["file_id"]
    async with aiohttp.ClientSession() as session, session.get(
            f"{sandbox.url}/control/files/{file_id}") as response:
        assert await response.read() == b"\x00\xffminutes"


async def test_misuse_is_reported_not_raised(sandbox: SandboxServer) -> None:
    """Unknown methods are 404; bad arguments or unknown ids are 400 with a description."""
    assert (await _control(sandbox, "drop_database"))[0] == 404
    status, body = await _control(sandbox, "send_text", user_id=1, chat_id=1, text="hi")
    assert (status, body["ok"]) == (400, False)
    assert "no user 1" in body["description"]
    assert (await _control(sandbox, "create_user", name="Alice"))[0] == 400
