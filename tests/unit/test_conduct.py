"""Meeting and vote use cases against the in-memory unit of work: a meeting from start to end,
who may do what in it, and how votes are opened, cast, changed and closed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from meetings import usecases
from meetings.domain.audit import verify
from meetings.domain.errors import (
    AlreadyVoted,
    InvalidInput,
    InvalidSchedule,
    InvalidState,
    NotAllowed,
    NotEligible,
    NotFound,
    UnknownDepartment,
    UnknownMotion,
    VotingClosed,
)
from meetings.domain.model import (
    AgendaItem,
    AgendaState,
    Attendance,
    AttendanceStatus,
    Choice,
    Council,
    Decision,
    Meeting,
    MeetingState,
    Member,
    Motion,
    MotionKind,
    MotionState,
    Note,
    NoteKind,
    Role,
)
from tests.unit.conftest import SET_UP_AT
from tests.unit.fakes import FakeUnitOfWork

CLI = usecases.common.Operator()
# Thursday 10 December 2026, 14:30 in Shanghai; the office opens it ten minutes early.
STARTS_AT = datetime(2026, 12, 10, 6, 30, tzinfo=UTC)
START = STARTS_AT - timedelta(minutes=10)


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


@pytest.fixture
async def meeting(uow: FakeUnitOfWork, council: Council, people: dict[str, Member]) -> Meeting:
    """The December meeting, with a third department (ITB) that has no CIO."""
    await usecases.councils.add_department(uow, council.id, code="ITB", name="ITB", actor=CLI,
                                           now=SET_UP_AT)
    return await usecases.schedule.schedule_meeting(uow, council.id, local_start="2026-12-10 14:30",
                                                    actor=CLI, now=SET_UP_AT)


@pytest.fixture
async def item(uow: FakeUnitOfWork, council: Council, people: dict[str, Member],
               meeting: Meeting) -> AgendaItem:
    """An item EPB proposed for the meeting and the chair accepted."""
    proposal = await usecases.agenda.propose_item(
        uow,
        council.id,
        title="Open data catalogue",
        description="",
        actor=people["EPB"],
        now=SET_UP_AT,
    )
    accepted, _ = await usecases.agenda.decide_item(
        uow,
        council.id,
        proposal.item.id,
        state=AgendaState.ACCEPTED,
        actor=people["chair"],
        now=SET_UP_AT,
    )
    return accepted


@pytest.fixture
async def running(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], meeting: Meeting
) -> Meeting:
    """The meeting, started by the secretary."""
    call = await usecases.meeting.start_meeting(
        uow, council.id, actor=people["secretary"], now=START
    )
    return call.meeting


@pytest.fixture
async def present(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting
) -> Meeting:
    """The running meeting with both CIOs there in person."""
    for code in ("EPB", "MSB"):
        await usecases.meeting.mark_here(uow, council.id, actor=people[code], now=START)
    return running


def actions(uow: FakeUnitOfWork) -> list[str]:
    return [event.action for event in uow.rows("audit")]


def stored_meeting(uow: FakeUnitOfWork, meeting_id: int) -> Meeting:
    found: Meeting = uow.committed.table("meetings")[meeting_id]
    return found


async def observer(uow: FakeUnitOfWork, council: Council) -> Member:
    return await usecases.councils.add_member(
        uow, council.id, name="Guest", role=Role.OBSERVER, actor=CLI, now=SET_UP_AT, telegram_id=99
    )


# --- starting -----------------------------------------------------------------------------------


async def test_starting_opens_todays_meeting_with_its_roll_call(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], meeting: Meeting
) -> None:
    """The secretary opens today's meeting; the roll call lists departments and members and
    nobody has answered yet."""
    call = await usecases.meeting.start_meeting(
        uow, council.id, actor=people["secretary"], now=START
    )

    assert call.meeting == stored_meeting(uow, meeting.id)
    assert (call.meeting.state, call.meeting.started_at) == (MeetingState.IN_PROGRESS, START)
    assert sorted(d.code for d in call.departments) == ["EPB", "ITB", "MSB"]
    assert len(call.members) == 5
    assert call.attendance == []
    assert actions(uow)[-1] == "meeting.start"
    assert json.loads(uow.rows("audit")[-1].payload) == {"meeting": meeting.id}


@pytest.mark.parametrize("who", ["EPB", "expert"])
async def test_only_the_office_starts_a_meeting(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], meeting: Meeting, who: str
) -> None:
    """A CIO or an expert is refused and the meeting stays scheduled."""
    commits = uow.commits
    with pytest.raises(NotAllowed, match="chair or the secretariat"):
        await usecases.meeting.start_meeting(uow, council.id, actor=people[who], now=START)
    assert stored_meeting(uow, meeting.id).state is MeetingState.SCHEDULED
    assert uow.commits == commits


async def test_the_day_before_there_is_nothing_to_start(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], meeting: Meeting
) -> None:
    """A day early, neither today's lookup nor the meeting's id starts it."""
    with pytest.raises(InvalidState, match="no meeting is scheduled for today"):
        await usecases.meeting.start_meeting(
            uow, council.id, actor=people["chair"], now=START - timedelta(days=1)
        )
    with pytest.raises(InvalidState, match="2026-12-10"):
        await usecases.meeting.start_meeting(
            uow,
            council.id,
            actor=people["chair"],
            now=START - timedelta(days=1),
            meeting_id=meeting.id,
        )
    assert stored_meeting(uow, meeting.id).state is MeetingState.SCHEDULED


async def test_a_second_start_is_refused(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting
) -> None:
    """Starting again while the meeting runs names the running meeting."""
    with pytest.raises(InvalidState, match=f"meeting S{running.id} is already in progress"):
        await usecases.meeting.start_meeting(uow, council.id, actor=people["chair"], now=at(1))


# --- attendance ---------------------------------------------------------------------------------


async def test_a_cio_marks_their_department_present_once(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting
) -> None:
    """The first /here records the department; a second (or the button) is no news and
    writes nothing."""
    marked = await usecases.meeting.mark_here(uow, council.id, actor=people["EPB"], now=at(1))
    first, new = marked.attendance, marked.new
    assert new is True
    assert first == Attendance(
        running.id,
        people["EPB"].department_id,
        AttendanceStatus.PRESENT,
        member_id=people["EPB"].id,
        id=first.id,
    )
    commits = uow.commits

    again = await usecases.meeting.mark_here(
        uow, council.id, actor=people["EPB"], now=at(2), meeting_id=running.id
    )
    assert (again.attendance, again.new) == (first, False)
    assert uow.commits == commits
    assert actions(uow).count("attendance.here") == 1


async def test_an_expert_is_present_in_a_record_of_their_own(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting
) -> None:
    """An expert's attendance has no department, so it answers for none."""
    marked = await usecases.meeting.mark_here(
        uow, council.id, actor=people["expert"], now=at(1)
    )
    record = marked.attendance
    assert marked.new is True
    assert (record.department_id, record.member_id, record.status) == (
        None,
        people["expert"].id,
        AttendanceStatus.PRESENT,
    )


async def test_every_member_marks_here_without_a_department_but_cios(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting
) -> None:
    """/here is for every member: the chair, the secretary and an observer are recorded
    present for themselves, with no department (so they never vote nor count for quorum)."""
    watcher = await observer(uow, council)
    for member in (people["chair"], people["secretary"], watcher):
        marked = await usecases.meeting.mark_here(uow, council.id, actor=member, now=at(1))
        assert marked.new
    assert {(a.department_id, a.member_id) for a in uow.rows("attendance")} == {
        (None, people["chair"].id), (None, people["secretary"].id), (None, watcher.id)}


async def test_an_observer_marks_here_without_a_department(
    uow: FakeUnitOfWork, council: Council, running: Meeting
) -> None:
    """An observer's /here records them present with no department, so they never count for
    quorum nor vote."""
    guest = await observer(uow, council)
    marked = await usecases.meeting.mark_here(uow, council.id, actor=guest, now=at(1))
    assert (marked.new, marked.presence.present,
            [(a.department_id, a.member_id, a.status) for a in uow.rows("attendance")]) == (
        True, 0, [(None, guest.id, AttendanceStatus.PRESENT)])


async def test_a_roll_call_button_of_another_meeting_is_refused(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting
) -> None:
    """A button from an old roll call does not mark anyone present at this meeting."""
    with pytest.raises(InvalidState, match=f"meeting S{running.id + 100} is not in progress"):
        await usecases.meeting.mark_here(
            uow, council.id, actor=people["EPB"], now=at(1), meeting_id=running.id + 100
        )
    assert uow.rows("attendance") == []


async def test_here_needs_a_running_meeting(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], meeting: Meeting
) -> None:
    """Before the start, /here says to start the meeting."""
    with pytest.raises(InvalidState, match="/startmeeting"):
        await usecases.meeting.mark_here(uow, council.id, actor=people["EPB"], now=START)


async def test_the_office_records_a_proxy_and_an_apology(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting
) -> None:
    """A proxy for MSB and ITB's apology are stored against the running meeting, naming the
    CIO where the department has one."""
    proxy, department, meeting = await usecases.meeting.record_proxy(
        uow, council.id, code="msb", name=" Deputy  Wang ", actor=people["secretary"], now=at(1)
    )
    assert (department.code, meeting.id) == ("MSB", running.id)
    assert (proxy.status, proxy.proxy_name, proxy.member_id) == (
        AttendanceStatus.PROXY,
        "Deputy Wang",
        people["MSB"].id,
    )

    excused, department, _ = await usecases.meeting.record_excused(
        uow, council.id, code="ITB", reason="on a field visit", actor=people["chair"], now=at(2)
    )
    assert (excused.status, excused.reason, excused.member_id, excused.department_id) == (
        AttendanceStatus.EXCUSED,
        "on a field visit",
        None,
        department.id,
    )
    assert actions(uow)[-2:] == ["attendance.proxy", "attendance.excused"]


async def test_an_apology_before_the_meeting_goes_to_the_next_one(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], meeting: Meeting
) -> None:
    """Between meetings an apology is recorded for the next meeting."""
    excused, _, target = await usecases.meeting.record_excused(
        uow,
        council.id,
        code="EPB",
        reason="",
        actor=people["secretary"],
        now=START - timedelta(days=1),
    )
    assert (target.id, excused.meeting_id, excused.reason) == (meeting.id, meeting.id, "")


async def test_attendance_recording_is_for_the_office_and_known_departments(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting
) -> None:
    """A CIO cannot record a proxy or an apology; an unknown code is refused."""
    with pytest.raises(NotAllowed):
        await usecases.meeting.record_proxy(
            uow, council.id, code="MSB", name="Wang", actor=people["EPB"], now=at(1)
        )
    with pytest.raises(NotAllowed):
        await usecases.meeting.record_excused(
            uow, council.id, code="MSB", reason="", actor=people["expert"], now=at(1)
        )
    with pytest.raises(UnknownDepartment, match="XYZ"):
        await usecases.meeting.record_proxy(
            uow, council.id, code="XYZ", name="Wang", actor=people["chair"], now=at(1)
        )
    assert uow.rows("attendance") == []


# --- topic, notes, decisions, undo --------------------------------------------------------------


async def test_notes_and_decisions_fall_under_the_topic(
    uow: FakeUnitOfWork,
    council: Council,
    people: dict[str, Member],
    item: AgendaItem,
    running: Meeting,
) -> None:
    """After /topic, a note and an agreed decision are filed under that agenda item."""
    chosen = await usecases.meeting.set_topic(
        uow, council.id, item.id, actor=people["secretary"], now=at(1)
    )
    assert chosen == item
    assert stored_meeting(uow, running.id).topic_id == item.id

    note = await usecases.meeting.add_note(
        uow,
        council.id,
        kind=NoteKind.IDEA,
        text="Publish\n quarterly",
        actor=people["expert"],
        now=at(2),
    )
    decision = await usecases.meeting.record_agreed(
        uow, council.id, text="Adopt the catalogue", actor=people["chair"], now=at(3)
    )
    assert note == Note(
        running.id,
        NoteKind.IDEA,
        "Publish\n quarterly",
        people["expert"].id,
        at(2),
        agenda_item_id=item.id,
        seq=1,
        id=note.id,
    )
    assert decision == Decision(
        council.id,
        "Adopt the catalogue",
        at(3),
        meeting_id=running.id,
        agenda_item_id=item.id,
        seq=2,
        id=decision.id,
    )
    assert actions(uow)[-3:] == ["meeting.topic", "note.add", "decision.agreed"]
    assert verify(uow.rows("audit")) == []


async def test_the_topic_must_be_an_accepted_item(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], item: AgendaItem
) -> None:
    """An unknown item is not found, a merely proposed one is refused, a CIO may not move the
    topic; the topic stays unset."""
    proposal = await usecases.agenda.propose_item(
        uow, council.id, title="Late idea", description="", actor=people["MSB"], now=SET_UP_AT
    )
    running = (
        await usecases.meeting.start_meeting(uow, council.id, actor=people["chair"], now=START)
    ).meeting
    with pytest.raises(NotFound, match=f"no agenda item #{item.id + 100}"):
        await usecases.meeting.set_topic(
            uow, council.id, item.id + 100, actor=people["chair"], now=at(1)
        )
    with pytest.raises(InvalidState, match="proposed"):
        await usecases.meeting.set_topic(
            uow, council.id, proposal.item.id, actor=people["chair"], now=at(1)
        )
    with pytest.raises(NotAllowed):
        await usecases.meeting.set_topic(uow, council.id, item.id, actor=people["EPB"], now=at(1))
    assert stored_meeting(uow, running.id).topic_id is None


async def test_only_the_chair_records_an_agreed_decision(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting
) -> None:
    """The secretary and CIOs may not record decisions; nothing is stored."""
    for who in ("secretary", "EPB"):
        with pytest.raises(NotAllowed, match="only the chair"):
            await usecases.meeting.record_agreed(
                uow, council.id, text="x", actor=people[who], now=at(1)
            )
    assert uow.rows("decisions") == []


async def test_notes_need_a_running_meeting(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], meeting: Meeting
) -> None:
    """A note with no meeting in progress is refused."""
    with pytest.raises(InvalidState):
        await usecases.meeting.add_note(
            uow, council.id, kind=NoteKind.INFO, text="x", actor=people["EPB"], now=START
        )


async def test_undo_removes_the_last_recorded_even_with_equal_timestamps(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting
) -> None:
    """A note, a decision and a note recorded in one instant are undone newest first, by the
    audit order; then there is nothing left to undo."""
    same = at(5)
    first = await usecases.meeting.add_note(
        uow, council.id, kind=NoteKind.INFO, text="first", actor=people["EPB"], now=same
    )
    agreed = await usecases.meeting.record_agreed(
        uow, council.id, text="agreed", actor=people["chair"], now=same
    )
    last = await usecases.meeting.add_note(
        uow, council.id, kind=NoteKind.IDEA, text="last", actor=people["MSB"], now=same
    )

    undone = [
        await usecases.meeting.undo_last(uow, council.id, actor=people["secretary"], now=at(6))
        for _ in range(3)
    ]

    assert undone == [last, agreed, first]
    assert (uow.rows("notes"), uow.rows("decisions")) == ([], [])
    with pytest.raises(InvalidState, match="no note or decision of this meeting to undo"):
        await usecases.meeting.undo_last(uow, council.id, actor=people["chair"], now=at(7))
    undo_events = [json.loads(e.payload) for e in uow.rows("audit") if e.action.endswith("undo")]
    assert [e["text"] for e in undo_events] == ["last", "agreed", "first"]


async def test_undo_never_removes_a_motions_decision(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], present: Meeting
) -> None:
    """After a note and a carried motion, undo takes the note, and then refuses: the decision
    the vote made stays."""
    note = await usecases.meeting.add_note(
        uow, council.id, kind=NoteKind.INFO, text="before the vote", actor=people["EPB"], now=at(1)
    )
    opened = await usecases.voting.open_motion(
        uow, council.id, kind=MotionKind.NAMED, text="Adopt", actor=people["chair"], now=at(2)
    )
    motion_id = opened.count.motion.id
    for code in ("EPB", "MSB"):
        await usecases.voting.cast_vote(
            uow, council.id, motion_id, choice=Choice.YES, actor=people[code], now=at(3)
        )
    result = await usecases.voting.close_motion(
        uow, council.id, None, actor=people["chair"], now=at(4)
    )
    assert result.decision is not None

    assert (
        await usecases.meeting.undo_last(uow, council.id, actor=people["chair"], now=at(5)) == note
    )
    with pytest.raises(InvalidState):
        await usecases.meeting.undo_last(uow, council.id, actor=people["chair"], now=at(6))
    assert uow.rows("decisions") == [result.decision]


async def test_undo_is_for_the_office(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting
) -> None:
    """A CIO cannot undo someone's note, nor their own."""
    await usecases.meeting.add_note(
        uow, council.id, kind=NoteKind.INFO, text="mine", actor=people["EPB"], now=at(1)
    )
    with pytest.raises(NotAllowed):
        await usecases.meeting.undo_last(uow, council.id, actor=people["EPB"], now=at(2))
    assert [n.text for n in uow.rows("notes")] == ["mine"]


# --- ending -------------------------------------------------------------------------------------


async def test_ending_records_absentees_and_keeps_everyone_elses_rows(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting
) -> None:
    """EPB present, MSB unanswered, ITB (no CIO) unanswered, the expert present: at the end MSB
    is absent against its CIO, ITB absent against nobody, and the expert keeps their row."""
    await usecases.meeting.mark_here(uow, council.id, actor=people["EPB"], now=at(1))
    await usecases.meeting.mark_here(uow, council.id, actor=people["expert"], now=at(1))
    await usecases.meeting.add_note(
        uow, council.id, kind=NoteKind.INFO, text="n", actor=people["EPB"], now=at(2)
    )

    ended = await usecases.meeting.end_meeting(uow, council.id, actor=people["chair"], now=at(90))

    assert (ended.meeting.state, ended.meeting.ended_at) == (MeetingState.ENDED, at(90))
    assert stored_meeting(uow, running.id) == ended.meeting
    codes = {d.id: d.code for d in uow.rows("departments")}
    rows = {(codes.get(a.department_id or 0), a.member_id, a.status) for a in ended.attendance}
    assert rows == {
        ("EPB", people["EPB"].id, AttendanceStatus.PRESENT),
        (None, people["expert"].id, AttendanceStatus.PRESENT),
        ("MSB", people["MSB"].id, AttendanceStatus.ABSENT),
        ("ITB", None, AttendanceStatus.ABSENT),
    }
    assert set(uow.rows("attendance")) == set(ended.attendance)
    assert (ended.notes, ended.decisions, ended.motions) == (1, 0, 0)
    assert actions(uow)[-1] == "meeting.end"


async def test_a_proxy_or_an_apology_is_not_turned_into_an_absence(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting
) -> None:
    """Departments the office answered for keep their status at the end."""
    await usecases.meeting.record_proxy(
        uow, council.id, code="MSB", name="Wang", actor=people["chair"], now=at(1)
    )
    await usecases.meeting.record_excused(
        uow, council.id, code="EPB", reason="ill", actor=people["chair"], now=at(1)
    )
    ended = await usecases.meeting.end_meeting(
        uow, council.id, actor=people["secretary"], now=at(60)
    )
    assert sorted(a.status.value for a in ended.attendance) == ["absent", "excused", "proxy"]


async def test_an_open_vote_blocks_the_end_but_a_circular_one_does_not(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], present: Meeting
) -> None:
    """With a named motion open the meeting runs on; once it is closed the meeting ends,
    while a circular vote is still open."""
    circular = await usecases.voting.open_motion(
        uow,
        council.id,
        kind=MotionKind.CIRCULAR,
        text="c",
        actor=people["chair"],
        now=at(1),
        closes_local="2026-12-20 18:00",
    )
    named = await usecases.voting.open_motion(
        uow, council.id, kind=MotionKind.NAMED, text="n", actor=people["chair"], now=at(2)
    )
    with pytest.raises(InvalidState, match=f"motion M{named.count.motion.id} is still open"):
        await usecases.meeting.end_meeting(uow, council.id, actor=people["chair"], now=at(3))
    assert stored_meeting(uow, present.id).state is MeetingState.IN_PROGRESS
    assert not any(a.status is AttendanceStatus.ABSENT for a in uow.rows("attendance"))

    await usecases.voting.close_motion(
        uow, council.id, named.count.motion.id, actor=people["chair"], now=at(4)
    )
    ended = await usecases.meeting.end_meeting(uow, council.id, actor=people["chair"], now=at(5))
    assert (ended.meeting.state, ended.motions) == (MeetingState.ENDED, 1)
    assert stored_motion(uow, circular.count.motion.id).state is MotionState.OPEN


async def test_only_the_office_ends_a_meeting(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting
) -> None:
    """A CIO's /endmeeting changes nothing."""
    with pytest.raises(NotAllowed):
        await usecases.meeting.end_meeting(uow, council.id, actor=people["MSB"], now=at(60))
    assert stored_meeting(uow, running.id).state is MeetingState.IN_PROGRESS


# --- opening votes ------------------------------------------------------------------------------


def stored_motion(uow: FakeUnitOfWork, motion_id: int) -> Motion:
    found: Motion = uow.committed.table("motions")[motion_id]
    return found


@pytest.mark.parametrize("kind", [MotionKind.NAMED, MotionKind.SECRET])
async def test_a_vote_in_the_meeting_opens_under_the_topic(
    uow: FakeUnitOfWork,
    council: Council,
    people: dict[str, Member],
    item: AgendaItem,
    present: Meeting,
    kind: MotionKind,
) -> None:
    """A named or secret vote belongs to the meeting and its topic, counts the two present
    departments, and lists the CIOs to ask."""
    await usecases.meeting.set_topic(uow, council.id, item.id, actor=people["chair"], now=at(1))
    opened = await usecases.voting.open_motion(
        uow, council.id, kind=kind, text=" Adopt  it ", actor=people["chair"], now=at(2)
    )
    motion = opened.count.motion
    assert motion == stored_motion(uow, motion.id)
    assert (
        motion.kind,
        motion.text,
        motion.meeting_id,
        motion.agenda_item_id,
        motion.closes_at,
        motion.state,
    ) == (kind, "Adopt  it", present.id, item.id, None, MotionState.OPEN)
    assert (motion.rule, motion.quorum) == (council.majority_rule, council.quorum)
    assert (opened.count.eligible, opened.count.cast) == (2, 0)
    assert {m.id for m in opened.voters} == {people["EPB"].id, people["MSB"].id}
    assert actions(uow)[-1] == "motion.open"


@pytest.mark.parametrize("who", ["secretary", "EPB", "expert"])
async def test_only_the_chair_opens_a_vote(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting, who: str
) -> None:
    """Opening a vote is the chair's alone."""
    with pytest.raises(NotAllowed, match="only the chair"):
        await usecases.voting.open_motion(
            uow, council.id, kind=MotionKind.NAMED, text="x", actor=people[who], now=at(1)
        )
    assert uow.rows("motions") == []


async def test_a_vote_in_the_meeting_needs_a_running_meeting(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], meeting: Meeting
) -> None:
    """A named vote between meetings is refused (a circular vote is the way)."""
    with pytest.raises(InvalidState):
        await usecases.voting.open_motion(
            uow, council.id, kind=MotionKind.NAMED, text="x", actor=people["chair"], now=START
        )


async def test_a_circular_deadline_is_local_to_the_council(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], meeting: Meeting
) -> None:
    """18:00 in Shanghai is 10:00 UTC; the vote belongs to no meeting and every CIO may vote."""
    opened = await usecases.voting.open_motion(
        uow,
        council.id,
        kind=MotionKind.CIRCULAR,
        text="c",
        actor=people["chair"],
        now=START,
        closes_local="2026-12-14 18:00",
    )
    motion = opened.count.motion
    assert motion.closes_at == datetime(2026, 12, 14, 10, 0, tzinfo=UTC)
    assert (motion.meeting_id, motion.agenda_item_id) == (None, None)
    assert opened.count.eligible == 2
    assert json.loads(uow.rows("audit")[-1].payload)["closes_at"] == "2026-12-14T10:00:00+00:00"


# START is 14:20 on 10 December in Shanghai.
@pytest.mark.parametrize(
    ("closes_local", "accepted"),
    [
        ("2026-12-10 15:19", False),
        ("2026-12-10 15:20", True),  # one hour
        ("2027-03-10 14:20", True),
        ("2027-03-10 14:21", False),  # ninety days
        ("2026-12-10 14:00", False),  # in the past
    ],
)
async def test_a_circular_vote_runs_between_an_hour_and_ninety_days(
    uow: FakeUnitOfWork,
    council: Council,
    people: dict[str, Member],
    meeting: Meeting,
    closes_local: str,
    accepted: bool,
) -> None:
    """Deadlines closer than an hour or further than 90 days are refused, the bounds kept."""
    if accepted:
        await usecases.voting.open_motion(
            uow,
            council.id,
            kind=MotionKind.CIRCULAR,
            text="c",
            actor=people["chair"],
            now=START,
            closes_local=closes_local,
        )
        assert len(uow.rows("motions")) == 1
        return
    with pytest.raises(InvalidInput, match="between one hour and 90 days"):
        await usecases.voting.open_motion(
            uow,
            council.id,
            kind=MotionKind.CIRCULAR,
            text="c",
            actor=people["chair"],
            now=START,
            closes_local=closes_local,
        )
    assert uow.rows("motions") == []


@pytest.mark.parametrize("closes_local", [None, "tomorrow", "2026-02-30 10:00"])
async def test_a_circular_vote_needs_a_readable_deadline(
    uow: FakeUnitOfWork,
    council: Council,
    people: dict[str, Member],
    meeting: Meeting,
    closes_local: str | None,
) -> None:
    """No deadline, or one that is not a date and time, is refused."""
    with pytest.raises(InvalidSchedule):
        await usecases.voting.open_motion(
            uow,
            council.id,
            kind=MotionKind.CIRCULAR,
            text="c",
            actor=people["chair"],
            now=START,
            closes_local=closes_local,
        )
    assert uow.rows("motions") == []


# --- casting ------------------------------------------------------------------------------------


async def open_named(
    uow: FakeUnitOfWork,
    council: Council,
    people: dict[str, Member],
    kind: MotionKind = MotionKind.NAMED,
    now: datetime | None = None,
) -> Motion:
    opened = await usecases.voting.open_motion(
        uow,
        council.id,
        kind=kind,
        text="Adopt the catalogue",
        actor=people["chair"],
        now=now or at(10),
    )
    return opened.count.motion


async def test_a_present_cio_votes_and_may_change_the_vote(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], present: Meeting
) -> None:
    """The second vote replaces the first in the count and names what it replaced; the
    history keeps both ballots."""
    motion = await open_named(uow, council, people)
    first = await usecases.voting.cast_vote(
        uow,
        council.id,
        motion.id,
        choice=Choice.YES,
        actor=people["EPB"],
        now=at(11),
        in_group=True,
    )
    assert first.replaced is None
    count = (await usecases.voting.motion_count(uow, motion.id))[1]
    assert (count.cast, count.of(Choice.YES), count.voters(Choice.YES)) == (1, 1, ["EPB"])

    second = await usecases.voting.cast_vote(
        uow, council.id, None, choice=Choice.NO, actor=people["EPB"], now=at(12)
    )
    assert second.replaced is Choice.YES
    count = (await usecases.voting.motion_count(uow, motion.id))[1]
    assert (count.cast, count.of(Choice.YES), count.of(Choice.NO)) == (1, 0, 1)
    async with uow:
        history = await uow.ballots.history(motion.id)
    assert [(b.choice, b.current) for b in history] == [(Choice.YES, False), (Choice.NO, True)]
    assert [
        json.loads(e.payload)["choice"] for e in uow.rows("audit") if e.action == "vote.cast"
    ] == ["yes", "no"]


async def test_a_department_not_present_in_person_does_not_vote(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], running: Meeting
) -> None:
    """EPB has not said /here; MSB is represented by a proxy: neither CIO's vote is taken."""
    await usecases.meeting.record_proxy(
        uow, council.id, code="MSB", name="Wang", actor=people["chair"], now=at(1)
    )
    motion = await open_named(uow, council, people)
    with pytest.raises(NotEligible, match="/here"):
        await usecases.voting.cast_vote(
            uow, council.id, motion.id, choice=Choice.YES, actor=people["EPB"], now=at(11)
        )
    with pytest.raises(NotEligible, match="proxy"):
        await usecases.voting.cast_vote(
            uow, council.id, motion.id, choice=Choice.YES, actor=people["MSB"], now=at(11)
        )
    assert uow.rows("ballots") == []


@pytest.mark.parametrize("who", ["chair", "secretary", "expert"])
async def test_only_cios_vote(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], present: Meeting, who: str
) -> None:
    """The chair, the secretariat and experts never vote."""
    motion = await open_named(uow, council, people)
    with pytest.raises(NotAllowed, match="only department CIOs"):
        await usecases.voting.cast_vote(
            uow, council.id, motion.id, choice=Choice.YES, actor=people[who], now=at(11)
        )
    assert uow.rows("ballots") == []


async def test_no_vote_after_close(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], present: Meeting
) -> None:
    """A closed motion takes no ballot, named or implied."""
    motion = await open_named(uow, council, people)
    await usecases.voting.close_motion(
        uow, council.id, motion.id, actor=people["chair"], now=at(11)
    )
    with pytest.raises(VotingClosed, match=f"M{motion.id} is closed"):
        await usecases.voting.cast_vote(
            uow, council.id, motion.id, choice=Choice.YES, actor=people["EPB"], now=at(12)
        )
    with pytest.raises(NotFound, match="no motion is open"):
        await usecases.voting.cast_vote(
            uow, council.id, None, choice=Choice.YES, actor=people["EPB"], now=at(12)
        )
    assert uow.rows("ballots") == []


async def test_no_circular_vote_from_its_deadline(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], meeting: Meeting
) -> None:
    """Any CIO votes until the deadline without attending; at the deadline the vote is closed
    even though nobody has closed it yet."""
    opened = await usecases.voting.open_motion(
        uow,
        council.id,
        kind=MotionKind.CIRCULAR,
        text="c",
        actor=people["chair"],
        now=START,
        closes_local="2026-12-11 14:20",
    )
    motion = opened.count.motion
    assert motion.closes_at is not None
    cast = await usecases.voting.cast_vote(
        uow,
        council.id,
        motion.id,
        choice=Choice.ABSTAIN,
        actor=people["EPB"],
        now=motion.closes_at - timedelta(seconds=1),
    )
    assert cast.ballot.choice is Choice.ABSTAIN
    with pytest.raises(VotingClosed):
        await usecases.voting.cast_vote(
            uow, council.id, motion.id, choice=Choice.YES, actor=people["MSB"], now=motion.closes_at
        )
    assert len(uow.rows("ballots")) == 1


async def test_a_secret_ballot_is_cast_privately_and_audited_without_the_choice(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], present: Meeting
) -> None:
    """In the group a secret vote is refused; privately it is taken, once per department (a
    secret vote is final), and no audit entry of it says what anyone chose."""
    motion = await open_named(uow, council, people, kind=MotionKind.SECRET)
    with pytest.raises(InvalidInput, match="secret ballot"):
        await usecases.voting.cast_vote(
            uow,
            council.id,
            motion.id,
            choice=Choice.NO,
            actor=people["EPB"],
            now=at(11),
            in_group=True,
        )
    assert uow.rows("secret_votes") == []

    for code, choice in [("EPB", Choice.NO), ("MSB", Choice.ABSTAIN)]:
        await usecases.voting.cast_vote(
            uow, council.id, motion.id, choice=choice, actor=people[code], now=at(12)
        )
    with pytest.raises(AlreadyVoted, match="final"):
        await usecases.voting.cast_vote(
            uow, council.id, motion.id, choice=Choice.YES, actor=people["EPB"], now=at(13)
        )
    casts = [json.loads(e.payload) for e in uow.rows("audit") if e.action == "vote.cast"]
    assert [(entry["motion"], entry["secret"]) for entry in casts] == [(motion.id, True)] * 2
    texts = [e.payload for e in uow.rows("audit") if e.action == "vote.cast"]
    assert not any(f'"{word}"' in text for text in texts for word in ("yes", "no", "abstain"))
    assert uow.rows("ballots") == []


# --- closing ------------------------------------------------------------------------------------


async def test_a_carried_motion_records_its_decision(
    uow: FakeUnitOfWork,
    council: Council,
    people: dict[str, Member],
    item: AgendaItem,
    present: Meeting,
) -> None:
    """Two yes of two present: the motion passes, its result is stored and a decision linked
    to it (and to the meeting and topic) is recorded."""
    await usecases.meeting.set_topic(uow, council.id, item.id, actor=people["chair"], now=at(1))
    motion = await open_named(uow, council, people)
    for code in ("EPB", "MSB"):
        await usecases.voting.cast_vote(
            uow, council.id, motion.id, choice=Choice.YES, actor=people[code], now=at(11)
        )

    result = await usecases.voting.close_motion(
        uow, council.id, motion.id, actor=people["chair"], now=at(15)
    )

    closed = stored_motion(uow, motion.id)
    assert (
        closed.state,
        closed.closed_at,
        closed.yes,
        closed.no,
        closed.abstain,
        closed.eligible,
        closed.passed,
    ) == (MotionState.CLOSED, at(15), 2, 0, 0, 2, True)
    assert closed.digest == result.outcome.digest != ""
    assert result.count.motion == closed
    assert result.decision is not None
    assert result.decision == Decision(
        council.id,
        "Adopt the catalogue",
        at(15),
        meeting_id=present.id,
        agenda_item_id=item.id,
        motion_id=motion.id,
        id=result.decision.id,
    )
    assert uow.rows("decisions") == [result.decision]
    close_entry = json.loads(uow.rows("audit")[-1].payload)
    assert (close_entry["passed"], close_entry["yes"], close_entry["eligible"]) == (True, 2, 2)


async def test_a_failed_motion_records_no_decision(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], present: Meeting
) -> None:
    """A tie fails under the simple rule: the result is stored, no decision."""
    motion = await open_named(uow, council, people)
    await usecases.voting.cast_vote(
        uow, council.id, motion.id, choice=Choice.YES, actor=people["EPB"], now=at(11)
    )
    await usecases.voting.cast_vote(
        uow, council.id, motion.id, choice=Choice.NO, actor=people["MSB"], now=at(11)
    )
    result = await usecases.voting.close_motion(
        uow, council.id, None, actor=people["chair"], now=at(12)
    )
    assert (result.outcome.passed, result.decision) == (False, None)
    assert (stored_motion(uow, motion.id).passed, uow.rows("decisions")) == (False, [])


async def test_a_department_that_voted_and_left_stays_in_the_electorate(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], present: Meeting
) -> None:
    """MSB voted, then was recorded excused: at close it still counts among the eligible."""
    # One vote of the two member departments makes the quorum when it is at least half.
    await usecases.councils.set_rule(uow, council.id, setting="quorum", value=">=1/2",
                                     actor=people["chair"], now=at(10))
    motion = await open_named(uow, council, people)
    await usecases.voting.cast_vote(
        uow, council.id, motion.id, choice=Choice.YES, actor=people["MSB"], now=at(11)
    )
    await usecases.meeting.record_excused(
        uow, council.id, code="MSB", reason="left early", actor=people["secretary"], now=at(12)
    )
    result = await usecases.voting.close_motion(
        uow, council.id, motion.id, actor=people["chair"], now=at(13)
    )
    assert (result.count.eligible, result.outcome.yes, result.outcome.passed) == (2, 1, True)


async def test_with_several_open_the_motion_must_be_named(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], present: Meeting
) -> None:
    """/close without an id lists the open motions and closes none; with an id it closes that
    one only."""
    first = await open_named(uow, council, people)
    second = await open_named(uow, council, people, now=at(11))
    with pytest.raises(
        InvalidInput, match=f"several motions are open \\(M{first.id}, M{second.id}\\)"
    ):
        await usecases.voting.close_motion(uow, council.id, None, actor=people["chair"], now=at(12))
    with pytest.raises(InvalidInput, match="several motions are open"):
        await usecases.voting.cast_vote(
            uow, council.id, None, choice=Choice.YES, actor=people["EPB"], now=at(12)
        )
    assert {m.state for m in uow.rows("motions")} == {MotionState.OPEN}

    await usecases.voting.close_motion(
        uow, council.id, second.id, actor=people["chair"], now=at(13)
    )
    assert [(m.id, m.state) for m in uow.rows("motions")] == [
        (first.id, MotionState.OPEN),
        (second.id, MotionState.CLOSED),
    ]


async def test_closing_is_the_chairs_and_happens_once(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member], present: Meeting
) -> None:
    """The secretary may not close; a second close is refused; an unknown id is not found."""
    motion = await open_named(uow, council, people)
    with pytest.raises(NotAllowed):
        await usecases.voting.close_motion(
            uow, council.id, motion.id, actor=people["secretary"], now=at(11)
        )
    await usecases.voting.close_motion(
        uow, council.id, motion.id, actor=people["chair"], now=at(12)
    )
    with pytest.raises(InvalidState, match="already closed"):
        await usecases.voting.close_motion(
            uow, council.id, motion.id, actor=people["chair"], now=at(13)
        )
    with pytest.raises(UnknownMotion):
        await usecases.voting.close_motion(
            uow, council.id, motion.id + 100, actor=people["chair"], now=at(13)
        )
    with pytest.raises(NotFound, match="no motion is open"):
        await usecases.voting.close_motion(uow, council.id, None, actor=people["chair"], now=at(13))
    assert stored_motion(uow, motion.id).closed_at == at(12)
    assert actions(uow).count("motion.close") == 1
