"""Urgent business, short-notice deadlines and guests: the pure rules, and the use cases
against the in-memory unit of work (who may, when, and what is refused)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from meetings import usecases
from meetings.domain.agenda import Agenda, urgent_target
from meetings.domain.errors import InvalidInput, InvalidState, NotAllowed, UnknownMeeting
from meetings.domain.model import (
    AgendaItem,
    AgendaState,
    Council,
    Guest,
    Meeting,
    MeetingKind,
    MeetingState,
    Member,
    Note,
    NoteKind,
)
from meetings.domain.proceedings import last_record, next_record_seq
from meetings.domain.reminders import (
    ReminderKind,
    agenda_deadline,
    reminders_for,
    short_notice,
)
from meetings.domain.scheduling import proposal_deadline
from tests.unit.conftest import SET_UP_AT
from tests.unit.fakes import FakeUnitOfWork

CLI = usecases.common.Operator()
# Thursday 26 November 2026, 14:30 in Shanghai; the council's deadline is three days before.
START = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)
REGULAR = START - timedelta(days=3)
COUNCIL = Council("Riverside CIO Council", id=1)


def meeting(announced_at: datetime | None, *, starts_at: datetime = START,
            state: MeetingState = MeetingState.SCHEDULED, id: int = 1) -> Meeting:
    return Meeting(1, MeetingKind.EXTRAORDINARY, starts_at, state=state,
                   announced_at=announced_at, id=id)


# --- the deadline rule ---------------------------------------------------------------------------

@pytest.mark.parametrize(("announced_at", "expected"), [
    # Unknown notice (stored before it was kept) is taken as ample: the council's deadline.
    (None, REGULAR),
    # A month's notice, and exactly twice the deadline: the council's deadline.
    (START - timedelta(days=30), REGULAR),
    (START - timedelta(days=6), REGULAR),
    # A minute less than twice the deadline: half a minute later, on the whole minute.
    (START - timedelta(days=6) + timedelta(minutes=1), REGULAR),
    (START - timedelta(days=6) + timedelta(minutes=2), REGULAR + timedelta(minutes=1)),
    # Four days' notice: proposals close two days before, not one day after the notice.
    (START - timedelta(days=4), START - timedelta(days=2)),
    # Called at 10:00 for 14:30 tomorrow: halfway, 00:15 tomorrow (16:15 UTC today).
    (datetime(2026, 11, 25, 2, 0, tzinfo=UTC), datetime(2026, 11, 25, 16, 15, tzinfo=UTC)),
    # Called at 10:00:45 for 14:30 the same day: 12:15:22.5 rounds down to 12:15.
    (datetime(2026, 11, 26, 2, 0, 45, tzinfo=UTC), datetime(2026, 11, 26, 4, 15, tzinfo=UTC)),
    # Announced at (or, by a bad clock, after) the start: nothing to halve.
    (START, REGULAR),
    (START + timedelta(hours=1), REGULAR),
])
def test_proposals_close_halfway_through_a_short_notice(announced_at: datetime | None,
                                                         expected: datetime) -> None:
    """The council's deadline stands for a meeting announced at least twice as far ahead;
    otherwise proposals close halfway through the notice, on a whole minute."""
    assert expected == proposal_deadline(START, REGULAR, announced_at)


def test_the_adjusted_deadline_grows_with_the_notice() -> None:
    """More notice never gives an earlier deadline relative to the notice, and never a
    deadline before the council's: the rule has no cliff."""
    deadlines = [proposal_deadline(START, REGULAR, START - timedelta(hours=hours))
                 for hours in range(1, 24 * 7)]
    windows = [deadline - (START - timedelta(hours=hours))
               for hours, deadline in enumerate(deadlines, start=1)]
    assert all(d >= REGULAR for d in deadlines)
    assert windows == sorted(windows)


def test_a_council_without_a_deadline_keeps_proposals_open_until_the_start() -> None:
    """With the deadline set to zero days, a short notice changes nothing."""
    council = replace(COUNCIL, agenda_deadline_days=0)
    called = meeting(START - timedelta(hours=5))
    assert (agenda_deadline(called, council), short_notice(called, council)) == (START, False)


def test_the_agenda_deadline_and_its_reminder_fit_the_notice() -> None:
    """A meeting called the day before has its agenda deadline, and the deadline reminder,
    halfway through its notice, and is said to be at short notice; a regular one is not."""
    called = meeting(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    halfway = datetime(2026, 11, 25, 16, 15, tzinfo=UTC)
    due = {r.kind: r.due_at for r in reminders_for(called, COUNCIL)}
    assert (agenda_deadline(called, COUNCIL), due[ReminderKind.AGENDA_DEADLINE],
            short_notice(called, COUNCIL)) == (halfway, halfway, True)
    planned = meeting(START - timedelta(days=60))
    assert (agenda_deadline(planned, COUNCIL), short_notice(planned, COUNCIL)) == (
        REGULAR, False)


# --- where urgent business goes ------------------------------------------------------------------

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai on the meeting's day


def test_urgent_business_goes_to_the_running_meeting_else_the_next() -> None:
    """The meeting in progress takes it first; without one, the next that has not ended, past
    its deadline and with its agenda closed; one that was never held is passed over."""
    never_held = meeting(None, starts_at=NOW - timedelta(days=1), id=1)
    today = meeting(None, state=MeetingState.AGENDA_CLOSED, id=2)
    later = meeting(None, starts_at=START + timedelta(days=7), id=3)
    assert urgent_target([never_held, later, today], now=NOW).id == 2
    running = replace(later, state=MeetingState.IN_PROGRESS)
    assert urgent_target([never_held, running, today], now=NOW).id == 3


@pytest.mark.parametrize(("state", "message"), [
    (MeetingState.ENDED, "meeting S1 is ended; urgent business goes to a meeting that has not "
                         "ended"),
    (MeetingState.CANCELLED, "meeting S1 is cancelled; urgent business goes to a meeting that "
                             "has not ended"),
])
def test_urgent_business_is_refused_for_a_meeting_that_is_over(state: MeetingState,
                                                               message: str) -> None:
    """A meeting given by id that has ended or was cancelled takes no urgent business."""
    with pytest.raises(InvalidState) as refused:
        urgent_target([meeting(None, state=state)], now=NOW, meeting_id=1)
    assert str(refused.value) == message


def test_urgent_business_needs_a_meeting() -> None:
    """With no meeting ahead (or an unknown id) there is nowhere to put it."""
    with pytest.raises(UnknownMeeting, match="no meeting is in progress or scheduled"):
        urgent_target([meeting(None, state=MeetingState.ENDED)], now=NOW)
    with pytest.raises(UnknownMeeting, match="no meeting 9 in this council"):
        urgent_target([meeting(None)], now=NOW, meeting_id=9)


def test_urgent_business_is_taken_after_the_regular_agenda() -> None:
    """The final agenda takes major issues first and urgent business last."""
    def item(item_id: int, *, major: bool = False, urgent: bool = False) -> AgendaItem:
        return AgendaItem(1, f"item {item_id}", 1, None, NOW, state=AgendaState.ACCEPTED,
                          major=major, urgent=urgent, id=item_id)

    agenda = Agenda(meeting(None), REGULAR, (item(1, urgent=True), item(2), item(3, major=True)),
                    (), (), NOW.date())
    assert [i.id for i in agenda.final()] == [3, 2, 1]


def test_undo_takes_the_last_guest_back_in_the_records_order() -> None:
    """A guest is numbered with the notes and decisions; the last of them is what /undo
    removes, whatever its kind."""
    held = meeting(None, state=MeetingState.IN_PROGRESS)
    note = Note(1, NoteKind.INFO, "noted", 1, NOW, seq=1, id=1)
    guest = Guest(1, "Prof. Wang", NOW, seq=2, id=1)
    assert next_record_seq(held, [note], [], [guest]) == 3
    assert last_record(held, [note], [], [guest]) == guest
    assert last_record(held, [replace(note, seq=3)], [], [guest]) == replace(note, seq=3)


# --- the use cases -------------------------------------------------------------------------------

@pytest.fixture
async def tomorrow(uow: FakeUnitOfWork, council: Council) -> Meeting:
    """A meeting called at 10:00 on 25 November for 14:30 the next day."""
    return await usecases.schedule.schedule_meeting(
        uow, council.id, local_start="2026-11-26 14:30", actor=CLI, now=SET_UP_AT)


async def test_a_short_notice_meeting_takes_a_proposal_until_its_adjusted_deadline(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member],
        tomorrow: Meeting) -> None:
    """A CIO's proposal in the evening goes to tomorrow's meeting (the council's deadline
    passed days ago); one after 00:15 goes nowhere."""
    proposal = await usecases.agenda.propose_item(
        uow, council.id, title="Flood-season data", description="", actor=people["EPB"],
        now=datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    assert (proposal.meeting.id, proposal.missed) == (tomorrow.id, None)
    with pytest.raises(UnknownMeeting, match="every scheduled meeting is past its agenda"):
        await usecases.agenda.propose_item(
            uow, council.id, title="Too late", description="", actor=people["MSB"],
            now=datetime(2026, 11, 25, 16, 15, tzinfo=UTC))
    assert [i.title for i in uow.rows("agenda")] == ["Flood-season data"]


async def test_the_office_adds_urgent_business_accepted_at_once(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member],
        tomorrow: Meeting) -> None:
    """The secretariat's /item goes to the next meeting, accepted and urgent, and is audited."""
    item, target = await usecases.agenda.add_urgent_item(
        uow, council.id, title=" Flood\n response ", description="raised | today",
        actor=people["secretary"], now=SET_UP_AT)
    assert (target.id, item.title, item.description, item.state, item.urgent) == (
        tomorrow.id, "Flood response", "raised | today", AgendaState.ACCEPTED, True)
    assert uow.rows("audit")[-1].action == "agenda.urgent"


@pytest.mark.parametrize("who", ["EPB", "expert"])
async def test_only_the_office_adds_urgent_business(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member], tomorrow: Meeting,
        who: str) -> None:
    """A CIO or an expert is refused, and nothing is stored."""
    with pytest.raises(NotAllowed, match="only the chair or the secretariat may do this"):
        await usecases.agenda.add_urgent_item(uow, council.id, title="Flood", description="",
                                              actor=people[who], now=SET_UP_AT)
    assert uow.rows("agenda") == []


@pytest.mark.parametrize(("title", "description", "message"), [
    ("\x00\u202e", "", "title is empty"),
    ("x" * 201, "", "title is too long (201 characters, at most 200)"),
    ("Flood", "y" * 4001, "description is too long (4001 characters, at most 4000)"),
])
async def test_bad_urgent_business_stores_nothing(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member], tomorrow: Meeting,
        title: str, description: str, message: str) -> None:
    """An empty or oversized title or description is refused with what is wrong."""
    with pytest.raises(InvalidInput) as refused:
        await usecases.agenda.add_urgent_item(uow, council.id, title=title,
                                              description=description, actor=people["chair"],
                                              now=SET_UP_AT)
    assert (str(refused.value), uow.rows("agenda")) == (message, [])


@pytest.fixture
async def running(uow: FakeUnitOfWork, council: Council, people: dict[str, Member],
                  tomorrow: Meeting) -> Meeting:
    call = await usecases.meeting.start_meeting(uow, council.id, actor=people["secretary"],
                                                now=START)
    return call.meeting


async def test_a_guest_outside_a_meeting_is_refused(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member],
        tomorrow: Meeting) -> None:
    """Before the meeting starts there is nobody to record as attending."""
    with pytest.raises(InvalidState, match="no meeting is in progress"):
        await usecases.meeting.record_guest(uow, council.id, name="Prof. Wang",
                                            organisation="", actor=people["secretary"],
                                            now=SET_UP_AT)
    assert uow.rows("guests") == []


@pytest.mark.parametrize(("name", "organisation", "error", "message"), [
    ("", "Tsinghua", InvalidInput, "guest name is empty"),
    ("\x00\u202e\u2066", "", InvalidInput, "guest name is empty"),
    ("w" * 121, "", InvalidInput, "guest name is too long (121 characters, at most 120)"),
    ("Prof. Wang", "o" * 201, InvalidInput,
     "organisation is too long (201 characters, at most 200)"),
])
async def test_bad_guests_store_nothing(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting,
        name: str, organisation: str, error: type[Exception], message: str) -> None:
    """An empty or oversized name or organisation is refused with what is wrong."""
    with pytest.raises(error) as refused:
        await usecases.meeting.record_guest(uow, council.id, name=name,
                                            organisation=organisation, actor=people["chair"],
                                            now=START)
    assert (str(refused.value), uow.rows("guests")) == (message, [])


@pytest.mark.parametrize("who", ["EPB", "expert"])
async def test_only_the_office_records_a_guest(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting,
        who: str) -> None:
    """Members outside the office are refused, and nothing is stored."""
    with pytest.raises(NotAllowed, match="only the chair or the secretariat may do this"):
        await usecases.meeting.record_guest(uow, council.id, name="Prof. Wang",
                                            organisation="", actor=people[who], now=START)
    assert uow.rows("guests") == []


async def test_a_guest_is_recorded_cleaned_and_undone_last_first(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member],
        running: Meeting) -> None:
    """The guest's name and organisation are stored without controls; the guest takes the
    next record number after a note, so /undo removes the guest first, then the note."""
    await usecases.meeting.add_note(uow, council.id, kind=NoteKind.INFO, text="noted",
                                    actor=people["EPB"], now=START)
    guest, held = await usecases.meeting.record_guest(
        uow, council.id, name=" Prof.\u202e  Wang\x00 ", organisation="Tsinghua\nUniversity",
        actor=people["secretary"], now=START)
    assert (held.id, guest.name, guest.organisation, guest.seq, guest.recorded_by) == (
        running.id, "Prof. Wang", "Tsinghua University", 2, people["secretary"].id)
    undone = await usecases.meeting.undo_last(uow, council.id, actor=people["chair"], now=START)
    assert (undone, uow.rows("guests")) == (guest, [])
    assert isinstance(await usecases.meeting.undo_last(uow, council.id, actor=people["chair"],
                                                       now=START), Note)
    assert [e.action for e in uow.rows("audit")][-3:] == [
        "attendance.guest", "guest.undo", "note.undo"]
