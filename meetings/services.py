"""Use cases: one short async function each — load, apply the rules, store, audit, commit.

Every function takes the unit of work, the acting party and ``now``. The actor is a council `Member`
(authorised by role) or the `Operator` running the command line on the server, who may do anything
the council's office may.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from meetings.domain import actions, agenda, scheduling
from meetings.domain.agenda import Agenda
from meetings.domain.audit import ChainBreak, verify
from meetings.domain.calendars import public_holidays
from meetings.domain.errors import (
    Duplicate,
    InvalidInput,
    InvalidState,
    NotAllowed,
    NotFound,
    UnknownCouncil,
    UnknownDepartment,
    UnknownMeeting,
    UnknownMember,
)
from meetings.domain.model import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    AgendaState,
    Council,
    Department,
    JoinRequest,
    JoinState,
    Meeting,
    MeetingKind,
    MeetingState,
    Member,
    Role,
    Series,
)
from meetings.domain.permissions import Act, may_complete_action, require
from meetings.domain.reminders import agenda_deadline
from meetings.domain.text import TEXT_MAX, clean, department_code, optional, shown
from meetings.ports import AuditEntry, UnitOfWork


@dataclass(frozen=True, slots=True)
class Operator:
    """Whoever runs the command line on the server: trusted like the council's office."""

    name: str = "cli"


Actor = Member | Operator


def _actor_label(actor: Actor) -> str:
    if isinstance(actor, Operator):
        return f"operator:{actor.name}"
    return f"member:{actor.id}"


def authorise(actor: Actor, act: Act) -> None:
    if isinstance(actor, Member):
        require(actor, act)


async def record(uow: UnitOfWork, council_id: int, actor: Actor, action: str, now: datetime,
                 **payload: object) -> None:
    await uow.audit.append(AuditEntry(council_id, _actor_label(actor), action, payload, now))


async def council_by_ref(uow: UnitOfWork, ref: str | None) -> Council:
    """A council by numeric id or exact name; with no ref, the only council there is."""
    if ref is None:
        councils = await uow.councils.list()
        if len(councils) == 1:
            return councils[0]
        if not councils:
            raise UnknownCouncil("no council exists yet; create one with `council create`")
        raise UnknownCouncil("several councils exist; say which one with --council")
    council = await uow.councils.get(int(ref)) if ref.isdigit() else None
    council = council or await uow.councils.by_name(ref)
    if council is None:
        raise UnknownCouncil("no council named {name}", name=shown(ref))
    return council


async def department_of(uow: UnitOfWork, council_id: int, code: str) -> Department:
    department = await uow.departments.by_code(council_id, department_code(code))
    if department is None:
        raise UnknownDepartment("no department with code {code}",
                                code=shown(code.strip().upper(), 20))
    return department


async def meeting_of(uow: UnitOfWork, council_id: int, meeting_id: int) -> Meeting:
    meeting = await uow.meetings.get(meeting_id)
    if meeting is None or meeting.council_id != council_id:
        raise UnknownMeeting("no meeting {id} in this council", id=meeting_id)
    return meeting


# --- councils, departments, members -------------------------------------------------------------

async def create_council(
    uow: UnitOfWork, *, name: str, actor: Actor, now: datetime, timezone: str = "Asia/Shanghai",
    language: str = "en", holiday_country: str = "CN", chat_id: int | None = None,
) -> Council:
    council = Council(
        name=clean(name, field="council name"),
        timezone=scheduling.zone(timezone).key,
        language=_language(language),
        holiday_country=holiday_country.upper(),
        chat_id=chat_id,
    )
    public_holidays(council.holiday_country)  # refuse an unknown country before storing anything
    async with uow:
        if await uow.councils.by_name(council.name) is not None:
            raise Duplicate("a council named {name} already exists", name=shown(council.name))
        council = await uow.councils.add(council)
        await record(uow, council.id, actor, "council.create", now, name=council.name)
        await uow.commit()
    return council


def _language(language: str) -> str:
    if language not in ("en", "zh"):
        raise InvalidInput("language {language} is not supported (en, zh)",
                           language=shown(language, 10))
    return language


async def add_department(
    uow: UnitOfWork, council_id: int, *, code: str, name: str, actor: Actor, now: datetime
) -> Department:
    authorise(actor, Act.ADD_DEPARTMENT)
    department = Department(council_id, department_code(code), clean(name, field="department name"))
    async with uow:
        department = await uow.departments.add(department)
        await record(uow, council_id, actor, "department.add", now,
                     code=department.code, name=department.name)
        await uow.commit()
    return department


async def add_member(
    uow: UnitOfWork, council_id: int, *, name: str, role: Role, actor: Actor, now: datetime,
    telegram_id: int | None = None, username: str | None = None, department: str | None = None,
) -> Member:
    authorise(actor, Act.SET_ROLE)
    async with uow:
        department_id = await _role_department(uow, council_id, role, department)
        member = await uow.members.add(Member(
            council_id=council_id,
            name=clean(name, field="member name"),
            role=role,
            telegram_id=telegram_id,
            username=optional((username or "").lstrip("@"), field="username", max_length=64)
            or None,
            department_id=department_id,
        ))
        await record(uow, council_id, actor, "member.add", now, member=member.id,
                     role=role.value, department=department_id)
        await uow.commit()
    return member


async def _role_department(
    uow: UnitOfWork, council_id: int, role: Role, code: str | None, member_id: int | None = None
) -> int | None:
    """A CIO must stand for exactly one department, which has no other CIO; nobody else does."""
    if role is not Role.CIO:
        if code:
            raise InvalidInput("only a CIO represents a department, not a {role}",
                               role=role.value)
        return None
    if not code:
        raise InvalidInput("a CIO needs a department code")
    department = await department_of(uow, council_id, code)
    for other in await uow.members.list(council_id):
        if (other.role is Role.CIO and other.department_id == department.id
                and other.id != member_id):
            raise Duplicate("{code} already has a CIO: {name}", code=department.code,
                            name=other.name)
    return department.id


async def member_by_ref(uow: UnitOfWork, council_id: int, ref: str) -> Member:
    """A member by internal id, Telegram id (``tg:123`` or a bare number) or @username."""
    ref = ref.strip()
    member: Member | None = None
    if ref.startswith("@"):
        member = await uow.members.by_username(council_id, ref[1:])
    elif ref.startswith("tg:") and ref[3:].isdigit():
        member = await uow.members.by_telegram(council_id, int(ref[3:]))
    elif ref.isdigit():
        member = await uow.members.get(int(ref))
        member = member if member and member.council_id == council_id else None
        member = member or await uow.members.by_telegram(council_id, int(ref))
    if member is None:
        raise UnknownMember("no member {ref} in this council", ref=shown(ref))
    return member


async def set_role(
    uow: UnitOfWork, council_id: int, *, member_ref: str, role: Role, actor: Actor, now: datetime,
    department: str | None = None,
) -> Member:
    authorise(actor, Act.SET_ROLE)
    async with uow:
        member = await member_by_ref(uow, council_id, member_ref)
        department_id = await _role_department(uow, council_id, role, department, member.id)
        member = await uow.members.update(replace(member, role=role, department_id=department_id))
        await record(uow, council_id, actor, "member.role", now, member=member.id,
                     role=role.value, department=department_id)
        await uow.commit()
    return member


# --- the meeting series and single meetings -----------------------------------------------------

async def set_series(
    uow: UnitOfWork, council_id: int, *, spec: str, actor: Actor, now: datetime,
    starting: date | None = None, location: str = "",
) -> tuple[Series, list[Meeting]]:
    """Sets the regular series and materialises its meetings for the coming twelve months.

    Future regular meetings of an earlier series that nobody has touched yet (still scheduled,
    no agenda items) are replaced; anything with agenda items is kept.
    """
    authorise(actor, Act.SET_CADENCE)
    cadence = scheduling.parse_cadence(spec)
    async with uow:
        council = await council_of(uow, council_id)
        local_today = scheduling.to_local(now, council.timezone).date()
        series = scheduling.series_from_cadence(
            council_id, cadence, starting=starting or local_today,
            location=optional(location, field="location"),
        )
        series = await uow.series.put(series)
        for meeting in await uow.meetings.list(council_id, since=now):
            if (meeting.kind is MeetingKind.REGULAR and meeting.state is MeetingState.SCHEDULED
                    and not await uow.agenda.list(meeting.id)):
                await uow.meetings.delete(meeting.id)
        planned = await _plan(uow, council, series, now)
        await record(uow, council_id, actor, "series.set", now, rrule=series.rrule,
                     local_start=series.local_start.isoformat(), planned=len(planned))
        await uow.commit()
    return series, planned


async def extend_series(uow: UnitOfWork, council_id: int, *, now: datetime) -> list[Meeting]:
    """Tops the series up to the rolling twelve-month horizon (run daily)."""
    async with uow:
        council = await council_of(uow, council_id)
        series = await uow.series.get(council_id)
        planned = await _plan(uow, council, series, now) if series else []
        if planned:
            await record(uow, council_id, Operator("scheduler"), "series.extend", now,
                         planned=len(planned))
        await uow.commit()
    return planned


async def _plan(uow: UnitOfWork, council: Council, series: Series, now: datetime) -> list[Meeting]:
    existing = await uow.meetings.list(council.id)
    new = scheduling.plan_series(
        series, council.timezone, public_holidays(council.holiday_country), existing, now=now
    )
    return [await uow.meetings.add(meeting) for meeting in new]


async def council_of(uow: UnitOfWork, council_id: int) -> Council:
    council = await uow.councils.get(council_id)
    if council is None:
        raise UnknownCouncil("no council {id}", id=council_id)
    return council


async def schedule_meeting(
    uow: UnitOfWork, council_id: int, *, local_start: str, actor: Actor, now: datetime,
    duration_minutes: int = 120, title: str = "", location: str = "",
) -> Meeting:
    authorise(actor, Act.SCHEDULE)
    start = scheduling.parse_local_datetime(local_start)
    async with uow:
        council = await council_of(uow, council_id)
        meeting = scheduling.schedule_extraordinary(
            council_id, start, council.timezone, public_holidays(council.holiday_country),
            now=now, duration_minutes=duration_minutes,
            title=title, location=location,
        )
        meeting = await uow.meetings.add(meeting)
        await record(uow, council_id, actor, "meeting.schedule", now, meeting=meeting.id,
                     starts_at=meeting.starts_at.isoformat())
        await uow.commit()
    return meeting


async def reschedule_meeting(
    uow: UnitOfWork, council_id: int, meeting_id: int, *, local_start: str, actor: Actor,
    now: datetime, reason: str = "",
) -> Meeting:
    authorise(actor, Act.SCHEDULE)
    start = scheduling.parse_local_datetime(local_start)
    async with uow:
        council = await council_of(uow, council_id)
        meeting = await meeting_of(uow, council_id, meeting_id)
        moved = scheduling.reschedule(
            meeting, start, council.timezone, public_holidays(council.holiday_country), now=now,
            reason=reason,
        )
        moved = await uow.meetings.update(moved)
        await record(uow, council_id, actor, "meeting.reschedule", now, meeting=meeting.id,
                     old=meeting.starts_at.isoformat(), new=moved.starts_at.isoformat())
        await uow.commit()
    return moved


async def cancel_meeting(
    uow: UnitOfWork, council_id: int, meeting_id: int, *, actor: Actor, now: datetime
) -> Meeting:
    authorise(actor, Act.SCHEDULE)
    async with uow:
        meeting = await meeting_of(uow, council_id, meeting_id)
        cancelled = await uow.meetings.update(scheduling.cancel(meeting, now=now))
        await record(uow, council_id, actor, "meeting.cancel", now, meeting=meeting.id)
        await uow.commit()
    return cancelled


# --- reading ------------------------------------------------------------------------------------

async def list_meetings(
    uow: UnitOfWork, council_id: int, *, since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[Meeting]:
    async with uow:
        return await uow.meetings.list(council_id, since=since, until=until)


async def verify_audit(uow: UnitOfWork) -> tuple[int, list[ChainBreak]]:
    """How many events were checked across all councils, and where the chains break."""
    async with uow:
        events = [event for council in await uow.councils.list()
                  for event in await uow.audit.list(council.id)]
    return len(events), verify(events)


# --- the council's chat -------------------------------------------------------------------------

async def setup_council(
    uow: UnitOfWork, *, name: str, chat_id: int, chair_telegram_id: int, chair_name: str,
    chair_username: str | None, now: datetime, timezone: str = "Asia/Shanghai",
    language: str = "en", holiday_country: str = "CN", is_group_admin: bool,
) -> tuple[Council, Member]:
    """Binds a group chat as a new council; the group admin who asked becomes its chair."""
    if not is_group_admin:
        raise NotAllowed("only an administrator of this group may set it up as a council")
    async with uow:
        bound = await uow.councils.by_chat(chat_id)
        if bound is not None:
            raise Duplicate("this chat is already the council {name}", name=bound.name)
        if await uow.councils.by_name(clean(name, field="council name")) is not None:
            raise Duplicate("a council named {name} already exists", name=shown(name))
        council = await uow.councils.add(Council(
            name=clean(name, field="council name"), timezone=scheduling.zone(timezone).key,
            language=_language(language), holiday_country=holiday_country.upper(),
            chat_id=chat_id))
        chair = await uow.members.add(Member(
            council_id=council.id, name=clean(chair_name, field="name"), role=Role.CHAIR,
            telegram_id=chair_telegram_id, username=_username(chair_username)))
        await record(uow, council.id, chair, "council.setup", now, chat=chat_id)
        await uow.commit()
    return council, chair


def _username(username: str | None) -> str | None:
    return optional((username or "").lstrip("@"), field="username", max_length=64) or None


async def request_join(
    uow: UnitOfWork, council_id: int, *, code: str, telegram_id: int, name: str,
    username: str | None, now: datetime,
) -> tuple[JoinRequest, Department]:
    """Someone asks to be the CIO of a department; the chair approves or denies it."""
    async with uow:
        department = await department_of(uow, council_id, code)
        existing = await uow.members.by_telegram(council_id, telegram_id)
        if existing is not None and existing.role is Role.CIO:
            raise Duplicate("you are already a CIO in this council")
        await _no_cio_yet(uow, council_id, department)
        request = await uow.join_requests.add(JoinRequest(
            council_id=council_id, telegram_id=telegram_id, name=clean(name, field="name"),
            username=_username(username), department_id=department.id, requested_at=now))
        await record(uow, council_id, Operator(f"telegram:{telegram_id}"), "join.request", now,
                     request=request.id, department=department.code)
        await uow.commit()
    return request, department


async def _no_cio_yet(uow: UnitOfWork, council_id: int, department: Department) -> None:
    for other in await uow.members.list(council_id):
        if other.role is Role.CIO and other.department_id == department.id:
            raise Duplicate("{code} already has a CIO: {name}", code=department.code,
                            name=other.name)


async def decide_join(
    uow: UnitOfWork, council_id: int, request_id: int, *, approve: bool, actor: Actor,
    now: datetime,
) -> tuple[JoinRequest, Member | None]:
    """The chair approves (the person becomes the department's CIO) or denies a request."""
    authorise(actor, Act.APPROVE_JOIN)
    async with uow:
        request = await uow.join_requests.get(request_id)
        if request is None or request.council_id != council_id:
            raise NotFound("no join request {id}", id=request_id)
        if request.state is not JoinState.PENDING:
            raise InvalidState("this request was already {state}", state=request.state.value)
        member = None
        if approve:
            department = await uow.departments.get(request.department_id)
            assert department is not None  # the foreign key keeps it
            await _no_cio_yet(uow, council_id, department)
            member = await _become_cio(uow, request, department)
        request = await uow.join_requests.update(replace(
            request, state=JoinState.APPROVED if approve else JoinState.DENIED, decided_at=now))
        await record(uow, council_id, actor, "join.approve" if approve else "join.deny", now,
                     request=request.id)
        await uow.commit()
    return request, member


async def _become_cio(uow: UnitOfWork, request: JoinRequest, department: Department) -> Member:
    existing = await uow.members.by_telegram(request.council_id, request.telegram_id)
    if existing is not None:
        return await uow.members.update(
            replace(existing, role=Role.CIO, department_id=department.id))
    return await uow.members.add(Member(
        council_id=request.council_id, name=request.name, role=Role.CIO,
        telegram_id=request.telegram_id, username=request.username,
        department_id=department.id))


async def set_language(
    uow: UnitOfWork, council_id: int, *, language: str, actor: Actor, now: datetime
) -> Council:
    authorise(actor, Act.SET_LANGUAGE)
    async with uow:
        council = await uow.councils.update(
            replace(await council_of(uow, council_id), language=_language(language)))
        await record(uow, council_id, actor, "council.language", now, language=language)
        await uow.commit()
    return council


async def move_chat(uow: UnitOfWork, *, old_chat_id: int, new_chat_id: int,
                    now: datetime) -> Council | None:
    """Follows a group's upgrade to a supergroup (Telegram gives it a new chat id)."""
    async with uow:
        council = await uow.councils.by_chat(old_chat_id)
        if council is None:
            return None
        council = await uow.councils.update(replace(council, chat_id=new_chat_id))
        await record(uow, council.id, Operator("telegram"), "council.chat_moved", now,
                     old=old_chat_id, new=new_chat_id)
        await uow.commit()
    return council


async def set_bot_presence(uow: UnitOfWork, *, chat_id: int, present: bool,
                           now: datetime) -> Council | None:
    """Notes the bot being added to or removed from a council's chat (no messages meanwhile)."""
    async with uow:
        council = await uow.councils.by_chat(chat_id)
        if council is None or council.active == present:
            return council
        council = await uow.councils.update(replace(council, active=present))
        await record(uow, council.id, Operator("telegram"),
                     "bot.added" if present else "bot.removed", now)
        await uow.commit()
    return council


@dataclass(frozen=True, slots=True)
class Sender:
    """Who wrote to the bot, as the council sees them."""

    council: Council | None
    member: Member | None


async def identify(uow: UnitOfWork, *, chat_id: int, telegram_id: int,
                   private: bool) -> Sender:
    """The council of a group chat (or, in a private chat, the sender's only council) and the
    sender's membership in it."""
    async with uow:
        if private:
            memberships = await uow.members.memberships(telegram_id)
            if len(memberships) != 1:
                return Sender(None, None)
            return Sender(await uow.councils.get(memberships[0].council_id), memberships[0])
        council = await uow.councils.by_chat(chat_id)
        member = await uow.members.by_telegram(council.id, telegram_id) if council else None
    return Sender(council, member)


async def roster(uow: UnitOfWork, council_id: int
                 ) -> tuple[Sequence[Member], Sequence[Department]]:
    """The council's members and departments."""
    async with uow:
        return await uow.members.list(council_id), await uow.departments.list(council_id)


async def upcoming(uow: UnitOfWork, council_id: int, *, now: datetime
                   ) -> tuple[Meeting | None, Sequence[AgendaItem]]:
    """The next meeting that has not ended, and its agenda."""
    async with uow:
        meeting = scheduling.next_meeting(await uow.meetings.list(council_id, since=now - _DAY),
                                          now)
        agenda = await uow.agenda.list(meeting.id) if meeting else []
    return meeting, agenda


_DAY = timedelta(days=1)


# --- agenda collection --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Proposal:
    """A stored proposal, the meeting it went to, and the next meeting it missed (if it did)."""

    item: AgendaItem
    meeting: Meeting
    missed: Meeting | None


async def propose_item(
    uow: UnitOfWork, council_id: int, *, title: str, description: str, actor: Member,
    now: datetime,
) -> Proposal:
    """A department CIO proposes an item for the next meeting still taking proposals."""
    require(actor, Act.PROPOSE)
    title = clean(title, field="title")
    description = (clean(description, field="description", max_length=TEXT_MAX, multiline=True)
                   if description.strip() else "")
    async with uow:
        council = await council_of(uow, council_id)
        meetings = await uow.meetings.list(council_id, since=now)
        meeting, _ = agenda.target_meeting(meetings, council, now=now)
        item = await uow.agenda.add(AgendaItem(
            meeting_id=meeting.id, title=title, proposer_id=actor.id,
            department_id=actor.department_id, proposed_at=now, description=description))
        await record(uow, council_id, actor, "agenda.propose", now, item=item.id,
                     meeting=meeting.id)
        await uow.commit()
    return Proposal(item, meeting, agenda.passed_over(meetings, meeting, now=now))


async def _agenda_item(uow: UnitOfWork, council_id: int, item_id: int
                       ) -> tuple[AgendaItem, Meeting]:
    item = await uow.agenda.get(item_id)
    meeting = await uow.meetings.get(item.meeting_id) if item else None
    if item is None or meeting is None or meeting.council_id != council_id:
        raise NotFound("no agenda item #{id} in this council", id=item_id)
    return item, meeting


async def decide_item(
    uow: UnitOfWork, council_id: int, item_id: int, *, state: AgendaState, actor: Actor,
    now: datetime,
) -> tuple[AgendaItem, Meeting]:
    """The chair accepts, defers or rejects an item; returns it and the meeting it is now on.

    A deferred item moves to the following meeting (still marked deferred, so that meeting's
    agenda shows it was put off and the chair accepts it there), rather than lingering on a
    meeting that will not discuss it.
    """
    authorise(actor, Act.DECIDE_AGENDA)
    async with uow:
        item, meeting = await _agenda_item(uow, council_id, item_id)
        agenda.open_for_decisions(meeting, item)
        decided = agenda.decide(item, state)
        if state is AgendaState.DEFERRED:
            meeting = agenda.following(
                await uow.meetings.list(council_id, since=meeting.starts_at), meeting)
            decided = replace(decided, meeting_id=meeting.id)
        decided = await uow.agenda.update(decided)
        await record(uow, council_id, actor, f"agenda.{state.value}", now, item=item.id,
                     meeting=meeting.id, was=item.meeting_id)
        await uow.commit()
    return decided, meeting


async def mark_major_item(
    uow: UnitOfWork, council_id: int, item_id: int, *, actor: Actor, now: datetime
) -> AgendaItem:
    """The chair marks an item as one of the meeting's major issues (accepting it)."""
    authorise(actor, Act.DECIDE_AGENDA)
    async with uow:
        council = await council_of(uow, council_id)
        item, meeting = await _agenda_item(uow, council_id, item_id)
        agenda.open_for_decisions(meeting, item)
        marked = agenda.mark_major(item, await uow.agenda.list(meeting.id),
                                   limit=council.max_major_issues)
        if marked != item:
            marked = await uow.agenda.update(marked)
            await record(uow, council_id, actor, "agenda.major", now, item=item.id,
                         meeting=meeting.id)
        await uow.commit()
    return marked


async def meeting_agenda(uow: UnitOfWork, council_id: int, *, now: datetime,
                         meeting_id: int | None = None) -> Agenda | None:
    """The agenda of the given meeting, or of the next one (None when nothing is scheduled)."""
    async with uow:
        council = await council_of(uow, council_id)
        if meeting_id is None:
            meeting = scheduling.next_meeting(
                await uow.meetings.list(council_id, since=now - _DAY), now)
            if meeting is None:
                return None
        else:
            meeting = await meeting_of(uow, council_id, meeting_id)
        return await agenda_of(uow, council, meeting, now=now)


async def agenda_of(uow: UnitOfWork, council: Council, meeting: Meeting, *,
                    now: datetime) -> Agenda:
    """Reads a meeting's agenda inside the caller's unit of work (shared with the outbox)."""
    today = scheduling.to_local(now, council.timezone).date()
    return Agenda(
        meeting=meeting,
        deadline=agenda_deadline(meeting, council),
        items=tuple(sorted(await uow.agenda.list(meeting.id), key=lambda i: i.id)),
        departments=tuple(await uow.departments.list(council.id)),
        review=tuple(actions.carried_over(await uow.actions.list(council.id), today=today)),
        today=today,
    )


# --- action items -------------------------------------------------------------------------------

def _today(council: Council, now: datetime) -> date:
    """The council's local date: due dates and lateness are judged where the council sits."""
    return scheduling.to_local(now, council.timezone).date()


async def assign_action(
    uow: UnitOfWork, council_id: int, *, code: str, due: str, text: str, actor: Actor,
    now: datetime,
) -> tuple[ActionItem, Department]:
    """The office gives a department an action item due on a local date, today or later.

    It is linked to the meeting in progress, if any: that is where actions are agreed. Between
    meetings it belongs to none (``meeting_id`` None) rather than to a guessed one; the review at
    every following meeting lists it either way.
    """
    authorise(actor, Act.ASSIGN_ACTION)
    text = clean(text, field="action", max_length=TEXT_MAX)
    async with uow:
        council = await council_of(uow, council_id)
        due_day = actions.parse_due(due, today=_today(council, now))
        department = await department_of(uow, council_id, code)
        running = [m for m in await uow.meetings.list(council_id, since=now - 2 * _DAY)
                   if m.state is MeetingState.IN_PROGRESS]
        meeting_id = min(running, key=lambda m: m.starts_at).id if running else None
        item = await uow.actions.add(ActionItem(council_id, department.id, text, due_day, now,
                                                meeting_id=meeting_id))
        await record(uow, council_id, actor, "action.assign", now, item=item.id,
                     department=department.code, due=due_day.isoformat(), meeting=meeting_id)
        await uow.commit()
    return item, department


async def complete_action(
    uow: UnitOfWork, council_id: int, action_id: int, *, note: str, actor: Actor, now: datetime
) -> tuple[ActionItem, ActionStatus]:
    """The owning department's CIO or the office marks an item done; says on time or late."""
    note = optional(note, field="note", max_length=TEXT_MAX)
    async with uow:
        council = await council_of(uow, council_id)
        item = await uow.actions.get(action_id)
        if item is None or item.council_id != council_id:
            raise NotFound("no action item A{id} in this council", id=action_id)
        if isinstance(actor, Member) and not may_complete_action(actor, item.department_id):
            raise NotAllowed("only the owning department's CIO, the chair or the secretariat "
                             "may complete action A{id}", id=action_id)
        done = await uow.actions.update(actions.complete(item, now=now, note=note))
        today = _today(council, now)
        verdict = actions.status(done, today=today, local_done=today)
        await record(uow, council_id, actor, "action.done", now, item=item.id,
                     status=verdict.value)
        await uow.commit()
    return done, verdict


async def open_actions(uow: UnitOfWork, council_id: int, *, now: datetime,
                       code: str | None = None) -> actions.OpenActions:
    """The council's open action items, overdue first; only one department's when given."""
    async with uow:
        council = await council_of(uow, council_id)
        department = await department_of(uow, council_id, code) if code is not None else None
        today = _today(council, now)
        items = actions.carried_over(await uow.actions.list(council_id), today=today)
        return actions.OpenActions(
            items=tuple(i for i in items if department is None or i.department_id == department.id),
            departments=tuple(await uow.departments.list(council_id)),
            today=today)
