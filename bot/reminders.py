"""Sends meeting reminders and action-item notices from the durable job table
(`meetings.usecases.outbox`) through Telegram, worded in each council's language, and keeps every
council's regular series planned twelve months ahead (housekeeping,
`usecases.schedule.extend_due_series`).

Every instance may run `Reminders.run`: planning is idempotent and each job is claimed by one
worker, so several instances on one database send every reminder once. A job is marked done
right after its message is accepted; a worker that dies in between leaves the claim to expire
(or to its successor on the same host, at once), and the message is sent again (at least once,
never silently lost). Secret ballots' papers go the same way (`bot.telegram.voting` sends them
at once through `Reminders.deliver`; what it could not send is left here).

Every message waits for its moment under Telegram's flood limits, counted for the bot as a whole
across instances in the database (`storage.sendslots`), from the moment Telegram answered each
send; a 429 that comes all the same pushes the chat's (and, for at most the overall window, the
bot's) next moment by ``retry_after`` and puts the job off until then, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

import telegram
from telegram.error import BadRequest, Forbidden, RetryAfter

from bot.i18n import N_, translate
from bot.i18n.words import date_text, local_datetime_text
from bot.telegram.render import (
    final_agenda_text,
    result_text,
    split_text,
    start_link,
    vote_keyboard,
)
from meetings import usecases
from meetings.domain.flood import Limits
from meetings.domain.reminders import ReminderKind
from meetings.ports import Clock, UnitOfWork
from meetings.usecases.outbox import Delivery, Finished
from meetings.usecases.voting import Result
from storage import Database, jobs, retrying
from storage.sendslots import Reservation, SendSlots

log = logging.getLogger(__name__)

TEXTS = {
    ReminderKind.AGENDA_CALL: N_(
        "📋 {council}: the next meeting is on {when}. CIOs, please propose agenda items with "
        "/propose before {deadline}."),
    ReminderKind.AGENDA_DEADLINE: N_(
        "⏰ {council}: agenda proposals for the meeting on {when} are now closed."),
    ReminderKind.DAY_BEFORE: N_(
        "📅 Reminder: {council} meets on {when}. CIOs attend in person; if you cannot, tell "
        "the secretariat beforehand."),
    ReminderKind.HOUR_BEFORE: N_("🔔 {council} meets within the hour, at {when}."),
    ReminderKind.ACTION_DUE: N_(
        "⏳ {council}: action {action} of {department} is due on {due}: {text}\n"
        "Send /done {action} when it is done."),
    ReminderKind.ACTION_OVERDUE: N_(
        "⚠️ {council}: action {action} of {department} was due on {due} and is overdue: {text}\n"
        "Send /done {action} when it is done; the chair has been told."),
    ReminderKind.ACTION_ESCALATION: N_(
        "⚠️ {council}: action {action} of {department} is overdue (due {due}): {text}"),
    ReminderKind.VOTE_REMINDER: N_(
        "🗳 {council}: your department has not voted on circular vote {action} yet: {text}\n"
        "It closes at {due}. Send /vote {action} yes|no|abstain."),
    ReminderKind.UNREACHABLE: N_(
        "✉️ Secretariat: I could not deliver a private message to {name}{department}: they have "
        "not pressed Start in a private chat with me, or have blocked me. Secret ballots, "
        "reminders and calendar links cannot reach them until they do.\n"
        "{name}, please open {link} and press Start."),
}
BALLOT_TEXT = N_("🗳 Secret ballot M{id}: {text}\nNobody can see your vote, in the group or in "
                 "the bot's records. A secret vote is final: once cast, it cannot be changed.")

MAX_ATTEMPTS = 5
FIRST_BACKOFF = timedelta(minutes=1)
# How often an instance looks whether a council's day has come to top up its series; the job
# table makes the top-up itself once a day per council across instances.
SERIES_CHECK_EVERY = timedelta(hours=1)
# While a backlog keeps `run` ticking without a pause, planning (every council's reminders
# enqueued again, idempotently) happens no more often than this.
PLAN_EVERY = timedelta(seconds=30)


class Outcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"  # will be tried again
    GIVEN_UP = "given up"


@dataclass(frozen=True, slots=True)
class TickReport:
    planned: int = 0  # jobs newly enqueued
    sent: int = 0
    failed: int = 0  # will be tried again
    given_up: int = 0


def reminder_fields(delivery: Delivery, bot_username: str = "") -> dict[str, str]:
    """The fields of the reminder's text as people read them: times in the council's zone
    in the council's language (`Thu 12 Jun 2025, 14:30`), an action item as `A7`, a vote as
    `M3`; empty where not told of."""
    zone, language = delivery.council.timezone, delivery.council.language
    fields = dict.fromkeys(("when", "deadline", "action", "department", "due", "text", "name",
                            "link"), "")
    fields["council"] = delivery.council.name
    if (member := delivery.member) is not None:
        fields["name"] = member.name
        fields["department"] = f" ({delivery.department.code})" if delivery.department else ""
        fields["link"] = start_link(bot_username, delivery.council.id)
    if delivery.meeting is not None:
        fields["when"] = local_datetime_text(language, delivery.meeting.starts_at, zone)
    if delivery.deadline is not None:
        fields["deadline"] = local_datetime_text(language, delivery.deadline, zone)
    if (item := delivery.action) is not None:
        fields.update(action=f"A{item.id}", due=date_text(language, item.due), text=item.text,
                      department=delivery.department.code if delivery.department else "")
    if (motion := delivery.motion) is not None:
        closes = (local_datetime_text(language, motion.closes_at, zone) if motion.closes_at
                  else "")
        fields.update(action=f"M{motion.id}", due=closes, text=motion.text)
    return fields


def reminder_text(delivery: Delivery, bot_username: str = "") -> str:
    """The message to send, in the council's language (``bot_username`` makes the Start link
    of a notice about someone the bot cannot reach privately)."""
    language = delivery.council.language
    if delivery.result is not None:
        return result_text(language, delivery.result.count)
    if delivery.kind is ReminderKind.BALLOT and delivery.motion is not None:
        return translate(language, BALLOT_TEXT, id=delivery.motion.id, text=delivery.motion.text)
    fields = reminder_fields(delivery, bot_username)
    if delivery.final_agenda is not None:
        return final_agenda_text(language, fields["council"], fields["when"],
                                 delivery.final_agenda)
    return translate(language, TEXTS[delivery.kind], **fields)


class Pacer(Protocol):
    """Telegram's flood limits shared by every instance (`storage.sendslots.SendSlots`)."""

    async def reserve(self, chat_id: int, *, group: bool, now: datetime,
                      hold: timedelta = ...) -> Reservation: ...

    async def reserve_all(self, messages: Sequence[tuple[int, bool]], *, now: datetime,
                          hold: timedelta = ...) -> list[Reservation]: ...

    async def answered(self, answers: Sequence[tuple[Reservation, datetime]]) -> None:
        """When Telegram answered each reserved send (or the send was given up)."""
        ...

    async def push(self, chat_id: int, *, now: datetime, retry_after: timedelta) -> None: ...


class Unpaced:
    """No shared limits (a worker given a bare unit-of-work factory): Telegram's 429s alone
    slow it down."""

    async def reserve(self, chat_id: int, *, group: bool, now: datetime,
                      hold: timedelta = timedelta(0)) -> Reservation:
        return Reservation(now, taken=True)

    async def reserve_all(self, messages: Sequence[tuple[int, bool]], *, now: datetime,
                          hold: timedelta = timedelta(0)) -> list[Reservation]:
        return [Reservation(now, taken=True) for _ in messages]

    async def answered(self, answers: Sequence[tuple[Reservation, datetime]]) -> None:
        return None

    async def push(self, chat_id: int, *, now: datetime, retry_after: timedelta) -> None:
        return None


def worker_id() -> str:
    """This process as a claimer of jobs: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def dead_here(worker: str) -> bool:
    """Whether ``worker`` (a `worker_id`) was a process on this host that no longer runs."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


# A long text's later pieces wait for their turn rather than have the whole text sent again.
PIECE_HOLD = timedelta(minutes=1)


class Reminders:
    """Plans due reminders, then sends at most ``batch`` of them per tick, each at the moment
    the bot's shared flood limits allow (`storage.sendslots`): one that would have to wait
    longer than ``hold`` is put off until its moment instead (``hold`` zero: never waits, as
    tests on a standing clock want). ``senders`` messages are on their way at once."""

    def __init__(self, database: Database | Callable[[], UnitOfWork], bot: telegram.Bot,
                 clock: Clock, *, worker: str, batch: int = 20,
                 observe: Callable[[str, str], None] | None = None,
                 limits: Limits | None = None, hold: timedelta = timedelta(0), senders: int = 1,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        # ``observe`` is told each job's reminder kind and outcome (the service's metrics).
        self._observe = observe
        self._new_uow: Callable[[], UnitOfWork] = (
            database.uow if isinstance(database, Database) else database)
        self._database = database if isinstance(database, Database) else None
        self._pacer: Pacer = (SendSlots(database, limits) if isinstance(database, Database)
                              else Unpaced())
        self._bot = bot
        self._clock = clock
        self._worker = worker
        self._batch = batch
        self._hold = hold
        self._senders = max(1, senders)
        self._sleep = sleep
        self._series_checked: datetime | None = None
        self._put_off: datetime | None = None  # the soonest a message was put off until
        self._finishing = asyncio.Lock()
        self._unrecorded: list[Finished] = []
        # Reserved sends that Telegram has answered (or that were dropped), not yet recorded:
        # recorded with the outcomes, their overall slots count from the answer.
        self._answers: list[tuple[Reservation, datetime]] = []
        self._pushed_at: datetime | None = None  # when this worker last met a 429
        self._planned_at: datetime | None = None

    async def tick(self, *, plan: bool = True) -> TickReport:
        """Plans what has fallen due (unless ``plan`` is False: a backlog is being worked off,
        and planning every council again per batch would cost more than the sending), then
        sends a batch."""
        now = self._clock.now()
        planned = 0
        if plan:
            planned = await retrying(
                self._new_uow, lambda uow: usecases.outbox.plan_reminders(uow, now=now)
            )
            self._planned_at = now
        outcomes = [outcome for _, outcome in await self.deliver(now)]
        # After the sends: a failure here is logged by `run` and costs no reminder.
        await self.top_up_series(now)
        return TickReport(
            planned=planned,
            sent=outcomes.count(Outcome.SENT),
            failed=outcomes.count(Outcome.FAILED),
            given_up=outcomes.count(Outcome.GIVEN_UP),
        )

    async def deliver(self, now: datetime, *, prefix: str | None = None,
                      limit: int | None = None) -> list[tuple[Delivery, Outcome]]:
        """Claims due jobs (only those whose dedupe key starts with ``prefix``, if given) and
        sends them; each delivery with its outcome, in the order claimed."""
        deliveries = await retrying(
            self._new_uow,
            lambda uow: usecases.outbox.claim_deliveries(
                uow, now=now, worker=self._worker, limit=limit or self._batch, prefix=prefix
            ),
        )
        # The whole batch's first messages reserve their moments in one transaction.
        reserved_at = self._clock.now()
        reservations = await self._pacer.reserve_all(
            [(d.chat_id, d.chat_id < 0) for d in deliveries], now=reserved_at, hold=self._hold)
        outcomes: dict[int, Outcome] = {}
        waiting = iter(sorted(zip(deliveries, reservations, strict=True),
                              key=lambda pair: pair[1].at))

        async def sender() -> None:
            for delivery, reservation in waiting:
                if self._pushed_at is not None and self._pushed_at >= reserved_at:
                    # A 429 came since: the moment reserved may fall in the wait it asked for.
                    # Never sent: its overall slot is free again.
                    self._answers.append((reservation, self._clock.now()))
                    reservation = await self._pacer.reserve(
                        delivery.chat_id, group=delivery.chat_id < 0, now=self._clock.now(),
                        hold=self._hold)
                outcomes[delivery.job_id] = await self._send(delivery, reservation)

        await asyncio.gather(*(sender() for _ in range(min(self._senders, len(deliveries)))))
        return [(delivery, outcomes[delivery.job_id]) for delivery in deliveries]

    async def take_over(self) -> int:
        """Frees at once the jobs that a dead process on this host had claimed (a restart after
        a crash: e.g. a secret ballot's papers it was sending), rather than after their lease.
        Returns how many."""
        if self._database is None:
            return 0
        async with self._database.transaction() as session:
            released = await jobs.release_claims(session, kind=usecases.outbox.JOB_KIND,
                                                 dead=dead_here)
        if released:
            log.info("took over %d jobs claimed by a process that died", released)
        return released

    async def top_up_series(self, now: datetime) -> int:
        """Housekeeping: plans the meetings each council's series needs to stay twelve months
        ahead, at most once an hour per instance. Returns how many were added."""
        last = self._series_checked
        if last is not None and last <= now < last + SERIES_CHECK_EVERY:
            return 0
        planned = await retrying(
            self._new_uow,
            lambda uow: usecases.schedule.extend_due_series(uow, now=now, worker=self._worker),
        )
        self._series_checked = now
        if planned:
            log.info("planned %d more meetings to keep the series twelve months ahead",
                     len(planned))
        return len(planned)

    async def run(
        self, stop: asyncio.Event, interval: float = 30.0, backlog_pause: float = 0.0
    ) -> None:
        """Ticks every ``interval`` seconds until ``stop`` is set; a full batch means more is
        waiting, so the next tick follows after ``backlog_pause`` (the shared flood limits pace
        the sends), and a message put off by them is taken up again at its moment."""
        try:
            await self.take_over()
        except Exception:
            log.exception("could not take over the jobs of a dead process; their lease will")
        while not stop.is_set():
            pause = interval
            try:
                self._put_off = None
                last = self._planned_at
                every = max(timedelta(seconds=interval), PLAN_EVERY)
                due = last is None or self._clock.now() >= last + every
                report = await self.tick(plan=due)
                if report.sent + report.failed + report.given_up >= self._batch:
                    pause = backlog_pause
                if self._put_off is not None:
                    wait = (self._put_off - self._clock.now()).total_seconds()
                    pause = min(pause, max(wait, 0.0))
            except Exception:
                log.exception("reminder tick failed; trying again in %s s", interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    async def _send(self, delivery: Delivery, first: Reservation) -> Outcome:
        """Sends one reminder at the moment the flood limits allow (``first``: the moment
        reserved for its first message) and records the outcome."""
        chat_id = delivery.chat_id
        markup = (vote_keyboard(delivery.council.language, delivery.motion.id)
                  if delivery.kind is ReminderKind.BALLOT and delivery.motion else None)
        try:
            # Only a long final agenda needs several messages; should a later one fail, the
            # retry sends them all again (at least once, like every reminder).
            for number, piece in enumerate(split_text(reminder_text(delivery,
                                                                    self._username()))):
                reservation = first if number == 0 else await self._later_piece(chat_id)
                if not reservation.taken:
                    # Not the chat's fault, so no attempt limit.
                    if self._put_off is None or reservation.at < self._put_off:
                        self._put_off = reservation.at
                    return await self._finish(delivery, "held back by flood control",
                                              reservation.at)
                delay = (reservation.at - self._clock.now()).total_seconds()
                if delay > 0:
                    await self._sleep(delay)
                try:
                    await self._bot.send_message(chat_id, piece, reply_markup=markup)
                finally:
                    self._answers.append((reservation, self._clock.now()))
            if delivery.result is not None:
                await self._retire_buttons(delivery.council.language, delivery.result)
        except RetryAfter as err:
            # Telegram's word wins over our count: nothing more to this chat (and, for the
            # overall limit's share, to any chat) until the wait is over; then this job again,
            # once. No attempt limit either: the job goes stale by itself when the meeting
            # starts (an action notice: when the item is done).
            wait = err.retry_after
            retry_after = wait if isinstance(wait, timedelta) else timedelta(seconds=wait)
            now = self._clock.now()
            await self._pacer.push(chat_id, now=now, retry_after=retry_after)
            self._pushed_at = now
            log.info("reminder %s to %s refused by flood control for %s", delivery.job_id,
                     chat_id, retry_after)
            return await self._finish(delivery, str(err), now + retry_after)
        except Forbidden as err:
            # The person never started the bot or blocked it: sending again cannot help, but
            # the secretariat hears of it (once per member) rather than nobody.
            log.info("reminder %s not sent to %s: %s", delivery.job_id, chat_id, err)
            if chat_id != delivery.council.chat_id and chat_id > 0:
                await retrying(self._new_uow, lambda uow: usecases.outbox.report_unreachable(
                    uow, council_id=delivery.council.id, telegram_id=chat_id,
                    now=self._clock.now()))
            return await self._finish(delivery, f"forbidden: {err}", None)
        except BadRequest as err:
            # "chat not found" and the like: sending the same request again cannot succeed.
            log.warning("reminder %s to %s refused: %s", delivery.job_id, chat_id, err)
            return await self._finish(delivery, f"bad request: {err}", None)
        except Exception as err:
            # Network trouble, Telegram hiccups, a migrated group (its id is re-read from the
            # council on the next claim) or a bug: back off, then give up.
            retry_at = None
            if delivery.attempts < MAX_ATTEMPTS:
                retry_at = self._clock.now() + FIRST_BACKOFF * 2 ** (delivery.attempts - 1)
            log.warning(
                "reminder %s to %s failed (attempt %d), %s",
                delivery.job_id,
                chat_id,
                delivery.attempts,
                f"retrying at {retry_at:%Y-%m-%d %H:%M:%S}" if retry_at else "giving up",
                exc_info=True,
            )
            return await self._finish(delivery, f"{type(err).__name__}: {err}", retry_at)
        return await self._finish(delivery, None, None)

    async def _later_piece(self, chat_id: int) -> Reservation:
        """The moment of a long text's later piece, within `PIECE_HOLD`: when every overall
        slot awaits its answer (other sends on their way, answered within milliseconds), it
        looks again rather than put the job off, whose retry would send the earlier pieces
        again."""
        give_up = self._clock.now() + PIECE_HOLD
        while True:
            now = self._clock.now()
            reservation = await self._pacer.reserve(chat_id, group=chat_id < 0, now=now,
                                                    hold=max(self._hold, give_up - now))
            if reservation.taken or reservation.at > give_up:
                return reservation
            await self._sleep(max((reservation.at - now).total_seconds(), 0.0))

    def _username(self) -> str:
        try:
            return self._bot.username
        except RuntimeError:  # not initialised (no getMe yet): a link without the bot's name
            return ""

    async def _retire_buttons(self, language: str, result: Result) -> None:
        """A circular vote closed by its deadline: its own message shows the result, without
        the buttons (a courtesy: the result itself has been posted)."""
        motion = result.count.motion
        if motion.chat_id is None or motion.message_id is None:
            return
        try:
            await self._bot.edit_message_text(
                result_text(language, result.count),
                chat_id=motion.chat_id,
                message_id=motion.message_id,
            )
        except telegram.error.TelegramError:
            log.info("could not retire the buttons of M%s", motion.id, exc_info=True)

    async def _finish(
        self, delivery: Delivery, error: str | None, retry_at: datetime | None
    ) -> Outcome:
        self._unrecorded.append(Finished(delivery.job_id, self._clock.now(), error, retry_at))
        # Group commit: one transaction at a time records every outcome that has come in by
        # then; the senders queue here rather than in the database's write lock (SQLite's busy
        # wait polls), and none goes on before its own outcome is committed.
        async with self._finishing:
            if self._answers:
                answers, self._answers = self._answers, []
                try:
                    await self._pacer.answered(answers)
                except Exception:
                    # Not lost: each slot is reserved again once its answer is given up on.
                    log.warning("could not record %d answers of Telegram", len(answers),
                                exc_info=True)
            if self._unrecorded:
                batch, self._unrecorded = self._unrecorded, []
                await retrying(
                    self._new_uow,
                    lambda uow: usecases.outbox.finish_deliveries(uow, batch),
                )
        outcome = (Outcome.SENT if error is None
                   else Outcome.FAILED if retry_at is not None else Outcome.GIVEN_UP)
        if self._observe is not None:
            self._observe(delivery.kind.value, outcome.value)
        return outcome
