"""Use cases of the council and its membership: creating and binding councils, departments,
members and roles, join requests, the council's language and chat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from meetings.domain import membership, rules, scheduling
from meetings.domain.audit import ChainBreak, verify
from meetings.domain.calendars import public_holidays
from meetings.domain.errors import (
    Duplicate,
    InvalidInput,
    InvalidState,
    NotAllowed,
    NotFound,
)
from meetings.domain.model import (
    Council,
    Department,
    JoinRequest,
    JoinState,
    Member,
    Role,
)
from meetings.domain.permissions import Act
from meetings.domain.text import clean, department_code, optional, shown
from meetings.ports import UnitOfWork
from meetings.usecases.common import (
    Actor,
    Operator,
    authorise,
    council_of,
    department_of,
    member_by_ref,
    record,
)


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
    membership.require_no_other_cio(department, await uow.members.list(council_id),
                                    member_id=member_id)
    return department.id


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


async def verify_audit(uow: UnitOfWork) -> tuple[int, list[ChainBreak]]:
    """How many events were checked across all councils, and where the chains break."""
    async with uow:
        events = [event for council in await uow.councils.list()
                  for event in await uow.audit.list(council.id)]
    return len(events), verify(events)


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
        membership.require_no_other_cio(department, await uow.members.list(council_id))
        request = await uow.join_requests.add(JoinRequest(
            council_id=council_id, telegram_id=telegram_id, name=clean(name, field="name"),
            username=_username(username), department_id=department.id, requested_at=now))
        await record(uow, council_id, Operator(f"telegram:{telegram_id}"), "join.request", now,
                     request=request.id, department=department.code)
        await uow.commit()
    return request, department


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
            membership.require_no_other_cio(department, await uow.members.list(council_id))
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


async def set_rule(
    uow: UnitOfWork, council_id: int, *, setting: str, value: str, actor: Actor, now: datetime
) -> Council:
    """The chair sets one of the council's rules of procedure. Votes already open keep the
    rules they opened with; reminders are worked out from the rules when they fall due."""
    authorise(actor, Act.SET_RULES)
    chosen = rules.parse_setting(setting)
    async with uow:
        before = await council_of(uow, council_id)
        council = await uow.councils.update(rules.change(before, chosen, value))
        await record(uow, council_id, actor, "council.rules", now, setting=chosen.value,
                     before=rules.setting_text(before, chosen),
                     after=rules.setting_text(council, chosen))
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

