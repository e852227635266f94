"""The webhook's inbox: each Telegram update stored before Telegram is told it arrived.

Telegram drops an update once the webhook answered 2xx, so the webhook answers only after the
update is committed here. A row without ``handled_at`` is an update some instance accepted but
has not finished handling (still queued, or the process died); those are replayed later, which is
harmless because the business write dedupes on `storage.updates` in its own transaction.
The primary key (bot, update_id) makes a redelivered update a no-op.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, true, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import insert_unless_present
from storage.tables import UpdateInboxRow

RECLAIM_BATCH = 100  # updates `reclaim` takes over at a time


async def receive(session: AsyncSession, *, bot: str, update_id: int, payload: str,
                  now: datetime) -> bool:
    """Stores an incoming update; False when it was received before (a redelivery)."""
    return await insert_unless_present(session, UpdateInboxRow, {
        "bot": bot, "update_id": update_id, "payload": payload, "received_at": now})


async def take_back(session: AsyncSession, *, bot: str, update_id: int, now: datetime) -> bool:
    """Takes over a redelivered update nobody finished; False when it was handled.

    A redelivery can find its update stored but unhandled when the first delivery's commit
    reached the server and its answer did not (the connection died): that instance answered an
    error and queued nothing, so this one must. Re-stamping ``received_at`` keeps sweepers off
    it, as `reclaim` does.
    """
    taken = await session.exec(
        update(UpdateInboxRow)
        .where(col(UpdateInboxRow.bot) == bot, col(UpdateInboxRow.update_id) == update_id,
               col(UpdateInboxRow.handled_at).is_(None))
        .values(received_at=now)
        .returning(col(UpdateInboxRow.update_id)))
    return taken.first() is not None


async def mark_handled(session: AsyncSession, *, bot: str, update_id: int,
                       now: datetime) -> None:
    """Records that handling finished; the first time counts, a replay changes nothing."""
    await session.exec(
        update(UpdateInboxRow)
        .where(col(UpdateInboxRow.bot) == bot, col(UpdateInboxRow.update_id) == update_id,
               col(UpdateInboxRow.handled_at).is_(None))
        .values(handled_at=now))


async def unhandled(session: AsyncSession, *, bot: str, received_before: datetime) -> list[str]:
    """Payloads received before ``received_before`` and never handled, in update_id order."""
    rows = await session.exec(
        select(UpdateInboxRow.payload)
        .where(col(UpdateInboxRow.bot) == bot, col(UpdateInboxRow.handled_at).is_(None),
               col(UpdateInboxRow.received_at) < received_before)
        .order_by(col(UpdateInboxRow.update_id)))
    return list(rows)


async def reclaim(session: AsyncSession, *, bot: str, received_before: datetime | None,
                  now: datetime, exclude: Collection[int] = (),
                  limit: int = RECLAIM_BATCH) -> list[str]:
    """Takes over unhandled updates received before ``received_before`` (their instance died or
    stalled; None: however recent) and returns their payloads in update_id order.

    Taking over re-stamps ``received_at`` with ``now``, so instances sweeping at the same moment
    do not both take an update, and an update taken over is not taken again until it is stale
    once more. ``exclude`` names updates this instance has queued itself.
    """
    old_enough = (col(UpdateInboxRow.received_at) < received_before
                  if received_before is not None else true())
    stale = (
        select(UpdateInboxRow.update_id)
        .where(col(UpdateInboxRow.bot) == bot, col(UpdateInboxRow.handled_at).is_(None),
               old_enough, col(UpdateInboxRow.update_id).not_in(list(exclude)))
        .order_by(col(UpdateInboxRow.update_id))
        .limit(limit)
        # PostgreSQL: skip rows another sweeper is taking instead of waiting for them. SQLite
        # renders no locking clause; BEGIN IMMEDIATE already makes sweepers take turns.
        .with_for_update(skip_locked=True)
    )
    taken = await session.exec(
        update(UpdateInboxRow)
        .where(col(UpdateInboxRow.bot) == bot, col(UpdateInboxRow.update_id).in_(stale))
        .values(received_at=now)
        .returning(col(UpdateInboxRow.update_id), col(UpdateInboxRow.payload)))
    return [payload for _, payload in sorted((row[0], row[1]) for row in taken)]


# What a person pressed or wrote, in the parts of an update that carry it.
_SAID = ("text", "entities", "caption", "caption_entities")


def scrubbed(payload: str) -> str:
    """The update without what its sender pressed or wrote (a button's data, a message's text,
    caption and their entities); its ids, sender, chat and dates stay, so it is still an update
    a redelivery is recognised by, and one that no handler acts on if it is replayed."""
    try:
        data = json.loads(payload)
    except ValueError:
        return "{}"
    if not isinstance(data, dict):
        return "{}"
    query = data.get("callback_query")
    if isinstance(query, dict):
        query.pop("data", None)
    for kind in ("message", "edited_message"):
        message = data.get(kind)
        if isinstance(message, dict):
            for part in _SAID:
                message.pop(part, None)
    return json.dumps(data)


async def scrub(session: AsyncSession, *, bot: str, update_id: int) -> None:
    """Replaces a stored update with `scrubbed` of it, in the caller's transaction (a secret
    ballot's cast): from its commit on, the inbox no longer holds the choice."""
    payload = (await session.exec(
        select(UpdateInboxRow.payload)
        .where(col(UpdateInboxRow.bot) == bot, col(UpdateInboxRow.update_id) == update_id)
    )).first()
    if payload is None:
        return
    await session.exec(
        update(UpdateInboxRow)
        .where(col(UpdateInboxRow.bot) == bot, col(UpdateInboxRow.update_id) == update_id)
        .values(payload=scrubbed(payload)))


class SqlInbox:
    """Implements ``meetings.ports.UpdateInbox`` for the bot whose update a unit of work
    handles; a unit of work that handles none (the command line) has no update to scrub."""

    def __init__(self, session: AsyncSession, *, bot: str | None) -> None:
        self._session = session
        self._bot = bot

    async def scrub(self, update_id: int) -> None:
        if self._bot is not None:
            await scrub(self._session, bot=self._bot, update_id=update_id)


async def forget(session: AsyncSession, *, before: datetime) -> int:
    """Drops updates received before ``before``, handled or not; returns how many.

    Keep more than Telegram's 24 h redelivery window, or a late redelivery is handled again.
    """
    result = await session.exec(
        delete(UpdateInboxRow).where(col(UpdateInboxRow.received_at) < before))
    return result.rowcount
