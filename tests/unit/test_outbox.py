"""Reminder jobs: planned once per recipient, handed out fresh, stale ones dropped unsent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.reminders import reminder_fields
from meetings import usecases
from meetings.domain.model import Council, Meeting, Role
from meetings.domain.reminders import ReminderKind
from meetings.usecases.outbox import Delivery
from tests.unit.fakes import FakeUnitOfWork

CLI = usecases.common.Operator()
GROUP = -1001234
# Thursday 12 June 2025, 14:30 in Shanghai; its reminders fall due at these instants.
START = datetime(2025, 6, 12, 6, 30, tzinfo=UTC)
AGENDA_CALL = START - timedelta(days=14)
AGENDA_DEADLINE = START - timedelta(days=3)
DAY_BEFORE = START - timedelta(days=1)
HOUR_BEFORE = START - timedelta(hours=1)
SET_UP = datetime(2025, 5, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
async def council(uow: FakeUnitOfWork) -> Council:
    council = await usecases.councils.create_council(uow, name="Riverside CIO Council", actor=CLI,
                                                     now=SET_UP, chat_id=GROUP)
    for code, name in [("EPB", "Environment"), ("MSB", "Market Supervision")]:
        await usecases.councils.add_department(
            uow, council.id, code=code, name=name, actor=CLI, now=SET_UP
        )
    # Two CIOs the bot can write to: the agenda call (for those who propose) and the meeting's
    # own reminders reach the same people (the chair's and the expert's chats: see below).
    for name, role, telegram_id, department in [
        ("Chair", Role.CHAIR, None, None),
        ("Wang", Role.CIO, 11, "MSB"),
        ("Li", Role.CIO, 12, "EPB"),
        ("Prof. Zhou", Role.EXPERT, None, None),
    ]:
        await usecases.councils.add_member(
            uow,
            council.id,
            name=name,
            role=role,
            actor=CLI,
            now=SET_UP,
            telegram_id=telegram_id,
            department=department,
        )
    return council


@pytest.fixture
async def meeting(uow: FakeUnitOfWork, council: Council) -> Meeting:
    return await usecases.schedule.schedule_meeting(
        uow, council.id, local_start="2025-06-12 14:30", actor=CLI, now=SET_UP
    )


def keys(uow: FakeUnitOfWork) -> list[str]:
    return sorted(job.dedupe_key for job in uow.rows("jobs"))


async def test_a_due_reminder_is_queued_for_the_group_and_each_member_with_telegram(
    uow: FakeUnitOfWork, meeting: Meeting
) -> None:
    """The agenda call goes to the group and privately to both members with a Telegram id."""
    added = await usecases.outbox.plan_reminders(uow, now=AGENDA_CALL)

    base = f"meeting:{meeting.id}:agenda_call:2025-06-12T06:30"
    assert added == 3
    assert [f"{base}:chat:11", f"{base}:chat:12", f"{base}:group"] == keys(uow)
    assert {(job.payload["chat_id"], job.payload["group"]) for job in uow.rows("jobs")} == {
        (GROUP, True),
        (11, False),
        (12, False),
    }


async def test_the_call_for_agenda_items_goes_privately_only_to_those_who_propose(
    uow: FakeUnitOfWork, council: Council, meeting: Meeting
) -> None:
    """With the secretary and an expert reachable too, the agenda call goes privately only to
    the CIOs (the group hears it too); the deadline and the day before, to everyone."""
    for name, role, telegram_id in [("Deputy chair", Role.SECRETARY, 13),
                                    ("Dr Wu", Role.EXPERT, 14)]:
        await usecases.councils.add_member(uow, council.id, name=name, role=role, actor=CLI,
                                           now=SET_UP, telegram_id=telegram_id)
    audience = {}
    for due in (AGENDA_CALL, AGENDA_DEADLINE, DAY_BEFORE):
        before = {job.id for job in uow.rows("jobs")}
        await usecases.outbox.plan_reminders(uow, now=due)
        audience[due] = {job.payload["chat_id"] for job in uow.rows("jobs")
                         if job.id not in before and not job.payload["group"]}
    assert audience == {AGENDA_CALL: {11, 12}, AGENDA_DEADLINE: {11, 12, 13, 14},
                        DAY_BEFORE: {11, 12, 13, 14}}


async def test_planning_again_queues_nothing_new(uow: FakeUnitOfWork, meeting: Meeting) -> None:
    """A second plan (a restart, another instance) at the same or a later time adds no job."""
    await usecases.outbox.plan_reminders(uow, now=AGENDA_CALL)

    assert await usecases.outbox.plan_reminders(uow, now=AGENDA_CALL) == 0
    assert await usecases.outbox.plan_reminders(uow, now=AGENDA_CALL + timedelta(days=2)) == 0
    assert len(uow.rows("jobs")) == 3


async def test_nothing_is_queued_before_a_reminder_is_due(
    uow: FakeUnitOfWork, meeting: Meeting
) -> None:
    """A minute before the agenda call, nothing is due."""
    assert await usecases.outbox.plan_reminders(uow, now=AGENDA_CALL - timedelta(minutes=1)) == 0
    assert uow.rows("jobs") == []


async def test_inactive_councils_and_councils_without_a_chat_get_nothing(
    uow: FakeUnitOfWork, council: Council, meeting: Meeting
) -> None:
    """A council the bot has left, or one never bound to a chat, is skipped."""
    for changed in (replace(council, active=False), replace(council, chat_id=None)):
        async with uow:
            await uow.councils.update(changed)
            await uow.commit()
        assert await usecases.outbox.plan_reminders(uow, now=AGENDA_CALL) == 0


async def test_a_cancelled_meeting_gets_no_reminders(
    uow: FakeUnitOfWork, council: Council, meeting: Meeting
) -> None:
    """Once cancelled, a meeting's reminders are never queued."""
    await usecases.schedule.cancel_meeting(uow, council.id, meeting.id, actor=CLI, now=SET_UP)

    assert await usecases.outbox.plan_reminders(uow, now=DAY_BEFORE) == 0


async def test_only_the_newest_due_reminder_is_queued_after_downtime(
    uow: FakeUnitOfWork, meeting: Meeting
) -> None:
    """Coming back two days before the meeting sends the deadline notice, not the stale call."""
    await usecases.outbox.plan_reminders(uow, now=DAY_BEFORE - timedelta(hours=1))

    assert {"agenda_deadline"} == {job.payload["kind"] for job in uow.rows("jobs")}


async def test_claimed_deliveries_carry_the_local_fields(
    uow: FakeUnitOfWork, council: Council, meeting: Meeting
) -> None:
    """A claim hands out each job once, with the meeting and its agenda deadline, which the
    text gives in the council's zone."""
    await usecases.outbox.plan_reminders(uow, now=AGENDA_CALL)

    deliveries = await usecases.outbox.claim_deliveries(uow, now=AGENDA_CALL, worker="w1", limit=10)

    expected = {
        Delivery(
            job_id=job.id,
            attempts=1,
            chat_id=job.payload["chat_id"],
            kind=ReminderKind.AGENDA_CALL,
            council=council,
            meeting=meeting,
            deadline=AGENDA_DEADLINE,
        )
        for job in uow.rows("jobs")
    }
    assert expected == set(deliveries)
    local = {"council": "Riverside CIO Council", "when": "Thu 12 Jun 2025, 14:30",
             "deadline": "Mon 9 Jun 2025, 14:30"}
    assert [local] * 3 == [{name: reminder_fields(d)[name] for name in local} for d in deliveries]
    assert await usecases.outbox.claim_deliveries(uow, now=AGENDA_CALL, worker="w2", limit=10) == []


async def test_a_group_reminder_follows_the_councils_current_chat(
    uow: FakeUnitOfWork, council: Council, meeting: Meeting
) -> None:
    """After a supergroup migration moved the council, a queued group reminder goes there."""
    await usecases.outbox.plan_reminders(uow, now=AGENDA_CALL)
    async with uow:
        await uow.councils.update(replace(council, chat_id=-1009999))
        await uow.commit()

    deliveries = await usecases.outbox.claim_deliveries(uow, now=AGENDA_CALL, worker="w1", limit=10)

    assert {-1009999, 11, 12} == {delivery.chat_id for delivery in deliveries}
    assert await usecases.outbox.plan_reminders(uow, now=AGENDA_CALL) == 0


async def test_stale_jobs_are_dropped_unsent(
    uow: FakeUnitOfWork, council: Council, meeting: Meeting
) -> None:
    """Jobs of a meeting moved since they were queued, or superseded by a newer reminder,
    are given up when claimed; the moved meeting's own reminder is queued afresh."""
    await usecases.outbox.plan_reminders(uow, now=AGENDA_CALL)
    await usecases.schedule.reschedule_meeting(
        uow, council.id, meeting.id, actor=CLI, now=SET_UP, local_start="2025-06-13 14:30"
    )

    assert await usecases.outbox.claim_deliveries(uow, now=AGENDA_CALL, worker="w1", limit=10) == []
    assert await usecases.outbox.plan_reminders(uow, now=AGENDA_CALL + timedelta(days=1)) == 3
    assert await usecases.outbox.plan_reminders(uow, now=DAY_BEFORE + timedelta(days=1)) == 3

    deliveries = await usecases.outbox.claim_deliveries(
        uow, now=DAY_BEFORE + timedelta(days=1), worker="w1", limit=10
    )
    assert {ReminderKind.DAY_BEFORE} == {delivery.kind for delivery in deliveries}
    assert len(uow.rows("jobs_done")) + len(deliveries) == 9


async def test_finishing_completes_retries_or_gives_up(
    uow: FakeUnitOfWork, meeting: Meeting
) -> None:
    """A sent job is done, a failed one comes back at its retry time, a hopeless one never."""
    await usecases.outbox.plan_reminders(uow, now=AGENDA_CALL)
    sent, retried, hopeless = await usecases.outbox.claim_deliveries(
        uow, now=AGENDA_CALL, worker="w1", limit=10
    )
    later = AGENDA_CALL + timedelta(minutes=5)

    await usecases.outbox.finish_delivery(
        uow, sent.job_id, now=AGENDA_CALL, error=None, retry_at=None
    )
    await usecases.outbox.finish_delivery(
        uow, retried.job_id, now=AGENDA_CALL, error="timed out", retry_at=later
    )
    await usecases.outbox.finish_delivery(
        uow, hopeless.job_id, now=AGENDA_CALL, error="forbidden", retry_at=None
    )

    assert (
        await usecases.outbox.claim_deliveries(
            uow, now=later - timedelta(seconds=1), worker="w2", limit=10
        )
        == []
    )
    [again] = await usecases.outbox.claim_deliveries(uow, now=later, worker="w2", limit=10)
    assert (retried.job_id, 2) == (again.job_id, again.attempts)


async def test_other_kinds_of_job_are_left_in_the_queue(uow: FakeUnitOfWork) -> None:
    """A job that is not a reminder stays in the queue, untouched, for its own worker."""
    async with uow:
        await uow.jobs.enqueue(kind="message", dedupe_key="m1", payload={}, run_at=SET_UP)
        await uow.commit()

    assert await usecases.outbox.claim_deliveries(uow, now=SET_UP, worker="w1", limit=10) == []
    async with uow:
        [job] = await uow.jobs.claim_due(kind="message", now=SET_UP, worker="other")
    assert (job.dedupe_key, job.run_at, job.attempts) == ("m1", SET_UP, 1)
