"""A unit of work is one transaction: nothing persists unless it commits."""

from __future__ import annotations

import pytest

from meetings.domain.errors import Duplicate
from meetings.domain.model import Council, Department
from meetings.ports import UnitOfWork
from storage import Database
from tests.integration.conftest import World, read


async def test_leaving_without_commit_persists_nothing(migrated_db: Database) -> None:
    """Writes made in a block that ends without commit are rolled back."""
    uow: UnitOfWork = migrated_db.uow()
    async with uow:
        await uow.councils.add(Council(name="Never committed"))

    assert await read(migrated_db, lambda uow: uow.councils.list()) == []


async def test_a_failed_write_rolls_back_the_whole_use_case(migrated_db: Database,
                                                            world: World) -> None:
    """When a later write is refused, earlier writes of the same unit of work vanish too."""
    async def half_done() -> None:
        async with migrated_db.uow() as uow:
            await uow.councils.add(Council(name="Half done"))
            await uow.departments.add(Department(world.council.id, "EPB", "Duplicate"))
            await uow.commit()

    with pytest.raises(Duplicate):
        await half_done()

    councils = await read(migrated_db, lambda uow: uow.councils.list())
    assert [council.name for council in councils] == [world.council.name]


async def test_session_exists_only_inside_the_block(migrated_db: Database) -> None:
    """Storage functions cannot run on a unit of work that is not open."""
    uow = migrated_db.uow()

    with pytest.raises(RuntimeError):
        _ = uow.session
