"""Meeting reminders end to end: durable jobs in SQL, a real PTB Bot, the sandbox Bot API."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import telegram

from bot.clock import FixedClock
from bot.reminders import Reminders, TickReport
from bot.sandbox import Control, SandboxServer
from meetings import usecases
from meetings.domain.model import Role
from meetings.ports import UnitOfWork
from storage import Database

CLI = usecases.common.Operator()
NAME = "Riverside CIO Council"
# The meeting: Thursday 12 June 2025, 14:30 in Shanghai.
START = datetime(2025, 6, 12, 6, 30, tzinfo=UTC)
NOTHING = TickReport()
DUE = [
    (START - timedelta(days=14),
     f"📋 {NAME}: the next meeting is on Thu 12 Jun 2025, 14:30. CIOs, please propose agenda items "
     "with /propose before Mon 9 Jun 2025, 14:30."),
    (START - timedelta(days=3),
     f"⏰ {NAME}: agenda proposals for the meeting on Thu 12 Jun 2025, 14:30 are now closed."),
    (START - timedelta(days=1),
     f"📅 Reminder: {NAME} meets on Thu 12 Jun 2025, 14:30. CIOs attend in person; if you cannot, "
     "tell the secretariat beforehand."),
    (START - timedelta(hours=1), f"🔔 {NAME} meets within the hour, at Thu 12 Jun 2025, 14:30."),
]
# At the deadline the group gets the final agenda (here without items) instead of the notice.
FINAL = (f"📋 {NAME}: the final agenda of the meeting on Thu 12 Jun 2025, 14:30\n"
         "No items were accepted.\n"
         "1. Standing item: review of open action items\n"
         "• none")
ZH_FINAL = (f"📋 {NAME}：2025年6月12日 周四 14:30 会议的最终议程\n"
            "没有采纳任何议题。\n"
            "1. 固定议题：检查未完成的工作事项\n"
            "• 无")
ZH_DUE = [
    f"📋 {NAME}：下次会议定于 2025年6月12日 周四 14:30 召开。请各位 CIO 于 2025年6月9日 周一 "
    "14:30 前通过 /propose 提交议题。",
    f"⏰ {NAME}：2025年6月12日 周四 14:30 会议的议题征集现已截止。",
    f"📅 提醒：{NAME}定于 2025年6月12日 周四 14:30 召开会议。CIO 须本人出席；"
    "如不能出席，请提前告知秘书处。",
    f"🔔 {NAME}会议将于一小时内开始（2025年6月12日 周四 14:30）。",
]


@dataclass(frozen=True)
class Scene:
    group: int
    started: list[int]  # members who pressed Start in the bot's private chat
    silent: int | None  # a member who never did


async def set_up(db: Database, control: Control, clock: FixedClock, *, people: int = 2,
                 silent: bool = True, language: str = "en",
                 meetings: tuple[str, ...] = ("2025-06-12 14:30",)) -> Scene:
    """A council bound to a sandbox group, its members, and its meetings: the first member
    chairs, the others are CIOs of a department each (only they hear the agenda call
    privately)."""
    started = [control.create_user(f"Member {n}").id for n in range(people)]
    for user_id in started:
        control.start_bot(user_id)
    never = [control.create_user("Never Started").id] if silent else []
    group = control.create_group(NAME, creator=started[0], members=started[1:] + never).id
    now = clock.now()
    council = await usecases.councils.create_council(db.uow(), name=NAME, actor=CLI, now=now,
                                                     chat_id=group, language=language)
    for number, user_id in enumerate(started + never):
        if number > 0:
            await usecases.councils.add_department(
                db.uow(), council.id, code=f"D{number}", name=f"Department {number}", actor=CLI,
                now=now)
        await usecases.councils.add_member(
            db.uow(),
            council.id,
            name=f"Member {number}",
            actor=CLI,
            role=Role.CHAIR if number == 0 else Role.CIO,
            now=now,
            telegram_id=user_id,
            department=f"D{number}" if number > 0 else None,
        )
    await usecases.councils.add_member(
        db.uow(), council.id, name="No Telegram", role=Role.EXPERT, actor=CLI, now=now
    )
    for local_start in meetings:
        await usecases.schedule.schedule_meeting(
            db.uow(), council.id, local_start=local_start, actor=CLI, now=now
        )
    return Scene(group, started, never[0] if never else None)


# The notice to the secretariat about the member who never pressed Start (council 1).
UNREACHABLE = (
    "✉️ Secretariat: I could not deliver a private message to Member 2 (D2): they have not pressed "
    "Start in a private chat with me, or have blocked me. Secret ballots, reminders and "
    "calendar links cannot reach them until they do.\n"
    "Member 2, please open https://t.me/council_bot?start=c1 and press Start.")


def texts(control: Control, chat_id: int) -> list[str | None]:
    return [message.text for message in control.bot_messages(chat_id)]


async def test_each_reminder_reaches_the_group_and_every_member_once_on_time(
    migrated_db: Database, control: Control, bot: telegram.Bot, clock: FixedClock
) -> None:
    """At T-14d, T-3d, T-1d and T-1h the group and each member who started the bot get the
    reminder exactly once, never a minute early (at the deadline the group gets the final
    agenda; the agenda call goes privately to the CIOs only, not the chair); the member who
    never started it is given up on without holding anyone back (the secretariat hears of it
    once, in the group), and nothing follows once the meeting has begun."""
    scene = await set_up(migrated_db, control, clock)
    reminders = Reminders(migrated_db, bot, clock, worker="solo")

    for number, (due, _) in enumerate(DUE):
        clock.at = due - timedelta(minutes=1)
        assert await reminders.tick() == NOTHING
        clock.at = due
        chair = 1 if number > 0 else 0  # the agenda call is not the chair's
        assert TickReport(planned=3 + chair, sent=2 + chair, given_up=1) == await reminders.tick()
        clock.advance(timedelta(minutes=30))
        # The bounce's notice to the secretariat goes out on the next tick, the first time only.
        assert await reminders.tick() == (TickReport(sent=1) if number == 0 else NOTHING)
    clock.at = START + timedelta(minutes=1)
    assert await reminders.tick() == NOTHING

    expected = [text for _, text in DUE]
    assert {scene.started[0]: expected[1:], scene.started[1]: expected} == {
        chat: texts(control, chat) for chat in scene.started
    }
    assert [expected[0], UNREACHABLE, FINAL, *expected[2:]] == texts(control, scene.group)
    assert scene.silent is not None
    assert texts(control, scene.silent) == []


async def test_a_restart_sends_nothing_twice_and_only_the_newest_after_downtime(
    migrated_url: str, control: Control, bot: telegram.Bot, clock: FixedClock
) -> None:
    """A new instance on the same database resends nothing; one that was down through the
    agenda deadline and comes back the day before sends only the day-before reminder."""
    first = Database(migrated_url)
    scene = await set_up(first, control, clock, silent=False)
    clock.at = DUE[0][0]
    assert (await Reminders(first, bot, clock, worker="host-1").tick()).sent == 2  # no chair
    await first.dispose()

    restarted = Database(migrated_url)
    try:
        assert await Reminders(restarted, bot, clock, worker="host-1").tick() == NOTHING
        clock.at = DUE[2][0] + timedelta(hours=2)
        assert (
            TickReport(planned=3, sent=3)
            == await Reminders(restarted, bot, clock, worker="host-1").tick()
        )
    finally:
        await restarted.dispose()

    assert [DUE[0][1], DUE[2][1]] == texts(control, scene.group)
    assert [DUE[0][1], DUE[2][1]] == texts(control, scene.started[1])


async def test_two_instances_ticking_together_send_every_message_once(
    migrated_db: Database,
    second_db: Database,
    sandbox: SandboxServer,
    control: Control,
    bot: telegram.Bot,
    clock: FixedClock,
) -> None:
    """Two instances with their own pools and bots, ticking concurrently in small batches,
    enqueue and send each reminder to each of 25 chats exactly once (here in Chinese)."""
    scene = await set_up(migrated_db, control, clock, people=24, silent=False, language="zh")
    async with telegram.Bot(sandbox.token, base_url=sandbox.base_url) as other_bot:
        instances = [
            Reminders(migrated_db, bot, clock, worker="host-a", batch=7),
            Reminders(second_db, other_bot, clock, worker="host-b", batch=7),
        ]
        sent_by = [0, 0]
        for number, (due, _) in enumerate(DUE):
            clock.at = due
            planned = sent = 0
            for _ in range(10):
                reports = await asyncio.gather(*(r.tick() for r in instances))
                planned += sum(report.planned for report in reports)
                sent += sum(report.sent for report in reports)
                sent_by = [
                    before + report.sent for before, report in zip(sent_by, reports, strict=True)
                ]
                if reports == [NOTHING, NOTHING]:
                    break
            # The agenda call goes to the group and the 23 CIOs, not the chair.
            assert (planned, sent) == ((25, 25) if number > 0 else (24, 24))
        assert all(sent_by), "both instances shared the work"

    assert {**dict.fromkeys(scene.started, ZH_DUE), scene.started[0]: ZH_DUE[1:]} == {
        chat: texts(control, chat) for chat in scene.started
    }
    assert [ZH_DUE[0], ZH_FINAL, *ZH_DUE[2:]] == texts(control, scene.group)


async def test_flood_control_delays_a_message_until_telegram_allows_it(
    migrated_db: Database, control: Control, bot: telegram.Bot, clock: FixedClock
) -> None:
    """With Telegram's limits on, a second message to a private chat within a second is
    refused with RetryAfter and goes out once the clock has passed the wait, still once."""
    scene = await set_up(
        migrated_db, control, clock, silent=False, meetings=("2025-06-12 14:30", "2025-06-12 17:00")
    )
    control.set_rate_limits(True)
    reminders = Reminders(migrated_db, bot, clock, worker="solo")
    # Both day-before reminders are due (the second meeting after the first one's slot).
    clock.at = datetime(2025, 6, 11, 9, 0, tzinfo=UTC)

    assert TickReport(planned=6, sent=4, failed=2) == await reminders.tick()
    assert await reminders.tick() == NOTHING
    clock.advance(timedelta(seconds=1))
    assert TickReport(sent=2) == await reminders.tick()

    assert [len(texts(control, chat)) for chat in [scene.group, *scene.started]] == [2, 2, 2]


async def test_run_survives_a_failing_tick_and_stops_when_told(
    migrated_db: Database,
    control: Control,
    bot: telegram.Bot,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A tick that fails (the database is away) is logged, the next one sends, and setting
    the stop event ends the loop without waiting out the interval."""
    scene = await set_up(migrated_db, control, clock, silent=False)
    calls = 0

    def flaky_uow() -> UnitOfWork:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database restarting")
        return migrated_db.uow()

    clock.at = DUE[0][0]
    stop = asyncio.Event()
    task = asyncio.create_task(
        Reminders(flaky_uow, bot, clock, worker="solo").run(stop, interval=0.01)
    )
    await control.wait_until(lambda: len(texts(control, scene.started[1])) == 1)
    stop.set()
    await asyncio.wait_for(task, timeout=5)

    assert [DUE[0][1]] == texts(control, scene.group)
    logged = [record.getMessage() for record in caplog.records if record.exc_info]
    assert logged == ["reminder tick failed; trying again in 0.01 s"]
