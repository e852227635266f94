"""What every use case shares: who acts, authorising them, the audit record, and the lookups
that turn a user's reference (a code, an id, a name) into a stored value or a domain error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from meetings.domain import proceedings, scheduling
from meetings.domain.errors import (
    UnknownCouncil,
    UnknownDepartment,
    UnknownMeeting,
    UnknownMember,
)
from meetings.domain.model import (
    Council,
    Department,
    Meeting,
    Member,
)
from meetings.domain.permissions import Act, require
from meetings.domain.text import department_code, shown
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


async def council_of(uow: UnitOfWork, council_id: int) -> Council:
    council = await uow.councils.get(council_id)
    if council is None:
        raise UnknownCouncil("no council {id}", id=council_id)
    return council


DAY = timedelta(days=1)
# The job kind of everything the outbox worker sends (`meetings.usecases.outbox`).
OUTBOX_JOB_KIND = "reminder"


def local_today(council: Council, now: datetime) -> date:
    """The council's local date: due dates and lateness are judged where the council sits."""
    return scheduling.to_local(now, council.timezone).date()


# A meeting in progress started at most this long ago (they last hours, not days).
RUNNING_WINDOW = timedelta(days=2)


async def recent_meetings(uow: UnitOfWork, council_id: int, now: datetime) -> Sequence[Meeting]:
    return await uow.meetings.list(council_id, since=now - RUNNING_WINDOW)


async def running_meeting(uow: UnitOfWork, council_id: int, now: datetime) -> Meeting:
    return proceedings.require_running(await recent_meetings(uow, council_id, now))

