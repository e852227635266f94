"""The webhook's inbox: updates stored before the 200, redeliveries dropped, orphans replayed."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from storage import Database, inbox
from storage.updates import IncomingUpdate
from tests.integration.conftest import NOW

BOT = "4242"
LATER = NOW + timedelta(minutes=5)


def _payload(update_id: int) -> str:
    return json.dumps({"update_id": update_id})


async def _receive(db: Database, update_id: int, *, bot: str = BOT,
                   at: timedelta = timedelta()) -> bool:
    async with db.transaction() as session:
        return await inbox.receive(session, bot=bot, update_id=update_id,
                                   payload=_payload(update_id), now=NOW + at)


async def _unhandled(db: Database, *, bot: str = BOT, before: timedelta = timedelta(hours=1),
                     ) -> list[str]:
    async with db.transaction() as session:
        return await inbox.unhandled(session, bot=bot, received_before=NOW + before)


async def _handled(db: Database, update_id: int) -> None:
    async with db.transaction() as session:
        await inbox.mark_handled(session, bot=BOT, update_id=update_id, now=LATER)


async def test_a_redelivered_update_is_not_received_again(migrated_db: Database) -> None:
    """The first delivery is new, the second is not; update ids are per bot."""
    assert await _receive(migrated_db, 2**40) is True
    assert await _receive(migrated_db, 2**40) is False
    assert await _receive(migrated_db, 2**40, bot="other") is True
    assert await _unhandled(migrated_db) == [_payload(2**40)]


async def test_concurrent_deliveries_store_one_update(migrated_db: Database) -> None:
    """Two instances receiving the same update at once: exactly one of them stores it."""
    results = await asyncio.gather(*(_receive(migrated_db, 7) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]


async def test_unhandled_lists_payloads_in_update_order_until_handled(
        migrated_db: Database) -> None:
    """Unhandled updates come back in update_id order, older than the cut-off only."""
    for update_id, at in [(30, timedelta(seconds=1)), (10, timedelta(seconds=2)),
                          (20, timedelta(seconds=90))]:
        await _receive(migrated_db, update_id, at=at)
    assert await _unhandled(migrated_db) == [_payload(10), _payload(20), _payload(30)]
    assert await _unhandled(migrated_db, before=timedelta(seconds=60)) == [
        _payload(10), _payload(30)]

    await _handled(migrated_db, 10)
    await _handled(migrated_db, 10)  # a replay finishing again changes nothing
    assert await _unhandled(migrated_db) == [_payload(20), _payload(30)]
    assert await _unhandled(migrated_db, bot="other") == []


async def test_reclaiming_takes_each_stale_update_once(migrated_db: Database) -> None:
    """A sweeper takes stale updates (not its own), and a second sweeper finds none left."""
    for update_id in (1, 2, 3):
        await _receive(migrated_db, update_id)
    await _handled(migrated_db, 2)

    async def sweep(exclude: tuple[int, ...] = ()) -> list[str]:
        async with migrated_db.transaction() as session:
            return await inbox.reclaim(session, bot=BOT, received_before=NOW + timedelta(minutes=1),
                                       now=LATER, exclude=exclude)

    assert await sweep(exclude=(3,)) == [_payload(1)]
    assert await sweep() == [_payload(3)]
    assert await sweep() == []
    assert await _unhandled(migrated_db, before=timedelta(minutes=5)) == []
    assert await _unhandled(migrated_db, before=timedelta(minutes=6)) == [_payload(1),
                                                                          _payload(3)]


async def test_old_updates_are_forgotten(migrated_db: Database) -> None:
    """Pruning drops updates received before the cut-off, handled or not, and keeps newer ones."""
    await _receive(migrated_db, 1)
    await _receive(migrated_db, 2)
    await _handled(migrated_db, 1)
    await _receive(migrated_db, 3, at=timedelta(days=2))
    async with migrated_db.transaction() as session:
        assert await inbox.forget(session, before=NOW + timedelta(days=1)) == 2
    assert await _receive(migrated_db, 1) is True
    assert await _receive(migrated_db, 3) is False


QUERY: dict[str, object] = {
    "id": "q1", "chat_instance": "c1", "data": "v:12:y",
    "from": {"id": 77, "is_bot": False, "first_name": "Li"},
    "message": {"message_id": 5, "date": 0, "chat": {"id": 77, "type": "private"},
                "text": "🗳 Secret ballot M12: Adopt the plan"}}
PRESS = {"update_id": 31, "callback_query": QUERY}
VOTE = {"update_id": 32, "message": {
    "message_id": 6, "date": 0, "chat": {"id": 77, "type": "private"},
    "from": {"id": 77, "is_bot": False, "first_name": "Li"}, "text": "/vote M12 no",
    "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}


async def test_a_scrubbed_update_keeps_its_envelope_and_loses_what_was_pressed_or_said(
        migrated_db: Database) -> None:
    """Scrubbing, in the unit of work that handles the update, takes a press's data and a
    message's text out when it commits (not before, and not at all if it rolls back); the
    sender, chat and ids stay, and another bot's update of the same number is left alone."""
    for payload, bot in [(PRESS, BOT), (VOTE, BOT), (PRESS, "other")]:
        async with migrated_db.transaction() as session:
            await inbox.receive(session, bot=bot, update_id=int(str(payload["update_id"])),
                                payload=json.dumps(payload), now=NOW)

    async def stored(update_id: int, bot: str = BOT) -> dict[str, object]:
        async with migrated_db.transaction() as session:
            found = await inbox.reclaim(session, bot=bot, received_before=None, now=NOW)
        return next(p for p in map(json.loads, found) if p["update_id"] == update_id)

    async with migrated_db.uow(update=IncomingUpdate(BOT, 31, NOW)) as uow:
        await uow.inbox.scrub(31)  # rolled back: left without a commit
    assert await stored(31) == PRESS
    for update_id in (31, 32):
        async with migrated_db.uow(update=IncomingUpdate(BOT, update_id, NOW)) as uow:
            await uow.inbox.scrub(update_id)
            await uow.commit()
    press, vote = await stored(31), await stored(32)
    assert "data" not in json.dumps(press)
    assert press["callback_query"] == {k: v for k, v in QUERY.items() if k != "data"}
    assert "/vote" not in json.dumps(vote)
    assert vote["message"] == {"message_id": 6, "date": 0, "chat": {"id": 77, "type": "private"},
                               "from": {"id": 77, "is_bot": False, "first_name": "Li"}}
    assert await stored(31, "other") == PRESS


def test_scrubbing_what_is_not_an_update_leaves_nothing() -> None:
    """A payload that is not a JSON object is replaced by an empty one, not kept."""
    assert inbox.scrubbed("v:12:y") == "{}"
    assert inbox.scrubbed('["v:12:y"]') == "{}"
