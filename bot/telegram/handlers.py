"""Chat commands: each parses its arguments, calls one use case and renders the reply."""

from __future__ import annotations

from collections import Counter

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, User
from telegram.error import BadRequest

from bot.i18n import N_, translate
from bot.i18n.words import date_text
from bot.telegram.context import ChatRequest, Reply
from bot.telegram.render import (
    actions_text,
    agenda_text,
    meeting_line,
    proposals_line,
    role_text,
    roster,
    rules_text,
    series_change_lines,
    series_meetings,
    short_notice_line,
    start_link,
    when,
)
from meetings import usecases
from meetings.domain.errors import InvalidInput, UnknownMember, Word
from meetings.domain.model import ActionStatus, AgendaState, Member, Role, parse_meeting_ref
from meetings.domain.permissions import Act, require


async def setup(req: ChatRequest) -> str:
    """/setup <council name>: binds this group as a new council; the sender becomes chair."""
    (name,) = req.args(1, usage=N_("/setup <council name>"))
    user = req.update.effective_user
    assert user is not None
    administrators = await req.update.get_bot().get_chat_administrators(req.chat_id)
    defaults = req.env.defaults
    council, _ = await usecases.councils.setup_council(
        req.uow(), name=name, chat_id=req.chat_id, chair_telegram_id=user.id,
        chair_name=user.full_name, chair_username=user.username, now=req.now,
        timezone=defaults.timezone, language=req.language,
        holiday_country=defaults.holiday_country,
        is_group_admin=any(admin.user.id == user.id for admin in administrators))
    return req.t("This group is now the council {name}. You are its chair.\n"
                 "Next: add departments with /department <CODE> <name>.", name=council.name)


async def department(req: ChatRequest) -> str:
    """/department <CODE> <name>: adds a department."""
    code, name = req.args(2, usage=N_("/department <CODE> <name>"))
    added = await usecases.councils.add_department(req.uow(), req.council.id, code=code, name=name,
                                                   actor=member_of(req), now=req.now)
    return req.t("Department {code} added: {name}. Its CIO can now send /join {code}.",
                 code=added.code, name=added.name)


async def join(req: ChatRequest) -> Reply:
    """/join <CODE>: asks to be CIO of a department; the chair approves with a button."""
    (code,) = req.args(1, usage=N_("/join <CODE>"))
    user = req.update.effective_user
    assert user is not None
    request, department = await usecases.councils.request_join(
        req.uow(), req.council.id, code=code, telegram_id=user.id, name=user.full_name,
        username=user.username, now=req.now)
    keyboard = InlineKeyboardMarkup([[
        InlineKeyboardButton(req.t("Approve"), callback_data=f"j:{request.id}:a"),
        InlineKeyboardButton(req.t("Deny"), callback_data=f"j:{request.id}:d"),
    ]])
    return Reply(req.t("{name} asks to be the CIO of {code} ({department}). Chair, approve?",
                       name=request.name, code=department.code, department=department.name),
                 keyboard)


async def role(req: ChatRequest) -> str:
    """/role <user> <role> [CODE]: sets a member's role (user: @username, id, or a reply);
    `/role <user> chair` hands the chair over."""
    replied = req.update.effective_message and req.update.effective_message.reply_to_message
    target = replied.from_user if replied else None
    usage = N_("/role <@user|id> <chair|secretary|CIO|expert|observer> [CODE]")
    if target is not None:
        parts = req.args(2, usage=usage, at_least=1)
        ref = f"tg:{target.id}"
    else:
        ref, *parts = req.args(3, usage=usage, at_least=2)
    chosen = _role(parts[0], usage)
    code = parts[1] if len(parts) > 1 else None

    async def assign(newcomer: usecases.councils.Person | None) -> usecases.councils.RoleChange:
        return await usecases.councils.set_role(
            req.uow(), req.council.id, member_ref=ref, role=chosen, actor=member_of(req),
            now=req.now, department=code, newcomer=newcomer)

    try:
        change = await assign(_person(target) if target else None)
    except UnknownMember:
        # Not a member and not seen in the chat: Telegram still knows a chat member by id.
        newcomer = await _chat_user(req, ref)
        if newcomer is None:
            raise
        change = await assign(_person(newcomer))
    bot = req.update.get_bot()
    return role_text(req.language, change, start_link(bot.username, req.council.id))


def _person(user: User) -> usecases.councils.Person:
    return usecases.councils.Person(user.id, user.full_name, user.username)


async def _chat_user(req: ChatRequest, ref: str) -> User | None:
    """Someone in the council's chat by numeric id, so a newcomer can be given a role."""
    user_id = ref.removeprefix("tg:")
    if not (user_id.isascii() and user_id.isdigit()) or len(user_id) > 15:
        return None
    try:
        found = await req.update.get_bot().get_chat_member(req.chat_id, int(user_id))
    except BadRequest:
        return None
    return found.user


def _role(text: str, usage: str) -> Role:
    try:
        return Role(text.lower())
    except ValueError:
        raise InvalidInput("usage: {usage}", usage=Word(usage)) from None


async def members(req: ChatRequest) -> str:
    """/members: the roster with roles and departments."""
    people, departments = await usecases.councils.roster(req.env.database.uow(), req.council.id)
    return roster(req.language, req.council, people, departments)


async def cadence(req: ChatRequest) -> str:
    """/cadence <spec>: sets the regular series, e.g. `bimonthly 2TH 14:30 120` or an RRULE."""
    (spec,) = req.args(1, usage=N_("/cadence bimonthly 2TH 14:30 120"))
    done = await usecases.schedule.replace_series(
        req.uow(), req.council.id, spec=spec, actor=member_of(req), now=req.now
    )
    timezone = req.council.timezone
    ahead = series_meetings(done.change)
    lines = [req.t("Regular series set; meetings in the next twelve months: {count}.",
                   count=len(ahead))]
    lines += [meeting_line(req.language, timezone, meeting) for meeting in ahead[:6]]
    lines += series_change_lines(req.language, timezone, done.change)
    return "\n".join(lines)


async def schedule(req: ChatRequest) -> str:
    """/schedule <YYYY-MM-DD HH:MM> [minutes] [title]: schedules an extraordinary meeting."""
    usage = N_("/schedule <YYYY-MM-DD HH:MM> [minutes] [title]")
    day, clock, *rest = req.args(3, usage=usage, at_least=2)
    minutes, title = 120, " ".join(rest)
    if rest and rest[0].split(maxsplit=1)[0].isdigit():
        first, _, title = rest[0].partition(" ")
        minutes = int(first)
    meeting = await usecases.schedule.schedule_meeting(
        req.uow(),
        req.council.id,
        local_start=f"{day} {clock}",
        actor=member_of(req),
        now=req.now,
        duration_minutes=minutes,
        title=title,
    )
    scheduled = req.t(
        "Scheduled: {meeting}",
        meeting=meeting_line(req.language, req.council.timezone, meeting),
    )
    notice = short_notice_line(req.language, req.council, meeting)
    return f"{scheduled}\n{notice}" if notice else scheduled


async def reschedule(req: ChatRequest) -> str:
    """/reschedule <meeting> <YYYY-MM-DD HH:MM>: moves one meeting."""
    usage = N_("/reschedule <meeting id> <YYYY-MM-DD HH:MM>")
    meeting_id, day, clock = req.args(3, usage=usage)
    moved = await usecases.schedule.reschedule_meeting(
        req.uow(),
        req.council.id,
        parse_meeting(meeting_id, usage),
        local_start=f"{day} {clock}",
        actor=member_of(req),
        now=req.now,
    )
    return req.t(
        "Moved: {meeting}", meeting=meeting_line(req.language, req.council.timezone, moved)
    )


async def cancel(req: ChatRequest) -> str:
    """/cancel <meeting>: cancels one meeting; the series goes on."""
    usage = N_("/cancel <meeting id>")
    (meeting_id,) = req.args(1, usage=usage)
    cancelled = await usecases.schedule.cancel_meeting(
        req.uow(), req.council.id, parse_meeting(meeting_id, usage), actor=member_of(req),
        now=req.now,
    )
    return req.t(
        "Cancelled: {meeting}",
        meeting=meeting_line(req.language, req.council.timezone, cancelled),
    )


async def next_meeting(req: ChatRequest) -> str | Reply:
    """/next: the next meeting, its agenda state and the proposal deadline, with a button that
    sends the meeting as a one-event calendar file."""
    council = req.council
    meeting, agenda = await usecases.schedule.upcoming(
        req.env.database.uow(), council.id, now=req.now
    )
    if meeting is None:
        return req.t("No meeting is scheduled. The chair can set a series with /cadence.")
    states = Counter(item.state.value for item in agenda)
    lines = [
        req.t(
            "Next meeting: {meeting}",
            meeting=meeting_line(req.language, council.timezone, meeting),
        ),
        req.t(
            "Agenda items: {count} ({accepted} accepted, {proposed} proposed).",
            count=len(agenda),
            accepted=states["accepted"],
            proposed=states["proposed"],
        ),
    ]
    if closing := proposals_line(req.language, council, meeting, req.now):
        lines.append(closing)
    if meeting.location:
        lines.insert(1, req.t("Place: {place}", place=meeting.location))
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(
        req.t("Add to calendar"), callback_data=f"c:{meeting.id}")]])
    return Reply("\n".join(lines), keyboard)


async def propose(req: ChatRequest) -> str:
    """/propose <title> [| description]: a CIO proposes an item for the next meeting."""
    if not req.arguments.strip():
        raise InvalidInput("usage: {usage}", usage=Word("/propose <title> [| description]"))
    title, _, description = req.arguments.partition("|")
    proposal = await usecases.agenda.propose_item(
        req.uow(),
        req.council.id,
        title=title,
        description=description,
        actor=require(req.member, Act.PROPOSE),
        now=req.now,
    )
    council, meeting = req.council, proposal.meeting
    if proposal.missed is not None:
        return req.t(
            "Agenda #{id} proposed. The deadline for the meeting on {missed} has "
            "passed, so it goes to the meeting on {when} (meeting S{meeting}).",
            id=proposal.item.id,
            missed=when(req.language, council.timezone, proposal.missed),
            when=when(req.language, council.timezone, meeting),
            meeting=meeting.id,
        )
    return req.t(
        "Agenda #{id} proposed for the meeting on {when} (meeting S{meeting}).",
        id=proposal.item.id,
        when=when(req.language, council.timezone, meeting),
        meeting=meeting.id,
    )


_ITEM_USAGE = N_("/item [#meeting] <title> [| description]")


async def item(req: ChatRequest) -> str:
    """/item [#meeting] <title> [| description]: the office adds urgent business, accepted at
    once, to the meeting in progress, else the next one, or the one given."""
    text = req.arguments.strip()
    meeting_id = None
    if text.startswith("#"):
        reference, _, text = text.partition(" ")
        meeting_id = parse_id(reference, _ITEM_USAGE)
    title, _, description = text.partition("|")
    if not title.strip():
        raise InvalidInput("usage: {usage}", usage=Word(_ITEM_USAGE))
    added, meeting = await usecases.agenda.add_urgent_item(
        req.uow(),
        req.council.id,
        title=title,
        description=description,
        actor=require(req.member, Act.ADD_URGENT_ITEM),
        now=req.now,
        meeting_id=meeting_id,
    )
    return req.t(
        "Agenda #{id} added as urgent business to the meeting on {when} (meeting S{meeting}), "
        "accepted: {title}",
        id=added.id,
        when=when(req.language, req.council.timezone, meeting),
        meeting=meeting.id,
        title=added.title,
    )


async def agenda(req: ChatRequest) -> str:
    """/agenda [meeting id]: the agenda of the next meeting, or of the one given."""
    usage = N_("/agenda [meeting id]")
    given = req.args(1, usage=usage, at_least=0)
    found = await usecases.agenda.meeting_agenda(
        req.env.database.uow(),
        req.council.id,
        now=req.now,
        meeting_id=parse_meeting(given[0], usage) if given else None,
    )
    if found is None:
        return req.t("No meeting is scheduled. The chair can set a series with /cadence.")
    return agenda_text(req.language, req.council, found, req.now)


async def accept(req: ChatRequest) -> str:
    """/accept <id>: the chair puts an item on its meeting's agenda."""
    return await _decide(req, AgendaState.ACCEPTED, N_("/accept <agenda id>"))


async def defer(req: ChatRequest) -> str:
    """/defer <id>: the chair moves an item to the following meeting."""
    return await _decide(req, AgendaState.DEFERRED, N_("/defer <agenda id>"))


async def reject(req: ChatRequest) -> str:
    """/reject <id>: the chair turns an item down for good."""
    return await _decide(req, AgendaState.REJECTED, N_("/reject <agenda id>"))


_DECIDED = {
    AgendaState.ACCEPTED: N_("Agenda #{id} accepted: {title}"),
    AgendaState.REJECTED: N_("Agenda #{id} rejected: {title}"),
    AgendaState.DEFERRED: N_(
        "Agenda #{id} deferred to the meeting on {when} (meeting S{meeting}): {title}"
    ),
}


async def _decide(req: ChatRequest, state: AgendaState, usage: str) -> str:
    (item_id,) = req.args(1, usage=usage)
    item, meeting = await usecases.agenda.decide_item(
        req.uow(),
        req.council.id,
        parse_id(item_id, usage),
        state=state,
        actor=member_of(req),
        now=req.now,
    )
    return req.t(
        _DECIDED[state],
        id=item.id,
        title=item.title,
        meeting=meeting.id,
        when=when(req.language, req.council.timezone, meeting),
    )


async def major(req: ChatRequest) -> str:
    """/major <id>: the chair marks an item as a major issue of its meeting (accepting it)."""
    usage = N_("/major <agenda id>")
    (item_id,) = req.args(1, usage=usage)
    item = await usecases.agenda.mark_major_item(
        req.uow(), req.council.id, parse_id(item_id, usage), actor=member_of(req), now=req.now
    )
    return req.t("Agenda #{id} is a major issue: {title}", id=item.id, title=item.title)


async def action(req: ChatRequest) -> str:
    """/action <CODE> <YYYY-MM-DD> <text>: the office gives a department an action item."""
    code, due, text = req.args(3, usage=N_("/action <CODE> <YYYY-MM-DD> <text>"))
    item, department = await usecases.actions.assign_action(
        req.uow(), req.council.id, code=code, due=due, text=text, actor=member_of(req), now=req.now
    )
    return req.t(
        "Action A{id} for {code}, due {due}: {text}",
        id=item.id,
        code=department.code,
        due=date_text(req.language, item.due),
        text=item.text,
    )


_COMPLETED = {
    ActionStatus.DONE_ON_TIME: N_("Action A{id} done on time (due {due})."),
    ActionStatus.DONE_LATE: N_("Action A{id} done late (due {due})."),
}


async def done(req: ChatRequest) -> str:
    """/done <action> [note]: the owning CIO or the office marks an action item done."""
    usage = N_("/done <action id> [note]")
    action_id, *note = req.args(2, usage=usage, at_least=1)
    item, verdict = await usecases.actions.complete_action(
        req.uow(),
        req.council.id,
        parse_id(action_id, usage, letter="A"),
        note=" ".join(note),
        actor=member_of(req),
        now=req.now,
    )
    return req.t(_COMPLETED[verdict], id=item.id, due=date_text(req.language, item.due))


async def actions(req: ChatRequest) -> str:
    """/actions [CODE]: open action items, overdue first, of one department when given."""
    given = req.args(1, usage=N_("/actions [CODE]"), at_least=0)
    found = await usecases.actions.open_actions(
        req.env.database.uow(), req.council.id, now=req.now, code=given[0] if given else None
    )
    return actions_text(req.language, found)


async def lang(req: ChatRequest) -> str:
    """/lang <en|zh>: sets the council's language."""
    (language,) = req.args(1, usage=N_("/lang <en|zh>"))
    council = await usecases.councils.set_language(
        req.uow(), req.council.id, language=language.lower(), actor=member_of(req), now=req.now
    )
    # Answered in the language just chosen, so the council sees the change at once.
    return translate(council.language, "Language set to English.")


async def rules(req: ChatRequest) -> str:
    """/rules [setting value]: the council's rules of procedure; the chair changes one."""
    if not req.arguments.strip():
        return rules_text(req.language, req.council)
    setting, *value = req.args(2, usage=N_("/rules [quorum|majority|majors|deadline|call "
                                           "<value>]"), at_least=2)
    council = await usecases.councils.set_rule(
        req.uow(), req.council.id, setting=setting, value=" ".join(value),
        actor=member_of(req), now=req.now)
    return "\n".join([req.t("Rule changed; votes already open keep their rules."),
                      rules_text(req.language, council)])


def member_of(req: ChatRequest) -> Member:
    """The sender as a member; a stranger is refused like any unauthorised act."""
    return require(req.member, Act.VIEW)


def parse_meeting(text: str, usage: str) -> int:
    """A meeting as the bot shows it, `S12`, or as it did before, `#12` or `12`."""
    found = parse_meeting_ref(text)
    if found is None:
        raise InvalidInput("usage: {usage}", usage=Word(usage))
    return found


def parse_id(text: str, usage: str, *, letter: str = "#") -> int:
    """An id as the bot shows it: `5` or `#5` (agenda items), `A7` with ``letter="A"``
    (actions), `M3` with ``letter="M"`` (motions); meetings: `parse_meeting`."""
    digits = text[1:] if text[:1].upper() == letter else text
    # ASCII only: str.isdigit() also accepts "²" and "١", which int() refuses or misreads.
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 9:
        raise InvalidInput("usage: {usage}", usage=Word(usage))
    return int(digits)
