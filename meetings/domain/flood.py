"""Telegram's flood limits as a rule over one sender's recent sends: pure, `now` passed in.

Telegram allows a bot about 30 messages a second overall, 20 a minute into one group and one a
second into one private chat, and answers 429 with ``retry_after`` past them. A `Slot` is what
one limit remembers: the sends still inside its window and the earliest moment the next may
go. A send is *reserved* at `next_send` (which may lie a little ahead, for the sender to wait
for) and recorded with `taken`; a 429 moves the slot on with `pushed`.

The overall limit is kept as ``count`` slots of one send per window each (see `shards`): any
``count`` of them may go at once and each at most once per window, which is exactly "at most
``count`` in any window", and concurrent senders take different slots instead of queueing on one.
An overall slot's window counts from the moment Telegram *answered* its send (`answered`), not
from the moment booked: a request reaches Telegram somewhere between the two, often later than
booked (a busy event loop wakes a sender late), and a slot counted from the booking let its next
send arrive within the window of a late one, drawing 429s. Until the answer the slot is
*awaiting* it (`awaiting_answer`) and nobody else books it.

A 429 holds the whole bot (`bot_wait`, one shared moment: ``held_until`` of `book`) rather than
each overall slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Window:
    """At most ``count`` sends in any ``per``."""

    count: int
    per: timedelta

    def __post_init__(self) -> None:
        if self.count < 1 or self.per <= timedelta(0):
            raise ValueError(f"a window lets at least one send through a positive time: {self}")

    def slack(self, share: float) -> Window:
        """The same window made ``share`` longer, so a send that arrives late still fits."""
        return Window(self.count, self.per * (1 + share))


@dataclass(frozen=True, slots=True)
class Limits:
    """Telegram's published guidance for one bot."""

    private_chat: Window = Window(1, timedelta(seconds=1))
    group_chat: Window = Window(20, timedelta(minutes=1))
    overall: Window = Window(30, timedelta(seconds=1))

    def slack(self, share: float) -> Limits:
        """Every window ``share`` longer (a margin for the time a request takes to arrive)."""
        return Limits(self.private_chat.slack(share), self.group_chat.slack(share),
                      self.overall.slack(share))

    def chat(self, *, group: bool) -> Window:
        return self.group_chat if group else self.private_chat

    @property
    def ceiling(self) -> float:
        """Messages a second the overall limit allows."""
        return self.overall.count / self.overall.per.total_seconds()


def shards(overall: Window) -> tuple[int, Window]:
    """The overall limit as (how many slots, each slot's window)."""
    return overall.count, Window(1, overall.per)


@dataclass(frozen=True, slots=True)
class Slot:
    """One limit's memory: the sends inside its window (oldest first), and when the next may go
    (never before ``free_at``, which a 429 can push further)."""

    sent: tuple[datetime, ...]
    free_at: datetime


def next_send(slots: Iterable[Slot], now: datetime) -> datetime:
    """The earliest moment a send that must pass every one of ``slots`` may go."""
    return max([now, *(slot.free_at for slot in slots)])


def taken(slot: Slot, window: Window, at: datetime) -> Slot:
    """The slot once a send goes at ``at`` (no earlier than its ``free_at``)."""
    if at < slot.free_at:
        raise ValueError(f"a send at {at} before the slot is free at {slot.free_at}")
    recent = (*(sent for sent in slot.sent if sent > at - window.per), at)[-window.count:]
    free_at = recent[0] + window.per if len(recent) == window.count else at
    return Slot(recent, free_at)


def awaiting(slot: Slot, window: Window, at: datetime, answer_wait: timedelta) -> Slot:
    """An overall slot once a send is booked at ``at``: nobody books it until Telegram answers,
    or, should no answer be recorded (the sender died), until ``answer_wait`` past the window."""
    after = taken(slot, window, at)
    return Slot(after.sent, max(after.free_at, at + window.per + answer_wait))


def awaiting_answer(slot: Slot, window: Window, now: datetime) -> bool:
    """Whether the slot's latest send is booked but not yet answered (see `awaiting`), and
    not yet given up on."""
    return bool(slot.sent) and slot.free_at > max(now, slot.sent[-1] + window.per)


def answered(slot: Slot, window: Window, booked_at: datetime, answered_at: datetime) -> Slot:
    """The slot once Telegram answered (or refused) the send booked at ``booked_at``: the send
    counts from the answer, so the slot's next send cannot reach Telegram within this one's
    window. A slot booked again since (its answer was given up on) is left as it is."""
    if not slot.sent or slot.sent[-1] != booked_at:
        return slot
    recent = (*slot.sent[:-1], max(booked_at, answered_at))
    at = recent[-1]
    recent = tuple(sent for sent in recent if sent > at - window.per)[-window.count:]
    return Slot(recent, recent[0] + window.per if len(recent) == window.count else at)


def pushed(slot: Slot, until: datetime) -> Slot:
    """The slot after Telegram said to wait until ``until`` (a 429's ``retry_after``)."""
    return Slot(slot.sent, max(slot.free_at, until))


def bot_wait(retry_after: timedelta, overall: Window) -> timedelta:
    """How long a 429 holds back the bot's other chats: Telegram does not say which limit was
    hit; the overall one clears within its window, a chat's own is that chat's to wait out."""
    return min(retry_after, overall.per)


@dataclass(frozen=True, slots=True)
class Booking:
    """One message's moment: ``taken`` when it may go at ``at`` (within the caller's hold);
    otherwise nothing was booked and ``at`` is when to try again."""

    at: datetime
    taken: bool
    overall: int | None = None  # which of the overall slots given it took


@dataclass(frozen=True, slots=True)
class Booked:
    bookings: tuple[Booking, ...]  # one per message, in the order asked
    chats: dict[str, Slot]  # every chat's slot afterwards
    overall: tuple[Slot, ...]  # the overall slots afterwards, in the order given


def book(messages: Sequence[str], chats: Mapping[str, tuple[Slot, Window]],
         overall: Sequence[Slot], overall_window: Window, *, now: datetime,
         hold: timedelta, held_until: datetime | None = None,
         answer_wait: timedelta = timedelta(seconds=5),
         look_again: timedelta = timedelta(milliseconds=50)) -> Booked:
    """Books a moment for each of ``messages`` (chat keys, in order; a chat may come twice):
    the earliest its chat's slot, the freest of the ``overall`` slots and the bot's hold after a
    429 (``held_until``) allow, unless that is more than ``hold`` after ``now``. Each overall
    slot booked then awaits its answer (`awaiting`). ``overall_window`` is each overall slot's
    own (see `shards`). With no overall slot at hand, nothing is booked; when the freest one
    awaits an answer, nothing is booked and ``at`` says to look again after ``look_again``
    (the answer is usually a few milliseconds away)."""
    slots = {key: slot for key, (slot, _) in chats.items()}
    shared = list(overall)
    bookings = []
    for key in messages:
        if not shared:
            bookings.append(Booking(now, taken=False))
            continue
        free = [n for n, slot in enumerate(shared)
                if not awaiting_answer(slot, overall_window, now)]
        if not free:
            bookings.append(Booking(now + look_again, taken=False))
            continue
        freest = min(free, key=lambda n: shared[n].free_at)
        at = next_send([slots[key], shared[freest]], max(now, held_until or now))
        if at - now > hold:
            bookings.append(Booking(at, taken=False))
            continue
        slots[key] = taken(slots[key], chats[key][1], at)
        shared[freest] = awaiting(shared[freest], overall_window, at, answer_wait)
        bookings.append(Booking(at, taken=True, overall=freest))
    return Booked(tuple(bookings), slots, tuple(shared))
