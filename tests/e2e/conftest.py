"""End-to-end fixtures: a started sandbox Bot API server, one fixed clock shared by the bot and
the sandbox (tests move it), and a real PTB `Bot` talking HTTP to the sandbox on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.clock import FixedClock
from bot.sandbox import SandboxServer
from storage import Database
from tests.e2e.crash import CrashingSandbox

START = datetime(2025, 5, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    """Stands still until a test moves it (`advance`, or assign `at`)."""
    return FixedClock(START)


@pytest.fixture
async def sandbox(clock: FixedClock) -> AsyncIterator[SandboxServer]:
    # Message dates and flood limits follow the same clock as the bot.
    async with SandboxServer(clock=clock.timestamp) as server:
        yield server


@pytest.fixture
async def second_db(migrated_url: str) -> AsyncIterator[Database]:
    """Another instance's connection pool on the same database."""
    database = Database(migrated_url)
    yield database
    await database.dispose()


@pytest.fixture
async def crashing_sandbox() -> AsyncIterator[CrashingSandbox]:
    """A sandbox that can kill the bot process mid-call, on the system clock like the bot
    process (the e2e default is a fixed clock)."""
    server = CrashingSandbox()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
