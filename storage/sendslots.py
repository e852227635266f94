"""Telegram's flood limits kept in the database, so every instance's sends count against the
bot's one budget (the rule is `meetings.domain.flood`).

Before each message a sender *reserves* its moment: the chat's row (``chat:<id>``) and one of the
overall limit's slots (``bot:0`` .. ``bot:<n-1>``, one send per window each) are read, the moment
is the later of their ``free_at`` and now, and both rows record the send. A reservation is one
short transaction. The chat's row is locked (``FOR UPDATE``; another sender to the same chat
waits its turn); the overall slot is the free-est one nobody else holds (``FOR UPDATE SKIP
LOCKED``), so concurrent senders spread over the slots instead of queueing on one hot row. On
SQLite the transaction's ``BEGIN IMMEDIATE`` makes reservations take turns.

A moment further ahead than the caller will wait is not reserved: the caller puts its job off
until then. A 429 pushes the chat's row by ``retry_after`` and every overall slot by at most the
overall window (`meetings.domain.flood.bot_wait`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from meetings.domain import flood
from meetings.domain.flood import Limits, Slot
from storage.db import insert_unless_present
from storage.tables import SendSlotRow

if TYPE_CHECKING:
    from storage import Database

BOT = "bot:"
# When every overall slot is being reserved by someone else at this instant (PostgreSQL only):
# how soon to look again.
CROWDED = timedelta(milliseconds=20)


@dataclass(frozen=True, slots=True)
class Reservation:
    """``taken``: the send may go at ``at`` (now, or shortly after). Otherwise nothing was
    reserved and the send should be put off until ``at``."""

    at: datetime
    taken: bool


def chat_key(chat_id: int) -> str:
    return f"chat:{chat_id}"


def _slot(row: SendSlotRow) -> Slot:
    return Slot(tuple(datetime.fromisoformat(sent) for sent in json.loads(row.sent)),
                row.free_at)


def _store(row: SendSlotRow, slot: Slot) -> None:
    row.sent = json.dumps([sent.isoformat() for sent in slot.sent])
    row.free_at = slot.free_at


async def _chat_row(session: AsyncSession, key: str, now: datetime) -> SendSlotRow:
    """The chat's row, locked for this transaction (made on its first message)."""
    query = select(SendSlotRow).where(col(SendSlotRow.key) == key).with_for_update()
    row = (await session.exec(query)).first()
    if row is None:
        await insert_unless_present(session, SendSlotRow,
                                    {"key": key, "sent": "[]", "free_at": now})
        row = (await session.exec(query)).one()
    return row


async def ensure_slots(session: AsyncSession, limits: Limits, now: datetime) -> None:
    """Makes the overall limit's rows (idempotent; every instance may call it)."""
    count, _ = flood.shards(limits.overall)
    for number in range(count):
        await insert_unless_present(session, SendSlotRow,
                                    {"key": f"{BOT}{number}", "sent": "[]", "free_at": now})


async def reserve(session: AsyncSession, chat_id: int, *, group: bool, now: datetime,
                  hold: timedelta, limits: Limits) -> Reservation:
    """Reserves the next moment a message may go to ``chat_id``, unless it lies more than
    ``hold`` ahead; call inside a transaction of its own and commit it."""
    chat = await _chat_row(session, chat_key(chat_id), now)
    overall = (await session.exec(
        select(SendSlotRow)
        .where(col(SendSlotRow.key).startswith(BOT))
        .order_by(col(SendSlotRow.free_at), col(SendSlotRow.key))
        .limit(1)
        .with_for_update(skip_locked=True))).first()
    if overall is None:
        return Reservation(now + CROWDED, taken=False)
    chat_slot, overall_slot = _slot(chat), _slot(overall)
    at = flood.next_send([chat_slot, overall_slot], now)
    if at - now > hold:
        return Reservation(at, taken=False)
    _store(chat, flood.taken(chat_slot, limits.chat(group=group), at))
    _store(overall, flood.taken(overall_slot, flood.shards(limits.overall)[1], at))
    session.add(chat)
    session.add(overall)
    return Reservation(at, taken=True)


async def push(session: AsyncSession, chat_id: int, *, now: datetime, retry_after: timedelta,
               limits: Limits) -> None:
    """Telegram refused a message to ``chat_id`` for ``retry_after``: nothing more goes to that
    chat until then, and nothing to any chat within the overall window's share of it."""
    chat = await _chat_row(session, chat_key(chat_id), now)
    _store(chat, flood.pushed(_slot(chat), now + retry_after))
    session.add(chat)
    until = now + flood.bot_wait(retry_after, limits.overall)
    # Lock in key order first: two pushes at once must not lock the slots in different orders.
    await session.exec(select(SendSlotRow.key).where(col(SendSlotRow.key).startswith(BOT))
                       .order_by(col(SendSlotRow.key)).with_for_update())
    await session.exec(update(SendSlotRow)
                       .where(col(SendSlotRow.key).startswith(BOT),
                              col(SendSlotRow.free_at) < until)
                       .values(free_at=until))


async def slot(session: AsyncSession, key: str) -> Slot | None:
    """One row's state (for tests and the operator)."""
    row = await session.get(SendSlotRow, key)
    return None if row is None else _slot(row)


class SendSlots:
    """The shared limits of one database: each call is its own short transaction."""

    def __init__(self, database: Database, limits: Limits | None = None) -> None:
        self._database = database
        self.limits = limits or Limits()
        self._ready = False

    async def reserve(self, chat_id: int, *, group: bool, now: datetime,
                      hold: timedelta = timedelta(0)) -> Reservation:
        async with self._database.transaction() as session:
            if not self._ready:
                await ensure_slots(session, self.limits, now)
            reservation = await reserve(session, chat_id, group=group, now=now, hold=hold,
                                        limits=self.limits)
        self._ready = True
        return reservation

    async def push(self, chat_id: int, *, now: datetime, retry_after: timedelta) -> None:
        async with self._database.transaction() as session:
            await push(session, chat_id, now=now, retry_after=retry_after, limits=self.limits)
