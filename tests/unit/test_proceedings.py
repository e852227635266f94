"""The pure rules of running a meeting: which meeting starts, attendance, the topic, the end."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from meetings.domain import proceedings
from meetings.domain.errors import InvalidState, NotAllowed, NotFound
from meetings.domain.model import (
    AgendaItem,
    AgendaState,
    Attendance,
    AttendanceStatus,
    Department,
    MajorityRule,
    Meeting,
    MeetingKind,
    MeetingState,
    Member,
    Motion,
    MotionKind,
    MotionState,
    Role,
)

SHANGHAI = "Asia/Shanghai"
# 08:30 on Thursday 11 March 2027 in Shanghai (00:30 UTC the same day).
NOW = datetime(2027, 3, 11, 0, 30, tzinfo=UTC)
# 01:00 on 11 March in Shanghai is still 10 March in UTC.
SMALL_HOURS = datetime(2027, 3, 10, 17, 0, tzinfo=UTC)
# 23:30 on 10 March in Shanghai: yesterday there, although it is a few UTC hours earlier.
LAST_NIGHT = datetime(2027, 3, 10, 15, 30, tzinfo=UTC)
AFTERNOON = datetime(2027, 3, 11, 6, 30, tzinfo=UTC)  # 14:30 local, today
TOMORROW = datetime(2027, 3, 12, 1, 0, tzinfo=UTC)  # 09:00 local on 12 March


def meeting(starts_at: datetime, meeting_id: int, *,
            state: MeetingState = MeetingState.SCHEDULED) -> Meeting:
    return Meeting(council_id=1, kind=MeetingKind.REGULAR, starts_at=starts_at, state=state,
                   id=meeting_id)


# --- which meeting starts -----------------------------------------------------------------------

def test_a_meeting_in_the_small_hours_is_today_in_the_councils_zone() -> None:
    """01:00 local on the 11th is the 11th's meeting although its UTC date is the 10th; the
    23:30 meeting of the 10th (local) is not today's."""
    candidates = [meeting(LAST_NIGHT, 1), meeting(SMALL_HOURS, 2)]
    assert proceedings.to_start(candidates, timezone=SHANGHAI, now=NOW).id == 2


def test_in_utc_the_same_meeting_is_yesterdays() -> None:
    """The zone decides the day: for a UTC council the 17:00 UTC meeting was yesterday."""
    with pytest.raises(InvalidState, match="no meeting is scheduled for today"):
        proceedings.to_start([meeting(SMALL_HOURS, 2)], timezone="UTC", now=NOW)


def test_the_earliest_of_todays_meetings_starts_first() -> None:
    """With two meetings today, the one starting first is opened, whatever the list order."""
    candidates = [meeting(AFTERNOON, 7), meeting(SMALL_HOURS, 9), meeting(TOMORROW, 3)]
    assert proceedings.to_start(candidates, timezone=SHANGHAI, now=NOW).id == 9


def test_a_cancelled_or_ended_meeting_today_is_not_picked() -> None:
    """Only scheduled meetings (agenda open or closed included) start without an id."""
    candidates = [meeting(SMALL_HOURS, 1, state=MeetingState.CANCELLED),
                  meeting(AFTERNOON, 2, state=MeetingState.ENDED),
                  meeting(AFTERNOON + timedelta(hours=1), 3, state=MeetingState.AGENDA_CLOSED)]
    assert proceedings.to_start(candidates, timezone=SHANGHAI, now=NOW).id == 3


def test_no_meeting_today_is_refused() -> None:
    """Yesterday's and tomorrow's meetings do not start without their id."""
    with pytest.raises(InvalidState, match="no meeting is scheduled for today"):
        proceedings.to_start([meeting(LAST_NIGHT, 1), meeting(TOMORROW, 2)],
                             timezone=SHANGHAI, now=NOW)
    with pytest.raises(InvalidState, match="no meeting is scheduled for today"):
        proceedings.to_start([], timezone=SHANGHAI, now=NOW)


def test_a_meeting_given_by_id_may_start_late_but_not_early() -> None:
    """Yesterday's meeting starts by id (a late start); tomorrow's is refused with its day."""
    candidates = [meeting(LAST_NIGHT, 1), meeting(TOMORROW, 2), meeting(AFTERNOON, 3)]
    assert proceedings.to_start(candidates, timezone=SHANGHAI, now=NOW, meeting_id=1).id == 1
    assert proceedings.to_start(candidates, timezone=SHANGHAI, now=NOW, meeting_id=3).id == 3
    with pytest.raises(InvalidState, match="meeting S2 is on 2027-03-12"):
        proceedings.to_start(candidates, timezone=SHANGHAI, now=NOW, meeting_id=2)


@pytest.mark.parametrize("state", [MeetingState.CANCELLED, MeetingState.ENDED,
                                   MeetingState.MINUTES_APPROVED])
def test_a_meeting_that_is_over_or_cancelled_cannot_start(state: MeetingState) -> None:
    """A cancelled or finished meeting is refused by id, naming its state."""
    with pytest.raises(InvalidState, match=f"meeting S4 is {state.value} and cannot start"):
        proceedings.to_start([meeting(AFTERNOON, 4, state=state)], timezone=SHANGHAI, now=NOW,
                             meeting_id=4)


def test_an_unknown_meeting_id_is_not_found() -> None:
    """An id that is not among the council's meetings is refused."""
    with pytest.raises(NotFound, match="no meeting S99"):
        proceedings.to_start([meeting(AFTERNOON, 4)], timezone=SHANGHAI, now=NOW, meeting_id=99)


@pytest.mark.parametrize("meeting_id", [None, 2])
def test_only_one_meeting_runs_at_a_time(meeting_id: int | None) -> None:
    """While a meeting is in progress no other starts, with or without an id."""
    candidates = [meeting(SMALL_HOURS, 1, state=MeetingState.IN_PROGRESS), meeting(AFTERNOON, 2)]
    with pytest.raises(InvalidState, match="meeting S1 is already in progress"):
        proceedings.to_start(candidates, timezone=SHANGHAI, now=NOW, meeting_id=meeting_id)


def test_starting_and_ending_set_state_times_and_clear_the_topic() -> None:
    """Start records when it started; end records when it ended; neither keeps a topic."""
    started = proceedings.start(replace(meeting(AFTERNOON, 1), topic_id=5), now=NOW)
    assert (started.state, started.started_at, started.topic_id) == (
        MeetingState.IN_PROGRESS, NOW, None)
    later = NOW + timedelta(hours=2)
    ended = proceedings.end(replace(started, topic_id=6), [], now=later)
    assert (ended.state, ended.started_at, ended.ended_at, ended.topic_id) == (
        MeetingState.ENDED, NOW, later, None)


def test_require_running_names_the_command_to_start() -> None:
    """With no meeting in progress, the refusal says how to start one."""
    assert proceedings.running([meeting(AFTERNOON, 1)]) is None
    with pytest.raises(InvalidState, match="/startmeeting"):
        proceedings.require_running([meeting(AFTERNOON, 1)])


# --- ending with motions ------------------------------------------------------------------------

def motion(motion_id: int, *, kind: MotionKind = MotionKind.NAMED, meeting_id: int | None = 1,
           state: MotionState = MotionState.OPEN) -> Motion:
    return Motion(council_id=1, kind=kind, text="m", rule=MajorityRule.SIMPLE, quorum=0.5,
                  opened_at=NOW, meeting_id=meeting_id, state=state, id=motion_id)


def test_a_meeting_with_open_motions_does_not_end() -> None:
    """Every open in-meeting motion of this meeting is named in the refusal."""
    running = meeting(AFTERNOON, 1, state=MeetingState.IN_PROGRESS)
    with pytest.raises(InvalidState, match="motion M3, M8 is still open"):
        proceedings.end(running, [motion(8), motion(3, kind=MotionKind.SECRET)], now=NOW)


def test_circular_votes_and_other_meetings_motions_do_not_block_the_end() -> None:
    """An open circular vote (no meeting) or another meeting's motion leaves the end free."""
    running = meeting(AFTERNOON, 1, state=MeetingState.IN_PROGRESS)
    open_elsewhere = [motion(2, kind=MotionKind.CIRCULAR, meeting_id=None),
                      motion(4, meeting_id=77)]
    assert proceedings.end(running, open_elsewhere, now=NOW).state is MeetingState.ENDED


# --- attendance ---------------------------------------------------------------------------------

RUNNING = meeting(AFTERNOON, 1, state=MeetingState.IN_PROGRESS)
CIO = Member(council_id=1, name="Li", role=Role.CIO, department_id=4, id=20)
EPB = Department(council_id=1, code="EPB", name="Environment", id=4)
MSB = Department(council_id=1, code="MSB", name="Markets", id=5)
ITB = Department(council_id=1, code="ITB", name="Industry", id=6)


def test_a_cio_is_here_for_their_department() -> None:
    """A CIO's /here is their department's in-person attendance."""
    assert proceedings.here(CIO, RUNNING) == Attendance(1, 4, AttendanceStatus.PRESENT,
                                                         member_id=20)


@pytest.mark.parametrize("role", [Role.EXPERT, Role.OBSERVER])
def test_experts_and_observers_are_here_for_themselves(role: Role) -> None:
    """An expert or observer gets a record of their own, without a department."""
    guest = Member(council_id=1, name="Prof. Zhou", role=role, id=30)
    assert proceedings.here(guest, RUNNING) == Attendance(1, None, AttendanceStatus.PRESENT,
                                                           member_id=30)


@pytest.mark.parametrize("role", [Role.CHAIR, Role.SECRETARY])
def test_the_office_is_here_for_itself(role: Role) -> None:
    """The chair and the secretary answer the roll call for themselves, never for a
    department's seat."""
    office = replace(CIO, role=role, department_id=None)
    assert proceedings.here(office, RUNNING) == Attendance(1, None, AttendanceStatus.PRESENT,
                                                            member_id=CIO.id)


def test_a_cio_without_department_cannot_mark_here() -> None:
    """A CIO whose department was removed has no seat to answer for."""
    with pytest.raises(NotAllowed):
        proceedings.here(replace(CIO, department_id=None), RUNNING)


def test_proxy_and_excused_are_recorded_against_the_departments_cio() -> None:
    """A proxy carries the deputy's name, an apology its reason; both name the CIO if any."""
    assert proceedings.proxy(RUNNING, EPB, CIO, "Deputy Wang") == Attendance(
        1, 4, AttendanceStatus.PROXY, member_id=20, proxy_name="Deputy Wang")
    assert proceedings.excused(RUNNING, MSB, None, "abroad") == Attendance(
        1, 5, AttendanceStatus.EXCUSED, member_id=None, reason="abroad")


def test_absentees_are_the_departments_nobody_answered_for() -> None:
    """A proxy or apology answers for a department; an expert's record answers for none; the
    absent CIO is named where there is one."""
    recorded = [Attendance(1, 4, AttendanceStatus.PROXY, proxy_name="Deputy"),
                Attendance(1, None, AttendanceStatus.PRESENT, member_id=30)]
    msb_cio = Member(council_id=1, name="Zhao", role=Role.CIO, department_id=5, id=21)
    absent = proceedings.absentees(RUNNING, [EPB, MSB, ITB], recorded, {5: msb_cio})
    assert absent == [Attendance(1, 5, AttendanceStatus.ABSENT, member_id=21),
                      Attendance(1, 6, AttendanceStatus.ABSENT, member_id=None)]


def test_nobody_is_absent_when_every_department_answered() -> None:
    """Present, proxy and excused together cover all departments."""
    recorded = [Attendance(1, 4, AttendanceStatus.PRESENT, member_id=20),
                Attendance(1, 5, AttendanceStatus.PROXY, proxy_name="Deputy"),
                Attendance(1, 6, AttendanceStatus.EXCUSED)]
    assert proceedings.absentees(RUNNING, [EPB, MSB, ITB], recorded, {}) == []


# --- the topic ----------------------------------------------------------------------------------

def item(state: AgendaState, *, meeting_id: int = 1) -> AgendaItem:
    return AgendaItem(meeting_id=meeting_id, title="Open data", proposer_id=20, department_id=4,
                      proposed_at=NOW, state=state, id=12)


def test_the_topic_moves_to_an_accepted_item() -> None:
    """An accepted item of this meeting becomes the topic."""
    assert proceedings.topic(RUNNING, item(AgendaState.ACCEPTED), 12).topic_id == 12


@pytest.mark.parametrize("found", [None, item(AgendaState.ACCEPTED, meeting_id=2)])
def test_a_missing_item_or_another_meetings_item_is_not_found(found: AgendaItem | None) -> None:
    """An unknown id, or an item on a different meeting, is refused with both ids."""
    with pytest.raises(NotFound, match="no agenda item #12 on meeting S1"):
        proceedings.topic(RUNNING, found, 12)


@pytest.mark.parametrize("state", [AgendaState.PROPOSED, AgendaState.DEFERRED,
                                   AgendaState.REJECTED])
def test_only_accepted_items_are_discussed(state: AgendaState) -> None:
    """Proposed, deferred and rejected items are refused, naming their state."""
    with pytest.raises(InvalidState, match=f"agenda item #12 is {state.value}"):
        proceedings.topic(RUNNING, item(state), 12)
