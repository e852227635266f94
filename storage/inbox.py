"""The webhook's inbox: each Telegram update stored before Telegram is told it arrived.

Telegram drops an update once the webhook answered 2xx, so the webhook answers only after the
update is committed here. A row without ``handled_at`` is an update some instance accepted but
has not finished handling (still queued, or the process died); those are replayed later, which is
harmless because the business write dedupes on `storage.updates` in its own transaction.
The primary key (bot, update_id) makes a redelivered update a no-op.
"""

from __future__ import annotations

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


async def forget(session: AsyncSession, *, before: datetime) -> int:
    """Drops updates received before ``before``, handled or not; returns how many.

    Keep more than Telegram's 24 h redelivery window, or a late redelivery is handled again.
    """
    result = await session.exec(
        delete(UpdateInboxRow).where(col(UpdateInboxRow.received_at) < before))
    return result.rowcount
