"""Update intake: store each update durably, then hand it to the PTB application.

Both ways updates arrive go through here. PTB's own webhook server answers 200 before it handles
an update, and its poller confirms a batch (the next getUpdates offset) before handling it, so a
crash in between loses updates for good. Here an update is committed to `storage.inbox` first:
a webhook answers 200, and the poller asks for the next batch, only after that. A redelivery
finds the update stored and is dropped. When the application has finished with an update
(handled, or failed and reported to the user), a last handler group marks it handled. Updates
left unhandled by an instance that died are taken over by a sweep once they are `STALE_AFTER`
old, and handled again; the business write dedupes on the update id in its own transaction, so a
replay changes nothing that already happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import timedelta

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import TypeHandler

from bot.telegram.app import AnyApplication
from bot.telegram.context import BotContext
from meetings.ports import Clock
from storage import Database, inbox
from storage.errors import is_unavailable

log = logging.getLogger(__name__)

# An update queued by a live instance is normally handled within seconds; one unhandled for a
# minute belongs to an instance that died (or is badly stuck, and a replay is harmless then too).
STALE_AFTER = timedelta(seconds=60)
SWEEP_INTERVAL = 60.0
POLL_TIMEOUT = 10  # seconds a getUpdates request waits for news
POLL_RETRY = 5.0
# After every other group: the update's own handlers have run (or failed) by then.
FINISHED_GROUP = 99
REQUEUE_FIRST = 0.5  # seconds before an update that met an unreachable database is queued again
REQUEUE_MAX = 30.0
_MAX_UPDATE_ID = 2**63 - 1  # the column is a BIGINT

# Told what became of each update offered: stored, redelivered, replayed or failed (metrics).
Observer = Callable[[Update, str], None]


class MalformedUpdate(ValueError):
    """The request body is not a Telegram update this bot can read."""


class UpdateIntake:
    """Accepts webhook updates for one application; `register` before the application starts."""

    def __init__(self, database: Database, application: AnyApplication, clock: Clock, *,
                 secret: str | None = None, stale_after: timedelta = STALE_AFTER,
                 observe: Observer | None = None) -> None:
        self._database = database
        self._observe: Observer = observe or (lambda _update, _outcome: None)
        self._application = application
        self._clock = clock
        self._secret = secret.encode() if secret else None
        self._stale_after = stale_after
        # Updates this instance has queued and not finished: the sweep must not take them.
        self._queued: set[int] = set()
        # Updates whose handling met an unreachable database this time, and the pause before
        # each one's next go (it doubles every time).
        self._unreachable: set[int] = set()
        self._put_off: dict[int, float] = {}
        self._requeues: set[asyncio.Task[None]] = set()

    def register(self) -> None:
        self._application.add_handler(TypeHandler(Update, self._finished), group=FINISHED_GROUP)
        self._application.add_error_handler(self._failed)

    async def close(self) -> None:
        """Drops the pending requeues; their updates stay unhandled in the inbox and are
        replayed by the next instance to start or sweep."""
        for task in self._requeues:
            task.cancel()
        await asyncio.gather(*self._requeues, return_exceptions=True)

    @property
    def _bot(self) -> str:
        # The same key the business dedupe uses (`ChatRequest.uow`): ids are unique per bot.
        return str(self._application.bot.id)

    def authentic(self, secret_header: str | None) -> bool:
        """Whether the request carries our secret; compared in constant time."""
        if self._secret is None:
            return False  # polling: there is no webhook to authenticate for
        return hmac.compare_digest((secret_header or "").encode(), self._secret)

    async def accept(self, body: bytes) -> bool:
        """Stores the update and commits, then queues it if new; False for a redelivery."""
        update, payload = self._parse(body)
        return await self._store_and_hand_over(update, payload)

    async def poll(self, stop: asyncio.Event, *, timeout: int = POLL_TIMEOUT,
                   retry: float = POLL_RETRY) -> None:
        """Long polling until ``stop``: each batch is stored before the next request confirms it
        to Telegram (by its offset), so a crash loses nothing."""
        bot, offset = self._application.bot, None
        while not stop.is_set():
            fetch = asyncio.ensure_future(bot.get_updates(
                offset=offset, timeout=timeout, allowed_updates=Update.ALL_TYPES))
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if not fetch.done():
                fetch.cancel()  # shutting down; the batch stays unconfirmed at Telegram
                with contextlib.suppress(asyncio.CancelledError, TelegramError):
                    await fetch
                return
            try:
                updates = fetch.result()
            except TelegramError:
                log.warning("getUpdates failed; retrying in %s s", POLL_RETRY, exc_info=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), POLL_RETRY)
                continue
            for update in updates:
                try:
                    await self._store_and_hand_over(update, json.dumps(update.to_dict()))
                except Exception:
                    # The database is away: the offset stays, so the next getUpdates (after a
                    # pause) asks Telegram for this update again instead of confirming it.
                    log.warning("could not store update %s; asking for it again in %s s",
                                update.update_id, retry, exc_info=True)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), retry)
                    break
                offset = update.update_id + 1

    async def _store_and_hand_over(self, update: Update, payload: str) -> bool:
        update_id = update.update_id
        # Queued here already (or being stored by a parallel delivery): a plain redelivery.
        ours = update_id in self._queued
        self._queued.add(update_id)
        try:
            async with self._database.transaction() as session:
                new = await inbox.receive(session, bot=self._bot, update_id=update_id,
                                          payload=payload, now=self._clock.now())
                orphaned = not new and not ours and await inbox.take_back(
                    session, bot=self._bot, update_id=update_id, now=self._clock.now())
        except Exception:
            if not ours:
                self._queued.discard(update_id)
            self._observe(update, "failed")
            raise
        if not (new or orphaned):
            if not ours:
                self._queued.discard(update_id)
            self._observe(update, "redelivered")
            return False
        if orphaned:
            log.info("update %s was stored by a commit whose answer was lost; handling it now",
                     update_id)
        self._observe(update, "stored" if new else "replayed")
        await self._hand_over(update)
        return new

    async def replay(self, *, however_recent: bool = False) -> int:
        """Takes over stale unhandled updates and queues them; returns how many. With
        ``however_recent``, every unhandled update is taken (see `take_over`)."""
        now = self._clock.now()
        async with self._database.transaction() as session:
            payloads = await inbox.reclaim(
                session, bot=self._bot,
                received_before=None if however_recent else now - self._stale_after, now=now,
                exclude=frozenset(self._queued))
        for payload in payloads:
            try:
                update = self._parse(payload.encode())[0]
            except MalformedUpdate:
                # Stored by a release that could read it; this one cannot, and never will.
                log.exception("dropping a stored update this release cannot read")
                await self._mark_unreadable(payload)
                continue
            log.info("replaying update %s, received but never handled", update.update_id)
            self._observe(update, "replayed")
            await self._hand_over(update)
        return len(payloads)

    async def take_over(self) -> int:
        """For the poller, before it polls: queues every update an earlier process accepted and
        did not finish, however recent; returns how many.

        Telegram serves one getUpdates session per bot, so when a poller starts no other
        instance is handling these: the process that accepted them died (SIGKILL, a crash, a
        power cut). Waiting for them to become stale would hand them over minutes later, after
        newer updates, and a vote pressed before the crash would then replace the newer vote
        its voter was told about. Queued before the first poll, they are handled in the order
        they were sent. A previous process still finishing its queue on the way out may handle
        one of them at the same time: the business write dedupes on the update id.
        """
        taken = 0
        while True:
            replayed = await self.replay(however_recent=True)
            taken += replayed
            if replayed < inbox.RECLAIM_BATCH:
                return taken

    async def sweep(self, stop: asyncio.Event, interval: float = SWEEP_INTERVAL) -> None:
        """Replays orphaned updates now and every ``interval`` seconds until ``stop``."""
        while not stop.is_set():
            try:
                await self.replay()
            except Exception:
                log.exception("replaying unhandled updates failed; trying again in %s s",
                              interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    def _parse(self, body: bytes) -> tuple[Update, str]:
        try:
            payload = body.decode("utf-8")
            data = json.loads(payload)
        except ValueError as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise MalformedUpdate("the body is not valid UTF-8 JSON") from err
        if not isinstance(data, dict):
            raise MalformedUpdate("the body is not a JSON object")
        update_id = data.get("update_id")
        # bool is an int in Python, not in JSON.
        if (not isinstance(update_id, int) or isinstance(update_id, bool)
                or not 0 <= update_id <= _MAX_UPDATE_ID):
            raise MalformedUpdate("update_id is missing or not a valid integer")
        try:
            update = Update.de_json(data, self._application.bot)
        except Exception as err:
            # PTB rejects updates missing fields the Bot API requires: not ours to handle.
            raise MalformedUpdate(f"update {update_id} is not a valid Update: {err}") from err
        return update, payload

    async def _hand_over(self, update: Update) -> None:
        self._queued.add(update.update_id)
        await self._application.update_queue.put(update)

    async def _failed(self, update: object, context: BotContext) -> None:
        if isinstance(update, Update) and context.error is not None and is_unavailable(
                context.error):
            self._unreachable.add(update.update_id)

    async def _finished(self, update: Update, _context: BotContext) -> None:
        """The last handler group: the update is done, so no sweep should replay it (unless
        the database was unreachable: then it is queued again after a pause)."""
        if update.update_id in self._unreachable:
            self._unreachable.discard(update.update_id)
            pause = min(self._put_off.get(update.update_id, REQUEUE_FIRST / 2) * 2,
                        REQUEUE_MAX)
            self._put_off[update.update_id] = pause
            log.warning("update %s met an unreachable database; handling it again in %s s",
                        update.update_id, pause)
            task = asyncio.create_task(self._requeue(update, pause))
            self._requeues.add(task)
            task.add_done_callback(self._requeues.discard)
            return
        self._put_off.pop(update.update_id, None)
        self._queued.discard(update.update_id)
        try:
            async with self._database.transaction() as session:
                await inbox.mark_handled(session, bot=self._bot, update_id=update.update_id,
                                         now=self._clock.now())
        except Exception:
            # Not raised on: the error handler would tell the user their command failed, and it
            # did not. The update is replayed later, and the replay changes nothing.
            log.warning("could not mark update %s handled; it will be replayed",
                        update.update_id, exc_info=True)

    async def _requeue(self, update: Update, pause: float) -> None:
        await asyncio.sleep(pause)
        # Still in `_queued`: no sweep takes it meanwhile. The pause grows if it fails again.
        await self._application.update_queue.put(update)

    async def _mark_unreadable(self, payload: str) -> None:
        update_id = json.loads(payload)["update_id"]
        async with self._database.transaction() as session:
            await inbox.mark_handled(session, bot=self._bot, update_id=update_id,
                                     now=self._clock.now())
