"""Webhook mode: push each update to the bot's URL, in order, retrying failures with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from bot.sandbox.changes import Changes
from bot.sandbox.state import JSON, BotAccount, DeliveryAttempt, Webhook
from bot.sandbox.world import World

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookPolicy:
    """How hard to push one update: attempts, the first pause, its growth, a request timeout."""

    max_attempts: int = 5
    first_delay: float = 1.0
    backoff: float = 2.0
    timeout: float = 60.0


class WebhookPusher:
    """One delivery task per bot with a webhook; the task ends when the webhook is deleted."""

    def __init__(self, world: World, changes: Changes, policy: WebhookPolicy,
                 closing: Callable[[], bool]) -> None:
        self._world = world
        self._changes = changes
        self._policy = policy
        self._closing = closing
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._policy.timeout))

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()

    def webhook_changed(self, bot: BotAccount) -> None:
        running = self._tasks.get(bot.token)
        if bot.webhook is not None and (running is None or running.done()):
            task = asyncio.create_task(self._deliver(bot), name=f"webhook {bot.username}")
            task.add_done_callback(_log_failure)
            self._tasks[bot.token] = task

    async def _deliver(self, bot: BotAccount) -> None:
        while True:
            await self._changes.wait_until(
                lambda: bot.webhook is None or bool(bot.updates) or self._closing(), None)
            hook = bot.webhook
            if hook is None or self._closing():
                return
            await self._push(bot, hook, bot.updates[0])

    async def _push(self, bot: BotAccount, hook: Webhook, update: JSON) -> None:
        policy = self._policy
        for attempt in range(1, policy.max_attempts + 1):
            result = await self._post(hook, update)
            # Telegram gives up on an update after a bounded number of tries; so does this.
            self._world.record_delivery(bot, result, final=attempt == policy.max_attempts)
            if result.ok:
                return
            delay = policy.first_delay * policy.backoff ** (attempt - 1)
            # An interruptible pause: a changed or deleted webhook ends it early.
            if await self._changes.wait_until(
                    lambda: bot.webhook is not hook or self._closing(), delay):
                return

    async def _post(self, hook: Webhook, update: JSON) -> DeliveryAttempt:
        assert self._session is not None, "start() the pusher first"
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        status: int | None = None
        try:
            async with self._session.post(hook.url, data=json.dumps(update), headers=headers,
                                          allow_redirects=False) as response:
                await response.read()
                status = response.status
                error = None if 200 <= status < 300 else (
                    f"Wrong response from the webhook: {status} {response.reason}")
        except (aiohttp.ClientError, TimeoutError) as err:
            error = f"Connection failed: {type(err).__name__}"
        return DeliveryAttempt(update["update_id"], hook.url, status, error, self._world.clock())


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("webhook delivery stopped", exc_info=task.exception())
