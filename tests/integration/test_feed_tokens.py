"""Feed tokens in SQL: one live token per member and one for the council, kept by the database;
a departed member's tokens go with them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import text

from meetings.domain.errors import Duplicate
from meetings.domain.model import FeedToken
from storage import Database
from tests.integration.conftest import NOW, World, committed, read


def _token(world: World, digest: str, member_id: int | None) -> FeedToken:
    return FeedToken(world.council.id, digest * 64, NOW, member_id=member_id)


async def test_one_live_token_per_member_and_per_council(migrated_db: Database,
                                                         world: World) -> None:
    """A second live token for the same member, or for the council, is refused; after a
    revocation a new one is accepted, and other members have their own."""
    council_token = await committed(migrated_db, lambda uow: uow.feed_tokens.add(
        _token(world, "a", None)))
    member_token = await committed(migrated_db, lambda uow: uow.feed_tokens.add(
        _token(world, "b", world.cio.id)))
    for digest, member in (("c", None), ("d", world.cio.id)):
        with pytest.raises(Duplicate, match="a calendar link exists already"):
            await committed(migrated_db, lambda uow, d=digest, m=member: uow.feed_tokens.add(
                _token(world, d, m)))
    await committed(migrated_db, lambda uow: uow.feed_tokens.update(
        replace(member_token, revoked_at=NOW)))
    await committed(migrated_db, lambda uow: uow.feed_tokens.add(_token(world, "e", world.cio.id)))
    await committed(migrated_db, lambda uow: uow.feed_tokens.add(
        _token(world, "f", world.other_cio.id)))
    live = await read(migrated_db, lambda uow: uow.feed_tokens.live(world.council.id,
                                                                    world.cio.id))
    assert live is not None
    assert live.token_hash == "e" * 64
    assert await read(migrated_db, lambda uow: uow.feed_tokens.live(world.council.id, None)) == (
        council_token)
    assert await read(migrated_db, lambda uow: uow.feed_tokens.by_hash("b" * 64)) == replace(
        member_token, revoked_at=NOW)


async def test_a_departed_members_tokens_are_deleted_with_them(migrated_db: Database,
                                                               world: World) -> None:
    """Deleting a member's row (they left the council) deletes their feed tokens too."""
    await committed(migrated_db, lambda uow: uow.feed_tokens.add(
        _token(world, "a", world.other_cio.id)))
    async with migrated_db.transaction() as session:
        await session.exec(text("DELETE FROM members WHERE id = :id").bindparams(  # type: ignore[call-overload]
            id=world.other_cio.id))
        await session.commit()
    assert await read(migrated_db, lambda uow: uow.feed_tokens.by_hash("a" * 64)) is None
