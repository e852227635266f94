"""Telegram's flood limits as sliding windows over an injectable clock (tests move the clock)."""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.sandbox.errors import ApiError

Clock = Callable[[], float]


@dataclass(frozen=True)
class Window:
    count: int
    seconds: float


@dataclass(frozen=True)
class RateLimits:
    """Published guidance: ~1 message/s per private chat, 20/min per group, ~30/s overall."""

    private_chat: Window = Window(1, 1.0)
    group_chat: Window = Window(20, 60.0)
    overall: Window = Window(30, 1.0)


@dataclass
class RateLimiter:
    """Counts one bot's outgoing messages; refuses with 429 and `retry_after` past a limit."""

    clock: Clock
    limits: RateLimits = field(default_factory=RateLimits)
    _sent: defaultdict[int | None, deque[float]] = field(
        default_factory=lambda: defaultdict(deque)
    )

    def acquire(self, chat_id: int, *, group: bool) -> None:
        now = self.clock()
        checks = (
            (None, self.limits.overall),
            (chat_id, self.limits.group_chat if group else self.limits.private_chat),
        )
        wait = max(self._wait(key, window, now) for key, window in checks)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}",
                           retry_after=retry_after)
        for key, _ in checks:
            self._sent[key].append(now)

    def _wait(self, key: int | None, window: Window, now: float) -> float:
        sent = self._sent[key]
        while sent and sent[0] <= now - window.seconds:
            sent.popleft()
        if len(sent) < window.count:
            return 0.0
        return sent[0] + window.seconds - now
