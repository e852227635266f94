"""A council's meetings as the command line prints them (in English, in the council's zone):
a rich table of the planned ones, and one meeting's local start. The chat's texts, translated,
are in `bot.telegram.render`."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from meetings.domain.model import Council, Meeting, meeting_ref
from meetings.domain.reminders import agenda_deadline, short_notice
from meetings.domain.scheduling import local_text, to_local


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


def short_notice_note(council: Council, meeting: Meeting) -> str | None:
    """For a meeting announced at short notice, when CIOs' proposals close instead of the
    council's deadline (the chat says it with `render.short_notice_line`)."""
    if not short_notice(meeting, council):
        return None
    return (f"Short notice: CIOs' proposals are taken until "
            f"{local_text(agenda_deadline(meeting, council), council.timezone)} "
            f"{council.timezone}, halfway to the meeting, instead of "
            f"{council.agenda_deadline_days} days before it.")
