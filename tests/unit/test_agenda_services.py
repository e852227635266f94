"""Agenda use cases against the in-memory unit of work: proposals, decisions, the agenda as read,
and closing it when the agenda-deadline reminder for the group is claimed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from meetings import usecases
from meetings.domain.agenda import Agenda, close, following, passed_over, target_meeting
from meetings.domain.audit import verify
from meetings.domain.errors import (
    InvalidInput,
    InvalidState,
    NotAllowed,
    NotFound,
    TooManyMajorIssues,
    UnknownMeeting,
)
from meetings.domain.model import (
    ActionItem,
    AgendaItem,
    AgendaState,
    Council,
    Meeting,
    MeetingKind,
    MeetingState,
    Member,
)
from meetings.domain.reminders import ReminderKind
from tests.unit.fakes import FakeUnitOfWork

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
CLI = usecases.common.Operator()
GROUP = -100777
# Thursday 14 January 2027, 14:30 in Shanghai; proposals close three days before.
JANUARY = datetime(2027, 1, 14, 6, 30, tzinfo=UTC)
DEADLINE = JANUARY - timedelta(days=3)


@pytest.fixture
async def meetings(uow: FakeUnitOfWork, council: Council) -> list[Meeting]:
    return [await usecases.schedule.schedule_meeting(uow, council.id, local_start=start, actor=CLI,
                                                     now=NOW)
            for start in ("2027-01-14 14:30", "2027-03-11 14:30")]


async def propose(uow: FakeUnitOfWork, council: Council, cio: Member, title: str,
                  now: datetime = NOW) -> AgendaItem:
    proposal = await usecases.agenda.propose_item(uow, council.id, title=title, description="",
                                                  actor=cio, now=now)
    return proposal.item


async def test_a_proposal_goes_to_the_next_meeting_and_is_audited(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member],
        meetings: list[Meeting]) -> None:
    """Title cleaned, description kept multi-line, department from the CIO, one audit event."""
    proposal = await usecases.agenda.propose_item(
        uow, council.id, title="  Open\tdata  platform ", description=" Phase one:\n catalogue",
        actor=people["EPB"], now=NOW)
    assert (proposal.meeting, proposal.missed) == (meetings[0], None)
    stored = uow.rows("agenda")
    assert stored == [proposal.item]
    assert (proposal.item.title, proposal.item.description) == (
        "Open data platform", "Phase one:\n catalogue")
    assert proposal.item.department_id == people["EPB"].department_id
    assert uow.rows("audit")[-1].action == "agenda.propose"
    assert verify(uow.rows("audit")) == []


async def test_after_the_deadline_a_proposal_goes_to_the_following_meeting(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member],
        meetings: list[Meeting]) -> None:
    """At the deadline the proposal goes to March and names January as missed."""
    proposal = await usecases.agenda.propose_item(uow, council.id, title="Late", description="",
                                                  actor=people["MSB"], now=DEADLINE)
    assert (proposal.meeting, proposal.missed) == (meetings[1], meetings[0])


@pytest.mark.parametrize(("title", "description", "match"), [
    ("", "", "title is empty"),
    ("x" * 201, "", "title is too long"),
    ("ok", "y" * 4001, "description is too long"),
])
async def test_bad_proposals_store_nothing(uow: FakeUnitOfWork, council: Council,
                                           people: dict[str, Member], meetings: list[Meeting],
                                           title: str, description: str, match: str) -> None:
    """An empty or overlong title or description is refused before anything is stored."""
    before = uow.commits
    with pytest.raises(InvalidInput, match=match):
        await usecases.agenda.propose_item(uow, council.id, title=title, description=description,
                                           actor=people["EPB"], now=NOW)
    assert (uow.commits, uow.rows("agenda")) == (before, [])


async def test_only_cios_propose_and_only_the_chair_decides(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member],
        meetings: list[Meeting]) -> None:
    """The chair may not propose; the secretary and a CIO may not decide; nothing changes."""
    with pytest.raises(NotAllowed, match="only department CIOs"):
        await propose(uow, council, people["chair"], "Chair's idea")
    item = await propose(uow, council, people["EPB"], "Open data")
    for who in ("secretary", "EPB"):
        with pytest.raises(NotAllowed, match="only the chair"):
            await usecases.agenda.decide_item(uow, council.id, item.id, state=AgendaState.ACCEPTED,
                                              actor=people[who], now=NOW)
        with pytest.raises(NotAllowed, match="only the chair"):
            await usecases.agenda.mark_major_item(uow, council.id, item.id, actor=people[who],
                                                  now=NOW)
    assert uow.rows("agenda") == [item]


async def test_decisions_are_stored_and_audited(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], meetings: list[Meeting]
) -> None:
    """Accept and reject stay on the meeting; defer moves the item to March, still deferred."""
    accepted, rejected, deferred = [
        await propose(uow, council, people["EPB"], title) for title in ("A", "B", "C")
    ]
    chair = people["chair"]
    item, meeting = await usecases.agenda.decide_item(
        uow, council.id, accepted.id, state=AgendaState.ACCEPTED, actor=chair, now=NOW
    )
    assert (item.state, meeting) == (AgendaState.ACCEPTED, meetings[0])
    await usecases.agenda.decide_item(
        uow, council.id, rejected.id, state=AgendaState.REJECTED, actor=chair, now=NOW
    )
    item, meeting = await usecases.agenda.decide_item(
        uow, council.id, deferred.id, state=AgendaState.DEFERRED, actor=chair, now=NOW
    )
    assert (item.state, item.meeting_id, meeting) == (
        AgendaState.DEFERRED,
        meetings[1].id,
        meetings[1],
    )
    assert [e.action for e in uow.rows("audit")][-3:] == [
        "agenda.accepted",
        "agenda.rejected",
        "agenda.deferred",
    ]


async def test_deferring_needs_a_later_meeting(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], meetings: list[Meeting]
) -> None:
    """An item of the last scheduled meeting cannot be deferred; nothing changes."""
    late = await propose(uow, council, people["EPB"], "Late", now=DEADLINE)
    with pytest.raises(UnknownMeeting, match="no later meeting"):
        await usecases.agenda.decide_item(
            uow, council.id, late.id, state=AgendaState.DEFERRED, actor=people["chair"], now=NOW
        )
    assert uow.rows("agenda") == [late]


async def test_major_issues_are_capped_per_council(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], meetings: list[Meeting]
) -> None:
    """The council's cap applies (here one); marking twice is no change and no audit."""
    async with uow:
        await uow.councils.update(replace(council, max_major_issues=1))
        await uow.commit()
    first, second = [await propose(uow, council, people["MSB"], t) for t in ("A", "B")]
    marked = await usecases.agenda.mark_major_item(
        uow, council.id, first.id, actor=people["chair"], now=NOW
    )
    assert (marked.major, marked.state) == (True, AgendaState.ACCEPTED)
    events = len(uow.rows("audit"))
    assert (
        await usecases.agenda.mark_major_item(
            uow, council.id, first.id, actor=people["chair"], now=NOW
        )
        == marked
    )
    assert len(uow.rows("audit")) == events
    with pytest.raises(TooManyMajorIssues, match=rf"1 major issues \(#{first.id}\)"):
        await usecases.agenda.mark_major_item(
            uow, council.id, second.id, actor=people["chair"], now=NOW
        )


async def test_items_of_another_council_or_a_cancelled_meeting_are_refused(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], meetings: list[Meeting]
) -> None:
    """Another council's item is unknown here; a cancelled meeting's items are settled."""
    item = await propose(uow, council, people["EPB"], "Open data")
    other = await usecases.councils.create_council(uow, name="Other", actor=CLI, now=NOW)
    with pytest.raises(NotFound, match=f"no agenda item #{item.id} in this council"):
        await usecases.agenda.decide_item(
            uow, other.id, item.id, state=AgendaState.ACCEPTED, actor=CLI, now=NOW
        )
    with pytest.raises(NotFound, match="no agenda item #999"):
        await usecases.agenda.mark_major_item(uow, council.id, 999, actor=CLI, now=NOW)
    await usecases.schedule.cancel_meeting(uow, council.id, meetings[0].id, actor=CLI, now=NOW)
    with pytest.raises(InvalidState, match="belongs to a meeting that is cancelled"):
        await usecases.agenda.decide_item(
            uow, council.id, item.id, state=AgendaState.ACCEPTED, actor=CLI, now=NOW
        )


async def test_the_agenda_lists_items_and_the_open_actions(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], meetings: list[Meeting]
) -> None:
    """The next meeting by default, another by id; the review holds open actions, overdue
    first; the final agenda is the accepted items, majors first."""
    a, b, c = [await propose(uow, council, people["EPB"], t) for t in ("A", "B", "C")]
    await usecases.agenda.decide_item(
        uow, council.id, a.id, state=AgendaState.ACCEPTED, actor=CLI, now=NOW
    )
    await usecases.agenda.mark_major_item(uow, council.id, c.id, actor=CLI, now=NOW)
    department = people["MSB"].department_id
    assert department is not None
    async with uow:
        for due, done in [
            (date(2027, 1, 1), None),
            (date(2026, 11, 1), None),
            (date(2026, 10, 1), NOW),
        ]:
            await uow.actions.add(
                ActionItem(council.id, department, "task", due, NOW, done_at=done)
            )
        await uow.commit()

    shown = await usecases.agenda.meeting_agenda(uow, council.id, now=NOW)
    assert shown is not None
    assert (shown.meeting, shown.deadline, shown.today) == (
        meetings[0],
        DEADLINE,
        date(2026, 11, 25),
    )
    assert [i.id for i in shown.items] == [a.id, b.id, c.id]
    assert [i.id for i in shown.final()] == [c.id, a.id]
    assert [(x.due, shown.overdue(x)) for x in shown.review] == [
        (date(2026, 11, 1), True),
        (date(2027, 1, 1), False),
    ]
    assert shown.code(a.department_id) == "EPB"
    later = await usecases.agenda.meeting_agenda(
        uow, council.id, now=NOW, meeting_id=meetings[1].id
    )
    assert later is not None
    assert later.items == ()
    with pytest.raises(UnknownMeeting):
        await usecases.agenda.meeting_agenda(uow, council.id, now=NOW, meeting_id=999)


async def test_no_meeting_no_agenda(uow: FakeUnitOfWork, council: Council) -> None:
    """With nothing scheduled there is no agenda to show (the shell says how to plan one)."""
    assert await usecases.agenda.meeting_agenda(uow, council.id, now=NOW) is None


async def test_claiming_the_deadline_reminder_closes_the_agenda_once(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], meetings: list[Meeting]
) -> None:
    """The group's deadline delivery carries the final agenda and closes the meeting's agenda;
    members' deliveries do not; a claim handed out again (lease expired) closes nothing more."""
    item = await propose(uow, council, people["EPB"], "Open data")
    await usecases.agenda.decide_item(
        uow, council.id, item.id, state=AgendaState.ACCEPTED, actor=CLI, now=NOW
    )
    assert (
        await usecases.outbox.plan_reminders(uow, now=DEADLINE) == 6
    )  # the group and five members
    deliveries = await usecases.outbox.claim_deliveries(uow, now=DEADLINE, worker="w1", limit=10)

    [group] = [d for d in deliveries if d.chat_id == GROUP]
    assert group.kind is ReminderKind.AGENDA_DEADLINE
    assert isinstance(group.final_agenda, Agenda)
    assert [i.id for i in group.final_agenda.final()] == [item.id]
    assert group.final_agenda.meeting.state is MeetingState.AGENDA_CLOSED
    assert all(d.final_agenda is None for d in deliveries if d is not group)
    assert uow.rows("meetings")[0].state is MeetingState.AGENDA_CLOSED

    async with uow:  # the first worker died: its claim is handed out again
        uow.live.table("jobs_claimed").clear()
        await uow.commit()
    again = await usecases.outbox.claim_deliveries(uow, now=DEADLINE, worker="w2", limit=10)
    assert len(again) == 6
    assert [e.action for e in uow.rows("audit")].count("agenda.close") == 1
    assert verify(uow.rows("audit")) == []


async def test_a_later_group_reminder_closes_an_agenda_left_open(
    uow: FakeUnitOfWork, council: Council, meetings: list[Meeting]
) -> None:
    """Down through the deadline, the day-before reminder for the group closes the agenda
    (and carries no final agenda: that news is stale)."""
    day_before = JANUARY - timedelta(days=1)
    await usecases.outbox.plan_reminders(uow, now=day_before)
    deliveries = await usecases.outbox.claim_deliveries(uow, now=day_before, worker="w1", limit=10)
    assert {d.kind for d in deliveries} == {ReminderKind.DAY_BEFORE}
    assert all(d.final_agenda is None for d in deliveries)
    assert uow.rows("meetings")[0].state is MeetingState.AGENDA_CLOSED


MAR = Meeting(1, MeetingKind.REGULAR, datetime(2027, 3, 11, 6, 30, tzinfo=UTC), id=1)
MAY = Meeting(1, MeetingKind.REGULAR, datetime(2027, 5, 13, 6, 30, tzinfo=UTC), id=2)
COUNCIL = Council(name="c", id=1)


def test_closed_agendas_take_no_proposals_and_are_named_as_missed() -> None:
    """A meeting whose agenda closed is skipped even before its deadline (e.g. the deadline
    setting changed) and the proposal says it missed it."""
    closed = replace(MAR, state=MeetingState.AGENDA_CLOSED)
    now = MAR.starts_at - timedelta(days=10)
    assert target_meeting([closed, MAY], COUNCIL, now=now) == (MAY, False)
    assert passed_over([closed, MAY], MAY, now=now) == closed
    assert passed_over([MAR, MAY], MAR, now=now) is None
    cancelled = replace(MAR, state=MeetingState.CANCELLED)
    assert passed_over([cancelled, MAY], MAY, now=now) is None


def test_deferral_target_and_closing_rules() -> None:
    """Deferral goes to the first later meeting taking proposals; closing happens from the
    deadline until the start, once."""
    assert following([MAY, MAR], MAR) == MAY
    with pytest.raises(UnknownMeeting):
        following([MAR, replace(MAY, state=MeetingState.CANCELLED)], MAR)
    deadline = MAR.starts_at - timedelta(days=3)
    assert close(MAR, COUNCIL, now=deadline - timedelta(seconds=1)) is None
    closed = close(MAR, COUNCIL, now=deadline)
    assert closed is not None
    assert closed.state is MeetingState.AGENDA_CLOSED
    assert close(closed, COUNCIL, now=deadline) is None
    assert close(MAR, COUNCIL, now=MAR.starts_at) is None
