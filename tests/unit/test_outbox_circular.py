"""Circular votes through the job table: reminders to CIOs who have not voted, and the close at
the deadline, claimed once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.reminders import reminder_fields
from meetings import usecases
from meetings.domain.model import Choice, Council, Member, Motion, MotionKind, MotionState
from meetings.domain.reminders import ReminderKind
from meetings.usecases.outbox import Delivery
from tests.unit.conftest import COUNCIL_CHAT
from tests.unit.fakes import FakeUnitOfWork

# Wednesday 25 November 2026, 10:00 in Shanghai; the vote closes at 10:00 on Monday the 30th.
OPENED = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
CLOSES = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
REMIND = CLOSES - timedelta(days=1)
TEXT = "Adopt the shared cloud platform"


async def open_circular(uow: FakeUnitOfWork, council: Council, chair: Member,
                        closes_local: str = "2026-11-30 10:00") -> Motion:
    opened = await usecases.voting.open_motion(uow, council.id, kind=MotionKind.CIRCULAR, text=TEXT,
                                               actor=chair, now=OPENED, closes_local=closes_local)
    return opened.count.motion


@pytest.fixture
async def motion(uow: FakeUnitOfWork, council: Council, people: dict[str, Member]) -> Motion:
    return await open_circular(uow, council, people["chair"])


async def vote(uow: FakeUnitOfWork, council: Council, cio: Member, motion: Motion,
               choice: Choice, now: datetime) -> None:
    await usecases.voting.cast_vote(uow, council.id, motion.id, choice=choice, actor=cio, now=now)


def keys(uow: FakeUnitOfWork) -> list[str]:
    return sorted(job.dedupe_key for job in uow.rows("jobs"))


def stored_motion(uow: FakeUnitOfWork, motion_id: int) -> Motion:
    found: Motion = uow.committed.table("motions")[motion_id]
    return found


def closes_recorded(uow: FakeUnitOfWork) -> list[tuple[str, int]]:
    return [(e.actor, json.loads(e.payload)["motion"]) for e in uow.rows("audit")
            if e.action == "motion.close"]


# --- reminders ----------------------------------------------------------------------------------

async def test_the_reminder_falls_a_day_before_or_halfway(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member], motion: Motion) -> None:
    """Five days long: a day before the deadline; four hours long: after two hours."""
    short = await open_circular(uow, council, people["chair"], closes_local="2026-11-25 14:00")
    assert usecases.outbox.vote_reminder_at(motion) == REMIND
    assert usecases.outbox.vote_reminder_at(short) == OPENED + timedelta(hours=2)


async def test_nothing_is_queued_before_the_reminder_is_due(
        uow: FakeUnitOfWork, motion: Motion) -> None:
    """A minute before the reminder time the vote has no jobs."""
    assert await usecases.outbox.plan_reminders(uow, now=REMIND - timedelta(minutes=1)) == 0
    assert uow.rows("jobs") == []


async def test_only_cios_who_have_not_voted_are_reminded(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member], motion: Motion) -> None:
    """EPB voted: only MSB's CIO (Telegram id 13) is reminded, privately; the chair, the
    secretary and the expert are not; planning again adds nothing."""
    await vote(uow, council, people["EPB"], motion, Choice.YES, OPENED + timedelta(hours=1))

    assert await usecases.outbox.plan_reminders(uow, now=REMIND) == 1

    assert keys(uow) == [f"motion:{motion.id}:remind:13"]
    [job] = uow.rows("jobs")
    assert job.run_at == REMIND
    assert (job.payload["chat_id"], job.payload["group"], job.payload["kind"]) == (
        13, False, ReminderKind.VOTE_REMINDER.value)
    assert await usecases.outbox.plan_reminders(uow, now=REMIND + timedelta(hours=3)) == 0


async def test_a_short_vote_is_reminded_halfway(uow: FakeUnitOfWork, council: Council,
                                                people: dict[str, Member]) -> None:
    """A four-hour vote reminds both CIOs at two hours, not before."""
    short = await open_circular(uow, council, people["chair"], closes_local="2026-11-25 14:00")
    halfway = OPENED + timedelta(hours=2)

    assert await usecases.outbox.plan_reminders(uow, now=halfway - timedelta(minutes=1)) == 0
    assert await usecases.outbox.plan_reminders(uow, now=halfway) == 2
    assert keys(uow) == [f"motion:{short.id}:remind:12", f"motion:{short.id}:remind:13"]
    assert {job.run_at for job in uow.rows("jobs")} == {halfway}


async def test_a_claimed_reminder_names_the_vote_and_its_local_deadline(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member], motion: Motion) -> None:
    """The delivery carries the motion, whose id, text and deadline (in the council's zone) the
    reminder gives."""
    await vote(uow, council, people["MSB"], motion, Choice.NO, OPENED)
    await usecases.outbox.plan_reminders(uow, now=REMIND)
    [job] = uow.rows("jobs")

    deliveries = await usecases.outbox.claim_deliveries(uow, now=REMIND, worker="w1", limit=10)

    assert deliveries == [Delivery(job_id=job.id, attempts=1, chat_id=12,
                                   kind=ReminderKind.VOTE_REMINDER, council=council,
                                   motion=stored_motion(uow, motion.id))]
    assert reminder_fields(deliveries[0]) == {
        "council": "Riverside CIO Council", "when": "", "deadline": "", "department": "",
        "action": f"M{motion.id}", "text": TEXT, "due": "Mon 30 Nov 2026, 10:00", "name": "",
        "link": ""}
    assert await usecases.outbox.claim_deliveries(uow, now=REMIND, worker="w2", limit=10) == []


async def test_a_vote_after_planning_drops_that_reminder(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member], motion: Motion) -> None:
    """MSB votes between planning and claiming: only EPB is reminded, MSB's job is given up."""
    await usecases.outbox.plan_reminders(uow, now=REMIND)
    await vote(uow, council, people["MSB"], motion, Choice.ABSTAIN, REMIND + timedelta(minutes=1))

    deliveries = await usecases.outbox.claim_deliveries(uow, now=REMIND + timedelta(minutes=2),
                                                        worker="w1", limit=10)

    assert [d.chat_id for d in deliveries] == [12]
    assert len(uow.rows("jobs_done")) == 1
    assert (
        await usecases.outbox.claim_deliveries(
            uow, now=REMIND + timedelta(minutes=3), worker="w1", limit=10
        )
        == []
    )


async def test_a_reminder_claimed_after_the_deadline_is_not_sent(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], motion: Motion
) -> None:
    """After downtime past the deadline a reminder would urge a vote that is no longer taken."""
    await usecases.outbox.plan_reminders(uow, now=REMIND)

    deliveries = await usecases.outbox.claim_deliveries(uow, now=CLOSES, worker="w1", limit=10)

    assert all(d.kind is not ReminderKind.VOTE_REMINDER for d in deliveries)


# --- the close at the deadline ------------------------------------------------------------------


async def test_at_the_deadline_one_close_job_is_queued(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], motion: Motion
) -> None:
    """At the deadline the vote gets a close job for the group (and no more reminders); a
    second plan, from a restart or another instance, adds nothing."""
    assert await usecases.outbox.plan_reminders(uow, now=CLOSES) == 1
    assert await usecases.outbox.plan_reminders(uow, now=CLOSES + timedelta(minutes=1)) == 0

    [job] = uow.rows("jobs")
    assert (job.dedupe_key, job.run_at) == (f"motion:{motion.id}:close", CLOSES)
    assert (job.payload["group"], job.payload["kind"]) == (True, ReminderKind.VOTE_CLOSED.value)


async def test_the_close_job_closes_the_vote_once_and_carries_the_result(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], motion: Motion
) -> None:
    """Both CIOs voted yes: the claim closes the motion, records the decision, and hands the
    group the result; another worker's claim then gets nothing and closes nothing."""
    for code in ("EPB", "MSB"):
        await vote(uow, council, people[code], motion, Choice.YES, OPENED + timedelta(hours=1))
    await usecases.outbox.plan_reminders(uow, now=CLOSES)
    claimed_at = CLOSES + timedelta(seconds=30)

    [delivery] = await usecases.outbox.claim_deliveries(uow, now=claimed_at, worker="w1", limit=10)

    assert (delivery.chat_id, delivery.kind, reminder_fields(delivery)["action"]) == (
        COUNCIL_CHAT,
        ReminderKind.VOTE_CLOSED,
        f"M{motion.id}",
    )
    assert delivery.result is not None
    closed = stored_motion(uow, motion.id)
    assert delivery.result.count.motion == closed
    assert (closed.state, closed.closed_at, closed.yes, closed.eligible, closed.passed) == (
        MotionState.CLOSED,
        claimed_at,
        2,
        2,
        True,
    )
    assert delivery.result.decision is not None
    assert delivery.result.decision.motion_id == motion.id
    assert uow.rows("decisions") == [delivery.result.decision]
    assert closes_recorded(uow) == [("operator:scheduler", motion.id)]

    assert await usecases.outbox.claim_deliveries(uow, now=claimed_at, worker="w2", limit=10) == []
    assert await usecases.outbox.plan_reminders(uow, now=claimed_at + timedelta(minutes=1)) == 0
    assert closes_recorded(uow) == [("operator:scheduler", motion.id)]


async def test_an_unanswered_vote_fails_at_its_deadline(
    uow: FakeUnitOfWork, motion: Motion
) -> None:
    """Nobody voted: the vote closes without a quorum and records no decision."""
    await usecases.outbox.plan_reminders(uow, now=CLOSES)
    [delivery] = await usecases.outbox.claim_deliveries(uow, now=CLOSES, worker="w1", limit=10)
    assert delivery.result is not None
    assert (delivery.result.outcome.cast, delivery.result.outcome.passed) == (0, False)
    assert (delivery.result.decision, uow.rows("decisions")) == (None, [])


async def test_a_vote_the_chair_closed_before_the_deadline_gets_no_close_job(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], motion: Motion
) -> None:
    """The chair's /close posted the result already; the deadline queues nothing."""
    await usecases.voting.close_motion(
        uow, council.id, motion.id, actor=people["chair"], now=REMIND
    )
    assert await usecases.outbox.plan_reminders(uow, now=CLOSES) == 0
    assert uow.rows("jobs") == []


async def test_a_vote_the_chair_closed_after_queueing_yields_no_close_delivery(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], motion: Motion
) -> None:
    """The close job was queued, then the chair closed the vote himself: the claim gives the
    job up and leaves the chair's result alone."""
    await usecases.outbox.plan_reminders(uow, now=CLOSES)
    chair_closed = CLOSES + timedelta(seconds=5)
    await usecases.voting.close_motion(
        uow, council.id, motion.id, actor=people["chair"], now=chair_closed
    )

    assert (
        await usecases.outbox.claim_deliveries(
            uow, now=CLOSES + timedelta(seconds=30), worker="w1", limit=10
        )
        == []
    )
    assert stored_motion(uow, motion.id).closed_at == chair_closed
    assert closes_recorded(uow) == [(f"member:{people['chair'].id}", motion.id)]
    assert len(uow.rows("jobs_done")) == 1


async def test_a_result_whose_post_failed_is_posted_on_the_retry(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], motion: Motion
) -> None:
    """Sending the result failed after the claim had closed the vote: the retried job hands
    out the same result again (without closing anything twice) instead of losing it."""
    await vote(uow, council, people["EPB"], motion, Choice.YES, OPENED)
    # Both member departments vote: more than half of two is two (the quorum).
    await vote(uow, council, people["MSB"], motion, Choice.YES, OPENED)
    await usecases.outbox.plan_reminders(uow, now=CLOSES)
    [first] = await usecases.outbox.claim_deliveries(uow, now=CLOSES, worker="w1", limit=10)
    retry_at = CLOSES + timedelta(minutes=1)
    await usecases.outbox.finish_delivery(
        uow, first.job_id, now=CLOSES, error="timed out", retry_at=retry_at
    )

    [again] = await usecases.outbox.claim_deliveries(uow, now=retry_at, worker="w2", limit=10)

    assert (again.job_id, again.attempts, again.chat_id) == (first.job_id, 2, COUNCIL_CHAT)
    assert again.result is not None
    assert first.result is not None
    assert again.result.count == first.result.count
    assert again.result.outcome == first.result.outcome
    assert again.result.decision == first.result.decision
    assert closes_recorded(uow) == [("operator:scheduler", motion.id)]
    assert len(uow.rows("decisions")) == 1
