"""Keeps group messages showing live state — each motion's count, each meeting's roll call —
within Telegram's edit limits.

Telegram throttles edits in a group (about 20 messages a minute), and fifty CIOs may press in the
same second. So each message is edited at most once per ``interval``: changes in between only
mark it stale, and the next edit shows the state as it stands then, so the last edit always
shows the final state.

Several instances each keep the message current, and an edit made from a state read before
another instance's last change can land after that instance's edit. So after its pause an
instance reads the state once more and edits again if it no longer matches what it showed: the
instance whose edit landed last reads after every change, and puts the final state back.

The pause is injectable (``pause``): tests hold it like a clock that moves only when told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import telegram
from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError

from bot.telegram.render import motion_message, roll_call_message
from meetings import usecases
from storage import Database

log = logging.getLogger(__name__)

Pause = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class View:
    """A live message as it should read now."""

    chat_id: int
    message_id: int
    text: str
    keyboard: InlineKeyboardMarkup | None


class LiveMessages:
    """One kind of live message, keyed by the id of what it shows (a motion, a meeting)."""

    what = "message"  # for the log

    def __init__(self, database: Database, bot: telegram.Bot, *, interval: float = 3.0,
                 pause: Pause | None = None) -> None:
        self._database = database
        self._bot = bot
        self._interval = interval
        self._injected_pause = pause
        self._running: dict[int, asyncio.Task[None]] = {}
        self._stale: set[int] = set()
        self._closing = asyncio.Event()  # set: pauses end at once

    def touch(self, key: int) -> None:
        """The state changed: edit its message now, or after the pause if one is due."""
        if key in self._running:
            self._stale.add(key)
            return
        self._running[key] = asyncio.create_task(self._keep_current(key))

    async def settle(self) -> None:
        """Waits until every pending edit is done (tests, shutdown)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def close(self) -> None:
        """Shutting down: the pending edits are made now, without their pauses."""
        self._closing.set()
        await self.settle()

    async def _pause(self) -> None:
        if self._injected_pause is not None and not self._closing.is_set():
            closing = asyncio.ensure_future(self._closing.wait())
            paused = asyncio.ensure_future(self._injected_pause())
            await asyncio.wait({closing, paused}, return_when=asyncio.FIRST_COMPLETED)
            for task in (closing, paused):
                task.cancel()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), self._interval)

    async def _keep_current(self, key: int) -> None:
        try:
            while True:
                self._stale.discard(key)
                shown = await self.refresh(key)
                await self._pause()
                # A failed edit is not retried (the message is a courtesy); a shown one is
                # checked against the database, which another instance may have moved on.
                current = await self._text(key) if shown is not None else None
                # Checked after the last await: a touch that came meanwhile is never lost.
                if key in self._stale:
                    continue
                if current is None or current == shown:
                    return
        finally:
            del self._running[key]

    async def refresh(self, key: int) -> str | None:
        """Rewrites the message from the database; returns the text it shows, or None when it
        could not. Failures are only logged: the message is a courtesy, and the outcome (the
        result, the minutes' attendance) is posted anyway."""
        text: str | None = None
        try:
            view = await self.view(key)
            if view is None:
                return None
            text = view.text
            await self._bot.edit_message_text(text, chat_id=view.chat_id,
                                              message_id=view.message_id,
                                              reply_markup=view.keyboard)
        except BadRequest as err:
            if "not modified" in str(err):
                return text  # it already reads so
            log.warning("could not update the %s of %s: %s", self.what, key, err)
            return None
        except (TelegramError, OSError):
            log.warning("could not update the %s of %s", self.what, key, exc_info=True)
            return None
        return text

    async def view(self, key: int) -> View | None:
        """The message as it should read now; None when there is no message to keep."""
        raise NotImplementedError

    async def _text(self, key: int) -> str | None:
        try:
            view = await self.view(key)
        except Exception:
            log.warning("could not read the %s of %s", self.what, key, exc_info=True)
            return None
        return view.text if view is not None else None


class LiveCounts(LiveMessages):
    """Each motion's group message, showing its live count and, once closed, the result."""

    what = "count of motion"

    async def view(self, key: int) -> View | None:
        council, count = await usecases.voting.motion_count(self._database.uow(), key)
        motion = count.motion
        if motion.chat_id is None or motion.message_id is None:
            return None
        text, keyboard = motion_message(council.language, council.timezone, count)
        return View(motion.chat_id, motion.message_id, text, keyboard)


class LiveRollCalls(LiveMessages):
    """Each meeting's roll-call message, showing who is in as people answer; once the meeting
    ends, the final attendance without the Here button."""

    what = "roll call of meeting"

    async def view(self, key: int) -> View | None:
        council, call = await usecases.meeting.roll_call_of(self._database.uow(), key)
        meeting = call.meeting
        if meeting.roll_call_chat_id is None or meeting.roll_call_message_id is None:
            return None
        text, keyboard = roll_call_message(council.language, council.timezone, call)
        return View(meeting.roll_call_chat_id, meeting.roll_call_message_id, text, keyboard)
