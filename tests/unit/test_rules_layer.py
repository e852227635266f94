"""Rules that used to be written inline in the use cases: which meetings a new series replaces,
one CIO per department, and which record of a meeting /undo takes back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meetings.domain import membership, proceedings, scheduling
from meetings.domain.errors import Duplicate, InvalidState
from meetings.domain.model import (
    AgendaItem,
    Decision,
    Department,
    Meeting,
    MeetingKind,
    MeetingState,
    Member,
    Note,
    NoteKind,
    Role,
)

NOW = datetime(2027, 3, 11, 0, 30, tzinfo=UTC)
LATER = NOW + timedelta(days=30)


def meeting(meeting_id: int, starts_at: datetime = LATER, *,
            kind: MeetingKind = MeetingKind.REGULAR,
            state: MeetingState = MeetingState.SCHEDULED) -> Meeting:
    return Meeting(1, kind, starts_at, state=state, id=meeting_id)


# --- which meetings a new series replaces ------------------------------------------------------

def test_a_new_series_replaces_only_untouched_future_regular_meetings() -> None:
    """Kept: a past meeting, an extraordinary one, one with its agenda open, one with an item
    proposed; replaced: the future regular meetings still scheduled with nothing on them."""
    untouched = [meeting(1), meeting(2, LATER + timedelta(days=30))]
    kept = [meeting(3, NOW - timedelta(hours=1)),
            meeting(4, kind=MeetingKind.EXTRAORDINARY),
            meeting(5, state=MeetingState.AGENDA_OPEN),
            meeting(6)]
    item = AgendaItem(6, "Cloud budget", proposer_id=1, department_id=None, proposed_at=NOW)

    replaced = scheduling.replaceable_by_new_series([*untouched, *kept], {6: [item], 1: []},
                                                    now=NOW)

    assert replaced == untouched


def test_replacing_refuses_a_naive_now() -> None:
    """``now`` is an aware UTC instant, like everywhere in the domain."""
    with pytest.raises(ValueError, match="now"):
        scheduling.replaceable_by_new_series([meeting(1)], {}, now=NOW.replace(tzinfo=None))


# --- one CIO per department --------------------------------------------------------------------

EPB = Department(1, "EPB", "Environment", id=10)
MSB = Department(1, "MSB", "Market", id=11)
WANG = Member(1, "Wang", Role.CIO, department_id=EPB.id, id=100)


def test_a_department_with_a_cio_refuses_another() -> None:
    """The message names the department and the CIO holding it."""
    with pytest.raises(Duplicate) as refused:
        membership.require_no_other_cio(EPB, [WANG])
    assert str(refused.value) == "EPB already has a CIO: Wang"


def test_the_cio_themself_a_free_department_or_a_non_cio_pass() -> None:
    """Re-stating Wang's own role passes, as do another department and a secretary of EPB."""
    secretary = Member(1, "Li", Role.SECRETARY, department_id=EPB.id, id=101)
    membership.require_no_other_cio(EPB, [WANG, secretary], member_id=WANG.id)
    membership.require_no_other_cio(MSB, [WANG, secretary])
    assert membership.other_cio(EPB, [secretary]) is None


# --- the meeting's record and /undo -------------------------------------------------------------

RUNNING = meeting(7, NOW, state=MeetingState.IN_PROGRESS)


def note(note_id: int, seq: int | None, *, meeting_id: int = RUNNING.id,
         at: datetime = NOW) -> Note:
    return Note(meeting_id, NoteKind.INFO, f"note {note_id}", 100, at, seq=seq, id=note_id)


def agreed(decision_id: int, seq: int | None, *, motion_id: int | None = None) -> Decision:
    return Decision(1, f"decision {decision_id}", NOW, meeting_id=RUNNING.id,
                    motion_id=motion_id, seq=seq, id=decision_id)


def test_notes_and_decisions_share_one_count_per_meeting() -> None:
    """The next number follows the highest of either kind; another meeting's do not count."""
    notes = [note(1, 1), note(2, 3), note(9, 40, meeting_id=8)]
    assert proceedings.next_record_seq(RUNNING, notes, [agreed(5, 4)]) == 5
    assert proceedings.next_record_seq(RUNNING, [], []) == 1


def test_the_last_record_is_the_highest_number_whatever_the_ids_and_times() -> None:
    """Equal timestamps and ids from two tables do not decide: the number does."""
    first, decision, last = note(50, 1), agreed(3, 2), note(4, 3)
    assert proceedings.last_record(RUNNING, [first, last], [decision]) == last
    assert proceedings.last_record(RUNNING, [first], [decision]) == decision
    assert proceedings.undoable(RUNNING, [last, first], [decision]) == [first, decision, last]


def test_a_votes_decision_and_other_meetings_records_are_never_undone() -> None:
    """A decision a motion made is not the last record, though numbered or newer."""
    vote = agreed(6, None, motion_id=2)
    elsewhere = note(8, 9, meeting_id=8)
    assert proceedings.last_record(RUNNING, [note(1, 1), elsewhere], [vote]) == note(1, 1)
    with pytest.raises(InvalidState, match="no note or decision of this meeting to undo"):
        proceedings.last_record(RUNNING, [elsewhere], [vote])


def test_unnumbered_records_count_as_the_oldest_in_time_order() -> None:
    """Values made without a number (never by the use cases) sort first, by time."""
    early, late = note(2, None), note(1, None, at=NOW + timedelta(minutes=1))
    assert proceedings.undoable(RUNNING, [late, note(3, 1), early], []) == [early, late, note(3, 1)]
