"""Long polling through the durable intake: Telegram hears a batch confirmed only once it is
stored, so a crash between fetching and handling loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import FixedClock
from bot.sandbox import SandboxServer
from bot.telegram.app import AnyApplication, build_application
from bot.telegram.context import BotEnv, Defaults
from bot.web.intake import STALE_AFTER, UpdateIntake
from storage import Database
from storage.tables import UpdateInboxRow


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


class Refusing(Database):
    """A database that cannot be reached while ``refusing`` is set."""

    refusing = True

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        if self.refusing:
            raise OperationalError("INSERT INTO update_inbox", {},
                                   ConnectionRefusedError("connection refused"))
        async with super().transaction() as session:
            yield session


async def test_updates_it_cannot_store_are_not_confirmed(
        sandbox: SandboxServer, clock: FixedClock, migrated_db: Database,
        caplog: pytest.LogCaptureFixture) -> None:
    """While the database is away the poller confirms nothing, so Telegram keeps every update;
    once it is back the same updates are stored, and only then confirmed."""
    control = sandbox.control
    chair = control.create_user("Wang Lei", username="wang_lei")
    group = control.create_group("CIO Council", creator=chair.id, admins=[chair.id])
    control.send_text(chair.id, group.id, f"/setup@{sandbox.bot.username} Riverside Council")
    waiting = [update["update_id"] for update in control.pending_updates()]
    database = Refusing(migrated_db.url)
    try:
        async with instance(sandbox, database, clock, handling=False) as (_, intake):
            stop = asyncio.Event()
            polling = asyncio.create_task(intake.poll(stop, timeout=1, retry=0.05))
            await control.wait_until(lambda: sum(
                "could not store update" in r.getMessage() for r in caplog.records) >= 2)
            assert [update["update_id"] for update in control.pending_updates()] == waiting
            database.refusing = False
            await control.wait_until(lambda: not control.pending_updates())
            stop.set()
            await polling
    finally:
        await database.dispose()
    async with migrated_db.transaction() as session:
        stored = list(await session.exec(select(UpdateInboxRow.update_id)))
    assert sorted(stored) == waiting
