"""Votes in chat: named votes by button and by /vote with a live count in the group, secret
ballots in private chats, circular votes closed by the reminder workers at their deadline; every
result is reproducible from the ballots table, and refused votes change nothing."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import telegram

from bot.demo import COUNCIL_NAME
from bot.reminders import Reminders, TickReport
from bot.sandbox import CallbackAnswer, Message, User
from bot.telegram.live import LiveCounts
from meetings.domain.model import Ballot, Choice
from meetings.domain.votes import SecretBox, ballot_digest, box_digest
from storage.tables import metadata
from tests.e2e.harness import CouncilChat, council_chat
from tests.snapshot import snapshot

BALLOTS, DEPARTMENTS, MOTIONS = (metadata.tables[name]
                                 for name in ("ballots", "departments", "motions"))
DECISIONS, AUDIT = metadata.tables["decisions"], metadata.tables["audit_events"]
PRESS_TO_VOTE = ("Department CIOs: press to vote (or /vote M{id} yes|no|abstain); a new vote "
                 "replaces your earlier one.")
NOT_PRESENT = "Only CIOs present in person vote; mark yourself with /here."
ONLY_CIOS = "Only department CIOs may do this."


@pytest.fixture
async def chat(migrated_url: str) -> AsyncIterator[CouncilChat]:
    async with council_chat(migrated_url, cios=5) as council:  # EPB, MSB, EDU, HLTH and PSB
        await council.founded()
        # Each CIO follows the link to the private chat once a member (which the bot notes):
        # what a refused vote leaves unchanged below is then only the council's state.
        control = council.sandbox.control
        for cio in council.cios.values():
            started = control.start_bot(cio.id, payload="c1")
            await control.next_bot_message(cio.id, after=started)
        yield council


async def decision_of(chat: CouncilChat, motion: int) -> int:
    """The id of the decision a carried motion became."""
    [(found,)] = await rows(chat, sa.select(DECISIONS.c.id).where(DECISIONS.c.motion_id == motion))
    return int(found)


async def rows(chat: CouncilChat, statement: sa.Select[Any]) -> list[tuple[Any, ...]]:
    async with chat.database.engine.connect() as connection:
        return [tuple(row) for row in (await connection.execute(statement)).all()]


@asynccontextmanager
async def unchanged(chat: CouncilChat) -> AsyncIterator[None]:
    """Whatever is said or pressed in the block changes no table."""
    await chat.settle()  # a motion's message id is stored just after its message is sent
    before = snapshot(chat.database.url)
    yield
    assert snapshot(chat.database.url) == before


def motion_id(message: Message) -> int:
    found = re.search(r" M(\d+): ", message.text or "")
    assert found is not None, message.text
    return int(found.group(1))


async def press(chat: CouncilChat, user: User, message: Message, label: str) -> CallbackAnswer:
    control = chat.sandbox.control
    query = control.press_button(user.id, message.chat.id, message.message_id, text=label)
    return await control.answer_to(query)


async def refused_press(chat: CouncilChat, user: User, message: Message, label: str) -> str:
    """The press is answered with an alert; returns its text."""
    answer = await press(chat, user, message, label)
    assert answer.show_alert, answer
    return answer.text or ""


async def live_text(chat: CouncilChat, message: Message) -> str:
    """The motion's group message once every pending count edit is done."""
    await chat.settle()  # the presses' handlers (which ask for the edits) have all finished
    counts: LiveCounts = chat.application.bot_data["live_counts"]
    await counts.settle()
    return message.text or ""


async def open_meeting(chat: CouncilChat, *, present: list[str]) -> None:
    """Today's extraordinary meeting, opened, with these departments' CIOs present."""
    await chat.command(chat.secretary, "/schedule 2026-11-25 14:30 90 Extraordinary meeting")
    assert (await chat.command(chat.chair, "/startmeeting")).startswith("🏛 Meeting S")
    # Five member departments (those with a CIO): the quorum is more than half of them, three.
    for count, code in enumerate(present, start=1):
        assert await chat.command(chat.cios[code], "/here") == (
            f"CIO {code} is present.\n{count} of 5 departments present; quorum 3: "
            f"{'quorate' if count >= 3 else 'not quorate'}")


async def ballots(chat: CouncilChat, motion: int) -> list[tuple[str, str, bool]]:
    """The motion's ballot history, oldest first: (department, choice, current)."""
    return await rows(chat, sa.select(DEPARTMENTS.c.code, BALLOTS.c.choice, BALLOTS.c.current)
                      .join(DEPARTMENTS).where(BALLOTS.c.motion_id == motion)
                      .order_by(BALLOTS.c.id))


async def recount(chat: CouncilChat, motion: int) -> tuple[str, dict[str, int]]:
    """The ballot-set hash and the counts of the current ballots, straight from the table."""
    current = await rows(chat, sa.select(
        BALLOTS.c.motion_id, BALLOTS.c.member_id, BALLOTS.c.department_id, BALLOTS.c.choice,
        BALLOTS.c.cast_at).where(BALLOTS.c.motion_id == motion, BALLOTS.c.current))
    counted = Counter(choice for *_, choice, _ in current)
    return (ballot_digest(Ballot(m, member, d, Choice(c), at) for m, member, d, c, at in current),
            {choice.value: counted[choice.value] for choice in Choice})


async def result_row(chat: CouncilChat, motion: int) -> tuple[Any, ...]:
    (row,) = await rows(chat, sa.select(
        MOTIONS.c.state, MOTIONS.c.eligible, MOTIONS.c.yes, MOTIONS.c.no, MOTIONS.c.abstain,
        MOTIONS.c.passed, MOTIONS.c.digest).where(MOTIONS.c.id == motion))
    return row


async def test_a_named_vote_by_buttons_and_by_text(chat: CouncilChat) -> None:
    """Present CIOs vote and change their vote; a proxy's, an absent CIO's, the expert's and
    the chair's presses are refused; the live count follows; /close posts a result that a
    recount of the ballots table reproduces; later motions fail for want of a quorum."""
    await open_meeting(chat, present=["EPB", "MSB", "EDU"])
    await chat.command(chat.secretary, "/proxy HLTH Deputy Sun")  # PSB is absent
    message = await chat.driver.ask(chat.chair, "/motion Adopt the cloud-first policy")
    first = motion_id(message)
    assert message.text == "\n".join([
        f"🗳 Motion M{first}: Adopt the cloud-first policy", "Yes 0 · No 0 · Abstain 0",
        "0 of 3 voted.", PRESS_TO_VOTE.format(id=first)])
    assert [(b["text"], b["callback_data"]) for b in message.buttons()] == [
        ("Yes", f"v:{first}:y"), ("No", f"v:{first}:n"), ("Abstain", f"v:{first}:a")]

    assert await chat.press(chat.cios["EPB"], message, "Yes") == f"Your vote on M{first}: Yes."
    assert await chat.command(chat.cios["MSB"], f"/vote M{first} no") == (
        f"Your vote on M{first}: No.")
    assert await chat.command(chat.cios["EDU"], "/vote yes") == f"Your vote on M{first}: Yes."
    assert await live_text(chat, message) == "\n".join([
        f"🗳 Motion M{first}: Adopt the cloud-first policy", "Yes 2 · No 1 · Abstain 0",
        "3 of 3 voted.", PRESS_TO_VOTE.format(id=first)])
    assert await chat.press(chat.cios["MSB"], message, "Abstain") == (
        f"Your vote on M{first} is now Abstain (it was No).")
    async with unchanged(chat):
        assert await refused_press(chat, chat.cios["HLTH"], message, "No") == (
            "A proxy may not vote.")
        assert await refused_press(chat, chat.cios["PSB"], message, "No") == NOT_PRESENT
        assert await chat.command(chat.cios["PSB"], f"/vote M{first} no") == NOT_PRESENT
        assert await refused_press(chat, chat.expert, message, "No") == ONLY_CIOS
        assert await refused_press(chat, chat.chair, message, "Yes") == ONLY_CIOS
        assert await chat.command(chat.cios["EPB"], "/vote maybe") == (
            "Vote yes, no or abstain.")
        assert await chat.command(chat.cios["EPB"], "/vote M999 no") == (
            "No motion M999 in this council.")
    assert await live_text(chat, message) == "\n".join([
        f"🗳 Motion M{first}: Adopt the cloud-first policy", "Yes 2 · No 0 · Abstain 1",
        "3 of 3 voted.", PRESS_TO_VOTE.format(id=first)])

    result = await chat.command(chat.chair, "/close")
    digest, counts = await recount(chat, first)
    assert result == "\n".join([
        f"✅ M{first} carried: Adopt the cloud-first policy", "Yes 2 · No 0 · Abstain 1",
        "Quorum 3 of 5 member departments; 3 voted.", "Yes: EDU, EPB", "Abstain: MSB",
        f"Rule: simple majority of the votes cast. Ballot set #{digest}.",
        f"Recorded as decision D{await decision_of(chat, first)}."])
    assert counts == {"yes": 2, "no": 0, "abstain": 1}
    assert await result_row(chat, first) == ("closed", 3, 2, 0, 1, True, digest)
    assert await ballots(chat, first) == [("EPB", "yes", True), ("MSB", "no", False),
                                          ("EDU", "yes", True), ("MSB", "abstain", True)]
    assert await rows(chat, sa.select(DECISIONS.c.text, DECISIONS.c.motion_id)) == [
        ("Adopt the cloud-first policy", first)]
    # The vote's own message shows the result, without buttons.
    assert await live_text(chat, message) == result
    assert message.buttons() == []
    async with unchanged(chat):
        assert await chat.command(chat.cios["EPB"], f"/vote M{first} no") == (
            f"Motion M{first} is closed.")
        assert await chat.command(chat.chair, f"/close M{first}") == (
            f"Motion M{first} is already closed.")

    # Two motions at once: /vote and /close must say which one.
    lake = motion_id(await chat.driver.ask(chat.chair, "/motion Fund the data lake"))
    pilot = motion_id(await chat.driver.ask(chat.chair, "/motion Extend the pilot"))
    async with unchanged(chat):
        assert await chat.command(chat.cios["EPB"], "/vote yes") == (
            f"Several motions are open (M{lake}, M{pilot}): say which one.")
        assert await chat.command(chat.chair, "/close") == (
            f"Several motions are open (M{lake}, M{pilot}): say which one.")
    assert await chat.command(chat.cios["EPB"], f"/vote {lake} no") == (
        f"Your vote on M{lake}: No.")
    assert await chat.command(chat.chair, f"/close M{pilot}") == "\n".join([
        f"❌ M{pilot} failed: quorum not met: Extend the pilot", "Yes 0 · No 0 · Abstain 0",
        "Quorum not met: 0 voted; 3 of 5 member departments needed.",
        f"Rule: simple majority of the votes cast. Ballot set #{ballot_digest([])}."])
    assert await chat.command(chat.cios["EPB"], "/vote abstain") == (
        f"Your vote on M{lake} is now Abstain (it was No).")
    digest, counts = await recount(chat, lake)
    assert await chat.command(chat.chair, "/close") == "\n".join([
        f"❌ M{lake} failed: quorum not met: Fund the data lake", "Yes 0 · No 0 · Abstain 1",
        "Quorum not met: 1 voted; 3 of 5 member departments needed.", "Abstain: EPB",
        f"Rule: simple majority of the votes cast. Ballot set #{digest}."])
    assert counts == {"yes": 0, "no": 0, "abstain": 1}
    assert await result_row(chat, lake) == ("closed", 3, 0, 0, 1, False, digest)
    assert await chat.command(chat.cios["EPB"], "/vote yes") == "No motion is open."
    assert len(await rows(chat, sa.select(DECISIONS.c.id))) == 1  # failed motions decide nothing


async def test_a_secret_ballot_is_cast_in_private(chat: CouncilChat) -> None:
    """Each CIO gets the buttons privately; the group sees only how many voted and a result
    without names; /vote in the group is refused, in private it counts."""
    await open_meeting(chat, present=["EPB", "MSB", "EDU", "HLTH"])  # PSB is absent
    control = chat.sandbox.control
    group = await chat.driver.ask(chat.chair, "/secret Elect the vice-chair")
    secret = motion_id(group)
    how_to = (f"CIOs vote in their private chat with me, or send me /vote M{secret} "
              "yes|no|abstain there.")
    assert group.text == "\n".join([f"🗳 Secret ballot M{secret}: Elect the vice-chair",
                                    "0 of 4 voted.", how_to])
    assert group.buttons() == []
    ballot_text = (f"🗳 Secret ballot M{secret}: Elect the vice-chair\nNobody can see your vote, "
                   "in the group or in the bot's records. A secret vote is final: once cast, it "
                   "cannot be changed.")

    def ballot(user: User) -> Message | None:
        return next((m for m in control.bot_messages(user.id) if m.text == ballot_text), None)

    await control.wait_until(lambda: all(ballot(cio) for cio in chat.cios.values()))
    await chat.settle()
    assert [ballot(u) for u in (chat.chair, chat.secretary, chat.expert)] == [None] * 3
    # Next in the group is the reply to /help: nobody was unreachable privately.
    assert control.bot_messages(chat.group.id)[-2] is group
    papers = {code: ballot(cio) for code, cio in chat.cios.items()}
    assert all(p is not None and [b["text"] for b in p.buttons()] == ["Yes", "No", "Abstain"]
               for p in papers.values())

    def paper(code: str) -> Message:
        found = papers[code]
        assert found is not None
        return found

    # Issue 12: the answer names no choice, and a secret vote is final.
    in_box = f"🗳 Your secret vote on M{secret} is in the ballot box. Secret votes are final."
    assert await chat.press(chat.cios["EPB"], paper("EPB"), "Yes") == in_box
    assert await chat.press(chat.cios["MSB"], paper("MSB"), "Yes") == in_box
    assert await refused_press(chat, chat.cios["MSB"], paper("MSB"), "No") == (
        f"Your secret vote on M{secret} is already in the ballot box; a secret vote is final.")
    assert await chat.press(chat.cios["HLTH"], paper("HLTH"), "No") == in_box
    async with unchanged(chat):
        assert await chat.command(chat.cios["EDU"], f"/vote M{secret} abstain") == (
            f"M{secret} is a secret ballot: vote in your private chat with me.")
        assert await refused_press(chat, chat.cios["PSB"], paper("PSB"), "Yes") == NOT_PRESENT
    edu = chat.cios["EDU"]
    assert await chat.command(edu, f"/vote M{secret} abstain", chat_id=edu.id) == in_box

    counted = await live_text(chat, group)
    assert counted == "\n".join([f"🗳 Secret ballot M{secret}: Elect the vice-chair",
                                 "4 of 4 voted.", how_to])
    # No edit of the group message ever showed a choice.
    assert all("Yes" not in text and "·" not in text
               for text in [*group.history, counted] if text is not None)

    result = await chat.command(chat.chair, f"/close M{secret}")
    async with chat.database.uow() as uow:
        box = SecretBox.of(secret, await uow.secret_ballots.voters(secret),
                           await uow.secret_ballots.box(secret))
    digest = box_digest(box)
    counts = {choice.value: box.counts[choice] for choice in Choice}
    assert result == "\n".join([
        f"✅ M{secret} carried: Elect the vice-chair", "Yes 2 · No 1 · Abstain 1",
        "Quorum 3 of 5 member departments; 4 voted.",
        f"Rule: simple majority of the votes cast. Ballot set #{digest}.",
        f"Recorded as decision D{await decision_of(chat, secret)}."])
    assert counts == {"yes": 2, "no": 1, "abstain": 1}
    assert await result_row(chat, secret) == ("closed", 4, 2, 1, 1, True, digest)
    assert await live_text(chat, group) == result
    assert await refused_press(chat, chat.cios["EPB"], paper("EPB"), "No") == (
        f"Motion M{secret} is closed.")
    # The audit log says who voted, never what.
    casts = [json.loads(payload) for (payload,) in await rows(
        chat, sa.select(AUDIT.c.payload).where(AUDIT.c.action == "vote.cast"))]
    assert casts == [{"motion": secret, "secret": True}] * 4


async def test_a_circular_vote_is_reminded_and_closed_at_its_deadline(chat: CouncilChat) -> None:
    """Bad deadlines are refused; CIOs vote by button between meetings; a day before the
    deadline only those who have not voted are reminded; at the deadline two reminder workers
    close the vote and post its result exactly once."""
    usage = "Usage: /circular <YYYY-MM-DD HH:MM> <text>"
    too_near_or_far = "A circular vote needs a deadline between one hour and 90 days from now."
    async with unchanged(chat):
        for command, expected in [
                ("/circular 2026-11-25 10:30 Too soon", too_near_or_far),  # it is 10:00
                ("/circular 2026-11-24 10:00 Yesterday", too_near_or_far),
                ("/circular 2027-03-01 10:00 Too far", too_near_or_far),
                ("/circular 2026-02-30 10:00 Impossible", "Impossible date 2026-02-30."),
                ("/circular 2026-11-28 25:00 Impossible",
                 "Impossible time 25:00: use 00:00-23:59."),
                ("/circular Friday noon Adopt",
                 "Bad date/time 'Friday noon': use YYYY-MM-DD HH:MM."),
                ("/circular 2026-11-28 10:00", usage)]:
            assert await chat.command(chat.chair, command) == expected
        assert await chat.command(chat.secretary, "/circular 2026-11-28 10:00 Mine") == (
            "Only the chair may do this.")

    message = await chat.driver.ask(chat.chair,
                                    "/circular 2026-11-28 10:00 Adopt the open-source policy")
    circular = motion_id(message)
    assert message.text == "\n".join([
        f"🗳 Circular vote M{circular}: Adopt the open-source policy",
        "Closes at Sat 28 Nov 2026, 10:00.", "Yes 0 · No 0 · Abstain 0", "0 of 5 voted.",
        PRESS_TO_VOTE.format(id=circular)])
    assert await chat.press(chat.cios["EPB"], message, "Yes") == (
        f"Your vote on M{circular}: Yes.")
    assert await chat.press(chat.cios["MSB"], message, "No") == f"Your vote on M{circular}: No."
    edu = chat.cios["EDU"]
    assert await chat.command(edu, f"/vote M{circular} yes", chat_id=edu.id) == (
        f"Your vote on M{circular}: Yes.")

    control = chat.sandbox.control
    seen = {code: len(control.bot_messages(cio.id)) for code, cio in chat.cios.items()}

    def news(code: str) -> list[str]:
        return [m.text or "" for m in control.bot_messages(chat.cios[code].id)][seen[code]:]

    async with telegram.Bot(chat.sandbox.token, base_url=chat.sandbox.base_url) as other_bot:
        first = Reminders(chat.database, chat.application.bot, chat.clock, worker="host-1")
        second = Reminders(chat.database, other_bot, chat.clock, worker="host-2")
        assert await first.tick() == TickReport()
        chat.clock.at = datetime(2026, 11, 27, 1, 59, tzinfo=UTC)
        assert await first.tick() == TickReport()
        chat.clock.at = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # a day before the deadline
        assert await first.tick() == TickReport(planned=2, sent=2)
        assert await second.tick() == TickReport()
        reminder = (f"🗳 {COUNCIL_NAME}: your department has not voted on circular vote "
                    f"M{circular} yet: Adopt the open-source policy\nIt closes at Sat 28 Nov 2026, "
                    f"10:00. Send /vote M{circular} yes|no|abstain.")
        assert {code: news(code) for code in chat.cios} == {
            "EPB": [], "MSB": [], "EDU": [], "HLTH": [reminder], "PSB": [reminder]}

        assert await chat.press(chat.cios["HLTH"], message, "Abstain") == (
            f"Your vote on M{circular}: Abstain.")
        deadline = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
        chat.clock.at = deadline - timedelta(minutes=1)
        assert await second.tick() == TickReport()
        chat.clock.at = deadline
        async with unchanged(chat):  # the deadline has passed, whether or not a worker knows
            assert await refused_press(chat, chat.cios["PSB"], message, "Yes") == (
                f"Motion M{circular} is closed.")
        posted = len(control.bot_messages(chat.group.id))
        reports = await asyncio.gather(first.tick(), second.tick())
        assert (sum(r.planned for r in reports), sum(r.sent for r in reports)) == (1, 1)
        assert await first.tick() == await second.tick() == TickReport()

    digest, counts = await recount(chat, circular)
    result = "\n".join([
        f"✅ M{circular} carried: Adopt the open-source policy", "Yes 2 · No 1 · Abstain 1",
        "Quorum 3 of 5 member departments; 4 voted.", "Yes: EDU, EPB", "No: MSB",
        "Abstain: HLTH", f"Rule: simple majority of the votes cast. Ballot set #{digest}.",
        f"Recorded as decision D{await decision_of(chat, circular)}."])
    assert [m.text for m in control.bot_messages(chat.group.id)[posted:]] == [result]
    assert message.text == result
    assert message.buttons() == []
    assert counts == {"yes": 2, "no": 1, "abstain": 1}
    assert await result_row(chat, circular) == ("closed", 5, 2, 1, 1, True, digest)
    assert await rows(chat, sa.select(MOTIONS.c.closed_at)) == [(deadline,)]
    assert await rows(chat, sa.select(AUDIT.c.actor).where(AUDIT.c.action == "motion.close")) == [
        ("operator:scheduler",)]
    assert news("PSB") == [reminder]  # nothing more after the deadline
