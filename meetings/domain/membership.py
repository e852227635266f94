"""Who stands for a department: a department speaks and votes through exactly one CIO.

The database enforces the same rule with a unique index (storage/tables.py); checking it here
first gives the user the department's code and the CIO already holding it.
"""

from __future__ import annotations

from collections.abc import Iterable

from meetings.domain.errors import Duplicate
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
