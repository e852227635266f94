"""The real clock; tests pass their own `meetings.ports.Clock`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved: for tests, benchmarks and the demo's replay."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta

    def timestamp(self) -> float:
        """Seconds since the epoch, for clocks (like the sandbox's) that count that way."""
        return self.at.timestamp()
