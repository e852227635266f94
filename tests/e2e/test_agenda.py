"""Agenda collection in chat: CIOs propose, the chair decides, the agenda closes at its deadline
and the final agenda is posted in the group once."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.reminders import Reminders
from meetings.domain.model import ActionItem, MeetingState
from tests.e2e.harness import NOW, CouncilChat, council_chat

# The series' first two meetings: Thursdays 14 January and 11 March 2027, 14:30 in Shanghai.
JANUARY = "Thu 14 Jan 2027, 14:30"
MARCH = "Thu 11 Mar 2027, 14:30"
DEADLINE = datetime(2027, 1, 11, 6, 30, tzinfo=UTC)  # 3 days before, 14:30 local


@pytest.fixture
async def chat(migrated_url: str) -> AsyncIterator[CouncilChat]:
    async with council_chat(migrated_url, cios=4) as council:
        await council.founded()
        await council.command(council.chair, "/cadence bimonthly 2TH 14:30 120")
        yield council


def ids(reply: str) -> tuple[int, int]:
    """The agenda id and meeting id a /propose reply names."""
    found = re.search(r"Agenda #(\d+) .*\(meeting S(\d+)\)", reply)
    assert found is not None, reply
    return int(found.group(1)), int(found.group(2))


async def propose(chat: CouncilChat, code: str, text: str) -> int:
    return ids(await chat.command(chat.cios[code], f"/propose {text}"))[0]


async def add_actions(chat: CouncilChat) -> None:
    """Two open action items of earlier meetings (one overdue) and one done, for the review."""
    async with chat.database.uow() as uow:
        council = await uow.councils.by_chat(chat.group.id)
        assert council is not None
        epb = await uow.departments.by_code(council.id, "EPB")
        msb = await uow.departments.by_code(council.id, "MSB")
        assert epb is not None
        assert msb is not None
        for department, due, text, done in [
                (epb.id, date(2027, 2, 1), "Publish the data catalogue", None),
                (msb.id, date(2026, 11, 1), "Merge the permit portals", None),
                (msb.id, date(2026, 10, 1), "Old task", NOW)]:
            await uow.actions.add(ActionItem(council.id, department, text, due, NOW,
                                             done_at=done))
        await uow.commit()


async def test_cios_propose_and_the_chair_decides(chat: CouncilChat) -> None:
    """Proposals go to January's meeting; the chair marks two majors (a third is refused),
    accepts, defers to March and rejects; /agenda shows it all with the standing review."""
    reply = await chat.command(chat.cios["EPB"],
                               "/propose Open data platform | Phase one:\nshared catalogue")
    assert reply.startswith("Agenda #")
    assert reply.endswith(f"proposed for the meeting on {JANUARY} (meeting S{ids(reply)[1]}).")
    platform, january = ids(reply)
    permits = await propose(chat, "MSB", "Unified permits")
    campus = await propose(chat, "EDU", "Campus network")
    records = await propose(chat, "HLTH", "Hospital records")
    pet = await propose(chat, "EPB", "A pet project")
    await add_actions(chat)

    assert await chat.command(chat.chair, f"/major #{platform}") == (
        f"Agenda #{platform} is a major issue: Open data platform")
    await chat.command(chat.chair, f"/major {permits}")
    assert await chat.command(chat.chair, f"/major {campus}") == (
        f"This meeting already has 2 major issues (#{platform}, #{permits}).")
    assert await chat.command(chat.chair, f"/accept {campus}") == (
        f"Agenda #{campus} accepted: Campus network")
    deferred = await chat.command(chat.chair, f"/defer {records}")
    assert deferred.startswith(f"Agenda #{records} deferred to the meeting on {MARCH} (meeting S")
    assert await chat.command(chat.chair, f"/reject {pet}") == (
        f"Agenda #{pet} rejected: A pet project")
    assert await chat.command(chat.chair, f"/accept {pet}") == (
        f"Agenda #{pet} is rejected and cannot be accepted.")

    shown = await chat.command(chat.expert, "/agenda")
    lines = shown.splitlines()
    assert lines[0] == f"Agenda of meeting S{january} {JANUARY}"
    assert lines[1:] == [
        "Proposals close Mon 11 Jan 2027, 14:30.",
        f"#{platform} ★ Open data platform (EPB) — accepted, major issue",
        "    Phase one:",
        "    shared catalogue",
        f"#{permits} ★ Unified permits (MSB) — accepted, major issue",
        f"#{campus} Campus network (EDU) — accepted",
        f"#{pet} A pet project (EPB) — rejected",
        "Standing item: review of open action items",
        "• A2 MSB, due Sun 1 Nov 2026, overdue: Merge the permit portals",
        "• A1 EPB, due Mon 1 Feb 2027: Publish the data catalogue",
    ]
    march = int(deferred.split("(meeting S")[1].split(")")[0])
    later = await chat.command(chat.cios["HLTH"], f"/agenda #{march}")
    assert f"#{records} Hospital records (HLTH) — deferred" in later.splitlines()


async def test_wrong_ids_and_states_get_specific_replies(chat: CouncilChat) -> None:
    """Unknown ids, another council's numbering and impossible moves change nothing."""
    item = await propose(chat, "EPB", "Open data platform")
    assert await chat.command(chat.chair, "/accept 999") == "No agenda item #999 in this council."
    assert await chat.command(chat.chair, "/accept M1") == "Usage: /accept <agenda id>"
    assert await chat.command(chat.chair, "/defer") == "Usage: /defer <agenda id>"
    assert await chat.command(chat.chair, "/agenda 999") == "No meeting 999 in this council."
    await chat.command(chat.chair, f"/reject {item}")
    assert await chat.command(chat.chair, f"/major {item}") == f"Agenda #{item} is rejected."
    assert await chat.command(chat.chair, f"/reject {item}") == (
        f"Agenda #{item} is rejected and cannot be rejected.")


async def test_the_deadline_closes_the_agenda_and_posts_it_once(chat: CouncilChat) -> None:
    """At the deadline one reminder tick closes January's agenda and posts the final agenda in
    the group (members get the short notice); later ticks and a restarted instance post
    nothing more, and proposals from then on go to March, saying so."""
    platform = await propose(chat, "EPB", "Open data platform")
    permits = await propose(chat, "MSB", "Unified permits")
    campus = await propose(chat, "EDU", "Campus network")
    await propose(chat, "HLTH", "Still undecided")
    await chat.command(chat.chair, f"/accept {campus}")
    await chat.command(chat.chair, f"/major {permits}")
    await chat.command(chat.chair, f"/accept {platform}")
    control = chat.sandbox.control
    posted = len(control.bot_messages(chat.group.id))

    chat.clock.at = DEADLINE - timedelta(minutes=1)
    late = await chat.command(chat.cios["EPB"], "/propose Too late")
    assert late.startswith("Agenda #")
    assert f"for the meeting on {JANUARY}" in late

    chat.clock.at = DEADLINE
    reminders = Reminders(chat.database, chat.application.bot, chat.clock, worker="host-1")
    report = await reminders.tick()
    assert (report.sent, report.failed) == (8, 0)  # the group, chair, secretary, expert, 4 CIOs
    assert (await reminders.tick()).sent == 0
    assert (await Reminders(chat.database, chat.application.bot, chat.clock,
                            worker="host-2").tick()).sent == 0

    final = [m.text for m in control.bot_messages(chat.group.id)[posted:]
             if m.text and "final agenda" in m.text]
    assert final == [
        f"📋 Riverside District CIO Council: the final agenda of the meeting on "
        f"Thu 14 Jan 2027, 14:30\n"
        f"1. #{permits} ★ Unified permits (MSB)\n"
        f"2. #{platform} Open data platform (EPB)\n"
        f"3. #{campus} Campus network (EDU)\n"
        "4. Standing item: review of open action items\n"
        "• none"]
    private = control.bot_messages(chat.cios["EPB"].id)[-1].text
    assert private == ("⏰ Riverside District CIO Council: agenda proposals for the meeting on "
                       "Thu 14 Jan 2027, 14:30 are now closed.")

    async with chat.database.uow() as uow:
        council = await uow.councils.by_chat(chat.group.id)
        assert council is not None
        first = (await uow.meetings.list(council.id))[0]
        closes = [e for e in await uow.audit.list(council.id) if e.action == "agenda.close"]
    assert first.state is MeetingState.AGENDA_CLOSED
    assert len(closes) == 1

    after = await chat.command(chat.cios["MSB"], "/propose After the deadline")
    assert after.endswith(f"The deadline for the meeting on {JANUARY} has passed, so it goes "
                          f"to the meeting on {MARCH} (meeting S{ids(after)[1]}).")
    assert "The agenda is closed." in await chat.command(chat.chair, "/agenda")
    upcoming = await chat.command(chat.cios["EPB"], "/next")
    assert "The agenda is closed." in upcoming
    assert "Proposals close" not in upcoming
    # The chair may still correct the closed agenda before the meeting.
    moved = await chat.command(chat.chair, f"/defer {campus}")
    assert moved.startswith(f"Agenda #{campus} deferred to the meeting on {MARCH}")


async def test_the_agenda_in_chinese(chat: CouncilChat) -> None:
    """Proposals, decisions and the agenda read naturally in a Chinese council."""
    await chat.command(chat.chair, "/lang zh")
    reply = await chat.command(chat.cios["EPB"], "/propose 开放数据平台")
    item, meeting = re.findall(r"[#S](\d+)", reply)
    assert reply == (f"议题 #{item} 已提交，列入 2027年1月14日 周四 14:30 的会议"
                     f"（会议 S{meeting}）。")
    marked = await chat.command(chat.chair, f"/major {item}")
    assert marked == f"议题 #{item} 已列为重大议题：开放数据平台"
    shown = await chat.command(chat.cios["MSB"], "/agenda")
    assert f"#{item} ★ 开放数据平台 (EPB) — 已采纳，重大议题" in shown
    assert "固定议题：检查未完成的工作事项\n• 无" in shown


async def test_a_long_agenda_comes_in_several_messages(chat: CouncilChat) -> None:
    """An agenda longer than Telegram's 4096 characters is split at line breaks, nothing lost."""
    description = "\n".join(f"Line {n}: " + "d" * 90 for n in range(40))  # ~4,000 characters
    item = await propose(chat, "EPB", f"Open data platform | {description}")
    control = chat.sandbox.control
    sent = control.send_text(chat.cios["MSB"].id, chat.group.id, f"/agenda@{chat.bot_name}")

    def replies() -> list[str]:
        return [m.text or "" for m in control.bot_messages(chat.group.id)
                if m.message_id > sent.message_id]

    await control.wait_until(lambda: "Standing item" in "".join(replies()))
    await chat.settle()
    assert len(replies()) == 3  # two pieces, then the answer to /help
    pieces = replies()[:2]
    assert all(len(piece) <= 4096 for piece in pieces)
    joined = "\n".join(pieces)
    assert f"#{item} Open data platform (EPB) — proposed" in joined
    assert all(f"    Line {n}: " in joined for n in range(40))
    assert joined.endswith("Standing item: review of open action items\n• none")
