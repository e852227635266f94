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


@dataclass(frozen=True)
class Refusal:
    """A 429 the sandbox answered: to which chat, when, and the wait it asked for."""

    chat_id: int
    at: float
    retry_after: int
    overall: bool  # the bot's overall limit was (also) exceeded


@dataclass(frozen=True)
class Unhonoured:
    """A message to a chat that came while a 429 for that chat still asked the bot to wait.
    (Messages to other chats meanwhile are the overall window's to judge: past it, they get a
    429 of their own.)"""

    chat_id: int
    at: float
    refusal: Refusal


@dataclass
class RateLimiter:
    """Counts one bot's outgoing messages; refuses with 429 and `retry_after` past a limit, and
    remembers each refusal and every message that came before its wait was over (a real
    Telegram lengthens the wait then; the sandbox only records it, for tests to assert on)."""

    clock: Clock
    limits: RateLimits = field(default_factory=RateLimits)
    refusals: list[Refusal] = field(default_factory=list)
    unhonoured: list[Unhonoured] = field(default_factory=list)
    accepted: list[tuple[float, int]] = field(default_factory=list)  # (when, chat) per message
    _sent: defaultdict[int | None, deque[float]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    _waits: dict[int, Refusal] = field(default_factory=dict)  # each chat's latest 429

    def acquire(self, chat_id: int, *, group: bool) -> None:
        now = self.clock()
        refusal = self._waits.get(chat_id)
        if refusal is not None and now < refusal.at + refusal.retry_after:
            # Telegram's `retry_after`: the seconds to wait before the request may be repeated.
            self.unhonoured.append(Unhonoured(chat_id, now, refusal))
        overall = self._wait(None, self.limits.overall, now)
        own = self._wait(chat_id, self.limits.group_chat if group else self.limits.private_chat,
                         now)
        wait = max(overall, own)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            refusal = Refusal(chat_id, now, retry_after, overall > 0)
            self.refusals.append(refusal)
            self._waits[chat_id] = refusal
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}",
                           retry_after=retry_after)
        for key in (None, chat_id):
            self._sent[key].append(now)
        self.accepted.append((now, chat_id))

    def _wait(self, key: int | None, window: Window, now: float) -> float:
        sent = self._sent[key]
        while sent and sent[0] <= now - window.seconds:
            sent.popleft()
        if len(sent) < window.count:
            return 0.0
        return sent[0] + window.seconds - now
