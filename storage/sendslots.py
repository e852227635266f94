"""Telegram's flood limits kept in the database, so every instance's sends count against the
bot's one budget (the rule is `meetings.domain.flood`).

Before a batch of messages goes out, its sender *reserves* each one's moment: the chat's row
(``chat:<id>``) and one of the overall limit's slots (``bot:0`` .. ``bot:<n-1>``, one send per
window each) are read, the moment is the later of their ``free_at`` and now, and both rows record
the send (`meetings.domain.flood.book`). A batch's reservations are one short transaction. The
chats' rows are locked (``FOR UPDATE``, in key order; another sender to the same chat waits its
turn); the overall slots are the free-est ones nobody else holds (``FOR UPDATE SKIP LOCKED``),
so concurrent senders spread over the slots instead of queueing on one hot row. On SQLite the
transaction's ``BEGIN IMMEDIATE`` makes reservations take turns.

An overall slot reserved awaits its answer: the sender tells `answered` when Telegram answered,
and the slot's window counts from then (a late request no longer lets the slot's next one in
within its window); until then no other sender reserves it.

A moment further ahead than the caller will wait is not reserved: the caller puts its job off
until then. A 429 pushes the chat's row by ``retry_after`` and holds the whole bot, for at most
the overall window (`meetings.domain.flood.bot_wait`), in one row (``hold:bot``) that every
reservation reads: one short write instead of locking every overall slot, which made concurrent
reservations find none free.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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
HOLD = "hold:bot"  # after a 429: no message of the bot's before its free_at
# A slot whose answer was never recorded (its sender died) is reserved again this much after
# its window: longer than a request may take (PTB's default timeouts are 5 s).
ANSWER_WAIT = timedelta(seconds=10)
# When the overall slots all await their answers: how soon to look again (answers come within
# milliseconds).
ANSWER_SOON = timedelta(milliseconds=50)
# When every overall slot is being reserved by someone else at this instant (PostgreSQL only):
# how soon to look again.
CROWDED = timedelta(milliseconds=20)


@dataclass(frozen=True, slots=True)
class Reservation:
    """``taken``: the send may go at ``at`` (now, or shortly after); tell `SendSlots.answered`
    when Telegram answered it. Otherwise nothing was reserved and the send should be put off
    until ``at``."""

    at: datetime
    taken: bool
    slot: str | None = None  # the overall slot reserved, awaiting the answer


def chat_key(chat_id: int) -> str:
    return f"chat:{chat_id}"


def _slot(row: SendSlotRow) -> Slot:
    return Slot(tuple(datetime.fromisoformat(sent) for sent in json.loads(row.sent)),
                row.free_at)


def _store(row: SendSlotRow, slot: Slot) -> None:
    row.sent = json.dumps([sent.isoformat() for sent in slot.sent])
    row.free_at = slot.free_at


async def _chat_rows(session: AsyncSession, keys: Sequence[str],
                     now: datetime) -> dict[str, SendSlotRow]:
    """The chats' rows (made on their first message), locked for this transaction in key order,
    so two senders locking overlapping chats never wait on each other in a circle."""
    wanted = sorted(set(keys))
    query = (select(SendSlotRow).where(col(SendSlotRow.key).in_(wanted))
             .order_by(col(SendSlotRow.key)).with_for_update())
    rows = {row.key: row for row in (await session.exec(query)).all()}
    missing = [key for key in wanted if key not in rows]
    if missing:
        for key in missing:
            await insert_unless_present(session, SendSlotRow,
                                        {"key": key, "sent": "[]", "free_at": now})
        rows = {row.key: row for row in (await session.exec(query)).all()}
    return rows


async def ensure_slots(session: AsyncSession, limits: Limits, now: datetime) -> None:
    """Makes the overall limit's rows (idempotent; every instance may call it)."""
    count, _ = flood.shards(limits.overall)
    for key in [HOLD, *(f"{BOT}{number}" for number in range(count))]:
        await insert_unless_present(session, SendSlotRow,
                                    {"key": key, "sent": "[]", "free_at": now})


async def reserve(session: AsyncSession, messages: Sequence[tuple[int, bool]], *,
                  now: datetime, hold: timedelta, limits: Limits) -> list[Reservation]:
    """Reserves the next moment for each message (chat id, whether a group), in order, unless
    it lies more than ``hold`` ahead; call inside a transaction of its own and commit it."""
    if not messages:
        return []
    keys = [chat_key(chat_id) for chat_id, _ in messages]
    chats = await _chat_rows(session, keys, now)
    windows = {chat_key(chat_id): limits.chat(group=group) for chat_id, group in messages}
    # The freest overall slots that no other sender is reserving at this instant: as many as
    # there are messages (PostgreSQL passes over the locked ones instead of waiting).
    overall = list((await session.exec(
        select(SendSlotRow)
        .where(col(SendSlotRow.key).startswith(BOT))
        .order_by(col(SendSlotRow.free_at), col(SendSlotRow.key))
        .limit(len(messages))
        .with_for_update(skip_locked=True))).all())
    # Read without a lock, so reservations do not queue on it: a 429 met by another sender a
    # moment later holds the next reservations (the refused chat's own wait is in its row,
    # locked above).
    held = await session.get(SendSlotRow, HOLD)
    booked = flood.book(keys, {key: (_slot(row), windows[key]) for key, row in chats.items()},
                        [_slot(row) for row in overall], flood.shards(limits.overall)[1],
                        now=now, hold=hold, held_until=held.free_at if held else None,
                        answer_wait=ANSWER_WAIT, look_again=ANSWER_SOON)
    for key, row in chats.items():
        _store(row, booked.chats[key])
        session.add(row)
    for row, after in zip(overall, booked.overall, strict=True):
        _store(row, after)
        session.add(row)
    return [Reservation(b.at if b.taken or overall else now + CROWDED, b.taken,
                        None if b.overall is None else overall[b.overall].key)
            for b in booked.bookings]


async def answered(session: AsyncSession, answers: Sequence[tuple[Reservation, datetime]], *,
                   limits: Limits) -> None:
    """Telegram answered (or refused, or the sender gave up) each reserved send at the moment
    given: their overall slots count from then."""
    booked = {(r.slot, r.at): at for r, at in answers if r.taken and r.slot is not None}
    if not booked:
        return
    _, window = flood.shards(limits.overall)
    rows = (await session.exec(
        select(SendSlotRow).where(col(SendSlotRow.key).in_({key for key, _ in booked}))
        .order_by(col(SendSlotRow.key)).with_for_update())).all()
    by_key = {row.key: row for row in rows}
    for (key, booked_at), answered_at in sorted(booked.items(), key=lambda item: item[1]):
        if (row := by_key.get(str(key))) is not None:
            _store(row, flood.answered(_slot(row), window, booked_at, answered_at))
            session.add(row)


async def push(session: AsyncSession, chat_id: int, *, now: datetime, retry_after: timedelta,
               limits: Limits) -> None:
    """Telegram refused a message to ``chat_id`` for ``retry_after``: nothing more goes to that
    chat until then, and nothing to any chat within the overall window's share of it."""
    chat = (await _chat_rows(session, [chat_key(chat_id)], now))[chat_key(chat_id)]
    _store(chat, flood.pushed(_slot(chat), now + retry_after))
    session.add(chat)
    until = now + flood.bot_wait(retry_after, limits.overall)
    await session.exec(update(SendSlotRow)
                       .where(col(SendSlotRow.key) == HOLD, col(SendSlotRow.free_at) < until)
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
        """One message's moment."""
        [reservation] = await self.reserve_all([(chat_id, group)], now=now, hold=hold)
        return reservation

    async def reserve_all(self, messages: Sequence[tuple[int, bool]], *, now: datetime,
                          hold: timedelta = timedelta(0)) -> list[Reservation]:
        """The moments of several messages (chat id, whether a group), in one transaction."""
        async with self._database.transaction() as session:
            if not self._ready:
                await ensure_slots(session, self.limits, now)
            reservations = await reserve(session, messages, now=now, hold=hold,
                                         limits=self.limits)
        self._ready = True
        return reservations

    async def answered(self, answers: Sequence[tuple[Reservation, datetime]]) -> None:
        """Telegram's answers to reserved sends, each with its moment, in one transaction."""
        if any(r.taken and r.slot is not None for r, _ in answers):
            async with self._database.transaction() as session:
                await answered(session, answers, limits=self.limits)

    async def push(self, chat_id: int, *, now: datetime, retry_after: timedelta) -> None:
        async with self._database.transaction() as session:
            if not self._ready:
                await ensure_slots(session, self.limits, now)
                self._ready = True
            await push(session, chat_id, now=now, retry_after=retry_after, limits=self.limits)
