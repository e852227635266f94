"""The calendar in chat: a second /cadence says what it replaced, kept and why and where agenda
items went; a time another meeting holds is refused; meetings are named S12 and still found by
the old #12; /next never shows a proposal deadline that has already passed as still to come."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from tests.e2e.harness import CouncilChat, council_chat


@pytest.fixture
async def chat(migrated_url: str) -> AsyncIterator[CouncilChat]:
    async with council_chat(migrated_url, cios=4) as council:
        yield await council.founded()


def meeting_ids(reply: str) -> list[str]:
    return re.findall(r"^(S\d+) ", reply, flags=re.MULTILINE)


def item_id(reply: str) -> int:
    found = re.search(r"Agenda #(\d+)", reply)
    assert found is not None, reply
    return int(found.group(1))


async def test_a_new_cadence_says_what_became_of_the_earlier_meetings(chat: CouncilChat) -> None:
    """The meeting moved by hand stays and its day gets no second meeting; the others are
    removed, and their items (a deferred one too) go to the new meeting on or after their day."""
    first = await chat.command(chat.chair, "/cadence bimonthly 2TH 14:30 120")
    january, march, may, july, september, november = meeting_ids(first)
    assert await chat.command(chat.secretary, f"/reschedule {may} 2027-05-18 10:00") == (
        f"Moved: {may} Tue 18 May 2027, 10:00 (rescheduled from Thu 13 May 2027, 14:30)")
    deferred = item_id(await chat.command(chat.cios["EPB"], "/propose Open data"))
    await chat.command(chat.chair, f"/defer {deferred}")
    proposed = item_id(await chat.command(chat.cios["MSB"], "/propose Unified permits"))

    reply = (await chat.command(chat.chair, "/cadence bimonthly 3TU 14:30 120")).splitlines()

    assert reply[0] == "Regular series set; meetings in the next twelve months: 5."
    new = meeting_ids("\n".join(reply[1:6]))
    assert reply[1:3] == [f"{new[0]} Tue 19 Jan 2027, 14:30", f"{new[1]} Tue 16 Mar 2027, 14:30"]
    assert reply[6:] == [
        "Removed, as the new series has no meeting on their dates:",
        f"• {january} Thu 14 Jan 2027, 14:30", f"• {march} Thu 11 Mar 2027, 14:30",
        f"• {july} Thu 8 Jul 2027, 14:30", f"• {september} Thu 9 Sept 2027, 14:30",
        f"• {november} Thu 11 Nov 2027, 14:30",
        "Kept as they are:",
        f"• {may} Tue 18 May 2027, 10:00 (rescheduled from Thu 13 May 2027, 14:30): moved by hand",
        f"Agenda #{proposed} (proposed) moved from meeting {january} to meeting {new[0]} "
        "(Tue 19 Jan 2027, 14:30).",
        f"Agenda #{deferred} (deferred) moved from meeting {march} to meeting {new[1]} "
        "(Tue 16 Mar 2027, 14:30).",
        f"No new meeting on Tue 18 May 2027: meeting {may} is already on that day.",
    ]
    agenda = await chat.command(chat.chair, f"/agenda {new[1]}")
    assert f"#{deferred} Open data (EPB) — deferred" in agenda
    # The old forms still name the same meeting.
    number = new[1].removeprefix("S")
    assert await chat.command(chat.chair, f"/agenda #{number}") == agenda
    assert await chat.command(chat.chair, f"/agenda {number}") == agenda

    again = (await chat.command(chat.chair, "/cadence bimonthly 3TU 14:30 120")).splitlines()
    assert again[0] == "Regular series set; meetings in the next twelve months: 5."
    assert again[6:] == [
        f"Already at the new series' time, unchanged: {', '.join(new)}.",
        "Kept as they are:",
        f"• {may} Tue 18 May 2027, 10:00 (rescheduled from Thu 13 May 2027, 14:30): moved by hand",
        f"No new meeting on Tue 18 May 2027: meeting {may} is already on that day."]


async def test_a_time_another_meeting_holds_is_refused(chat: CouncilChat) -> None:
    """Scheduling or moving a meeting into another's time names that meeting; nothing is
    stored, and a free time next to it is fine."""
    first = await chat.command(chat.secretary, "/schedule 2026-12-15 14:30 120 Budget")
    taken = first.split()[1]
    refusal = (f"Meeting {taken} already holds that time (Tue 15 Dec 2026, 14:30, 120 minutes): "
               f"choose another time, or move or cancel {taken} first.")
    assert await chat.command(chat.secretary, "/schedule 2026-12-15 15:00 60") == refusal
    other = (await chat.command(chat.secretary, "/schedule 2026-12-15 16:30 60")).split()[1]
    assert await chat.command(chat.secretary, f"/reschedule {other} 2026-12-15 16:00") == refusal
    listing = await chat.command(chat.chair, "/next")
    assert listing.splitlines()[0] == f"Next meeting: {taken} Tue 15 Dec 2026, 14:30 — Budget"


async def test_next_says_proposals_are_closed_when_the_deadline_has_passed(
    chat: CouncilChat
) -> None:
    """Once a meeting's proposal deadline has passed (tomorrow's meeting, called at short notice,
    takes proposals until halfway through its notice: 22:00 tonight), /next says proposals for
    it are closed instead of naming the deadline as if it were to come."""
    await chat.command(chat.secretary, "/schedule 2026-11-26 10:00 60 Urgent")
    assert "Proposals close Wed 25 Nov 2026, 22:00." in (await chat.command(chat.chair, "/next"))
    chat.clock.at = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    reply = await chat.command(chat.chair, "/next")
    assert "Proposals close" not in reply
    assert ("Proposals for this meeting are closed (the deadline was Wed 25 Nov 2026, 22:00): new "
            "proposals go to the following meeting.") in reply.splitlines()
