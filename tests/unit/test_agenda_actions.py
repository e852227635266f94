"""Agenda deadlines and decisions, action item status and carry-over."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from meetings.domain.actions import carried_over, complete, status
from meetings.domain.agenda import decide, mark_major, target_meeting
from meetings.domain.errors import InvalidState, TooManyMajorIssues, UnknownMeeting
from meetings.domain.model import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    AgendaState,
    Council,
    Meeting,
    MeetingKind,
    MeetingState,
)

COUNCIL = Council(name="c", id=1)  # agenda deadline: 3 days before
MAR = Meeting(1, MeetingKind.REGULAR, datetime(2027, 3, 11, 6, 30, tzinfo=UTC), id=1)
MAY = Meeting(1, MeetingKind.REGULAR, datetime(2027, 5, 13, 6, 30, tzinfo=UTC), id=2)


def test_proposal_goes_to_next_meeting_before_its_deadline() -> None:
    """Before the deadline a proposal joins the very next meeting."""
    now = MAR.starts_at - timedelta(days=3, seconds=1)
    assert target_meeting([MAY, MAR], COUNCIL, now=now) == (MAR, False)


def test_late_proposal_goes_to_the_following_meeting() -> None:
    """From the deadline on, a proposal goes to the following meeting and says so."""
    now = MAR.starts_at - timedelta(days=3)
    assert target_meeting([MAR, MAY], COUNCIL, now=now) == (MAY, True)


def test_cancelled_meetings_take_no_proposals() -> None:
    """A cancelled meeting is skipped; with nothing left, the error says why."""
    now = MAR.starts_at - timedelta(days=10)
    cancelled = replace(MAR, state=MeetingState.CANCELLED)
    assert target_meeting([cancelled, MAY], COUNCIL, now=now) == (MAY, False)
    with pytest.raises(UnknownMeeting, match="no upcoming meeting"):
        target_meeting([cancelled], COUNCIL, now=now)


def item(item_id: int, state: AgendaState = AgendaState.PROPOSED,
         major: bool = False) -> AgendaItem:
    return AgendaItem(meeting_id=1, title=f"item {item_id}", proposer_id=5, department_id=2,
                      proposed_at=MAR.starts_at, state=state, major=major, id=item_id)


def test_decisions_follow_the_allowed_transitions() -> None:
    """Accept, defer and reject move an item; a rejected item cannot be accepted later."""
    accepted = decide(item(1), AgendaState.ACCEPTED)
    assert accepted.state is AgendaState.ACCEPTED
    deferred = decide(replace(accepted, major=True), AgendaState.DEFERRED)
    assert (deferred.state, deferred.major) == (AgendaState.DEFERRED, False)
    rejected = decide(item(2), AgendaState.REJECTED)
    with pytest.raises(InvalidState, match="is rejected and cannot be accepted"):
        decide(rejected, AgendaState.ACCEPTED)
    with pytest.raises(InvalidState, match="set back"):
        decide(item(3), AgendaState.PROPOSED)


def test_at_most_two_major_issues_by_default() -> None:
    """A third major issue is refused and the reply names the two already marked."""
    agenda = [item(1, AgendaState.ACCEPTED, major=True), item(2, AgendaState.ACCEPTED, major=True),
              item(3)]
    with pytest.raises(TooManyMajorIssues, match=r"#1, #2"):
        mark_major(agenda[2], agenda, limit=2)
    marked = mark_major(agenda[2], agenda[:1], limit=2)
    assert (marked.major, marked.state) == (True, AgendaState.ACCEPTED)


def action(item_id: int, due: date, done: datetime | None = None) -> ActionItem:
    return ActionItem(council_id=1, department_id=2, text="t", due=due,
                      created_at=MAR.starts_at, done_at=done, id=item_id)


@pytest.mark.parametrize(
    ("done", "today", "expected"),
    [
        (None, date(2027, 4, 1), ActionStatus.OPEN),
        (None, date(2027, 4, 2), ActionStatus.OPEN),
        (None, date(2027, 4, 3), ActionStatus.OVERDUE),
        (datetime(2027, 4, 2, 15, 59, tzinfo=UTC), date(2027, 5, 1), ActionStatus.DONE_ON_TIME),
        (datetime(2027, 4, 3, 0, 0, tzinfo=UTC), date(2027, 5, 1), ActionStatus.DONE_LATE),
    ],
)
def test_action_status(done: datetime | None, today: date, expected: ActionStatus) -> None:
    """An item is on time through its due day, overdue after it, done on time or late."""
    assert status(action(1, date(2027, 4, 2), done), today=today) == expected


def test_on_time_is_judged_on_the_local_date() -> None:
    """Done at 23:30 Shanghai time on the due day is on time although it is the next UTC day."""
    done_utc = datetime(2027, 4, 2, 15, 30, tzinfo=UTC)  # 23:30 CST
    assert status(action(1, date(2027, 4, 2), done_utc), today=date(2027, 4, 5),
                  local_done=date(2027, 4, 2)) is ActionStatus.DONE_ON_TIME


def test_completing_twice_is_refused() -> None:
    """An action item is completed once; the second attempt says it is already done."""
    done = complete(action(7, date(2027, 4, 2)), now=MAR.starts_at, note="shipped")
    assert (done.done_at, done.done_note) == (MAR.starts_at, "shipped")
    with pytest.raises(InvalidState, match="A7 is already done"):
        complete(done, now=MAR.starts_at)


def test_carry_over_lists_open_items_overdue_first() -> None:
    """The next meeting reviews every open item, overdue ones first, done ones not at all."""
    items = [action(1, date(2027, 6, 1)), action(2, date(2027, 4, 1)),
             action(3, date(2027, 3, 1), done=MAR.starts_at), action(4, date(2027, 5, 1)),
             action(5, date(2027, 3, 20))]
    assert [i.id for i in carried_over(items, today=date(2027, 4, 15))] == [5, 2, 4, 1]
