"""The roll call's group message in chat: edited live as people answer, at most once per pause
(held here like a clock that moves only when the test says), its last edit the final state;
the chair and the secretary answer it too; /endmeeting shows departments and the other
attendees apart and says where the record is read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.telegram.app import live_roll_calls
from tests.e2e.harness import CouncilChat, council_chat

OPENED = datetime(2026, 12, 3, 6, 25, tzinfo=UTC)
HEADER = ("Roll call: CIOs and experts, press Here or send /here. A CIO must attend in person "
          "to vote.")
# Four member departments (those with a CIO): the quorum is more than half of them, three.
QUORUM_OF = [f"{n} of 4 departments present; quorum 3: not quorate" for n in range(3)]


class HeldClock:
    """The live messages' pause between edits: it ends only on `tick`."""

    def __init__(self) -> None:
        self._ticks: asyncio.Queue[None] = asyncio.Queue()
        self.waiting = 0

    async def pause(self) -> None:
        self.waiting += 1
        try:
            await self._ticks.get()
        finally:
            self.waiting -= 1

    def tick(self) -> None:
        self._ticks.put_nowait(None)


@pytest.fixture
def clock() -> HeldClock:
    return HeldClock()


@pytest.fixture
async def chat(migrated_url: str, clock: HeldClock) -> AsyncIterator[CouncilChat]:
    async with council_chat(migrated_url, cios=4, live_pause=clock.pause) as council:
        yield await council.founded()


async def test_the_roll_call_shows_who_is_in_within_the_edit_limit(
    chat: CouncilChat, clock: HeldClock
) -> None:
    """The first answer is shown at once; a burst during the pause costs one more edit, which
    shows the final state; the chair and the secretary mark themselves present."""
    meeting = (await chat.command(chat.secretary, "/schedule 2026-12-03 14:30 120")).split()[1]
    chat.clock.at = OPENED
    roll_call = await chat.driver.ask(chat.secretary, "/startmeeting")
    assert roll_call.text == (f"🏛 Meeting {meeting} is open (Thu 3 Dec 2026, 14:30).\n{HEADER}\n"
                              f"{QUORUM_OF[0]}")
    control = chat.sandbox.control

    # The /startmeeting's own edit (it names nobody new) and its pause go by first.
    await control.wait_until(lambda: clock.waiting == 1)
    clock.tick()
    await live_roll_calls(chat.application).settle()
    edits = len(roll_call.history)

    assert await chat.command(chat.cios["EPB"], "/here") == f"CIO EPB is present.\n{QUORUM_OF[1]}"
    await control.wait_until(lambda: clock.waiting == 1)
    assert roll_call.text.splitlines()[2:] == ["Present 1 of 4: EPB; awaiting EDU, HLTH, MSB",
                                               QUORUM_OF[1]]
    assert len(roll_call.history) == edits + 1

    assert await chat.press(chat.cios["MSB"], roll_call, "✋ Here") == "You are marked present."
    assert await chat.command(chat.chair, "/here") == f"Wang Lei is present.\n{QUORUM_OF[2]}"
    assert await chat.command(chat.secretary, "/here") == (
        f"Chen Jing is present.\n{QUORUM_OF[2]}")
    await chat.command(chat.secretary, "/proxy EDU Deputy Liu")
    assert await chat.command(chat.expert, "/here") == f"Zhou Min is present.\n{QUORUM_OF[2]}"
    await chat.settle()
    assert len(roll_call.history) == edits + 1  # the pause holds: nothing edited yet

    clock.tick()
    final = [f"🏛 Meeting {meeting} is open (Thu 3 Dec 2026, 14:30).", HEADER,
             "Present 2 of 4: EPB, MSB; awaiting HLTH; proxy EDU",
             "Also present: Wang Lei (chair), Chen Jing (secretary), Zhou Min (expert)",
             QUORUM_OF[2]]
    await control.wait_until(lambda: roll_call.text == "\n".join(final))
    assert len(roll_call.history) == edits + 2
    await control.wait_until(lambda: clock.waiting == 1)
    clock.tick()
    await live_roll_calls(chat.application).settle()
    assert len(roll_call.history) == edits + 2  # it showed the final state: no more edits
    assert [b["text"] for b in roll_call.buttons()] == ["✋ Here"]

    ended = await chat.command(chat.chair, "/endmeeting")
    assert ended.splitlines()[:5] == [
        f"🏁 Meeting {meeting} has ended.",
        "Departments: 2 present in person, 1 by proxy, 0 excused, 6 absent.",
        "• CIV: absent", "• EDU: proxy (Deputy Liu)", "• EPB: present"]
    assert ended.splitlines()[-7:-2] == [
        "Other attendees (no department, no vote): 3",
        "• Wang Lei (chair): present", "• Chen Jing (secretary): present",
        "• Zhou Min (expert): present", "Recorded: notes 0, decisions 0, votes 0."]
    assert ended.splitlines()[-2] == (
        f"The record: the draft minutes are the Word document below; /minutes {meeting} sends "
        "the latest revision again.")
    await control.wait_until(lambda: clock.waiting == 1)
    clock.tick()
    await live_roll_calls(chat.application).settle()
    assert roll_call.text.splitlines()[:3] == [
        f"🏛 Meeting {meeting} (Thu 3 Dec 2026, 14:30): the roll call is closed.",
        "Present 2 of 4: EPB, MSB; proxy EDU; absent CIV, FIN, HLTH, HRSS, PSB, TRN",
        "Also present: Wang Lei (chair), Chen Jing (secretary), Zhou Min (expert)"]
    assert roll_call.buttons() == []
