"""Long polling through the durable intake: Telegram hears a batch confirmed only once it is
stored, so a crash between fetching and handling loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from bot.clock import FixedClock
from bot.sandbox import SandboxServer
from bot.telegram.app import AnyApplication, build_application
from bot.telegram.context import BotEnv, Defaults
from bot.web.intake import STALE_AFTER, UpdateIntake
from storage import Database


@asynccontextmanager
async def instance(sandbox: SandboxServer, database: Database, clock: FixedClock, *,
                   handling: bool) -> AsyncIterator[tuple[AnyApplication, UpdateIntake]]:
    """One bot instance; without ``handling`` it fetches and stores but dies before handling."""
    application = build_application(sandbox.token, BotEnv(database, clock, Defaults()),
                                    base_url=sandbox.base_url, durable_intake=True,
                                    rate_limit=False)
    intake = UpdateIntake(database, application, clock)
    intake.register()
    async with application:
        if handling:
            await application.start()
        try:
            yield application, intake
        finally:
            if handling:
                await application.stop()


async def test_a_crash_after_fetching_loses_no_update(sandbox: SandboxServer, clock: FixedClock,
                                                      migrated_db: Database) -> None:
    """Updates fetched by an instance that dies before handling them are replayed by the next."""
    control = sandbox.control
    chair = control.create_user("Wang Lei", username="wang_lei")
    group = control.create_group("CIO Council", creator=chair.id, admins=[chair.id])
    control.send_text(chair.id, group.id, f"/setup@{sandbox.bot.username} Riverside Council")

    async with instance(sandbox, migrated_db, clock, handling=False) as (_, intake):
        stop = asyncio.Event()
        polling = asyncio.create_task(intake.poll(stop, timeout=1))
        # Telegram forgets a batch only when the next getUpdates confirms it, after storing.
        await control.wait_until(lambda: not control.pending_updates())
        stop.set()
        await polling
    async with migrated_db.uow() as uow:
        assert await uow.councils.by_chat(group.id) is None  # fetched, stored, never handled

    clock.advance(STALE_AFTER + timedelta(seconds=1))
    async with instance(sandbox, migrated_db, clock, handling=True) as (_, intake):
        # The bot joining the group, the group's creation message, and the /setup.
        assert await intake.replay() == 3
        await control.wait_until(lambda: any("Riverside Council" in (m.text or "")
                                             for m in control.bot_messages(group.id)))
    async with migrated_db.uow() as uow:
        council = await uow.councils.by_chat(group.id)
    assert council is not None
    assert council.name == "Riverside Council"
