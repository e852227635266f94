"""Sends meeting reminders and action-item notices from the durable job table
(`meetings.usecases.outbox`) through Telegram, worded in each council's language, and keeps every
council's regular series planned twelve months ahead (housekeeping,
`usecases.schedule.extend_due_series`).

Every instance may run `Reminders.run`: planning is idempotent and each job is claimed by one
worker, so several instances on one database send every reminder once. A job is marked done
right after its message is accepted; a worker that dies in between leaves the claim to expire,
and the message is sent again (at least once, never silently lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import telegram
from telegram.error import BadRequest, Forbidden, RetryAfter

from bot.i18n import N_, translate
from bot.telegram.render import final_agenda_text, result_text, split_text, start_link
from meetings import usecases
from meetings.domain.reminders import ReminderKind
from meetings.domain.scheduling import local_text
from meetings.ports import Clock, UnitOfWork
from meetings.usecases.outbox import Delivery
from meetings.usecases.voting import Result
from storage import Database, retrying

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

MAX_ATTEMPTS = 5
FIRST_BACKOFF = timedelta(minutes=1)
# How often an instance looks whether a council's day has come to top up its series; the job
# table makes the top-up itself once a day per council across instances.
SERIES_CHECK_EVERY = timedelta(hours=1)


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
    (`2025-06-12 14:30`), an action item as `A7`, a vote as `M3`; empty where not told of."""
    zone = delivery.council.timezone
    fields = dict.fromkeys(("when", "deadline", "action", "department", "due", "text", "name",
                            "link"), "")
    fields["council"] = delivery.council.name
    if (member := delivery.member) is not None:
        fields["name"] = member.name
        fields["department"] = f" ({delivery.department.code})" if delivery.department else ""
        fields["link"] = start_link(bot_username, delivery.council.id)
    if delivery.meeting is not None:
        fields["when"] = local_text(delivery.meeting.starts_at, zone)
    if delivery.deadline is not None:
        fields["deadline"] = local_text(delivery.deadline, zone)
    if (item := delivery.action) is not None:
        fields.update(action=f"A{item.id}", due=item.due.isoformat(), text=item.text,
                      department=delivery.department.code if delivery.department else "")
    if (motion := delivery.motion) is not None:
        closes = local_text(motion.closes_at, zone) if motion.closes_at else ""
        fields.update(action=f"M{motion.id}", due=closes, text=motion.text)
    return fields


def reminder_text(delivery: Delivery, bot_username: str = "") -> str:
    """The message to send, in the council's language (``bot_username`` makes the Start link
    of a notice about someone the bot cannot reach privately)."""
    language = delivery.council.language
    if delivery.result is not None:
        return result_text(language, delivery.result.count)
    fields = reminder_fields(delivery, bot_username)
    if delivery.final_agenda is not None:
        return final_agenda_text(language, fields["council"], fields["when"],
                                 delivery.final_agenda)
    return translate(language, TEXTS[delivery.kind], **fields)


class Reminders:
    """Plans due reminders, then sends at most ``batch`` of them per tick."""

    def __init__(self, database: Database | Callable[[], UnitOfWork], bot: telegram.Bot,
                 clock: Clock, *, worker: str, batch: int = 20,
                 observe: Callable[[str, str], None] | None = None) -> None:
        # ``observe`` is told each job's reminder kind and outcome (the service's metrics).
        self._observe = observe
        self._new_uow: Callable[[], UnitOfWork] = (
            database.uow if isinstance(database, Database) else database)
        self._bot = bot
        self._clock = clock
        self._worker = worker
        self._batch = batch
        self._series_checked: datetime | None = None

    async def tick(self) -> TickReport:
        now = self._clock.now()
        planned = await retrying(
            self._new_uow, lambda uow: usecases.outbox.plan_reminders(uow, now=now)
        )
        deliveries = await retrying(
            self._new_uow,
            lambda uow: usecases.outbox.claim_deliveries(
                uow, now=now, worker=self._worker, limit=self._batch
            ),
        )
        outcomes: list[Outcome] = []
        held_until: datetime | None = None
        for delivery in deliveries:
            if held_until is not None:
                # Calling on while flood-controlled only makes Telegram's wait longer.
                outcomes.append(
                    await self._finish(delivery, "held back by flood control", held_until)
                )
                continue
            try:
                outcomes.append(await self._send(delivery))
            except RetryAfter as err:
                # Not the chat's fault, so no attempt limit: the job goes stale by itself
                # when the meeting starts (an action notice: when the item is done).
                wait = err.retry_after
                held_until = self._clock.now() + (
                    wait if isinstance(wait, timedelta) else timedelta(seconds=wait)
                )
                outcomes.append(await self._finish(delivery, str(err), held_until))
        # After the sends: a failure here is logged by `run` and costs no reminder.
        await self.top_up_series(now)
        return TickReport(
            planned=planned,
            sent=outcomes.count(Outcome.SENT),
            failed=outcomes.count(Outcome.FAILED),
            given_up=outcomes.count(Outcome.GIVEN_UP),
        )

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
        self, stop: asyncio.Event, interval: float = 30.0, backlog_pause: float = 1.0
    ) -> None:
        """Ticks every ``interval`` seconds until ``stop`` is set; a full batch means more is
        waiting, so the next tick follows after ``backlog_pause`` (still ``batch`` per pause)."""
        while not stop.is_set():
            pause = interval
            try:
                report = await self.tick()
                if report.sent + report.failed + report.given_up >= self._batch:
                    pause = backlog_pause
            except Exception:
                log.exception("reminder tick failed; trying again in %s s", interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    async def _send(self, delivery: Delivery) -> Outcome:
        """Sends one reminder and records the outcome; `RetryAfter` is the caller's to handle."""
        try:
            # Only a long final agenda needs several messages; should a later one fail, the
            # retry sends them all again (at least once, like every reminder).
            for piece in split_text(reminder_text(delivery, self._username())):
                await self._bot.send_message(delivery.chat_id, piece)
            if delivery.result is not None:
                await self._retire_buttons(delivery.council.language, delivery.result)
        except Forbidden as err:
            # The person never started the bot or blocked it: sending again cannot help, but
            # the secretariat hears of it (once per member) rather than nobody.
            log.info("reminder %s not sent to %s: %s", delivery.job_id, delivery.chat_id, err)
            if delivery.chat_id != delivery.council.chat_id and delivery.chat_id > 0:
                await retrying(self._new_uow, lambda uow: usecases.outbox.report_unreachable(
                    uow, council_id=delivery.council.id, telegram_id=delivery.chat_id,
                    now=self._clock.now()))
            return await self._finish(delivery, f"forbidden: {err}", None)
        except RetryAfter:
            raise
        except BadRequest as err:
            # "chat not found" and the like: sending the same request again cannot succeed.
            log.warning("reminder %s to %s refused: %s", delivery.job_id, delivery.chat_id, err)
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
                delivery.chat_id,
                delivery.attempts,
                f"retrying at {retry_at:%Y-%m-%d %H:%M:%S}" if retry_at else "giving up",
                exc_info=True,
            )
            return await self._finish(delivery, f"{type(err).__name__}: {err}", retry_at)
        return await self._finish(delivery, None, None)

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
        now = self._clock.now()
        await retrying(
            self._new_uow,
            lambda uow: usecases.outbox.finish_delivery(
                uow, delivery.job_id, now=now, error=error, retry_at=retry_at
            ),
        )
        outcome = (Outcome.SENT if error is None
                   else Outcome.FAILED if retry_at is not None else Outcome.GIVEN_UP)
        if self._observe is not None:
            self._observe(delivery.kind.value, outcome.value)
        return outcome
