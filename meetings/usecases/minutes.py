"""Use cases of the minutes: building them from a meeting's records and writing them as Word."""

from __future__ import annotations

from meetings.domain import minutes as minutes_rules
from meetings.domain.minutes import Minutes, Records
from meetings.domain.model import MeetingState, Role
from meetings.ports import UnitOfWork
from meetings.usecases.common import meeting_of


async def load_records(uow: UnitOfWork, council_id: int, meeting_id: int) -> Records:
    """Everything stored that the minutes of the meeting draw on, inside the caller's unit of
    work."""
    meeting = await meeting_of(uow, council_id, meeting_id)
    council = await uow.councils.get(council_id)
    assert council is not None  # meeting_of found one of its meetings
    motions = await uow.motions.list(council_id)
    return Records(
        council=council, meeting=meeting, meetings=await uow.meetings.list(council_id),
        departments=await uow.departments.list(council_id),
        members=await uow.members.list(council_id),
        attendance=await uow.attendance.list(meeting.id),
        agenda=await uow.agenda.list(meeting.id), notes=await uow.notes.list(meeting.id),
        motions=motions,
        ballots={m.id: await uow.ballots.current(m.id) for m in motions
                 if m.meeting_id == meeting.id or m.meeting_id is None},
        decisions=await uow.decisions.list(council_id),
        actions=await uow.actions.list(council_id))


def drafted_by(records: Records) -> str:
    """Who drafts the minutes: the council's secretary, if it has one."""
    return next((m.name for m in records.members if m.role is Role.SECRETARY), "")


async def build_minutes(uow: UnitOfWork, council_id: int, meeting_id: int, *,
                        revision: int = 1) -> Minutes:
    """The minutes of a meeting as they stand now (a draft: nobody has approved them)."""
    async with uow:
        records = await load_records(uow, council_id, meeting_id)
    return minutes_rules.build(records, revision=revision, drafted_by=drafted_by(records))


def is_over(state: MeetingState) -> bool:
    return state in (MeetingState.ENDED, MeetingState.MINUTES_APPROVED)
