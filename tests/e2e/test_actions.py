"""Action items in chat: the office assigns, owners complete, everyone lists; the owner is
reminded before the due date and, once overdue, so is the chair; the next agenda reviews them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.i18n.words import date_text
from bot.reminders import Reminders, TickReport
from bot.sandbox import User
from tests.e2e.harness import NOW, CouncilChat, council_chat
from tests.snapshot import snapshot

COUNCIL = "Riverside District CIO Council"
# Five actions, assigned on 25 November 2026 (10:00 in Shanghai).
ACTIONS = [("EPB", "2026-12-10", "Publish the data catalogue"),
           ("MSB", "2026-12-01", "Merge the permit portals"),
           ("EDU", "2026-11-28", "Survey the campus networks"),
           ("HLTH", "2026-12-31", "Plan the hospital records"),
           ("PSB", "2027-01-10", "Inventory the cameras")]


def nine_am(day: int, month: int = 12, year: int = 2026) -> datetime:
    """09:00 in Shanghai, when action notices go out."""
    return datetime(year, month, day, 1, 0, tzinfo=UTC)


@pytest.fixture
async def chat(migrated_url: str) -> AsyncIterator[CouncilChat]:
    async with council_chat(migrated_url, cios=5) as council:
        await council.founded()
        await council.command(council.chair, "/cadence bimonthly 2TH 14:30 120")
        yield council


async def assign_all(chat: CouncilChat) -> dict[str, int]:
    """The secretary assigns the five actions; returns their ids by department."""
    ids = {}
    for code, due, text in ACTIONS:
        reply = await chat.command(chat.secretary, f"/action {code} {due} {text}")
        shown = date_text("en", date.fromisoformat(due))
        found = re.fullmatch(rf"Action A(\d+) for {code}, due {shown}: {text}", reply)
        assert found is not None, reply
        ids[code] = int(found.group(1))
    return ids


async def test_owners_complete_their_own_actions_on_time_or_late(chat: CouncilChat,
                                                                 migrated_url: str) -> None:
    ids = await assign_all(chat)
    epb = ids["EPB"]
    before = snapshot(migrated_url)
    refused = await chat.command(chat.cios["MSB"], f"/done A{epb} not mine")
    assert refused == (f"Only the owning department's CIO, the chair or the secretariat may "
                       f"complete action A{epb}.")
    assert await chat.command(chat.expert, f"/done {epb}") == (
        "Only the chair, the secretariat or department CIOs may do this.")
    assert snapshot(migrated_url) == before

    assert await chat.command(chat.cios["EPB"], f"/done A{epb} published on the portal") == (
        f"Action A{epb} done on time (due Thu 10 Dec 2026).")
    assert await chat.command(chat.chair, f"/done a{epb}") == f"Action A{epb} is already done."
    # The office may complete anyone's: on 2 December the MSB item is a day late.
    chat.clock.at = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    assert await chat.command(chat.chair, f"/done {ids['MSB']}") == (
        f"Action A{ids['MSB']} done late (due Tue 1 Dec 2026).")

    async with chat.database.uow() as uow:
        council = await uow.councils.by_chat(chat.group.id)
        assert council is not None
        items = {item.id: item for item in await uow.actions.list(council.id)}
        events = [e.action for e in await uow.audit.list(council.id)]
    assert len(items) == 5
    assert items[epb].done_note == "published on the portal"
    assert all(item.meeting_id is None for item in items.values())  # no meeting was running
    assert [items[i].done_at is not None for i in ids.values()] == [True, True, False, False,
                                                                    False]
    assert (events.count("action.assign"), events.count("action.done")) == (5, 2)


async def test_open_actions_overdue_first_and_by_department(chat: CouncilChat) -> None:
    ids = await assign_all(chat)
    await chat.command(chat.cios["HLTH"], f"/done {ids['HLTH']}")
    chat.clock.at = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # EDU's and MSB's are overdue
    assert await chat.command(chat.cios["EPB"], "/actions") == "\n".join([
        "Open action items:",
        f"• A{ids['EDU']} EDU, due Sat 28 Nov 2026, overdue: Survey the campus networks",
        f"• A{ids['MSB']} MSB, due Tue 1 Dec 2026, overdue: Merge the permit portals",
        f"• A{ids['EPB']} EPB, due Thu 10 Dec 2026: Publish the data catalogue",
        f"• A{ids['PSB']} PSB, due Sun 10 Jan 2027: Inventory the cameras"])
    assert await chat.command(chat.expert, "/actions msb") == "\n".join([
        "Open action items:",
        f"• A{ids['MSB']} MSB, due Tue 1 Dec 2026, overdue: Merge the permit portals"])
    assert await chat.command(chat.expert, "/actions HLTH") == "No open action items."
    assert await chat.command(chat.expert, "/actions XYZ") == "No department with code 'XYZ'."


async def test_the_owner_is_reminded_and_the_chair_told_once_each(chat: CouncilChat) -> None:
    """Three days before the due date the owning CIO hears privately; the morning after it the
    CIO again and the chair too. Two instances ticking again send nothing more; a done item
    gets nothing."""
    ids = await assign_all(chat)
    await chat.command(chat.cios["HLTH"], f"/done {ids['HLTH']}")
    control = chat.sandbox.control

    def private(user: User) -> list[str]:
        return [m.text or "" for m in control.bot_messages(user.id)]

    seen = {user.id: len(private(user)) for user in [chat.chair, *chat.cios.values()]}

    def news(user: User) -> list[str]:
        return private(user)[seen[user.id]:]

    first = Reminders(chat.database, chat.application.bot, chat.clock, worker="host-1")
    second = Reminders(chat.database, chat.application.bot, chat.clock, worker="host-2")
    # At assignment EDU's item (due 28 November) is already due soon: its notice goes at once.
    assert await first.tick() == TickReport(planned=1, sent=1)
    steps = [(nine_am(28, 11) - timedelta(minutes=1), 0),  # nothing new yet
             (nine_am(28, 11), 1),  # MSB's item is due on 1 December
             (nine_am(29, 11), 2),  # EDU's is overdue: its CIO and the chair
             (nine_am(2), 2),  # MSB's is overdue
             (nine_am(7), 1),  # EPB's is due on the 10th (HLTH's is done)
             (nine_am(11), 2)]  # EPB's is overdue
    for at, sent in steps:
        chat.clock.at = at
        assert (at, await first.tick()) == (at, TickReport(planned=sent, sent=sent))
        assert (at, await second.tick()) == (at, TickReport())
    chat.clock.advance(timedelta(days=2))
    assert await second.tick() == TickReport()

    assert news(chat.cios["EPB"]) == [
        f"⏳ {COUNCIL}: action A{ids['EPB']} of EPB is due on Thu 10 Dec 2026: Publish the data "
        f"catalogue\nSend /done A{ids['EPB']} when it is done.",
        f"⚠️ {COUNCIL}: action A{ids['EPB']} of EPB was due on Thu 10 Dec 2026 and is overdue: "
        f"Publish the data catalogue\nSend /done A{ids['EPB']} when it is done; the chair has "
        "been told."]
    assert news(chat.cios["HLTH"]) == []
    assert len(news(chat.cios["EDU"])) == len(news(chat.cios["MSB"])) == 2
    escalations = news(chat.chair)
    assert f"⚠️ {COUNCIL}: action A{ids['EPB']} of EPB is overdue (due Thu 10 Dec 2026): Publish " \
           "the data catalogue" in escalations
    assert len(escalations) == 3  # EDU's, MSB's and EPB's, once each
    assert news(chat.cios["PSB"]) == []  # due in January: nothing yet


async def test_the_next_agenda_reviews_overdue_actions_first(chat: CouncilChat) -> None:
    ids = await assign_all(chat)
    chat.clock.at = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    await chat.command(chat.cios["EPB"], f"/done {ids['EPB']}")
    agenda = await chat.command(chat.cios["EDU"], "/agenda")
    review = agenda.split("Standing item: review of open action items\n", 1)[1]
    assert review.splitlines() == [
        f"• A{ids['EDU']} EDU, due Sat 28 Nov 2026, overdue: Survey the campus networks",
        f"• A{ids['MSB']} MSB, due Tue 1 Dec 2026, overdue: Merge the permit portals",
        f"• A{ids['HLTH']} HLTH, due Thu 31 Dec 2026: Plan the hospital records",
        f"• A{ids['PSB']} PSB, due Sun 10 Jan 2027: Inventory the cameras"]


async def test_actions_in_chinese(chat: CouncilChat) -> None:
    await chat.command(chat.chair, "/lang zh")
    reply = await chat.command(chat.chair, "/action EPB 2026-12-10 发布数据目录")
    (item,) = re.findall(r"A(\d+)", reply)
    assert reply == f"工作事项 A{item} 已交由 EPB 办理，截止 2026年12月10日 周四：发布数据目录"
    assert await chat.command(chat.cios["EPB"], "/actions") == (
        f"未完成的工作事项：\n• A{item} EPB，截止 2026年12月10日 周四：发布数据目录")
    assert await chat.command(chat.cios["EPB"], f"/done A{item}") == (
        f"工作事项 A{item} 已按期完成（截止 2026年12月10日 周四）。")
    assert await chat.command(chat.cios["EPB"], "/actions") == "没有未完成的工作事项。"


def test_now_is_a_wednesday_morning_in_shanghai() -> None:
    """The dates above assume the harness's clock: 25 November 2026, 10:00 local."""
    assert datetime(2026, 11, 25, 2, 0, tzinfo=UTC) == NOW
