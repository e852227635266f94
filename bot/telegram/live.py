"""Keeps each motion's group message showing its live count, within Telegram's edit limits.

Telegram throttles edits in a group (about 20 messages a minute), and fifty CIOs may press in the
same second. So each motion's message is edited at most once per ``interval``: presses in
between only mark it stale, and the next edit shows the count as it stands then, so the last
edit always shows the final count.

Several instances each keep the message current, and an edit made from a count read before
another instance's last cast can land after that instance's edit. So after its pause an
instance reads the count once more and edits again if it no longer matches what it showed: the
instance whose edit landed last reads after every cast, and puts the final count back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import telegram
from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError

from bot.telegram.render import motion_message
from meetings import usecases
from meetings.domain.model import Motion
from storage import Database

log = logging.getLogger(__name__)


class LiveCounts:
    def __init__(self, database: Database, bot: telegram.Bot, *, interval: float = 3.0) -> None:
        self._database = database
        self._bot = bot
        self._interval = interval
        self._running: dict[int, asyncio.Task[None]] = {}
        self._stale: set[int] = set()
        self._closing = asyncio.Event()  # set: pauses end at once

    def touch(self, motion_id: int) -> None:
        """The motion's count changed: edit its message now, or after the pause if one is due."""
        if motion_id in self._running:
            self._stale.add(motion_id)
            return
        self._running[motion_id] = asyncio.create_task(self._keep_current(motion_id))

    async def settle(self) -> None:
        """Waits until every pending edit is done (tests, shutdown)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def close(self) -> None:
        """Shutting down: the pending edits are made now, without their pauses."""
        self._closing.set()
        await self.settle()

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), self._interval)

    async def _keep_current(self, motion_id: int) -> None:
        try:
            while True:
                self._stale.discard(motion_id)
                shown = await self.refresh(motion_id)
                await self._pause()
                # A failed edit is not retried (the count is a courtesy); a shown one is checked
                # against the database, which another instance may have moved on meanwhile.
                current = await self._text(motion_id) if shown is not None else None
                # Checked after the last await: a touch that came meanwhile is never lost.
                if motion_id in self._stale:
                    continue
                if current is None or current == shown:
                    return
        finally:
            del self._running[motion_id]

    async def refresh(self, motion_id: int) -> str | None:
        """Rewrites the motion's message from the database; returns the text it shows, or None
        when it could not. Failures are only logged, since the count is a courtesy and the
        result is posted anyway."""
        text: str | None = None
        try:
            view = await self._view(motion_id)
            if view is None:
                return None
            motion, text, keyboard = view
            await self._bot.edit_message_text(text, chat_id=motion.chat_id,
                                              message_id=motion.message_id, reply_markup=keyboard)
        except BadRequest as err:
            if "not modified" in str(err):
                return text  # it already reads so
            log.warning("could not update the count of M%s: %s", motion_id, err)
            return None
        except (TelegramError, OSError):
            log.warning("could not update the count of M%s", motion_id, exc_info=True)
            return None
        return text

    async def _view(self, motion_id: int
                    ) -> tuple[Motion, str, InlineKeyboardMarkup | None] | None:
        """The motion's message as it should read now; None when it has no message."""
        council, count = await usecases.voting.motion_count(self._database.uow(), motion_id)
        if count.motion.chat_id is None or count.motion.message_id is None:
            return None
        return count.motion, *motion_message(council.language, council.timezone, count)

    async def _text(self, motion_id: int) -> str | None:
        try:
            view = await self._view(motion_id)
        except Exception:
            log.warning("could not read the count of M%s", motion_id, exc_info=True)
            return None
        return view[1] if view is not None else None
