"""Meeting reminders through the durable job table: plan them, hand them out, record the outcome.

The job table is the outbox. Planning is idempotent (one job per reminder and recipient, keyed
so that a restart or a second instance enqueues nothing twice); sending happens in the shell
between `claim_deliveries` and `finish_delivery`.

Only a meeting's *newest* due reminder is planned and sent: after downtime, or for a meeting
scheduled at short notice, the older ones would repeat stale news ("propose items" after the
agenda has closed). In normal running every reminder is the newest one when it falls due, so
nothing is skipped. A job whose reminder has gone stale by the time it is claimed (superseded,
meeting moved, cancelled, started, council inactive) is dropped unsent.

Claiming a group reminder of a meeting past its agenda deadline also closes that agenda, in the
claim's transaction. Each job is claimed by one worker at a time and a closed agenda is not
closed again, so this happens exactly once across restarts and instances; the agenda-deadline
reminder to the group carries the final agenda to post.

Open action items get notices through the same jobs (see
`meetings.domain.reminders.action_reminders`): one to each owning CIO before the due date, and
once overdue one to each owning CIO plus an escalation to each chair, keyed
``action:{id}:{due|overdue}:{date}:{chat|chair}:{telegram id}``.
At claim time the notice is dropped if the item is done, its newest notice is another one, or
the recipient no longer owns it or chairs the council.

A secret ballot's papers are jobs too, queued by `usecases.voting.open_motion` with the motion,
keyed ``motion:{id}:ballot:{telegram id}``, and dropped at claim time once the vote has closed.

Circular votes use them too: a day before the deadline (halfway, for a shorter vote) each CIO
whose department has not voted is reminded privately, keyed ``motion:{id}:remind:{telegram id}``
and dropped at claim time if they have voted meanwhile; at the deadline one job,
``motion:{id}:close``, closes the vote in the claim's transaction and posts the result, so it is
closed once across instances (or not at all by it, if the chair closed it first); should the
post fail, the job's retry posts the same result again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from meetings.domain import agenda, votes
from meetings.domain.agenda import Agenda
from meetings.domain.model import (
    ActionItem,
    Council,
    Department,
    Meeting,
    Member,
    Motion,
    MotionKind,
    Role,
)
from meetings.domain.reminders import (
    Reminder,
    ReminderKind,
    action_reminder_due,
    agenda_deadline,
    private_audience,
    reminders_due,
)
from meetings.ports import AuditEntry, Job, NewJob, UnitOfWork
from meetings.usecases.agenda import agenda_of
from meetings.usecases.common import OUTBOX_JOB_KIND
from meetings.usecases.voting import Result, close_due_circular, declared_result

JOB_KIND = OUTBOX_JOB_KIND


@dataclass(frozen=True, slots=True)
class Delivery:
    """One reminder for one chat: its kind and the values it tells of. The shell words it in
    the council's language and writes its times (kept here in UTC) in the council's zone."""

    job_id: int
    attempts: int  # including this one
    chat_id: int
    kind: ReminderKind
    council: Council  # its name, language and time zone
    meeting: Meeting | None = None  # a meeting reminder: the meeting
    deadline: datetime | None = None  # ... and when proposals for it close
    final_agenda: Agenda | None = None  # the agenda-deadline reminder to the group: post this
    action: ActionItem | None = None  # an action notice: the item
    department: Department | None = None  # ... and the department that owns it
    motion: Motion | None = None  # a circular vote's reminder or result: the vote
    result: Result | None = None  # a circular vote closed at its deadline: post this
    member: Member | None = None  # a bounced private message: whom it was for


def _lookahead(council: Council) -> timedelta:
    # The earliest reminder falls this far before its meeting; a day more absorbs DST shifts.
    days = max(council.agenda_call_days, council.agenda_deadline_days, 1)
    return timedelta(days=days + 1)


def _newest_due(meetings: Sequence[Meeting], council: Council, now: datetime) -> list[Reminder]:
    """Per meeting, the due reminders with the latest due time (usually exactly one)."""
    due = reminders_due(meetings, council, now=now, since=now - _lookahead(council))
    latest = {reminder.meeting_id: reminder.due_at for reminder in due}
    return [reminder for reminder in due if reminder.due_at == latest[reminder.meeting_id]]


async def plan_reminders(uow: UnitOfWork, *, now: datetime) -> int:
    """Enqueues the due reminders of every active council with a chat, one job per recipient:
    the group and each member with a Telegram id, privately. Returns how many jobs are new.

    Every council's jobs are enqueued together at the end: a broadcast is thousands of jobs,
    enqueued again on every planning pass, and one at a time they held the database (and so
    every sender) for seconds."""
    planned: list[NewJob] = []
    async with uow:
        for council in await uow.councils.list():
            if not council.active or council.chat_id is None:
                continue
            members = await uow.members.list(council.id)
            planned += await _plan_actions(uow, council, members, now)
            planned += await _plan_circulars(uow, council, members, now)
            meetings = await uow.meetings.list(council.id, since=now,
                                               until=now + _lookahead(council))
            for reminder in _newest_due(meetings, council, now):
                # The group is keyed by role, not id: a supergroup migration changes the chat
                # id, and the new id must not make already-sent reminders look unsent.
                recipients = [("group", council.chat_id), *sorted(
                    (f"chat:{m.telegram_id}", m.telegram_id)
                    for m in private_audience(reminder.kind, members)
                    if m.telegram_id is not None)]
                planned += [NewJob(
                    kind=JOB_KIND, dedupe_key=f"{reminder.dedupe_key}:{suffix}",
                    run_at=reminder.due_at,
                    payload={"council_id": council.id, "meeting_id": reminder.meeting_id,
                             "kind": reminder.kind.value, "reminder": reminder.dedupe_key,
                             "chat_id": chat_id, "group": suffix == "group"})
                    for suffix, chat_id in recipients]
        added = await uow.jobs.enqueue_all(planned)
        await uow.commit()
    return added


def _action_recipients(item: ActionItem, kind: ReminderKind,
                       members: Sequence[Member]) -> list[tuple[str, int]]:
    """Who hears of an item: its department's CIO; once overdue, the chair as well."""
    owners = [("chat", m.telegram_id) for m in members
              if m.role is Role.CIO and m.department_id == item.department_id]
    chairs = [("chair", m.telegram_id) for m in members if m.role is Role.CHAIR]
    chosen = owners + chairs if kind is ReminderKind.ACTION_OVERDUE else owners
    return sorted((who, chat_id) for who, chat_id in chosen if chat_id is not None)


async def _plan_actions(uow: UnitOfWork, council: Council, members: Sequence[Member],
                        now: datetime) -> list[NewJob]:
    planned = []
    for item in await uow.actions.list(council.id):
        notice = action_reminder_due(item, council, now=now)
        if notice is None:
            continue
        for who, chat_id in _action_recipients(item, notice.kind, members):
            kind = (ReminderKind.ACTION_ESCALATION if who == "chair" else notice.kind)
            planned.append(NewJob(
                kind=JOB_KIND, dedupe_key=f"{notice.dedupe_key}:{who}:{chat_id}",
                run_at=notice.due_at,
                payload={"council_id": council.id, "action_id": item.id, "kind": kind.value,
                         "reminder": notice.dedupe_key, "chat_id": chat_id, "group": False}))
    return planned


VOTE_REMINDER_BEFORE = timedelta(days=1)


def vote_reminder_at(motion: Motion) -> datetime:
    """A day before a circular vote closes, or halfway through a shorter one."""
    assert motion.closes_at is not None
    lead = min(VOTE_REMINDER_BEFORE, (motion.closes_at - motion.opened_at) / 2)
    return motion.closes_at - lead


async def _plan_circulars(uow: UnitOfWork, council: Council, members: Sequence[Member],
                          now: datetime) -> list[NewJob]:
    planned = []
    for motion in await uow.motions.list(council.id, open_only=True):
        if motion.kind is not MotionKind.CIRCULAR or motion.closes_at is None:
            continue
        if now >= motion.closes_at:
            planned.append(NewJob(
                kind=JOB_KIND, dedupe_key=f"motion:{motion.id}:close", run_at=motion.closes_at,
                payload={"council_id": council.id, "motion_id": motion.id,
                         "kind": ReminderKind.VOTE_CLOSED.value, "group": True}))
        elif now >= vote_reminder_at(motion):
            planned += [NewJob(
                kind=JOB_KIND, dedupe_key=f"motion:{motion.id}:remind:{telegram_id}",
                run_at=vote_reminder_at(motion),
                payload={"council_id": council.id, "motion_id": motion.id,
                         "kind": ReminderKind.VOTE_REMINDER.value, "chat_id": telegram_id,
                         "group": False})
                for telegram_id in await _not_voted(uow, motion, members)]
    return planned


async def _not_voted(uow: UnitOfWork, motion: Motion, members: Sequence[Member]) -> list[int]:
    """Telegram ids of the CIOs whose department has not voted on the motion."""
    voted = {b.department_id for b in await uow.ballots.current(motion.id)}
    return sorted(cio.telegram_id
                  for department_id, cio in votes.cios_by_department(members).items()
                  if department_id not in voted and cio.telegram_id is not None)


async def claim_deliveries(uow: UnitOfWork, *, now: datetime, worker: str,
                           limit: int, prefix: str | None = None) -> list[Delivery]:
    """Claims up to ``limit`` due reminder jobs (only those whose dedupe key starts with
    ``prefix``, if given: e.g. one secret ballot's papers) for ``worker`` and commits the claim.

    Stale ones are given up on the spot and not returned, so a batch may come back shorter.
    """
    deliveries: list[Delivery] = []
    async with uow:
        for job in await uow.jobs.claim_due(kind=JOB_KIND, now=now, worker=worker, limit=limit,
                                            prefix=prefix):
            delivery = await _delivery(uow, job, now)
            if delivery is None:
                await uow.jobs.fail(job.id, now=now, error="obsolete", retry_at=None)
            else:
                deliveries.append(delivery)
        await uow.commit()
    return deliveries


async def _delivery(uow: UnitOfWork, job: Job, now: datetime) -> Delivery | None:
    """The job as a delivery, or None when its reminder is no longer the one to send."""
    payload = job.payload
    if "member_id" in payload:
        return await _unreachable_delivery(uow, job)
    if "action_id" in payload:
        return await _action_delivery(uow, job, now)
    if "motion_id" in payload:
        return await _motion_delivery(uow, job, now)
    council = await uow.councils.get(int(payload["council_id"]))
    meeting = await uow.meetings.get(int(payload["meeting_id"]))
    if council is None or meeting is None or not council.active:
        return None
    current = {r.dedupe_key for r in _newest_due([meeting], council, now)}
    chat_id = council.chat_id if payload["group"] else int(payload["chat_id"])
    if payload["reminder"] not in current or chat_id is None:
        return None
    kind = ReminderKind(payload["kind"])
    final: Agenda | None = None
    if payload["group"]:
        # Any group reminder closes an agenda left open past its deadline (after downtime the
        # deadline reminder itself may never have been queued); only the deadline one posts it.
        meeting = await _close_agenda(uow, council, meeting, now)
        if kind is ReminderKind.AGENDA_DEADLINE:
            final = await agenda_of(uow, council, meeting, now=now)
    return Delivery(
        job_id=job.id,
        attempts=job.attempts,
        chat_id=chat_id,
        kind=kind,
        council=council,
        meeting=meeting,
        deadline=agenda_deadline(meeting, council),
        final_agenda=final,
    )


async def _action_delivery(uow: UnitOfWork, job: Job, now: datetime) -> Delivery | None:
    """An action notice, or None once the item is done, its news has moved on (due soon ->
    overdue), or the recipient no longer owns the item or chairs the council."""
    payload = job.payload
    council = await uow.councils.get(int(payload["council_id"]))
    item = await uow.actions.get(int(payload["action_id"]))
    if council is None or item is None or not council.active:
        return None
    notice = action_reminder_due(item, council, now=now)
    if notice is None or notice.dedupe_key != payload["reminder"]:
        return None
    kind = ReminderKind(payload["kind"])
    chat_id = int(payload["chat_id"])
    recipients = _action_recipients(item, notice.kind, await uow.members.list(council.id))
    who = "chair" if kind is ReminderKind.ACTION_ESCALATION else "chat"
    if (who, chat_id) not in recipients:
        return None
    return Delivery(job_id=job.id, attempts=job.attempts, chat_id=chat_id, kind=kind,
                    council=council, action=item,
                    department=await uow.departments.get(item.department_id))


async def _motion_delivery(uow: UnitOfWork, job: Job, now: datetime) -> Delivery | None:
    """A circular vote's result (closing it now) or a reminder to a CIO who still has not
    voted; None once that news is stale."""
    payload = job.payload
    council = await uow.councils.get(int(payload["council_id"]))
    if council is None or not council.active:
        return None
    kind = ReminderKind(payload["kind"])
    if kind is ReminderKind.BALLOT:
        ballot = await uow.motions.get(int(payload["motion_id"]))
        if ballot is None or not votes.is_open(ballot, now):
            return None
        return Delivery(job_id=job.id, attempts=job.attempts, chat_id=int(payload["chat_id"]),
                        kind=kind, council=council, motion=ballot)
    if kind is ReminderKind.VOTE_CLOSED:
        motion_id = int(payload["motion_id"])
        result = await close_due_circular(uow, motion_id, now=now)
        if result is None and job.attempts > 1:
            # An earlier attempt of this job closed the vote, then its post failed or its
            # worker died: post that result again rather than lose it. (A vote the chair
            # closed first is given up on the first attempt, so it never comes back here.)
            result = await declared_result(uow, motion_id)
        if result is None or council.chat_id is None:
            return None
        return _motion_news(job, council, result.count.motion, council.chat_id, result=result)
    motion = await uow.motions.get(int(payload["motion_id"]))
    chat_id = int(payload["chat_id"])
    if (motion is None or not votes.is_open(motion, now)
            or chat_id not in await _not_voted(uow, motion, await uow.members.list(council.id))):
        return None
    return _motion_news(job, council, motion, chat_id)


def _motion_news(job: Job, council: Council, motion: Motion, chat_id: int, *,
                 result: Result | None = None) -> Delivery:
    assert motion.closes_at is not None  # circular votes only
    return Delivery(job_id=job.id, attempts=job.attempts, chat_id=chat_id,
                    kind=ReminderKind(job.payload["kind"]), council=council, motion=motion,
                    result=result)


async def report_unreachable(uow: UnitOfWork, *, council_id: int, telegram_id: int,
                             now: datetime) -> bool:
    """A private message to ``telegram_id`` bounced (Telegram's 403: they never pressed Start,
    or blocked the bot). Notes that the member cannot be reached privately and, the first time
    since they last started the bot, queues a notice to the secretariat in the council's group.
    True when the notice was queued."""
    async with uow:
        member = await uow.members.by_telegram(council_id, telegram_id)
        if member is None or (member.unreachable_reported and not member.private_chat):
            return False
        first = not member.unreachable_reported
        member = await uow.members.update(replace(member, private_chat=False,
                                                  unreachable_reported=True))
        if first:
            await uow.jobs.enqueue(
                kind=JOB_KIND, dedupe_key=f"unreachable:{member.id}:{now.isoformat()}",
                run_at=now, payload={"council_id": council_id, "member_id": member.id,
                                     "kind": ReminderKind.UNREACHABLE.value, "group": True})
            await uow.audit.append(AuditEntry(council_id, "operator:scheduler",
                                              "member.unreachable", {"member": member.id}, now))
        await uow.commit()
    return first


async def _unreachable_delivery(uow: UnitOfWork, job: Job) -> Delivery | None:
    """The notice to the secretariat of a member who cannot be reached privately; None once
    they have started the bot meanwhile."""
    payload = job.payload
    council = await uow.councils.get(int(payload["council_id"]))
    member = await uow.members.get(int(payload["member_id"]))
    if (council is None or member is None or not council.active or council.chat_id is None
            or member.private_chat):
        return None
    return Delivery(job_id=job.id, attempts=job.attempts, chat_id=council.chat_id,
                    kind=ReminderKind.UNREACHABLE, council=council, member=member,
                    department=(await uow.departments.get(member.department_id)
                                if member.department_id else None))


async def _close_agenda(uow: UnitOfWork, council: Council, meeting: Meeting,
                        now: datetime) -> Meeting:
    closed = agenda.close(meeting, council, now=now)
    if closed is None:
        return meeting
    closed = await uow.meetings.update(closed)
    await uow.audit.append(AuditEntry(council.id, "operator:scheduler", "agenda.close",
                                      {"meeting": meeting.id}, now))
    return closed


@dataclass(frozen=True, slots=True)
class Finished:
    """A delivery's outcome: sent (``error`` None), or failed, to retry at ``retry_at`` or,
    when that is None, given up."""

    job_id: int
    now: datetime
    error: str | None = None
    retry_at: datetime | None = None


async def finish_delivery(uow: UnitOfWork, job_id: int, *, now: datetime, error: str | None,
                          retry_at: datetime | None) -> None:
    """Records a sent reminder (``error`` None), or a failure to retry at ``retry_at`` or, when
    that is None, to give up."""
    await finish_deliveries(uow, [Finished(job_id, now, error, retry_at)])


async def finish_deliveries(uow: UnitOfWork, finished: Sequence[Finished]) -> None:
    """Records several deliveries' outcomes in one transaction."""
    async with uow:
        for done in finished:
            if done.error is None:
                await uow.jobs.complete(done.job_id, now=done.now)
            else:
                await uow.jobs.fail(done.job_id, now=done.now, error=done.error,
                                    retry_at=done.retry_at)
        await uow.commit()
