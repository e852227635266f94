"""Chat commands of the meeting itself: roll call, attendance, topic, notes, decisions, undo.

Like `handlers`: each parses, calls one use case (`meetings.conduct`) and renders the reply.
"""

from __future__ import annotations

from telegram import Message

from bot.i18n import N_
from bot.telegram.context import ChatRequest, Reply
from bot.telegram.handlers import member_of, parse_id, parse_meeting
from bot.telegram.minutes import minutes_reply
from bot.telegram.render import ended_text, quorum_line, roll_call_message
from meetings import usecases
from meetings.domain.errors import InvalidInput, Word
from meetings.domain.model import Decision, Guest, NoteKind
from meetings.domain.permissions import Act, require


async def start_meeting(req: ChatRequest) -> Reply:
    """/startmeeting [meeting id]: opens today's meeting with a roll call."""
    usage = N_("/startmeeting [meeting id]")
    given = req.args(1, usage=usage, at_least=0)
    call = await usecases.meeting.start_meeting(
        req.uow(),
        req.council.id,
        actor=member_of(req),
        now=req.now,
        meeting_id=parse_meeting(given[0], usage) if given else None,
    )

    async def sent(message: Message) -> None:
        # Remembered so the message can show who is in as people answer (`LiveRollCalls`).
        await usecases.meeting.attach_roll_call(
            req.env.database.uow(), call.meeting.id, chat_id=message.chat_id,
            message_id=message.message_id)
        # Anyone who answered while it was being sent is shown too.
        req.roll_calls.touch(call.meeting.id)

    text, keyboard = roll_call_message(req.language, req.council.timezone, call)
    return Reply(text, keyboard, sent)


async def here(req: ChatRequest) -> str:
    """/here: a CIO, an expert or the office marks themself present in person."""
    marked = await usecases.meeting.mark_here(
        req.uow(), req.council.id, actor=require(req.member, Act.MARK_HERE), now=req.now
    )
    req.roll_calls.touch(marked.attendance.meeting_id)
    name = member_of(req).name
    said = (req.t("{name} is present.", name=name) if marked.new
            else req.t("{name} is already marked present.", name=name))
    return f"{said}\n{quorum_line(req.language, marked.presence)}"


async def proxy(req: ChatRequest) -> str:
    """/proxy <CODE> <name>: a deputy attends for a department (and may not vote)."""
    code, name = req.args(2, usage=N_("/proxy <CODE> <name>"))
    record, department, meeting = await usecases.meeting.record_proxy(
        req.uow(), req.council.id, code=code, name=name, actor=member_of(req), now=req.now
    )
    req.roll_calls.touch(meeting.id)
    return req.t(
        "{code} is represented by proxy {name} at meeting S{meeting}; a proxy may not vote.",
        code=department.code,
        name=record.proxy_name,
        meeting=meeting.id,
    )


async def excused(req: ChatRequest) -> str:
    """/excused <CODE> [reason]: a department's CIO is excused."""
    code, *reason = req.args(2, usage=N_("/excused <CODE> [reason]"), at_least=1)
    _, department, meeting = await usecases.meeting.record_excused(
        req.uow(),
        req.council.id,
        code=code,
        reason=" ".join(reason),
        actor=member_of(req),
        now=req.now,
    )
    req.roll_calls.touch(meeting.id)
    return req.t(
        "{code} is excused from meeting S{meeting}.", code=department.code, meeting=meeting.id
    )


async def guest(req: ChatRequest) -> str:
    """/guest <name> [| organisation]: the office records an invited guest without Telegram
    as attending the meeting (列席); a guest never votes."""
    name, _, organisation = req.arguments.partition("|")
    if not name.strip():
        raise InvalidInput("usage: {usage}", usage=Word("/guest <name> [| organisation]"))
    recorded, meeting = await usecases.meeting.record_guest(
        req.uow(), req.council.id, name=name, organisation=organisation,
        actor=require(req.member, Act.RECORD_ATTENDANCE), now=req.now)
    if recorded.organisation:
        return req.t("Guest {name} ({organisation}) is attending meeting S{meeting}; a guest "
                     "does not vote. /undo takes this back.", name=recorded.name,
                     organisation=recorded.organisation, meeting=meeting.id)
    return req.t("Guest {name} is attending meeting S{meeting}; a guest does not vote. /undo "
                 "takes this back.", name=recorded.name, meeting=meeting.id)


async def topic(req: ChatRequest) -> str:
    """/topic <agenda id>: moves the discussion to an agenda item."""
    usage = N_("/topic <agenda id>")
    (item_id,) = req.args(1, usage=usage)
    item = await usecases.meeting.set_topic(
        req.uow(), req.council.id, parse_id(item_id, usage), actor=member_of(req), now=req.now
    )
    return req.t("Now discussing #{id}: {title}", id=item.id, title=item.title)


async def info(req: ChatRequest) -> str:
    """/info <text>: information for the minutes."""
    return await _note(req, NoteKind.INFO, N_("/info <text>"))


async def idea(req: ChatRequest) -> str:
    """/idea <text>: an idea for the minutes."""
    return await _note(req, NoteKind.IDEA, N_("/idea <text>"))


_NOTE_KINDS = {NoteKind.INFO: N_("info"), NoteKind.IDEA: N_("idea")}


async def _note(req: ChatRequest, kind: NoteKind, usage: str) -> str:
    if not req.arguments.strip():
        raise InvalidInput("usage: {usage}", usage=Word(usage))
    note = await usecases.meeting.add_note(
        req.uow(), req.council.id, kind=kind, text=req.arguments, actor=member_of(req), now=req.now
    )
    return req.t("Noted ({kind} {id}).", kind=req.t(_NOTE_KINDS[kind]), id=note.id)


async def agreed(req: ChatRequest) -> str:
    """/agreed <text>: the chair records a decision taken without a vote."""
    if not req.arguments.strip():
        raise InvalidInput("usage: {usage}", usage=Word("/agreed <text>"))
    decision = await usecases.meeting.record_agreed(
        req.uow(), req.council.id, text=req.arguments, actor=member_of(req), now=req.now
    )
    return req.t("Decision D{id} recorded: {text}", id=decision.id, text=decision.text)


async def undo(req: ChatRequest) -> str:
    """/undo: removes the last note, decision or guest recorded (never a vote)."""
    removed = await usecases.meeting.undo_last(
        req.uow(), req.council.id, actor=member_of(req), now=req.now
    )
    if isinstance(removed, Decision):
        return req.t("Removed decision D{id}: {text}", id=removed.id, text=removed.text)
    if isinstance(removed, Guest):
        return req.t("Removed guest {name} from the attendance.", name=removed.name)
    return req.t("Removed note {id}: {text}", id=removed.id, text=removed.text)


async def end_meeting(req: ChatRequest) -> Reply:
    """/endmeeting: ends the meeting; whoever did not answer the roll call is absent. The draft
    minutes follow as a Word document."""
    ended = await usecases.meeting.end_meeting(
        req.uow(), req.council.id, actor=member_of(req), now=req.now
    )
    # The roll call's last edit: the final attendance, without the Here button.
    req.roll_calls.touch(ended.meeting.id)
    members, departments = await usecases.councils.roster(req.env.database.uow(), req.council.id)
    # The meeting's end is committed (and this update recorded) above; the draft is its own
    # unit of work, so a redelivered /endmeeting cannot end the meeting twice.
    draft = await usecases.minutes.draft_minutes(
        req.env.database.uow(), req.council.id, ended.meeting.id, actor=member_of(req),
        now=req.now
    )
    return minutes_reply(req, draft, ended_text(req.language, ended, departments, members))
