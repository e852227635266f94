"""Use cases of the council and its membership: creating and binding councils, departments,
members and roles, join requests, the council's language and chat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from meetings.domain import membership, rules, scheduling, text
from meetings.domain.audit import ChainBreak, verify
from meetings.domain.calendars import public_holidays
from meetings.domain.errors import (
    Duplicate,
    InvalidInput,
    InvalidState,
    NotAllowed,
    NotFound,
    UnknownMember,
    Word,
    template,
)
from meetings.domain.model import (
    ChatPerson,
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
        name=clean(name, field=Word("council name")),
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
    department = Department(council_id, department_code(code),
                            clean(name, field=Word("department name")))
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
    """Adds someone with a role. Refused, saying which rule: a second chair (the chair is
    handed over instead), a Telegram id or @username another member has, a username Telegram
    would not allow, a negative id."""
    authorise(actor, Act.SET_ROLE)
    telegram_id = text.telegram_id(telegram_id)
    handle = text.username(username)
    async with uow:
        members = await uow.members.list(council_id)
        if role is Role.CHAIR:
            membership.require_no_chair_yet(members)
        await _require_new_identity(uow, council_id, telegram_id, handle)
        department_id = await _role_department(uow, council_id, role, department)
        member = await uow.members.add(Member(
            council_id=council_id,
            name=clean(name, field=Word("member name")),
            role=role,
            telegram_id=telegram_id,
            username=handle,
            department_id=department_id,
        ))
        await record(uow, council_id, actor, "member.add", now, member=member.id,
                     role=role.value, department=department_id)
        await uow.commit()
    return member


async def _require_new_identity(uow: UnitOfWork, council_id: int, telegram_id: int | None,
                                username: str | None) -> None:
    if telegram_id is not None and (same := await uow.members.by_telegram(
            council_id, telegram_id)) is not None:
        raise Duplicate("Telegram user {id} is already a member of this council: {name}",
                        id=telegram_id, name=same.name)
    if username is not None and (same := await uow.members.by_username(
            council_id, username)) is not None:
        raise Duplicate("@{username} is already the username of a member of this council: "
                        "{name}", username=username, name=same.name)


async def _role_department(
    uow: UnitOfWork, council_id: int, role: Role, code: str | None, member_id: int | None = None
) -> int | None:
    """A CIO must stand for exactly one department, which has no other CIO; nobody else does."""
    if role is not Role.CIO:
        if code:
            raise InvalidInput("only a CIO represents a department, not {role}", role=role)
        return None
    if not code:
        raise InvalidInput("a CIO needs a department code")
    department = await department_of(uow, council_id, code)
    membership.require_no_other_cio(department, await uow.members.list(council_id),
                                    member_id=member_id)
    return department.id


@dataclass(frozen=True, slots=True)
class RoleChange:
    """What `set_role` did: the member with their new role, and what went with it."""

    member: Member
    added: bool = False  # they were not a member before (someone the bot had seen)
    former_chair: Member | None = None  # a hand-over: the outgoing chair, with their new role
    vacated: Department | None = None  # the department the member no longer speaks for


@dataclass(frozen=True, slots=True)
class Person:
    """Someone on Telegram, as an update shows them."""

    telegram_id: int
    name: str
    username: str | None = None


NOT_SEEN = template("I have not seen {ref} in the council's chat yet: ask them to send any "
                    "command there (/help is enough), or use their numeric Telegram id")


async def set_role(
    uow: UnitOfWork, council_id: int, *, member_ref: str, role: Role, actor: Actor, now: datetime,
    department: str | None = None, newcomer: Person | None = None,
) -> RoleChange:
    """Sets a member's role; someone not yet a member is added, found by ``newcomer`` or among
    the people the bot has seen in the council's chat. Giving someone the chair hands it over:
    the outgoing chair becomes an observer, in the same transaction; the chair's own role is
    never taken away otherwise, so the council always has one."""
    authorise(actor, Act.SET_ROLE)
    async with uow:
        members = await uow.members.list(council_id)
        found = await _member_or_person(uow, council_id, member_ref, newcomer)
        member = found if isinstance(found, Member) else None
        departments = {d.id: d for d in await uow.departments.list(council_id)}
        former: Member | None = None
        if member is not None:
            membership.require_keeps_chair(member, role)
        chair = membership.chair_of(members)
        if role is Role.CHAIR and chair is not None and (member is None or member.id != chair.id):
            # Demoted first: the database holds at most one chair at any moment.
            former = await uow.members.update(replace(
                chair, role=membership.FORMER_CHAIR_ROLE, department_id=None))
        department_id = await _role_department(uow, council_id, role, department,
                                               member.id if member else None)
        if member is None:
            assert isinstance(found, Person)
            await _require_new_identity(uow, council_id, found.telegram_id,
                                        text.username(found.username))
            changed = await uow.members.add(Member(
                council_id=council_id, name=clean(found.name, field=Word("name")), role=role,
                telegram_id=found.telegram_id, username=text.username(found.username),
                department_id=department_id))
        else:
            changed = await uow.members.update(
                replace(member, role=role, department_id=department_id))
        vacated = None
        if member is not None and member.department_id not in (None, department_id):
            vacated = departments.get(member.department_id or 0)
        if former is not None:
            await record(uow, council_id, actor, "chair.hand_over", now, former=former.id,
                         chair=changed.id, former_role=former.role.value)
        await record(uow, council_id, actor, "member.add" if member is None else "member.role",
                     now, member=changed.id, role=role.value, department=department_id)
        await uow.commit()
    return RoleChange(changed, added=member is None, former_chair=former, vacated=vacated)


async def _member_or_person(uow: UnitOfWork, council_id: int, ref: str,
                            newcomer: Person | None) -> Member | Person:
    """The member ``ref`` names, or else the person: ``newcomer``, or someone the bot has seen
    in the council's chat (by @username or Telegram id)."""
    try:
        return await member_by_ref(uow, council_id, ref)
    except UnknownMember:
        if newcomer is not None:
            return newcomer
        ref = ref.strip()
        seen = None
        if ref.startswith("@") and len(ref) > 1:
            seen = await uow.people.by_username(council_id, ref[1:])
        elif (digits := ref.removeprefix("tg:")).isascii() and digits.isdigit():
            seen = await uow.people.get(council_id, int(digits))
        if seen is None:
            raise UnknownMember(NOT_SEEN, ref=shown(ref)) from None
        return Person(seen.telegram_id, seen.name, seen.username)


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
        if await uow.councils.by_name(clean(name, field=Word("council name"))) is not None:
            raise Duplicate("a council named {name} already exists", name=shown(name))
        council = await uow.councils.add(Council(
            name=clean(name, field=Word("council name")), timezone=scheduling.zone(timezone).key,
            language=_language(language), holiday_country=holiday_country.upper(),
            chat_id=chat_id))
        chair = await uow.members.add(Member(
            council_id=council.id, name=clean(chair_name, field=Word("name")), role=Role.CHAIR,
            telegram_id=chair_telegram_id, username=_username(chair_username)))
        await record(uow, council.id, chair, "council.setup", now, chat=chat_id)
        await uow.commit()
    return council, chair


def _username(username: str | None) -> str | None:
    return optional((username or "").lstrip("@"), field=Word("username"), max_length=64) or None


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
        if existing is not None:
            membership.require_keeps_chair(existing, Role.CIO)
        membership.require_no_other_cio(department, await uow.members.list(council_id))
        request = await uow.join_requests.add(JoinRequest(
            council_id=council_id, telegram_id=telegram_id, name=clean(name, field=Word("name")),
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
            raise InvalidState("this request was already {state}", state=request.state)
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
        membership.require_keeps_chair(existing, Role.CIO)  # the chair became chair meanwhile
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


async def identify(uow: UnitOfWork, *, chat_id: int, telegram_id: int, private: bool,
                   person: Person | None = None) -> Sender:
    """The council of a group chat (or, in a private chat, the sender's only council) and the
    sender's membership in it.

    With ``person`` (the sender as the update shows them) it also remembers them, writing only
    when something changed: in a group, a member's new username, or the name and username of
    anyone else the bot sees (so the chair can give them a role by @username); in a private
    chat, that the bot can now write to each of the person's memberships."""
    async with uow:
        changed = False
        if private:
            memberships = list(await uow.members.memberships(telegram_id))
            if person is not None:
                for index, held in enumerate(memberships):
                    if not held.private_chat or held.unreachable_reported:
                        memberships[index] = await uow.members.update(replace(
                            held, private_chat=True, unreachable_reported=False))
                        changed = True
            sender = (Sender(await uow.councils.get(memberships[0].council_id), memberships[0])
                      if len(memberships) == 1 else Sender(None, None))
        else:
            council = await uow.councils.by_chat(chat_id)
            member = await uow.members.by_telegram(council.id, telegram_id) if council else None
            if council is not None and person is not None:
                member, changed = await _remember(uow, council.id, member, person)
            sender = Sender(council, member)
        if changed:
            await uow.commit()
    return sender


async def _remember(uow: UnitOfWork, council_id: int, member: Member | None,
                    person: Person) -> tuple[Member | None, bool]:
    """Keeps what the bot knows of someone in the council's chat current; True when it wrote."""
    username = person.username or None
    if member is not None:
        if member.username == username:
            return member, False
        return await uow.members.update(replace(member, username=username)), True
    seen = await uow.people.get(council_id, person.telegram_id)
    if seen is not None and (seen.name, seen.username) == (person.name, username):
        return None, False
    await uow.people.put(ChatPerson(council_id, person.telegram_id, person.name[:200], username))
    return None, True


async def roster(uow: UnitOfWork, council_id: int
                 ) -> tuple[Sequence[Member], Sequence[Department]]:
    """The council's members and departments."""
    async with uow:
        return await uow.members.list(council_id), await uow.departments.list(council_id)

