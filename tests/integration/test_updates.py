"""Telegram updates are handled once, in the same transaction as what they changed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meetings.domain.model import Council
from storage import AlreadyProcessed, Database, IncomingUpdate
from storage.updates import forget_updates, record_update
from tests.integration.conftest import NOW, read


async def _record(db: Database, bot: str, update_id: int) -> bool:
    async with db.transaction() as session:
        return await record_update(session, bot=bot, update_id=update_id, now=NOW)


async def test_record_update_reports_redelivery(migrated_db: Database) -> None:
    """The first sighting of an update id is new, the second is not; ids are per bot."""
    assert await _record(migrated_db, "council_bot", 2**40) is True
    assert await _record(migrated_db, "council_bot", 2**40) is False
    assert await _record(migrated_db, "other_bot", 2**40) is True


async def test_unit_of_work_records_the_update_with_its_writes(migrated_db: Database) -> None:
    """A rolled-back use case leaves its update unhandled; a committed one makes it handled."""
    update = IncomingUpdate("council_bot", 42, NOW)

    async def handle(name: str, *, commit: bool = True) -> None:
        async with migrated_db.uow(update=update) as uow:
            await uow.councils.add(Council(name=name))
            if commit:
                await uow.commit()

    await handle("Rolled back", commit=False)
    await handle("Kept")
    with pytest.raises(AlreadyProcessed):
        await handle("Redelivered")

    councils = await read(migrated_db, lambda uow: uow.councils.list())
    assert [council.name for council in councils] == ["Kept"]


async def test_old_update_ids_are_forgotten(migrated_db: Database) -> None:
    """Pruning drops ids handled before the cut-off and keeps newer ones."""
    await _record(migrated_db, "council_bot", 1)
    async with migrated_db.transaction() as session:
        assert await forget_updates(session, before=NOW + timedelta(seconds=1)) == 1
    assert await _record(migrated_db, "council_bot", 1) is True
