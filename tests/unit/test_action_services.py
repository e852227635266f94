"""Action-item use cases against the in-memory unit of work: assigning, completing, listing, and
the owner's and chair's notices planned and claimed through the job table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.reminders import reminder_fields
from meetings import usecases
from meetings.domain.audit import verify
from meetings.domain.errors import (
    InvalidInput,
    InvalidState,
    NotAllowed,
    NotFound,
    UnknownDepartment,
)
from meetings.domain.model import ActionItem, ActionStatus, Council, MeetingState, Member
from meetings.domain.reminders import ReminderKind, action_reminders
from tests.unit.fakes import FakeUnitOfWork

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 on 25 November in Shanghai
CLI = usecases.common.Operator()
GROUP = -100777
DUE = "2026-12-10"
NINE_AM = timedelta(hours=1)  # 09:00 in Shanghai is 01:00 UTC


def local_nine(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + NINE_AM


async def assign(uow: FakeUnitOfWork, council: Council, actor: Member | usecases.common.Operator,
                 code: str = "EPB", due: str = DUE, text: str = "Publish the catalogue",
                 now: datetime = NOW) -> int:
    item, _ = await usecases.actions.assign_action(uow, council.id, code=code, due=due, text=text,
                                                   actor=actor, now=now)
    return item.id


async def test_the_office_assigns_an_action(uow: FakeUnitOfWork, council: Council,
                                            people: dict[str, Member]) -> None:
    """Stored with its department, due date and cleaned text; no meeting runs, so none; audited."""
    item, department = await usecases.actions.assign_action(
        uow, council.id, code="epb", due=" 2026-12-10 ", text="  Publish\tthe catalogue ",
        actor=people["secretary"], now=NOW)
    assert (department.code, item.due, item.text, item.meeting_id, item.done_at) == (
        "EPB", date(2026, 12, 10), "Publish the catalogue", None, None)
    assert uow.rows("actions") == [item]
    [event] = [e for e in uow.rows("audit") if e.action == "action.assign"]
    assert event.actor == f"member:{people['secretary'].id}"


async def test_an_action_agreed_in_a_meeting_belongs_to_it(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member]) -> None:
    meeting = await usecases.schedule.schedule_meeting(
        uow, council.id, local_start="2026-11-25 09:30", actor=CLI, now=NOW - timedelta(days=1)
    )
    async with uow:
        await uow.meetings.update(replace(meeting, state=MeetingState.IN_PROGRESS))
        await uow.commit()
    await assign(uow, council, people["chair"])
    assert uow.rows("actions")[0].meeting_id == meeting.id


@pytest.mark.parametrize(
    ("due", "message"),
    [
        ("2027-02-30", "impossible date 2027-02-30"),
        ("2026-11-24", "due date 2026-11-24 is in the past"),
        ("tomorrow", "bad due date 'tomorrow': use YYYY-MM-DD"),
        ("2026-1-5", "bad due date '2026-1-5': use YYYY-MM-DD"),
    ],
)
async def test_bad_due_dates_are_refused(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], due: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await assign(uow, council, people["chair"], due=due)
    assert str(refused.value) == message
    assert uow.rows("actions") == []


async def test_today_is_judged_in_the_councils_zone(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member]
) -> None:
    """At 23:00 UTC on the 24th it is already the 25th in Shanghai: the 24th is past."""
    late = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        await assign(uow, council, people["chair"], due="2026-11-24", now=late)
    assert await assign(uow, council, people["chair"], due="2026-11-25", now=late)


async def test_only_the_office_assigns(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member]
) -> None:
    for who in ("EPB", "expert"):
        with pytest.raises(NotAllowed):
            await assign(uow, council, people[who])
    with pytest.raises(UnknownDepartment):
        await assign(uow, council, people["chair"], code="XYZ")
    with pytest.raises(InvalidInput):
        await assign(uow, council, people["chair"], text="x" * 100_000)
    assert uow.rows("actions") == []


async def test_the_owner_completes_on_time_and_others_may_not(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member]
) -> None:
    item_id = await assign(uow, council, people["chair"])
    for who in ("MSB", "expert"):
        with pytest.raises(NotAllowed):
            await usecases.actions.complete_action(
                uow, council.id, item_id, note="", actor=people[who], now=NOW
            )
    assert uow.rows("actions")[0].done_at is None
    done, verdict = await usecases.actions.complete_action(
        uow, council.id, item_id, note="published", actor=people["EPB"], now=NOW
    )
    assert (verdict, done.done_at, done.done_note) == (ActionStatus.DONE_ON_TIME, NOW, "published")
    with pytest.raises(InvalidState) as again:
        await usecases.actions.complete_action(
            uow, council.id, item_id, note="", actor=people["chair"], now=NOW
        )
    assert str(again.value) == f"action A{item_id} is already done"
    assert [e.action for e in uow.rows("audit")].count("action.done") == 1
    assert verify(uow.rows("audit")) == []


async def test_lateness_is_judged_on_the_local_date(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member]
) -> None:
    """23:30 UTC on the due day is the next morning in Shanghai: late."""
    on_time = await assign(uow, council, people["chair"])
    late = await assign(uow, council, people["chair"])
    _, verdict = await usecases.actions.complete_action(
        uow,
        council.id,
        on_time,
        note="",
        actor=people["secretary"],
        now=datetime(2026, 12, 10, 15, 30, tzinfo=UTC),
    )
    assert verdict is ActionStatus.DONE_ON_TIME
    _, verdict = await usecases.actions.complete_action(
        uow,
        council.id,
        late,
        note="",
        actor=people["secretary"],
        now=datetime(2026, 12, 10, 16, 30, tzinfo=UTC),
    )
    assert verdict is ActionStatus.DONE_LATE


async def test_unknown_and_foreign_ids_are_not_found(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member]
) -> None:
    other = await usecases.councils.create_council(uow, name="Hillside", actor=CLI, now=NOW)
    await usecases.councils.add_department(
        uow, other.id, code="EPB", name="EPB", actor=CLI, now=NOW
    )
    foreign = await assign(uow, other, CLI)
    for item_id in (foreign, 999):
        with pytest.raises(NotFound):
            await usecases.actions.complete_action(
                uow, council.id, item_id, note="", actor=people["chair"], now=NOW
            )


async def test_open_actions_overdue_first_and_by_department(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member]
) -> None:
    later = await assign(uow, council, CLI, due="2026-12-20")
    soon = await assign(uow, council, CLI, code="MSB", due="2026-11-26")
    done = await assign(uow, council, CLI, due="2026-11-27")
    await usecases.actions.complete_action(uow, council.id, done, note="", actor=CLI, now=NOW)
    found = await usecases.actions.open_actions(uow, council.id, now=NOW + timedelta(days=2))
    assert [i.id for i in found.items] == [soon, later]
    assert [found.overdue(i) for i in found.items] == [True, False]
    assert found.code(found.items[0].department_id) == "MSB"
    only = await usecases.actions.open_actions(uow, council.id, now=NOW, code="epb")
    assert [i.id for i in only.items] == [later]
    with pytest.raises(UnknownDepartment):
        await usecases.actions.open_actions(uow, council.id, now=NOW, code="XYZ")


def test_notices_fall_at_nine_local() -> None:
    """Three days before the due date and the day after it, 09:00 in the council's zone."""
    item = ActionItem(1, 2, "t", date(2026, 12, 10), NOW, id=7)
    notices = action_reminders(item, Council(name="c", id=1))
    assert [(n.kind, n.due_at, n.dedupe_key) for n in notices] == [
        (ReminderKind.ACTION_DUE, local_nine(date(2026, 12, 7)), "action:7:due:2026-12-10"),
        (
            ReminderKind.ACTION_OVERDUE,
            local_nine(date(2026, 12, 11)),
            "action:7:overdue:2026-12-10",
        ),
    ]
    assert action_reminders(replace(item, done_at=NOW), Council(name="c", id=1)) == []


async def test_notices_are_planned_once_and_claimed_once(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member]
) -> None:
    """Due soon: the owner only. Overdue: the owner and the chair. Planning again adds nothing;
    a done item's notice is dropped at claim time."""
    item_id = await assign(uow, council, CLI)
    soon = local_nine(date(2026, 12, 7))
    assert await usecases.outbox.plan_reminders(uow, now=soon - timedelta(minutes=1)) == 0
    assert await usecases.outbox.plan_reminders(uow, now=soon) == 1
    assert await usecases.outbox.plan_reminders(uow, now=soon + timedelta(hours=1)) == 0
    [delivery] = await usecases.outbox.claim_deliveries(uow, now=soon, worker="w1", limit=10)
    fields = reminder_fields(delivery)
    assert (
        delivery.kind,
        delivery.chat_id,
        fields["action"],
        fields["department"],
        fields["due"],
    ) == (ReminderKind.ACTION_DUE, people["EPB"].telegram_id, f"A{item_id}", "EPB",
          "Thu 10 Dec 2026")
    await usecases.outbox.finish_delivery(uow, delivery.job_id, now=soon, error=None, retry_at=None)

    overdue = local_nine(date(2026, 12, 11))
    assert await usecases.outbox.plan_reminders(uow, now=overdue) == 2
    deliveries = await usecases.outbox.claim_deliveries(uow, now=overdue, worker="w1", limit=10)
    assert {(d.kind, d.chat_id) for d in deliveries} == {
        (ReminderKind.ACTION_OVERDUE, people["EPB"].telegram_id),
        (ReminderKind.ACTION_ESCALATION, people["chair"].telegram_id),
    }
    assert await usecases.outbox.plan_reminders(uow, now=overdue + timedelta(days=5)) == 0

    # The same notice handed out again after the item is done goes stale.
    await usecases.actions.complete_action(
        uow, council.id, item_id, note="", actor=CLI, now=overdue
    )
    async with uow:
        uow.live.table("jobs_claimed").clear()
        await uow.commit()
    assert await usecases.outbox.claim_deliveries(uow, now=overdue, worker="w2", limit=10) == []


async def test_a_due_soon_notice_claimed_after_the_due_date_is_dropped(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member]
) -> None:
    """Down from before the due-soon notice until the item is overdue: only the overdue news."""
    await assign(uow, council, CLI)
    await usecases.outbox.plan_reminders(uow, now=local_nine(date(2026, 12, 7)))
    overdue = local_nine(date(2026, 12, 11))
    deliveries = await usecases.outbox.claim_deliveries(uow, now=overdue, worker="w1", limit=10)
    assert deliveries == []
    await usecases.outbox.plan_reminders(uow, now=overdue)
    deliveries = await usecases.outbox.claim_deliveries(uow, now=overdue, worker="w1", limit=10)
    assert {d.kind for d in deliveries} == {
        ReminderKind.ACTION_OVERDUE,
        ReminderKind.ACTION_ESCALATION,
    }
