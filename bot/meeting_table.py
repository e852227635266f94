"""A council's meetings as the command line prints them (in English, in the council's zone):
a rich table of the planned ones, and one meeting's local start. The chat's texts, translated,
are in `bot.telegram.render`."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from meetings.domain.model import Council, Meeting, meeting_ref
from meetings.domain.scheduling import to_local


def meeting_table(council: Council, meetings: Sequence[Meeting]) -> Table:
    table = Table("id", "date", "day", "time", "kind", "state", "note",
                  title=f"Meetings of {council.name} ({council.timezone})")
    for meeting in meetings:
        local = to_local(meeting.starts_at, council.timezone)
        table.add_row(meeting_ref(meeting.id), local.strftime("%Y-%m-%d"), local.strftime("%a"),
                      local.strftime("%H:%M"), meeting.kind.value, meeting.state.value,
                      meeting.moved_reason or meeting.title)
    return table


def local_start(council: Council, meeting: Meeting) -> str:
    """``2027-01-14 14:30 Asia/Shanghai``: the zone's name, because abbreviations are ambiguous
    (CST is China's, Cuba's and the US Central time)."""
    local = to_local(meeting.starts_at, council.timezone)
    return f"{local:%Y-%m-%d %H:%M} {council.timezone}"
