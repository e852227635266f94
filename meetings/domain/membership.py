"""Who stands for a department, and who chairs: a department speaks and votes through exactly
one CIO; a council has exactly one chair once it has one.

The database enforces "at most one" of each with a unique index (storage/tables.py); checking it
here first gives the user the names involved. "At least one chair" is kept by the use cases: the
chair changes hands only by `hand_over` (demote and promote in one transaction), and the only
chair is never demoted otherwise (`require_keeps_chair`).
"""

from __future__ import annotations

from collections.abc import Iterable

from meetings.domain.errors import Duplicate, InvalidState
from meetings.domain.model import Department, Member, Role


def other_cio(department: Department, members: Iterable[Member], *,
              member_id: int | None = None) -> Member | None:
    """The department's CIO other than ``member_id`` (who may be taking the role), if any."""
    return next((m for m in members
                 if m.role is Role.CIO and m.department_id == department.id
                 and m.id != member_id), None)


def require_no_other_cio(department: Department, members: Iterable[Member], *,
                         member_id: int | None = None) -> None:
    """Refuses a second CIO for ``department``; ``member_id`` is the one becoming its CIO."""
    holder = other_cio(department, members, member_id=member_id)
    if holder is not None:
        raise Duplicate("{code} already has a CIO: {name}", code=department.code,
                        name=holder.name)


def chair_of(members: Iterable[Member]) -> Member | None:
    """The council's chair (the database allows at most one)."""
    return next((m for m in members if m.role is Role.CHAIR), None)


def require_keeps_chair(member: Member, role: Role) -> None:
    """Refuses taking the chair's role away other than by handing it over: the council would be
    left without a chair."""
    if member.role is Role.CHAIR and role is not Role.CHAIR:
        raise InvalidState("{name} is the council's chair: a council always has one, so hand "
                           "the chair over to someone else first (/role <user> chair)",
                           name=member.name)


def require_no_chair_yet(members: Iterable[Member]) -> None:
    """Refuses a second chair; the chair changes hands by handing it over."""
    chair = chair_of(members)
    if chair is not None:
        raise Duplicate("the council already has a chair, {name}: hand the chair over instead "
                        "(/role <user> chair)", name=chair.name)


# What the outgoing chair becomes when handing over: a seat without powers; the new chair may
# give them another role at once.
FORMER_CHAIR_ROLE = Role.OBSERVER
