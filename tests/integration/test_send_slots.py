"""Telegram's flood limits kept in the database: every instance's sends count against the bot's
one budget, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

from meetings.domain.flood import Limits
from storage import Database
from storage.sendslots import ANSWER_SOON, SendSlots
from tests.integration.conftest import NOW

SECOND = timedelta(seconds=1)
STEP = timedelta(milliseconds=250)
GROUPS = [-1000 - n for n in range(3)]


def most_in_any(times: list[datetime], per: timedelta) -> int:
    return max((sum(1 for other in times if start <= other < start + per) for start in times),
               default=0)


async def test_two_workers_never_exceed_the_bots_limits(
    migrated_db: Database, migrated_url: str
) -> None:
    """Two workers with their own pools, reserving at once for 120 private chats (two messages
    each) and three groups (30 each) while a shared clock moves on: no second holds more than
    30 sends, no private chat gets two within a second, no group more than 20 in a minute, and
    together they use the full 30 a second."""
    other = Database(migrated_url)
    workers = [SendSlots(migrated_db), SendSlots(other)]
    wanted: Counter[int] = Counter(dict.fromkeys(range(1, 121), 2))
    wanted.update(dict.fromkeys(GROUPS, 30))
    sent: list[tuple[datetime, int]] = []
    now = NOW

    async def work(slots: SendSlots, chats: list[int]) -> None:
        for chat in chats:
            if wanted[chat] == 0:
                continue
            reservation = await slots.reserve(chat, group=chat < 0, now=now)
            if reservation.taken:
                assert reservation.at == now  # hold zero: taken means now
                wanted[chat] -= 1
                sent.append((now, chat))
                await slots.answered([(reservation, now)])  # Telegram answers at once

    try:
        while +wanted and now < NOW + timedelta(minutes=3):
            chats = sorted(+wanted)
            await asyncio.gather(work(workers[0], chats[::2]), work(workers[1], chats[1::2]))
            now += STEP
    finally:
        await other.dispose()

    times = [at for at, _ in sent]
    assert +wanted == Counter()
    assert most_in_any(times, SECOND) == 30
    for chat in range(1, 121):
        first, second = [at for at, to in sent if to == chat]
        assert second - first >= SECOND
    for group in GROUPS:
        assert most_in_any([at for at, to in sent if to == group], timedelta(minutes=1)) == 20
    # 300 messages at 30 a second take ten seconds (the groups' last ten wait for the minute).
    private = sorted(at for at, to in sent if to > 0)
    assert private[-1] - private[0] <= timedelta(seconds=10)


async def test_a_429_holds_its_chat_for_retry_after_and_the_rest_for_a_second(
    migrated_db: Database, migrated_url: str
) -> None:
    """After Telegram's 429 with retry_after 5 s, no instance reserves that chat before the
    five seconds are over, nor any other chat within the next second; a reservation that would
    wait longer than the caller holds is not taken and names the moment to come back."""
    other = Database(migrated_url)
    try:
        first, second = SendSlots(migrated_db), SendSlots(other)
        assert (await first.reserve(7, group=False, now=NOW)).taken
        await first.push(7, now=NOW, retry_after=5 * SECOND)

        put_off = await second.reserve(7, group=False, now=NOW + 2 * SECOND)
        elsewhere = await second.reserve(8, group=False, now=NOW)
        held = await second.reserve(8, group=False, now=NOW, hold=SECOND)
        later = await second.reserve(7, group=False, now=NOW + 5 * SECOND)
    finally:
        await other.dispose()

    assert (put_off.taken, put_off.at) == (False, NOW + 5 * SECOND)
    assert (elsewhere.taken, elsewhere.at) == (False, NOW + SECOND)
    assert (held.taken, held.at) == (True, NOW + SECOND)
    assert (later.taken, later.at) == (True, NOW + 5 * SECOND)


async def test_slack_spaces_the_sends_out(migrated_db: Database) -> None:
    """With a 10 % margin, a private chat's next message waits 1.1 s."""
    slots = SendSlots(migrated_db, Limits().slack(0.1))
    assert (await slots.reserve(7, group=False, now=NOW)).taken

    again = await slots.reserve(7, group=False, now=NOW)

    assert (again.taken, again.at) == (False, NOW + timedelta(seconds=1.1))


async def test_the_bots_overall_slots_count_from_telegrams_answer_across_instances(
    migrated_db: Database, migrated_url: str
) -> None:
    """While one instance's 30 sends await Telegram's answer, the other reserves none and is
    told to look again within a moment; once the answers are recorded, 200 ms after the
    bookings, it gets a slot a second after the answer."""
    other = Database(migrated_url)
    try:
        first, second = SendSlots(migrated_db), SendSlots(other)
        reserved = await first.reserve_all([(chat, False) for chat in range(1, 31)], now=NOW)
        waiting = await second.reserve(99, group=False, now=NOW + STEP, hold=5 * SECOND)
        answer = NOW + timedelta(milliseconds=200)
        await first.answered([(reservation, answer) for reservation in reserved])
        after = await second.reserve(99, group=False, now=NOW + STEP, hold=5 * SECOND)
    finally:
        await other.dispose()

    assert {(r.taken, r.at) for r in reserved} == {(True, NOW)}
    assert len({r.slot for r in reserved}) == 30
    assert (waiting.taken, waiting.at) == (False, NOW + STEP + ANSWER_SOON)
    assert (after.taken, after.at) == (True, answer + SECOND)
