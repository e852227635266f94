"""A wall clock that moves only when told: message dates, answer windows and rate limits."""

from __future__ import annotations


class ManualClock:
    """Pass as `SandboxServer(clock=...)`; `advance()` instead of sleeping."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
