"""The minutes of a meeting as a pure value, built from what the meeting stored."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import docx
import pytest

from meetings import usecases
from meetings.domain.audit import verify
from meetings.domain.errors import InvalidState, NotAllowed, UnknownMeeting
from meetings.domain.minutes import (
    ActionLine,
    AgendaLine,
    Approval,
    AttendanceLine,
    DecisionLine,
    Guest,
    Minutes,
    MotionLine,
    NoteLine,
    Topic,
    VoteLine,
    fingerprint,
    word_safe,
)
from meetings.domain.model import (
    ActionStatus,
    AgendaState,
    AttendanceStatus,
    Choice,
    Council,
    MajorityRule,
    MeetingKind,
    MeetingState,
    Member,
    MotionKind,
    NoteKind,
    Role,
)
from tests.exports.sample import CHINESE, MINUTES
from tests.unit.conftest import SET_UP_AT
from tests.unit.fakes import FakeUnitOfWork

CLI = usecases.common.Operator()
# Thursday 10 December 2026, 14:30 in Shanghai; the office opens it ten minutes early.
START = datetime(2026, 12, 10, 6, 20, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


async def held_meeting(uow: FakeUnitOfWork, council: Council,
                       people: dict[str, Member]) -> int:
    """A whole meeting (extraordinary: there is no series): EPB present, MSB by proxy, ITB
    excused, FIN absent, the expert attending; notes before and under the topic, a named and a
    secret motion, an agreed decision and an action; returns its id."""
    # EPB alone votes, of the two member departments: a quorum of at least half.
    await usecases.councils.set_rule(uow, council.id, setting="quorum", value=">=1/2", actor=CLI,
                                     now=SET_UP_AT)
    for code, name in (("ITB", "Information Technology Bureau"), ("FIN", "Finance Bureau")):
        await usecases.councils.add_department(uow, council.id, code=code, name=name, actor=CLI,
                                               now=SET_UP_AT)
    meeting = await usecases.schedule.schedule_meeting(
        uow, council.id, local_start="2026-12-10 14:30", actor=CLI, now=SET_UP_AT)
    proposal = await usecases.agenda.propose_item(
        uow, council.id, title="Open data catalogue", description="", actor=people["EPB"],
        now=SET_UP_AT)
    item, _ = await usecases.agenda.decide_item(
        uow, council.id, proposal.item.id, state=AgendaState.ACCEPTED, actor=people["chair"],
        now=SET_UP_AT)
    secretary, chair = people["secretary"], people["chair"]
    await usecases.meeting.start_meeting(uow, council.id, actor=secretary, now=at(0))
    await usecases.meeting.mark_here(uow, council.id, actor=people["EPB"], now=at(1))
    await usecases.meeting.mark_here(uow, council.id, actor=people["expert"], now=at(1))
    await usecases.meeting.record_proxy(uow, council.id, code="MSB", name="Deputy Wang",
                                        actor=secretary, now=at(2))
    await usecases.meeting.record_excused(uow, council.id, code="ITB", reason="travelling",
                                          actor=secretary, now=at(2))
    await usecases.meeting.add_note(uow, council.id, kind=NoteKind.INFO,
                                    text="Budget\nfigures\u0007 arrive in May", actor=secretary,
                                    now=at(3))
    await usecases.meeting.set_topic(uow, council.id, item.id, actor=secretary, now=at(4))
    await usecases.meeting.add_note(uow, council.id, kind=NoteKind.IDEA,
                                    text="Publish it as CSV", actor=people["EPB"], now=at(5))
    named = await usecases.voting.open_motion(uow, council.id, kind=MotionKind.NAMED,
                                              text="Adopt the catalogue", actor=chair, now=at(6))
    await usecases.voting.cast_vote(uow, council.id, named.count.motion.id, choice=Choice.YES,
                                    actor=people["EPB"], now=at(7))
    await usecases.voting.close_motion(uow, council.id, named.count.motion.id, actor=chair,
                                       now=at(8))
    secret = await usecases.voting.open_motion(uow, council.id, kind=MotionKind.SECRET,
                                               text="Fund phase two", actor=chair, now=at(9))
    await usecases.voting.cast_vote(uow, council.id, secret.count.motion.id, choice=Choice.NO,
                                    actor=people["EPB"], now=at(10))
    await usecases.voting.close_motion(uow, council.id, secret.count.motion.id, actor=chair,
                                       now=at(11))
    await usecases.meeting.record_agreed(uow, council.id, text="Publish quarterly", actor=chair,
                                         now=at(12))
    await usecases.actions.assign_action(uow, council.id, code="EPB", due="2026-12-31",
                                         text="Draft the catalogue", actor=secretary, now=at(13))
    await usecases.meeting.end_meeting(uow, council.id, actor=secretary, now=at(90))
    return meeting.id


async def test_the_minutes_hold_every_record_of_the_meeting_in_its_section(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member]
) -> None:
    """Attendance per department (present, proxy, excused, absent), the guest, the agenda, notes
    under their topic, the named vote by department and the secret one by counts only, the
    decisions and the action come out field by field."""
    meeting_id = await held_meeting(uow, council, people)

    minutes = await usecases.minutes.build_minutes(uow, council.id, meeting_id)

    item = minutes.agenda[0]
    named, secret = minutes.topics[1].motions
    expected = Minutes(
        council="Riverside CIO Council", number=1, kind=MeetingKind.EXTRAORDINARY,
        day=date(2026, 12, 10), starts="14:20", ends="15:50", place="", chair="chair",
        title="",
        attendance=(
            AttendanceLine("EPB", "EPB", AttendanceStatus.PRESENT, "EPB"),
            AttendanceLine("MSB", "MSB", AttendanceStatus.PROXY, "Deputy Wang"),
            AttendanceLine("ITB", "Information Technology Bureau", AttendanceStatus.EXCUSED,
                           "", "travelling"),
            AttendanceLine("FIN", "Finance Bureau", AttendanceStatus.ABSENT, ""),
        ),
        guests=(Guest("expert", Role.EXPERT),),
        agenda=(AgendaLine(item.id, "Open data catalogue", False, "EPB"),),
        topics=(
            Topic(None, (NoteLine(NoteKind.INFO, "Budget\nfigures arrive in May", "secretary"),),
                  (), ()),
            Topic(item, (NoteLine(NoteKind.IDEA, "Publish it as CSV", "EPB"),),
                  (MotionLine(named.id, MotionKind.NAMED, "Adopt the catalogue",
                              MajorityRule.SIMPLE, 1, 0, 0, 1, True, named.digest,
                              (VoteLine("EPB", Choice.YES),), date(2026, 12, 10),
                              membership=2, quorum_needed=1),
                   MotionLine(secret.id, MotionKind.SECRET, "Fund phase two",
                              MajorityRule.SIMPLE, 0, 1, 0, 1, False, secret.digest, (),
                              date(2026, 12, 10), membership=2, quorum_needed=1)),
                  (DecisionLine(minutes.decisions[0].id, "Adopt the catalogue", named.id),
                   DecisionLine(minutes.decisions[1].id, "Publish quarterly", None))),
        ),
        circular=(),
        actions=(ActionLine(minutes.actions[0].id, "EPB", "Draft the catalogue",
                            date(2026, 12, 31), ActionStatus.OPEN),),
        carried_over=(),
        next_meeting=None,
        approval=Approval(1, "secretary"),
    )
    assert expected.attendance == minutes.attendance
    assert expected.topics == minutes.topics
    assert expected == minutes
    assert len(named.digest) == 12


async def test_minutes_of_an_unknown_meeting_are_refused(
    uow: FakeUnitOfWork, council: Council
) -> None:
    """Asking for the minutes of a meeting the council does not have names it."""
    with pytest.raises(UnknownMeeting):
        await usecases.minutes.build_minutes(uow, council.id, 404)


@pytest.mark.parametrize(("given", "kept"), [
    ("a\x00b\x0bc\x1fd", "abcd"),
    ("line\r\nbreak\rhere\ttab", "line\nbreak\nhere\ttab"),
    ("lone \ud800 surrogate \udfff", "lone  surrogate "),
    ("שלום عربي 🙂👩‍💻 <w:p>&amp;", "שלום عربي 🙂👩‍💻 <w:p>&amp;"),
])
def test_word_safe_text_loses_only_what_xml_cannot_hold(given: str, kept: str) -> None:
    """Control characters and lone surrogates go; right-to-left script, emoji, markup-looking
    text, tabs and line breaks stay."""
    assert kept == word_safe(given)


def test_a_long_note_survives_whole() -> None:
    """A 100 KB note keeps every character."""
    note = "会议纪要 note " * 10_000
    assert note == word_safe(note)


# --- drafting, approval and revisions -------------------------------------------------------------

AFTER = at(120)


async def test_drafting_stores_the_document_with_its_hash_once_per_content(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member]
) -> None:
    """The draft is revision 1 with the SHA-256 of its bytes, in the audit log; drafting again
    with nothing changed hands back the same revision."""
    meeting_id = await held_meeting(uow, council, people)

    issued = await usecases.minutes.draft_minutes(uow, council.id, meeting_id,
                                                  actor=people["secretary"], now=AFTER)
    again = await usecases.minutes.draft_minutes(uow, council.id, actor=people["secretary"],
                                                 now=AFTER + timedelta(hours=1))
    draft = issued.revision

    assert (draft.revision, draft.approved, draft.style) == (1, False, "en")
    assert draft.sha256 == hashlib.sha256(draft.data).hexdigest()
    assert again == issued
    assert (issued.decisions, issued.actions) == (2, 1)
    assert [r.revision for r in uow.rows("minutes")] == [1]
    event = uow.rows("audit")[-1]
    assert (event.action, json.loads(event.payload)["sha256"]) == ("minutes.draft", draft.sha256)


async def test_approval_freezes_a_revision_and_a_correction_adds_one(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member]
) -> None:
    """The chair's approval adds an approved revision whose hash is in the audit chain and marks
    the meeting; approving again is refused naming it; a later change adds revision 3 and leaves
    the approved one as it was."""
    meeting_id = await held_meeting(uow, council, people)
    await usecases.minutes.draft_minutes(uow, council.id, meeting_id, actor=people["secretary"],
                                         now=AFTER)

    approved = (await usecases.minutes.approve_minutes(uow, council.id, actor=people["chair"],
                                                       now=AFTER)).revision
    frozen = uow.rows("minutes")[-1]
    with pytest.raises(InvalidState, match="already approved"):
        await usecases.minutes.approve_minutes(uow, council.id, meeting_id,
                                               actor=people["chair"], now=AFTER)
    with pytest.raises(NotAllowed):
        await usecases.minutes.approve_minutes(uow, council.id, meeting_id,
                                               actor=people["secretary"], now=AFTER)
    action = next(a for a in uow.rows("actions"))
    await usecases.actions.complete_action(uow, council.id, action.id, note="",
                                           actor=people["secretary"], now=AFTER)
    corrected = (await usecases.minutes.latest_minutes(uow, council.id, meeting_id,
                                                       actor=people["secretary"],
                                                       now=AFTER)).revision

    assert (approved.revision, approved.approved) == (2, True)
    assert uow.committed.table("meetings")[meeting_id].state is MeetingState.MINUTES_APPROVED
    event = next(e for e in uow.rows("audit") if e.action == "minutes.approve")
    assert json.loads(event.payload) == {"meeting": meeting_id, "revision": 2,
                                         "sha256": approved.sha256}
    assert verify(uow.rows("audit")) == []
    assert (corrected.revision, corrected.approved) == (3, False)
    assert uow.rows("minutes")[1] == frozen == approved
    document = docx.Document(io.BytesIO(approved.data))
    block = [c.text for c in document.tables[-1].rows[1].cells]
    assert block == ["2", "secretary", "chair", "2026-12-10"]


async def test_a_cio_gets_the_latest_revision_but_never_drafts_one(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member]
) -> None:
    """A CIO asking before the office drafted is told so; afterwards gets the office's draft."""
    meeting_id = await held_meeting(uow, council, people)

    with pytest.raises(InvalidState, match="not drafted yet"):
        await usecases.minutes.latest_minutes(uow, council.id, actor=people["EPB"], now=AFTER)
    draft = await usecases.minutes.draft_minutes(uow, council.id, meeting_id,
                                                 actor=people["secretary"], now=AFTER)
    assert draft == await usecases.minutes.latest_minutes(uow, council.id, actor=people["EPB"],
                                                          now=AFTER)


async def test_minutes_wait_for_the_end_of_the_meeting(
    uow: FakeUnitOfWork, council: Council, people: dict[str, Member]
) -> None:
    """Before any meeting ended there are no minutes to draft."""
    with pytest.raises(UnknownMeeting, match="no meeting has ended"):
        await usecases.minutes.draft_minutes(uow, council.id, actor=people["secretary"],
                                             now=AFTER)


def test_minutes_without_guests_or_urgent_business_keep_their_fingerprint() -> None:
    """The fingerprints of the sample minutes are those computed before invited guests and
    urgent business existed, so an unchanged meeting gets no new revision after the upgrade;
    an urgent item or a guest's organisation does change it."""
    assert (fingerprint(MINUTES), fingerprint(CHINESE)) == (
        "b7143ff6254a1a5243e11338db988b39399919cd94bc2565b5210e0effdf3d1a",
        "0870d6906388c81f3d0cf6c5e2a98a87b05d1e7a07a66ecfad6e315f362acf05")
    urgent = replace(MINUTES, agenda=(replace(MINUTES.agenda[0], urgent=True),
                                      *MINUTES.agenda[1:]))
    visitor = replace(MINUTES, guests=(Guest("Dr. Qian", Role.EXPERT, "Tsinghua"),))
    assert len({fingerprint(MINUTES), fingerprint(urgent), fingerprint(visitor)}) == 3
