"""Use cases of the minutes: drafting them when a meeting ends, handing out the latest revision,
the chair's approval (which freezes the document and its SHA-256 into the audit chain), and a new
revision whenever the records change after that.

Revisions are only ever added. The approved document differs from the draft (its approval block
names the chair and the day), so approving adds a revision too: the draft stays downloadable.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from meetings.domain import minutes as minutes_rules
from meetings.domain.errors import Duplicate, InvalidInput, InvalidState, UnknownMeeting
from meetings.domain.minutes import Minutes, MinutesRevision, MinutesTemplate, Records
from meetings.domain.model import Council, Meeting, MeetingState, Member, Role
from meetings.domain.permissions import Act
from meetings.exports import docx
from meetings.ports import UnitOfWork
from meetings.usecases.common import (
    Actor,
    Operator,
    authorise,
    council_of,
    local_today,
    meeting_of,
    record,
)

_OVER = (MeetingState.ENDED, MeetingState.MINUTES_APPROVED)


@dataclass(frozen=True, slots=True)
class Issued:
    """A revision handed out, with what a caption says about it."""

    revision: MinutesRevision
    meeting: Meeting
    decisions: int
    actions: int


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
        actions=await uow.actions.list(council_id),
        guests=await uow.guests.list(meeting.id))


def drafted_by(records: Records) -> str:
    """Who drafts the minutes: the council's secretary, if it has one."""
    return next((m.name for m in records.members if m.role is Role.SECRETARY), "")


async def build_minutes(uow: UnitOfWork, council_id: int, meeting_id: int, *,
                        revision: int = 1) -> Minutes:
    """The minutes of a meeting as they stand now (a draft: nobody has approved them)."""
    async with uow:
        records = await load_records(uow, council_id, meeting_id)
    return minutes_rules.build(records, revision=revision, drafted_by=drafted_by(records))


def style_for(council: Council) -> docx.Style:
    """The council's language picks the layout: Chinese councils file GB/T 9704 纪要."""
    return "gbt9704" if council.language.startswith("zh") else "en"


def parse_style(text: str) -> docx.Style:
    for style in docx.STYLES:
        if text == style:
            return style
    raise InvalidInput("unknown style {style}: use en or gbt9704", style=text[:20])


def _label(actor: Actor) -> str:
    return f"operator:{actor.name}" if isinstance(actor, Operator) else f"member:{actor.id}"


async def _ended_meeting(uow: UnitOfWork, council_id: int, meeting_id: int | None) -> Meeting:
    """The meeting given, or the council's last ended one; it must be over."""
    if meeting_id is not None:
        meeting = await meeting_of(uow, council_id, meeting_id)
        if meeting.state not in _OVER:
            raise InvalidState("meeting S{id} has not ended; its minutes come after /endmeeting",
                               id=meeting.id)
        return meeting
    over = [m for m in await uow.meetings.list(council_id) if m.state in _OVER]
    if not over:
        raise UnknownMeeting("no meeting has ended yet, so there are no minutes")
    return max(over, key=lambda m: (m.ended_at or m.starts_at, m.id))


async def _new_revision(uow: UnitOfWork, council_id: int, meeting: Meeting, *, actor: Actor,
                        now: datetime, approver: Member | None = None,
                        style: docx.Style | None = None
                        ) -> tuple[Minutes, MinutesRevision | None]:
    """Writes the next revision when the minutes now say something the latest does not (or,
    for an approval, when the latest is not already that approval). None: nothing to add."""
    records = await load_records(uow, council_id, meeting.id)
    latest = await uow.minutes.latest(meeting.id)
    number = latest.revision + 1 if latest else 1
    approved_on = local_today(records.council, now) if approver else None
    minutes = minutes_rules.build(records, revision=number, drafted_by=drafted_by(records),
                                  approved_by=approver.name if approver else "",
                                  approved_on=approved_on)
    content = minutes_rules.fingerprint(minutes)
    if latest is not None and latest.content == content and (
            latest.approved or approver is None):
        return minutes, None
    chosen = style or (latest.style if latest else None) or style_for(records.council)
    letterhead = await uow.minutes.template(council_id)
    data = docx.write(minutes, parse_style(chosen),
                      template=letterhead.data if letterhead else None)
    return minutes, await uow.minutes.add(MinutesRevision(
        meeting.id, number, chosen, data, minutes_rules.digest(data), content, now,
        _label(actor), approved=approver is not None))


def _issued(revision: MinutesRevision, meeting: Meeting, minutes: Minutes) -> Issued:
    return Issued(revision, meeting, len(minutes.decisions) + len(minutes.circular),
                  len(minutes.actions))


async def draft_minutes(uow: UnitOfWork, council_id: int, meeting_id: int | None = None, *,
                        actor: Actor, now: datetime) -> Issued:
    """The office drafts (or redrafts, after a correction) a meeting's minutes: a new revision
    when the records changed since the latest one, otherwise the latest as it is."""
    authorise(actor, Act.EXPORT)
    async with uow:
        meeting = await _ended_meeting(uow, council_id, meeting_id)
        minutes, added = await _new_revision(uow, council_id, meeting, actor=actor, now=now)
        if added is None:
            latest = await uow.minutes.latest(meeting.id)
            assert latest is not None  # nothing was added because it exists and is current
            return _issued(latest, meeting, minutes)
        await record(uow, council_id, actor, "minutes.draft", now, meeting=meeting.id,
                     revision=added.revision, sha256=added.sha256)
        await uow.commit()
    return _issued(added, meeting, minutes)


async def latest_minutes(uow: UnitOfWork, council_id: int, meeting_id: int | None = None, *,
                         actor: Actor, now: datetime) -> Issued:
    """The latest revision of a meeting's minutes (default: the last ended meeting). The office
    asking brings them up to date first; anyone else gets what the office last issued."""
    authorise(actor, Act.VIEW)
    if isinstance(actor, Operator) or actor.role in (Role.CHAIR, Role.SECRETARY):
        return await draft_minutes(uow, council_id, meeting_id, actor=actor, now=now)
    async with uow:
        meeting = await _ended_meeting(uow, council_id, meeting_id)
        latest = await uow.minutes.latest(meeting.id)
        if latest is None:
            raise InvalidState("the minutes of meeting S{id} are not drafted yet",
                               id=meeting.id)
        records = await load_records(uow, council_id, meeting.id)
    return _issued(latest, meeting, minutes_rules.build(records))


async def revision_of(uow: UnitOfWork, council_id: int, meeting_id: int, revision: int, *,
                      actor: Actor) -> MinutesRevision:
    """One stored revision, exactly as it was sent."""
    authorise(actor, Act.EXPORT)
    async with uow:
        meeting = await meeting_of(uow, council_id, meeting_id)
        found = await uow.minutes.get(meeting.id, revision)
    if found is None:
        raise InvalidState("meeting S{id} has no revision {revision} of its minutes",
                           id=meeting_id, revision=revision)
    return found


async def approve_minutes(uow: UnitOfWork, council_id: int, meeting_id: int | None = None, *,
                          actor: Member, now: datetime) -> Issued:
    """The chair approves the minutes as they stand: the approved document is stored once, its
    SHA-256 enters the audit chain, and the meeting's state becomes minutes-approved.

    Approving again with nothing changed is refused, naming the approved revision; so is losing
    a race to another instance approving at the same moment.
    """
    authorise(actor, Act.APPROVE_MINUTES)
    async with uow:
        meeting = await _ended_meeting(uow, council_id, meeting_id)
        try:
            minutes, approved = await _new_revision(uow, council_id, meeting, actor=actor,
                                                    now=now, approver=actor)
        except Duplicate as err:
            raise InvalidState("the minutes of meeting S{id} were just changed or approved by "
                               "someone else; look at /minutes and approve again if needed",
                               id=meeting.id) from err
        if approved is None:
            latest = await uow.minutes.latest(meeting.id)
            assert latest is not None
            raise InvalidState("revision {revision} of the minutes of meeting S{id} is already "
                               "approved (SHA-256 {sha256})", revision=latest.revision,
                               id=meeting.id, sha256=latest.sha256)
        await uow.meetings.update(replace(meeting, state=MeetingState.MINUTES_APPROVED))
        await record(uow, council_id, actor, "minutes.approve", now, meeting=meeting.id,
                     revision=approved.revision, sha256=approved.sha256)
        await uow.commit()
    return _issued(approved, meeting, minutes)



async def working_copy(uow: UnitOfWork, council_id: int, meeting_id: int, *, actor: Actor,
                       style: docx.Style | None = None, template: bytes | None = None) -> bytes:
    """The minutes as they stand, in the style (and on the template) asked for, without storing
    them: a copy for the office to look at, not a revision."""
    authorise(actor, Act.EXPORT)
    async with uow:
        meeting = await _ended_meeting(uow, council_id, meeting_id)
        records = await load_records(uow, council_id, meeting.id)
        latest = await uow.minutes.latest(meeting.id)
        stored = await uow.minutes.template(council_id)
    template = template if template is not None else stored.data if stored else None
    minutes = minutes_rules.build(records, revision=latest.revision if latest else 1,
                                  drafted_by=drafted_by(records))
    try:
        return docx.write(minutes, style or style_for(records.council), template=template)
    except docx.TemplateError as err:
        raise InvalidInput("unusable template: {reason}", reason=str(err)) from err


TEMPLATE_MAX = 10 * 1024 * 1024  # bytes; a letterhead template is tens of kilobytes


def check_template(data: bytes) -> None:
    """Refuses a template the writer cannot use, naming the style it lacks."""
    if len(data) > TEMPLATE_MAX:
        raise InvalidInput("the template is larger than {limit} MB; nothing was stored",
                           limit=TEMPLATE_MAX // (1024 * 1024))
    try:
        docx.check_template(data)
    except docx.TemplateError as err:
        if err.missing:
            raise InvalidInput("the template has no paragraph style {style}; nothing was stored",
                               style=repr(err.missing)) from err
        raise InvalidInput("the template is not a Word .docx document; nothing was stored") from err


async def set_template(uow: UnitOfWork, council_id: int, data: bytes, *, actor: Actor,
                       now: datetime) -> MinutesTemplate:
    """The office gives the council its own template (letterhead, styles, header, footer),
    checked on arrival: later minutes are written on it."""
    authorise(actor, Act.EXPORT)
    check_template(data)
    async with uow:
        await council_of(uow, council_id)
        stored = await uow.minutes.set_template(MinutesTemplate(council_id, data, now,
                                                                _label(actor)))
        await record(uow, council_id, actor, "minutes.template", now,
                     sha256=minutes_rules.digest(data), size=len(data))
        await uow.commit()
    return stored


async def reset_template(uow: UnitOfWork, council_id: int, *, actor: Actor,
                         now: datetime) -> bool:
    """Back to the built-in style; False when the council had no template of its own."""
    authorise(actor, Act.EXPORT)
    async with uow:
        await council_of(uow, council_id)
        removed = await uow.minutes.reset_template(council_id)
        if removed:
            await record(uow, council_id, actor, "minutes.template_reset", now)
            await uow.commit()
    return removed


async def stored_revision(uow: UnitOfWork, meeting_id: int,
                          revision: int) -> tuple[Council, MinutesRevision]:
    """One revision and its council, for a download link the web service has already verified
    (the signature is the authorisation)."""
    async with uow:
        meeting = await uow.meetings.get(meeting_id)
        found = await uow.minutes.get(meeting_id, revision)
        if meeting is None or found is None:
            raise UnknownMeeting("no meeting {id} in this council", id=meeting_id)
        council = await council_of(uow, meeting.council_id)
    return council, found
