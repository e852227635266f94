"""Waking whoever waits for the world to change: long polls, webhook pushers, tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Changes:
    """A broadcast signal: `notify()` wakes every waiter, who then re-checks its condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        # Swap in a fresh event so later waiters block until the next change.
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, condition: Callable[[], bool], timeout: float | None) -> bool:
        """Wait until `condition()` holds; False if `timeout` seconds pass first."""
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
        # arrives together with a wake-up (CPython gh-86296), leaving Ctrl-C waiting.
        try:
            async with asyncio.timeout(timeout):
                while not condition():
                    await self._event.wait()
        except TimeoutError:
            return condition()
        return True
