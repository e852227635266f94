"""Reminders at Telegram's flood limits: the bot's one budget shared by its instances, and a 429
honoured without losing or doubling a message (the sandbox enforces the limits here)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import telegram

from bot.clock import FixedClock
from bot.reminders import Reminders, TickReport
from bot.sandbox import Control, RateLimits, SandboxServer, Window
from meetings import usecases
from storage import Database, sendslots
from storage.sendslots import SendSlots
from tests.e2e.test_reminders import CLI, DUE, NAME, set_up, texts


@pytest.fixture
async def tight_sandbox(clock: FixedClock) -> AsyncIterator[SandboxServer]:
    """A Telegram that allows only 4 messages a second overall: stricter than the bot thinks,
    as when something else shares the bot's budget."""
    limits = RateLimits(overall=Window(4, 1.0))
    async with SandboxServer(clock=clock.timestamp, rate_limits=True, limits=limits) as server:
        yield server


async def test_a_429_is_waited_out_and_the_reminder_sent_once(
    migrated_db: Database, control: Control, bot: telegram.Bot, clock: FixedClock
) -> None:
    """A member's chat got a message outside the outbox this second, so the reminder to it is
    refused with 429: it is put off by retry_after, nothing goes to that chat before then, and
    it goes out once, after."""
    scene = await set_up(migrated_db, control, clock, silent=False)
    control.set_rate_limits(True)
    clock.at = DUE[0][0]
    member = scene.started[1]
    await bot.send_message(member, "Welcome to the council")  # not through the outbox
    reminders = Reminders(migrated_db, bot, clock, worker="solo")

    # The agenda call: to the group and the CIO (not privately to the chair).
    assert TickReport(planned=2, sent=1, failed=1) == await reminders.tick()
    assert await reminders.tick() == NOTHING
    clock.advance(timedelta(seconds=1))
    assert TickReport(sent=1) == await reminders.tick()
    clock.advance(timedelta(minutes=5))
    assert await reminders.tick() == NOTHING

    assert texts(control, member) == ["Welcome to the council", DUE[0][1]]
    assert [r.chat_id for r in control.flood_refusals()] == [member]
    assert control.unhonoured_refusals() == []


NOTHING = TickReport()


async def test_a_long_texts_later_piece_waits_for_a_slot_and_nothing_goes_twice(
    migrated_db: Database, second_db: Database, control: Control, bot: telegram.Bot,
    clock: FixedClock
) -> None:
    """The final agenda, with 40 open action items, runs to two messages. While the bot's other
    29 overall slots await the answers to another instance's sends, its second piece waits for
    them rather than put the job off (whose retry would post the first piece again): the group
    gets each piece once."""
    scene = await set_up(migrated_db, control, clock)
    for number in range(40):
        await usecases.actions.assign_action(
            migrated_db.uow(), 1, code="D1", due="2025-12-31", actor=CLI, now=clock.now(),
            text=f"Action {number}: " + "a careful review of the data platform " * 3)
    clock.at = DUE[1][0]  # proposals close: the group gets the final agenda
    elsewhere = SendSlots(second_db)
    in_flight = await elsewhere.reserve_all([(9000 + n, False) for n in range(29)],
                                            now=clock.at)

    async def sleep(seconds: float) -> None:
        """Time passes, and meanwhile the other instance's sends are answered."""
        if in_flight:
            await elsewhere.answered([(reservation, clock.at) for reservation in in_flight])
            in_flight.clear()
        clock.advance(timedelta(seconds=seconds))

    reminders = Reminders(migrated_db, bot, clock, worker="solo", sleep=sleep)
    await reminders.tick()
    clock.advance(timedelta(minutes=5))
    await reminders.tick()

    pieces = texts(control, scene.group)
    assert len(pieces) == 2
    assert (pieces[0] or "").startswith(f"📋 {NAME}: the final agenda")
    assert "Action 39" in (pieces[1] or "")


async def test_the_bots_slots_count_from_telegrams_answers_once_a_batch_is_sent(
    migrated_db: Database, control: Control, bot: telegram.Bot, clock: FixedClock
) -> None:
    """Once a tick has sent the day-before reminder to 25 chats, each overall slot it used is
    free a second after Telegram's answer (here the clock stands still): none is left awaiting
    an answer, which would keep other instances off it."""
    control.set_rate_limits(False)  # set-up messages are not the point
    await set_up(migrated_db, control, clock, people=24, silent=False)
    control.set_rate_limits(True)
    clock.at = DUE[2][0]
    reminders = Reminders(migrated_db, bot, clock, worker="solo", batch=25)

    assert (await reminders.tick()).sent == 25

    async with migrated_db.transaction() as session:
        slots = [await sendslots.slot(session, f"{sendslots.BOT}{n}") for n in range(30)]
    used = [s for s in slots if s is not None and s.sent]
    assert len(used) == 25
    assert {s.free_at for s in used} == {clock.at + timedelta(seconds=1)}


async def test_two_instances_meet_a_stricter_telegram_and_lose_or_double_nothing(
    migrated_db: Database, second_db: Database, tight_sandbox: SandboxServer, clock: FixedClock
) -> None:
    """Two instances, ticking in turn each second, send a reminder to 25 chats against a
    Telegram that allows 4 a second: the 429s they meet are honoured by both (no message comes
    during a wait either was told of), each chat gets the reminder exactly once, and the clock
    needs about 25 / 4 seconds for it."""
    control = tight_sandbox.control
    async with (telegram.Bot(tight_sandbox.token, base_url=tight_sandbox.base_url) as one,
                telegram.Bot(tight_sandbox.token, base_url=tight_sandbox.base_url) as two):
        control.set_rate_limits(False)  # set-up messages are not the point
        scene = await set_up(migrated_db, control, clock, people=24, silent=False)
        control.set_rate_limits(True)
        instances = [Reminders(migrated_db, one, clock, worker="host-a", batch=6),
                     Reminders(second_db, two, clock, worker="host-b", batch=6)]
        clock.at = DUE[2][0]  # the day before: a reminder for everyone, the chair too
        sent = seconds = 0
        while sent < 25 and seconds < 60:
            for instance in instances:
                sent += (await instance.tick()).sent
            clock.advance(timedelta(seconds=1))
            seconds += 1

    chats = [scene.group, *scene.started]
    assert Counter(tuple(texts(control, chat)) for chat in chats) == {(DUE[2][1],): 25}
    assert control.flood_refusals(), "the stricter limit was met"
    assert control.unhonoured_refusals() == []
    assert 25 / 4 <= seconds <= 25 / 4 + 4
