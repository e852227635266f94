"""Chat text for domain values, in the council's language and time zone."""

from __future__ import annotations

from collections.abc import Sequence

from babel.dates import format_datetime

from bot.i18n import N_
from bot.telegram.context import ChatRequest
from meetings.model import Council, Department, Meeting, MeetingState, Member, Role
from meetings.scheduling import to_local

_PATTERN = {"en": "EEE d MMM yyyy, HH:mm", "zh": "yyyy年M月d日 EEE HH:mm"}
_LOCALE = {"en": "en_GB", "zh": "zh_Hans_CN"}


def when(req: ChatRequest, council: Council, meeting: Meeting) -> str:
    local = to_local(meeting.starts_at, council.timezone)
    language = req.language if req.language in _PATTERN else "en"
    return format_datetime(local, _PATTERN[language], locale=_LOCALE[language])


def meeting_line(req: ChatRequest, council: Council, meeting: Meeting) -> str:
    """`#12 Thu 14 Jan 2027, 14:30 — title (moved from ...)` with its state when not plain."""
    parts = [f"#{meeting.id} {when(req, council, meeting)}"]
    if meeting.title:
        parts.append(f"— {meeting.title}")
    if meeting.state is MeetingState.CANCELLED:
        parts.append(req.t("(cancelled)"))
    elif meeting.moved_reason:
        parts.append(f"({meeting.moved_reason})")
    return " ".join(parts)


_ROLE_ORDER = [Role.CHAIR, Role.SECRETARY, Role.CIO, Role.EXPERT, Role.OBSERVER]
ROLE_NAMES = {Role.CHAIR: N_("chair"), Role.SECRETARY: N_("secretary"), Role.CIO: N_("cio"),
              Role.EXPERT: N_("expert"), Role.OBSERVER: N_("observer")}


def role_name(req: ChatRequest, role: Role) -> str:
    return req.t(ROLE_NAMES[role])


def roster(req: ChatRequest, council: Council, members: Sequence[Member],
           departments: Sequence[Department]) -> str:
    names = {d.id: d for d in departments}
    lines = [req.t("Members of {council}:", council=council.name)]
    for member in sorted(members, key=lambda m: (_ROLE_ORDER.index(m.role), m.name)):
        handle = f" @{member.username}" if member.username else ""
        department = names.get(member.department_id or 0)
        where = f" — {department.code} {department.name}" if department else ""
        lines.append(f"• {member.name}{handle}: {role_name(req, member.role)}{where}")
    without_cio = [d.code for d in departments
                   if not any(m.department_id == d.id and m.role is Role.CIO for m in members)]
    if without_cio:
        lines.append(req.t("Departments without a CIO: {codes}", codes=", ".join(without_cio)))
    return "\n".join(lines)
