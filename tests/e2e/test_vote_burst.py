"""Fifty CIOs press a vote button in the same second, against two instances of the service
sharing one database behind a load balancer (webhook mode, as `cio-council serve --webhook`
runs): every press is answered, one current ballot per department with the choice its CIO made
last, every change kept in the history, and the posted result matches a recount. The live
count of a motion ends right when another instance's edit, made from an older count, lands
last; and a press answered too late for Telegram (a long queue) still counts, without the group
being told that nothing changed."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import telegram

from bot.clock import FixedClock
from bot.sandbox import CallbackAnswer, Message, SandboxServer, User, WebhookPolicy
from bot.sandbox.driver import ChatDriver
from bot.telegram.app import live_counts
from bot.telegram.live import LiveCounts
from meetings.domain.model import Choice
from storage import Database
from tests.e2e.harness import CouncilChat, council_chat
from tests.e2e.instances import (
    Deployment,
    create_cios,
    department_codes,
    scaled_out,
    seed_cios,
)

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 on a Wednesday in Shanghai
VOTERS = 50
INSTANCES = 2
LABELS = {Choice.YES: "Yes", Choice.NO: "No", Choice.ABSTAIN: "Abstain"}
ORDER = [Choice.YES, Choice.NO, Choice.ABSTAIN]
ANSWER_TIMEOUT = 20.0  # seconds for a press to be answered; the whole burst takes 2-5 s
# Each instance edits a motion's message at most once per 3 s (Telegram's group limits), so
# the last count shows up to 3 s after the last press.
COUNT_TIMEOUT = 15.0


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def sandbox(clock: FixedClock) -> AsyncIterator[SandboxServer]:
    # A failed push (an instance still starting) is tried again soon, as Telegram would.
    policy = WebhookPolicy(first_delay=0.05, backoff=1.0)
    async with SandboxServer(clock=clock.timestamp, webhook_policy=policy) as server:
        yield server


def first_choice(index: int) -> Choice:
    """35 CIOs press Yes, 10 No, 5 Abstain."""
    return Choice.YES if index < 35 else Choice.NO if index < 45 else Choice.ABSTAIN


# Ten CIOs change their mind, each way round; the result carries under any majority rule.
SECOND_CHOICE = {0: Choice.NO, 10: Choice.NO, 20: Choice.NO, 30: Choice.ABSTAIN,
                 35: Choice.YES, 38: Choice.YES, 41: Choice.YES, 44: Choice.YES,
                 45: Choice.YES, 47: Choice.YES}


def changes_mind(index: int) -> bool:
    """Presses again, for another choice, once the first press is answered."""
    return index in SECOND_CHOICE


def second_choice(index: int) -> Choice:
    return SECOND_CHOICE[index]


async def press_twice(driver: ChatDriver, query_id: str, cio: User, motion: Message,
                      index: int) -> list[CallbackAnswer]:
    control = driver.control
    answers = [await control.answer_to(query_id, timeout=ANSWER_TIMEOUT)]
    if changes_mind(index):
        # Only now: presses in flight together have no order, so "the later one wins" needs
        # the first one answered before the second is made.
        again = control.press_button(cio.id, motion.chat.id, motion.message_id,
                                     text=LABELS[second_choice(index)])
        answers.append(await control.answer_to(again, timeout=ANSWER_TIMEOUT))
    return answers


def tally_line(choices: dict[str, Choice]) -> str:
    counts = Counter(choices.values())
    return (f"Yes {counts[Choice.YES]} · No {counts[Choice.NO]} · "
            f"Abstain {counts[Choice.ABSTAIN]}")


async def test_fifty_cios_press_at_once_on_two_instances(
        sandbox: SandboxServer, migrated_url: str, clock: FixedClock, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """50 presses in one go (10 CIOs then change their vote): all answered without an error,
    the ballots and history exact, both instances did their share, the live count reaches
    50 of 50 and /close posts the recount."""
    control = sandbox.control
    chair = control.create_user("Wang Lei", username="wang_lei")
    codes = department_codes(VOTERS)
    cios = create_cios(control, codes)
    group = control.create_group("CIO Council", creator=chair.id, admins=[chair.id],
                                 members=[cio.id for cio in cios.values()])
    driver = ChatDriver(control, sandbox.bot.username, group.id, timeout=ANSWER_TIMEOUT)
    async with scaled_out(sandbox, migrated_url, clock, tmp_path,
                          instances=INSTANCES) as deployment:
        await control.wait_until(lambda: bool(control.bot_messages(group.id)))  # greeting
        assert (await driver.command(chair, "/setup Riverside CIO Council")).startswith(
            "This group is now the council")
        await seed_cios(migrated_url, chat_id=group.id, chair=chair, cios=cios, now=clock.now())
        assert (await driver.command(chair, "/schedule 2026-11-25 14:30 90 Budget")
                ).splitlines()[0] == "Scheduled: S1 Wed 25 Nov 2026, 14:30 — Budget"
        roll_call = await driver.ask(chair, "/startmeeting")
        assert (roll_call.text or "").startswith("🏛 Meeting S1 is open")

        # The roll call is a burst too: every CIO presses Here in the same second.
        here = [control.press_button(cio.id, group.id, roll_call.message_id, text="✋ Here")
                for cio in cios.values()]
        marked = await asyncio.gather(*(control.answer_to(q, timeout=ANSWER_TIMEOUT)
                                        for q in here))
        assert {(a.text, a.show_alert) for a in marked} == {("You are marked present.", False)}

        motion = await driver.ask(chair, "/motion Adopt the shared data platform")
        found = re.match(r"🗳 Motion M(\d+): Adopt the shared data platform\n", motion.text or "")
        assert found is not None, motion.text
        motion_id = int(found.group(1))
        assert f"0 of {VOTERS} voted." in (motion.text or "")

        # All fifty first presses go out before any answer is awaited.
        first = [control.press_button(cio.id, group.id, motion.message_id,
                                      text=LABELS[first_choice(index)])
                 for index, cio in enumerate(cios.values())]
        answered = await asyncio.gather(*(
            press_twice(driver, query, cio, motion, index)
            for index, (query, cio) in enumerate(zip(first, cios.values(), strict=True))))

        final = {code: second_choice(i) if changes_mind(i) else first_choice(i)
                 for i, code in enumerate(codes)}
        expected_answers = []
        for index in range(VOTERS):
            chosen = LABELS[first_choice(index)]
            expected_answers.append([(f"Your vote on M{motion_id}: {chosen}.", False)] + (
                [(f"Your vote on M{motion_id} is now {LABELS[second_choice(index)]} "
                  f"(it was {chosen}).", False)] if changes_mind(index) else []))
        assert [[(a.text, a.show_alert) for a in pair] for pair in answered] == expected_answers
        presses = sum(len(pair) for pair in answered)
        assert presses == VOTERS + len(SECOND_CHOICE)
        on_motion = [a for a in control.callback_answers() if a.message_id == motion.message_id]
        assert len(on_motion) == presses  # each press answered exactly once

        await assert_ballots(migrated_url, motion_id, final, presses)

        # Both instances took part: the balancer gave each some of the presses, and only the
        # instance that accepted an update handles it (the other would replay it only after a
        # minute of silence, and the clock stands still).
        press_ids = {a.callback_query_id for a in on_motion}
        by_instance = [presses_taken(deployment, i, press_ids) for i in range(INSTANCES)]
        assert sum(by_instance) == presses
        assert all(count >= presses // 4 for count in by_instance), by_instance

        tally = tally_line(final)
        await control.wait_until(
            lambda: f"{tally}\n{VOTERS} of {VOTERS} voted." in (motion.text or ""),
            COUNT_TIMEOUT)

        result = await driver.command(chair, f"/close M{motion_id}")
        lines = result.splitlines()
        assert lines[0] == f"✅ M{motion_id} carried: Adopt the shared data platform"
        assert lines[1] == tally
        # The quorum is more than half of the fifty member departments.
        assert lines[2] == (
            f"Quorum {VOTERS // 2 + 1} of {VOTERS} member departments; {VOTERS} voted.")
        assert lines[3:6] == [
            f"{LABELS[choice]}: {', '.join(sorted(c for c, v in final.items() if v is choice))}"
            for choice in ORDER]

    # Stopping, each instance finishes its pending edits: the vote's own message ends showing
    # the result, all fifty counted, without buttons.
    assert motion.text == result
    assert motion.buttons() == []
    assert not [m for m in control.bot_messages(group.id) if "went wrong" in (m.text or "")]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


async def assert_ballots(database_url: str, motion_id: int, final: dict[str, Choice],
                         presses: int) -> None:
    """One current ballot per department, with its CIO's last choice; a row for every press."""
    database = Database(database_url)
    try:
        async with database.uow() as uow:
            current = await uow.ballots.current(motion_id)
            history = await uow.ballots.history(motion_id)
            motion = await uow.motions.get(motion_id)
            assert motion is not None
            codes = {d.id: d.code for d in await uow.departments.list(motion.council_id)}
    finally:
        await database.dispose()
    assert sorted((codes[b.department_id], b.choice) for b in current) == sorted(final.items())
    assert len(history) == presses
    assert Counter(codes[b.department_id] for b in history) == Counter(
        {code: 2 if changes_mind(index) else 1 for index, code in enumerate(final)})


def presses_taken(deployment: Deployment, instance: int, press_ids: set[str]) -> int:
    """How many of these presses the balancer handed to this instance, and it accepted."""
    return sum(1 for update in deployment.balancer.accepted(instance)
               if update.get("callback_query", {}).get("id") in press_ids)


async def three_present_and_a_motion(chat: CouncilChat) -> Message:
    """A council of three CIOs, all present at today's meeting, and an open named motion."""
    await chat.founded()
    await chat.command(chat.chair, "/schedule 2026-11-25 14:30 90 Budget")
    await chat.command(chat.chair, "/startmeeting")
    for count, code in enumerate(("EPB", "MSB", "EDU"), start=1):
        assert await chat.command(chat.cios[code], "/here") == (
            f"CIO {code} is present.\n{count} of 3 departments present; quorum 2: "
            f"{'quorate' if count >= 2 else 'not quorate'}")
    return await chat.driver.ask(chat.chair, "/motion Adopt the shared data platform")


async def test_a_late_edit_from_an_older_count_is_put_right(migrated_url: str) -> None:
    """Another instance reads the count before the last vote and its edit lands after ours: it
    checks the count again after its pause and puts the final one back."""
    async with council_chat(migrated_url, cios=3) as chat:
        motion = await three_present_and_a_motion(chat)
        found = re.match(r"🗳 Motion M(\d+): ", motion.text or "")
        assert found is not None, motion.text
        motion_id = int(found.group(1))
        final = "Yes 2 · No 1 · Abstain 0\n3 of 3 voted."
        for code in ("EPB", "MSB"):
            await chat.command(chat.cios[code], "/vote yes")
        await live_counts(chat.application).settle()

        sandbox = chat.sandbox
        entered, release = asyncio.Event(), asyncio.Event()
        async with held_edits(entered, release)(sandbox.token, base_url=sandbox.base_url) as bot:
            other = LiveCounts(chat.database, bot, interval=0)
            other.touch(motion_id)  # the other instance reads "2 of 3"; its edit is held up
            await entered.wait()
            assert await chat.command(chat.cios["EDU"], "/vote no") == (
                f"Your vote on M{motion_id}: No.")
            await live_counts(chat.application).settle()
            assert final in (motion.text or "")
            release.set()  # the edit made from "2 of 3" lands last
            await other.settle()
        assert "2 of 3 voted." in (motion.history[-1] or "")  # it did land, and was put right
        assert final in (motion.text or "")


async def test_a_press_answered_too_late_for_telegram_still_counts(migrated_url: str) -> None:
    """Telegram refuses an answer after 15 s; the vote is cast and counted all the same, and
    the group is not told that something went wrong and nothing was changed."""
    async with council_chat(migrated_url, cios=3) as chat:
        motion = await three_present_and_a_motion(chat)
        control = chat.sandbox.control
        before = len(control.bot_messages(chat.group.id))
        query = control.press_button(chat.cios["EPB"].id, chat.group.id, motion.message_id,
                                     text="Yes")
        chat.clock.advance(timedelta(seconds=20))  # before the bot gets to it: too late
        await chat.settle()
        await live_counts(chat.application).settle()
        assert [a for a in control.callback_answers() if a.callback_query_id == query] == []
        assert "Yes 1 · No 0 · Abstain 0\n1 of 3 voted." in (motion.text or "")
        # Only the /help that settled the chat was said since.
        said = [m.text or "" for m in control.bot_messages(chat.group.id)[before:]]
        assert [text.splitlines()[0] for text in said] == ["Commands you can use:"]


def held_edits(entered: asyncio.Event, release: asyncio.Event) -> type[telegram.Bot]:
    """A bot whose message edits wait for ``release`` (a slow network)."""

    class HeldEdits(telegram.Bot):
        async def edit_message_text(self, *args: Any, **kwargs: Any) -> Any:
            entered.set()
            await release.wait()
            return await super().edit_message_text(*args, **kwargs)

    return HeldEdits
