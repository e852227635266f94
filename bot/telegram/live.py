"""Keeps each motion's group message showing its live count, within Telegram's edit limits.

Telegram throttles edits in a group (about 20 messages a minute), and fifty CIOs may press in the
same second. So each motion's message is edited at most once per ``interval``: presses in
between only mark it stale, and the next edit shows the count as it stands then, so the last
edit always shows the final count.
"""

from __future__ import annotations

import asyncio
import logging

import telegram
from telegram.error import BadRequest, TelegramError

from bot.telegram.render import local_time, motion_text, vote_keyboard
from meetings import conduct
from meetings.model import MotionKind, MotionState
from storage import Database

log = logging.getLogger(__name__)


class LiveCounts:
    def __init__(self, database: Database, bot: telegram.Bot, *, interval: float = 3.0) -> None:
        self._database = database
        self._bot = bot
        self._interval = interval
        self._running: dict[int, asyncio.Task[None]] = {}
        self._stale: set[int] = set()

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

    async def _keep_current(self, motion_id: int) -> None:
        try:
            while True:
                self._stale.discard(motion_id)
                await self.refresh(motion_id)
                await asyncio.sleep(self._interval)
                if motion_id not in self._stale:
                    return
        finally:
            del self._running[motion_id]

    async def refresh(self, motion_id: int) -> None:
        """Rewrites the motion's message from the database; failures are only logged, since the
        count is a courtesy and the result is posted anyway."""
        try:
            council, count = await conduct.motion_count(self._database.uow(), motion_id)
            motion = count.motion
            if motion.chat_id is None or motion.message_id is None:
                return
            closes = local_time(council, motion.closes_at) if motion.closes_at else ""
            buttons = (motion.state is MotionState.OPEN and motion.kind is not MotionKind.SECRET)
            await self._bot.edit_message_text(
                motion_text(council.language, count, closes), chat_id=motion.chat_id,
                message_id=motion.message_id,
                reply_markup=vote_keyboard(council.language, motion.id) if buttons else None)
        except BadRequest as err:
            if "not modified" not in str(err):
                log.warning("could not update the count of M%s: %s", motion_id, err)
        except (TelegramError, OSError):
            log.warning("could not update the count of M%s", motion_id, exc_info=True)
