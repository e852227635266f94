"""Chat commands of the minutes: the draft posted at /endmeeting, /minutes and the chair's
/approve. Like `handlers`: each parses, calls one use case and renders the reply."""

from __future__ import annotations

from bot.i18n import N_
from bot.telegram.context import ChatRequest, Document, Reply
from bot.telegram.handlers import member_of, parse_meeting
from meetings import usecases
from meetings.domain.errors import InvalidInput
from meetings.domain.permissions import Act, require
from meetings.usecases.minutes import Issued


def minutes_document(issued: Issued) -> Document:
    state = "approved" if issued.revision.approved else "draft"
    return Document(f"minutes-meeting-{issued.meeting.id}-r{issued.revision.revision}-{state}.docx",
                    issued.revision.data)


def minutes_caption(req: ChatRequest, issued: Issued) -> str:
    """The meeting, its decisions and actions, and whether the file is a draft or approved
    (then with its full SHA-256, to check the file against)."""
    revision = issued.revision
    if revision.approved:
        caption = req.t("✅ Minutes of meeting S{id} approved (revision {revision}); decisions: "
                        "{decisions}, action items: {actions}.\nSHA-256: {sha256}",
                        id=issued.meeting.id, revision=revision.revision,
                        decisions=issued.decisions, actions=issued.actions,
                        sha256=revision.sha256)
    else:
        caption = req.t("📝 Minutes of meeting S{id}, draft (revision {revision}); decisions: "
                        "{decisions}, action items: {actions}. The chair approves them with "
                        "/approve.", id=issued.meeting.id, revision=revision.revision,
                        decisions=issued.decisions, actions=issued.actions)
    return caption


def minutes_reply(req: ChatRequest, issued: Issued, before: str = "") -> Reply:
    """One message: the file with the caption (after ``before``, when it all fits one)."""
    caption = minutes_caption(req, issued)
    return Reply(f"{before}\n{caption}" if before else caption,
                 document=minutes_document(issued))


def _meeting_argument(req: ChatRequest, usage: str) -> int | None:
    given = req.args(1, usage=usage, at_least=0)
    return parse_meeting(given[0], usage) if given else None


async def minutes(req: ChatRequest) -> Reply:
    """/minutes [meeting id]: the latest revision of the minutes (default: the last meeting)."""
    meeting_id = _meeting_argument(req, N_("/minutes [meeting id]"))
    issued = await usecases.minutes.latest_minutes(
        req.uow(), req.council.id, meeting_id, actor=member_of(req), now=req.now)
    return minutes_reply(req, issued)


async def approve(req: ChatRequest) -> Reply:
    """/approve [meeting id]: the chair approves the minutes; the approved file is frozen."""
    meeting_id = _meeting_argument(req, N_("/approve [meeting id]"))
    issued = await usecases.minutes.approve_minutes(
        req.uow(), req.council.id, meeting_id, actor=require(req.member, Act.APPROVE_MINUTES),
        now=req.now)
    return minutes_reply(req, issued)


async def template(req: ChatRequest) -> str:
    """/template: a .docx sent privately with this caption becomes the council's template."""
    message = req.update.effective_message
    document = message.document if message is not None else None
    if document is None or not req.in_private:
        raise InvalidInput("send the template as a .docx file with the caption /template, in a "
                           "private chat with me")
    if (document.file_size or 0) > usecases.minutes.TEMPLATE_MAX:
        raise InvalidInput("the template is larger than {limit} MB; nothing was stored",
                           limit=usecases.minutes.TEMPLATE_MAX // (1024 * 1024))
    data = bytes(await (await document.get_file()).download_as_bytearray())
    await usecases.minutes.set_template(req.uow(), req.council.id, data,
                                        actor=require(req.member, Act.EXPORT), now=req.now)
    return req.t("Template set: the minutes of {council} are now written on {file}.",
                 council=req.council.name, file=document.file_name or "template.docx")
