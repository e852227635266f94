"""The audit log is append-only in the database, and tampering behind its back is detectable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from meetings.domain.audit import verify
from meetings.ports import AuditEntry
from storage import Database
from tests.integration.conftest import NOW, World, read

DROP_UPDATE_GUARD = {
    "sqlite": "DROP TRIGGER audit_events_no_update",
    "postgresql": "DROP TRIGGER audit_events_no_update ON audit_events",
}


async def _three_events(db: Database, world: World) -> None:
    for number in range(3):
        entry = AuditEntry(world.council.id, "tg:1", "note.add", {"n": number},
                           NOW + timedelta(minutes=number))
        async with db.uow() as uow:
            await uow.audit.append(entry)
            await uow.commit()


async def test_chain_verifies(migrated_db: Database, world: World) -> None:
    """A log written through the repository verifies as intact."""
    await _three_events(migrated_db, world)

    events = await read(migrated_db, lambda uow: uow.audit.list(world.council.id))

    assert len(events) == 3
    assert verify(events) == []


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET payload = '{}' WHERE seq = 2",
    "DELETE FROM audit_events WHERE seq = 3",
])
async def test_database_refuses_to_change_events(migrated_db: Database, world: World,
                                                 statement: str) -> None:
    """Even raw SQL cannot edit or delete a stored event."""
    await _three_events(migrated_db, world)

    async def tamper() -> None:
        async with migrated_db.transaction() as session:
            await (await session.connection()).execute(text(statement))

    with pytest.raises(IntegrityError, match="audit_events_append_only"):
        await tamper()
    assert verify(await read(migrated_db, lambda uow: uow.audit.list(world.council.id))) == []


async def test_edit_after_dropping_the_guard_is_detected(migrated_db: Database,
                                                         world: World) -> None:
    """Someone who drops the trigger can edit an event, but the hash chain exposes it."""
    await _three_events(migrated_db, world)
    async with migrated_db.transaction() as session:
        connection = await session.connection()
        await connection.execute(text(DROP_UPDATE_GUARD[migrated_db.engine.dialect.name]))
        await connection.execute(text("UPDATE audit_events SET payload = :forged WHERE seq = 2"),
                                 {"forged": '{"n":9}'})

    breaks = verify(await read(migrated_db, lambda uow: uow.audit.list(world.council.id)))

    assert [(b.seq, b.reason) for b in breaks] == [(2, "content does not match its hash (edited)")]
