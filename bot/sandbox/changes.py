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
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not condition():
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except TimeoutError:
                return condition()
        return True
