"""Telegram's flood limits as a pure rule: when the next send may go, and what a send or a 429
leaves behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meetings.domain import flood
from meetings.domain.flood import Limits, Slot, Window

T0 = datetime(2025, 6, 12, 6, 30, tzinfo=UTC)
SECOND = timedelta(seconds=1)
EMPTY = Slot((), T0)


def send_times(window: Window, sends: int, *, start: Slot = EMPTY) -> list[datetime]:
    """Where `next_send` puts ``sends`` messages that all want to go at T0, one after another."""
    slot, times = start, []
    for _ in range(sends):
        at = flood.next_send([slot], T0)
        slot = flood.taken(slot, window, at)
        times.append(at)
    return times


def most_in_any_window(times: list[datetime], per: timedelta) -> int:
    return max(sum(1 for other in times if start <= other < start + per) for start in times)


def test_a_private_chat_gets_one_message_a_second() -> None:
    """Messages to one private chat are spaced a second apart."""
    assert send_times(Limits().private_chat, 3) == [T0, T0 + SECOND, T0 + 2 * SECOND]


def test_a_group_takes_twenty_at_once_then_waits_for_the_minute() -> None:
    """Twenty messages to a group go at once; the 21st waits until the first leaves the
    minute, and no minute ever holds more than twenty."""
    times = send_times(Limits().group_chat, 45)

    assert times[:20] == [T0] * 20
    assert times[20:22] == [T0 + timedelta(minutes=1)] * 2
    assert times[40] == T0 + timedelta(minutes=2)
    assert most_in_any_window(times, timedelta(minutes=1)) == 20


def test_the_overall_limit_as_slots_lets_thirty_a_second_through() -> None:
    """Thirty slots of one send a second each: whichever slot is freest takes the next send,
    which makes 30 in the first second, 30 in the next, and never 31 in any second."""
    count, window = flood.shards(Limits().overall)
    slots = [EMPTY] * count
    times = []
    for _ in range(100):
        freest = min(range(count), key=lambda n: slots[n].free_at)
        at = flood.next_send([slots[freest]], T0)
        slots[freest] = flood.taken(slots[freest], window, at)
        times.append(at)

    assert (count, window) == (30, Window(1, SECOND))
    assert times.count(T0) == 30
    assert times.count(T0 + SECOND) == 30
    assert times[-1] == T0 + 3 * SECOND
    assert most_in_any_window(times, SECOND) == 30


def test_the_next_send_waits_for_every_limit_it_must_pass() -> None:
    """A send must pass both its chat's limit and an overall slot: the later of the two."""
    chat = Slot((T0,), T0 + SECOND)
    overall = Slot((), T0 + timedelta(milliseconds=300))

    assert flood.next_send([chat, overall], T0) == T0 + SECOND
    assert flood.next_send([chat, overall], T0 + 2 * SECOND) == T0 + 2 * SECOND


def test_a_429_pushes_the_slot_and_never_pulls_it_back() -> None:
    """``retry_after`` moves the next send later; a shorter one does not undo a longer one."""
    pushed = flood.pushed(EMPTY, T0 + 5 * SECOND)

    assert flood.next_send([pushed], T0) == T0 + 5 * SECOND
    assert flood.pushed(pushed, T0 + SECOND) == pushed
    # The first send after the wait starts the chat's window afresh.
    assert flood.taken(pushed, Limits().private_chat, T0 + 5 * SECOND) == Slot(
        (T0 + 5 * SECOND,), T0 + 6 * SECOND)


def test_a_send_before_the_slot_is_free_is_refused() -> None:
    """Recording a send the rule did not allow is a bug, not a silent overrun."""
    with pytest.raises(ValueError, match="before the slot is free"):
        flood.taken(Slot((T0,), T0 + SECOND), Limits().private_chat, T0)


def test_a_429_holds_the_whole_bot_for_at_most_the_overall_window() -> None:
    """Other chats wait out a 429 only as long as the overall limit could need."""
    overall = Limits().overall
    assert flood.bot_wait(timedelta(seconds=59), overall) == SECOND
    assert flood.bot_wait(timedelta(milliseconds=500), overall) == timedelta(milliseconds=500)


def test_slack_lengthens_every_window() -> None:
    """A margin for requests that arrive late makes each window that much longer."""
    slack = Limits().slack(0.1)

    assert slack.private_chat == Window(1, timedelta(seconds=1.1))
    assert slack.group_chat == Window(20, timedelta(seconds=66))
    assert Limits().ceiling == 30.0
    assert slack.ceiling == pytest.approx(30 / 1.1)


def test_a_batch_is_booked_message_by_message_across_the_overall_slots() -> None:
    """A batch books each message on the freest overall slot: two to one private chat are a
    second apart, a third beyond the hold is not booked (and uses no slot), and each slot booked
    awaits its answer."""
    limits = Limits()
    _, window = flood.shards(limits.overall)
    chats = {"chat:1": (EMPTY, limits.private_chat), "chat:2": (EMPTY, limits.private_chat)}

    booked = flood.book(["chat:1", "chat:2", "chat:1", "chat:1"], chats, [EMPTY] * 4, window,
                        now=T0, hold=SECOND, answer_wait=WAIT)

    assert booked.bookings == (flood.Booking(T0, True, 0), flood.Booking(T0, True, 1),
                               flood.Booking(T0 + SECOND, True, 2),
                               flood.Booking(T0 + 2 * SECOND, False))
    assert booked.chats["chat:1"] == Slot((T0 + SECOND,), T0 + 2 * SECOND)
    assert [slot.free_at for slot in booked.overall] == [
        T0 + SECOND + WAIT, T0 + SECOND + WAIT, T0 + 2 * SECOND + WAIT, T0]
    assert [flood.awaiting_answer(slot, window, T0) for slot in booked.overall] == [
        True, True, True, False]


WAIT = timedelta(seconds=10)
OVERALL = flood.shards(Limits().overall)[1]


def book_one(chat: str, overall: list[Slot], *, now: datetime = T0,
             held_until: datetime | None = None) -> flood.Booked:
    return flood.book([chat], {chat: (EMPTY, Limits().private_chat)}, overall, OVERALL, now=now,
                      hold=5 * SECOND, held_until=held_until, answer_wait=WAIT,
                      look_again=timedelta(milliseconds=50))


def test_an_overall_slot_counts_from_the_moment_telegram_answered() -> None:
    """A send booked at T0 that Telegram answered 200 ms later frees its slot a second after
    the answer, not after the booking: a late request cannot let the slot's next one in within
    its window."""
    first = book_one("chat:1", [EMPTY])
    slot = flood.answered(first.overall[0], OVERALL, T0, T0 + timedelta(milliseconds=200))

    second = book_one("chat:2", [slot], now=T0 + timedelta(milliseconds=300))

    assert slot == Slot((T0 + timedelta(milliseconds=200),), T0 + timedelta(milliseconds=1200))
    assert second.bookings == (flood.Booking(T0 + timedelta(milliseconds=1200), True, 0),)


def test_a_slot_awaiting_its_answer_is_booked_by_nobody_until_it_is_given_up_on() -> None:
    """While a slot's send has no answer, another message is not booked on it and is told to
    look again shortly; once the answer is past due (the sender died), the slot is free."""
    awaiting = book_one("chat:1", [EMPTY]).overall[0]

    soon = book_one("chat:2", [awaiting], now=T0 + 2 * SECOND)
    late = book_one("chat:2", [awaiting], now=T0 + SECOND + WAIT)

    assert soon.bookings == (flood.Booking(T0 + 2 * SECOND + timedelta(milliseconds=50),
                                           False),)
    assert late.bookings == (flood.Booking(T0 + SECOND + WAIT, True, 0),)


def test_an_answer_to_a_send_whose_slot_was_booked_again_changes_nothing() -> None:
    """An answer that comes after its slot was given up on and booked again by another send
    leaves the slot to that send."""
    first = book_one("chat:1", [EMPTY]).overall[0]
    again = book_one("chat:2", [first], now=T0 + SECOND + WAIT).overall[0]

    assert flood.answered(again, OVERALL, T0, T0 + 2 * WAIT) == again


def test_the_bots_hold_after_a_429_puts_every_booking_after_it() -> None:
    """While the bot is held after a 429, a free slot and a free chat still wait for the hold
    to end."""
    booked = book_one("chat:1", [EMPTY], held_until=T0 + SECOND)

    assert booked.bookings == (flood.Booking(T0 + SECOND, True, 0),)


def test_without_an_overall_slot_nothing_is_booked() -> None:
    """When every overall slot is taken by other senders at this instant, no message is booked."""
    limits = Limits()
    booked = flood.book(["chat:1"], {"chat:1": (EMPTY, limits.private_chat)}, [],
                        flood.shards(limits.overall)[1], now=T0, hold=SECOND)

    assert booked.bookings == (flood.Booking(T0, False),)
    assert booked.chats == {"chat:1": EMPTY}
