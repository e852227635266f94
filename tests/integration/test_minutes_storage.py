"""Minutes revisions on both engines (migration 0007): stored whole, numbered once per meeting,
and never changed or removed once stored, however two instances race to approve."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from functools import partial

import pytest
from sqlalchemy import text

from meetings import usecases
from meetings.domain.errors import Duplicate, InvalidState
from meetings.domain.minutes import MinutesRevision, MinutesTemplate
from meetings.domain.model import Meeting, MeetingState
from storage import Database, SqlUnitOfWork
from storage.errors import translated
from tests.integration.conftest import NOW, World, committed, read


def revision(meeting: Meeting, number: int, data: bytes = b"PK docx bytes",
             approved: bool = False) -> MinutesRevision:
    return MinutesRevision(meeting.id, number, "en", data, hashlib.sha256(data).hexdigest(),
                           "c" * 64, NOW, "member:1", approved=approved)


async def test_revisions_come_back_whole_in_number_order(migrated_db: Database,
                                                         world: World) -> None:
    """Stored bytes come back byte for byte; latest is the highest number; get names one."""
    data = bytes(range(256)) * 400  # binary, 100 KB
    for number, approved in ((1, False), (2, True)):
        await committed(migrated_db, partial(_add, revision(world.meeting, number, data, approved)))

    stored = await read(migrated_db, lambda uow: uow.minutes.list(world.meeting.id))
    latest = await read(migrated_db, lambda uow: uow.minutes.latest(world.meeting.id))
    first = await read(migrated_db, lambda uow: uow.minutes.get(world.meeting.id, 1))

    assert [(r.revision, r.approved, r.data) for r in stored] == [(1, False, data),
                                                                  (2, True, data)]
    assert latest == stored[1]
    assert first == stored[0]
    assert await read(migrated_db, lambda uow: uow.minutes.get(world.meeting.id, 3)) is None


async def test_a_revision_number_is_stored_once(migrated_db: Database, world: World) -> None:
    """A second revision 1 of the same meeting is refused as a duplicate."""
    await committed(migrated_db, lambda uow: uow.minutes.add(revision(world.meeting, 1)))

    with pytest.raises(Duplicate):
        await committed(migrated_db, lambda uow: uow.minutes.add(
            revision(world.meeting, 1, b"other bytes", approved=True)))


@pytest.mark.parametrize("statement", [
    "UPDATE minutes_revisions SET data = :data, sha256 = :sha",
    "DELETE FROM minutes_revisions",
])
async def test_a_stored_revision_is_never_changed_or_removed(
    migrated_db: Database, world: World, statement: str
) -> None:
    """Even plain SQL cannot overwrite or delete an approved revision: the triggers refuse it."""
    frozen = await committed(migrated_db, lambda uow: uow.minutes.add(
        revision(world.meeting, 1, approved=True)))

    async def tamper() -> None:
        async with migrated_db.uow() as uow:
            connection = await uow.session.connection()
            with translated():
                await connection.execute(text(statement), {"data": b"forged", "sha": "0" * 64})

    with pytest.raises(InvalidState, match="never changed"):
        await tamper()
    assert await read(migrated_db, lambda uow: uow.minutes.latest(world.meeting.id)) == frozen


async def test_two_instances_approving_at_once_store_one_approval(
    migrated_db: Database, world: World
) -> None:
    """Both chairs' instances approve the ended meeting together: one approved revision is
    stored, the other instance gets a clear refusal, and the audit chain holds one approval."""
    await committed(migrated_db, lambda uow: uow.meetings.update(
        replace(world.meeting, state=MeetingState.ENDED, started_at=NOW, ended_at=NOW)))
    other = Database(migrated_db.url)
    try:
        results = await asyncio.gather(*(
            usecases.minutes.approve_minutes(db.uow(), world.council.id, world.meeting.id,
                                             actor=world.chair, now=NOW)
            for db in (migrated_db, other)), return_exceptions=True)
    finally:
        await other.dispose()

    approved = [r.revision for r in results if isinstance(r, usecases.minutes.Issued)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(approved) == 1, results
    assert len(refused) == 1, results
    assert isinstance(refused[0], InvalidState)
    stored = await read(migrated_db, lambda uow: uow.minutes.list(world.meeting.id))
    assert stored == approved
    events = await read(migrated_db, lambda uow: uow.audit.list(world.council.id))
    assert [e.action for e in events].count("minutes.approve") == 1


async def test_a_council_has_at_most_one_template(migrated_db: Database, world: World) -> None:
    """Setting a template twice keeps the second; resetting removes it, once."""
    council_id = world.council.id
    for data in (b"first", b"second"):
        template = MinutesTemplate(council_id, data, NOW, "operator:cli")
        await committed(migrated_db, partial(_set_template, template))

    kept = await read(migrated_db, lambda uow: uow.minutes.template(council_id))
    removed = [await committed(migrated_db, lambda uow: uow.minutes.reset_template(council_id))
               for _ in range(2)]

    assert kept is not None
    assert (kept.data, kept.set_by) == (b"second", "operator:cli")
    assert removed == [True, False]
    assert await read(migrated_db, lambda uow: uow.minutes.template(council_id)) is None


async def _add(stored: MinutesRevision, uow: SqlUnitOfWork) -> MinutesRevision:
    return await uow.minutes.add(stored)


async def _set_template(template: MinutesTemplate, uow: SqlUnitOfWork) -> MinutesTemplate:
    return await uow.minutes.set_template(template)
