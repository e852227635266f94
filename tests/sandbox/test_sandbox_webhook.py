"""Webhook mode: updates pushed to the bot's URL with its secret, retried with backoff."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import telegram
from aiohttp import web

from bot.sandbox import Control
from tests.present import present


@dataclass
class Receiver:
    """A tiny webhook endpoint that answers the scripted statuses, then 200."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    received: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                              await request.json()))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    endpoint = Receiver()
    app = web.Application()
    app.router.add_post("/hook", endpoint.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    endpoint.url = f"http://127.0.0.1:{site.port}/hook"
    yield endpoint
    await runner.cleanup()


async def test_updates_are_pushed_with_the_secret_header(
        bot: telegram.Bot, control: Control, receiver: Receiver) -> None:
    """Each update is POSTed as JSON with X-Telegram-Bot-Api-Secret-Token."""
    assert await bot.set_webhook(receiver.url, secret_token="s3cret-Token_1")
    alice = control.create_user("Alice")
    control.start_bot(alice.id)
    await control.wait_until(lambda: len(receiver.received) == 1)
    secret, update = receiver.received[0]
    assert secret == "s3cret-Token_1"
    assert present(telegram.Update.de_json(update, bot).message).text == "/start"
    await control.wait_until(lambda: control.pending_updates() == [])


async def test_a_failed_push_is_retried_until_it_succeeds(
        bot: telegram.Bot, control: Control, receiver: Receiver) -> None:
    """A 500 is retried; the attempts and the last error are visible afterwards."""
    receiver.statuses = [500]
    await bot.set_webhook(receiver.url)
    alice = control.create_user("Alice")
    control.start_bot(alice.id)
    await control.wait_until(lambda: [a.status for a in control.webhook_deliveries()] == [500, 200])
    first, second = (update for _, update in receiver.received)
    assert first == second
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == (receiver.url, 0)
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"


async def test_pushes_give_up_after_the_last_attempt(
        bot: telegram.Bot, control: Control, receiver: Receiver) -> None:
    """The retries are bounded (three in these tests); then the next update goes out."""
    receiver.statuses = [502, 502, 502]
    await bot.set_webhook(receiver.url)
    alice = control.create_user("Alice")
    control.start_bot(alice.id)
    control.send_text(alice.id, alice.id, "after the failures")
    await control.wait_until(lambda: len(control.webhook_deliveries()) == 4)
    assert [a.ok for a in control.webhook_deliveries()] == [False, False, False, True]
    assert receiver.received[-1][1]["message"]["text"] == "after the failures"


async def test_connection_errors_count_as_failures(
        bot: telegram.Bot, control: Control) -> None:
    """Nobody listening: the attempt records no status and a connection error."""
    await bot.set_webhook("http://127.0.0.1:9/nobody")
    alice = control.create_user("Alice")
    control.start_bot(alice.id)
    await control.wait_until(lambda: len(control.webhook_deliveries()) == 3)
    attempt = control.webhook_deliveries()[0]
    assert (attempt.status, attempt.ok) == (None, False)
    assert attempt.error is not None
    assert attempt.error.startswith("Connection failed")


async def test_deleting_the_webhook_returns_to_polling(
        bot: telegram.Bot, control: Control, receiver: Receiver) -> None:
    """After deleteWebhook, getUpdates works and undelivered updates are kept unless dropped."""
    receiver.statuses = [500, 500, 500]
    await bot.set_webhook(receiver.url, allowed_updates=["message"])
    assert (await bot.get_webhook_info()).allowed_updates == ("message",)
    await bot.delete_webhook()
    alice = control.create_user("Alice")
    control.start_bot(alice.id)
    assert [present(u.message).text for u in await bot.get_updates()] == ["/start"]
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()
    assert receiver.received == []
