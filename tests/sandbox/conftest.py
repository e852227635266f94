"""Fixtures for the sandbox's own tests: a started server, a PTB bot pointed at it, a clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.sandbox import ManualClock, SandboxServer, WebhookPolicy


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def sandbox(clock: ManualClock) -> AsyncIterator[SandboxServer]:
    policy = WebhookPolicy(max_attempts=3, first_delay=0.01, backoff=2.0, timeout=5.0)
    async with SandboxServer(clock=clock, webhook_policy=policy) as server:
        yield server
