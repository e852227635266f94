"""Rules of procedure in chat: the quorum is a share of the membership, not of those present;
`/rules` shows the council's rules to anyone, the chair changes them, and a change applies to
votes opened afterwards only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from meetings.domain.votes import ballot_digest
from storage.tables import metadata
from tests.e2e.harness import CODES, CouncilChat, council_chat
from tests.snapshot import snapshot

MOTIONS, AUDIT = metadata.tables["motions"], metadata.tables["audit_events"]
DEFAULT_RULES = "\n".join([
    "Rules of procedure of Riverside District CIO Council:",
    "• Quorum: more than 1/2 of the member departments",
    "• Majority: simple majority of the votes cast",
    "• Major issues per meeting: at most 2",
    "• Proposal deadline: 3 days before the meeting",
    "• Agenda call: 14 days before the meeting",
    "The chair changes them: /rules quorum 1/2 (or >=2/3), /rules majority "
    "simple|absolute|two_thirds [of cast|members], /rules majors 2, /rules deadline 3d, /rules "
    "call 14d. A change applies to votes opened afterwards and to reminders not sent yet."])


@pytest.fixture
async def chat(migrated_url: str) -> AsyncIterator[CouncilChat]:
    async with council_chat(migrated_url, cios=9) as council:  # nine departments, nine CIOs
        yield await council.founded()


async def open_meeting(chat: CouncilChat, present: list[str]) -> list[str]:
    """Today's meeting, opened, with these CIOs arriving; returns the replies to their /here."""
    await chat.command(chat.secretary, "/schedule 2026-11-25 14:30 90 Extraordinary meeting")
    call = await chat.command(chat.chair, "/startmeeting")
    assert call.splitlines()[-1] == "0 of 9 departments present; quorum 5: not quorate"
    return [await chat.command(chat.cios[code], "/here") for code in present]


def motion_id(text: str) -> int:
    found = re.search(r" M(\d+): ", text)
    assert found is not None, text
    return int(found.group(1))


async def basis(chat: CouncilChat, motion: int) -> tuple[object, ...]:
    async with chat.database.engine.connect() as connection:
        return tuple((await connection.execute(sa.select(
            MOTIONS.c.rule, MOTIONS.c.base, MOTIONS.c.membership, MOTIONS.c.quorum_needed,
            MOTIONS.c.passed).where(MOTIONS.c.id == motion))).one())


async def test_three_of_nine_present_cannot_carry_a_motion(chat: CouncilChat) -> None:
    """Nine member departments, three CIOs came and all vote yes: the roll call says the
    meeting is not quorate and the motion fails for want of a quorum, with the numbers."""
    replies = await open_meeting(chat, ["EPB", "MSB", "EDU"])
    assert replies == [f"CIO {code} is present.\n{count} of 9 departments present; quorum 5: "
                       f"not quorate" for count, code in enumerate(["EPB", "MSB", "EDU"], 1)]
    motion = motion_id(await chat.command(chat.chair, "/motion Adopt the cloud-first policy"))
    for code in ("EPB", "MSB", "EDU"):
        assert await chat.command(chat.cios[code], "/vote yes") == f"Your vote on M{motion}: Yes."

    result = await chat.command(chat.chair, "/close")

    assert result.splitlines()[:3] == [
        f"❌ M{motion} failed: quorum not met: Adopt the cloud-first policy",
        "Yes 3 · No 0 · Abstain 0",
        "Quorum not met: 3 voted; 5 of 9 member departments needed."]
    assert result.splitlines()[-1].startswith("Rule: simple majority of the votes cast. "
                                              "Ballot set #")
    assert await basis(chat, motion) == ("simple", "cast", 9, 5, False)
    # Two more arrive: five of nine make the quorum, and the next motion carries.
    assert await chat.command(chat.cios["HLTH"], "/here") == (
        "CIO HLTH is present.\n4 of 9 departments present; quorum 5: not quorate")
    assert await chat.command(chat.cios["PSB"], "/here") == (
        "CIO PSB is present.\n5 of 9 departments present; quorum 5: quorate")
    second = motion_id(await chat.command(chat.chair, "/motion Adopt it with five present"))
    for code in ("EPB", "MSB", "EDU", "HLTH", "PSB"):
        await chat.command(chat.cios[code], "/vote yes")
    assert (await chat.command(chat.chair, "/close")).splitlines()[:3] == [
        f"✅ M{second} carried: Adopt it with five present", "Yes 5 · No 0 · Abstain 0",
        "Quorum 5 of 9 member departments; 5 voted."]


async def test_a_rules_change_applies_to_the_next_vote_only(chat: CouncilChat) -> None:
    """Anyone reads /rules; only the chair changes them and a bad value changes nothing; a vote
    opened before the change keeps its quorum of five, the one opened after takes three."""
    await open_meeting(chat, ["EPB", "MSB", "EDU", "HLTH"])
    assert await chat.command(chat.cios["EPB"], "/rules") == DEFAULT_RULES
    before = motion_id(await chat.command(chat.chair, "/motion Opened under the old rules"))

    await chat.settle()  # a motion's message id is stored just after its message is sent
    unchanged = snapshot(chat.database.url)
    assert await chat.command(chat.cios["EPB"], "/rules quorum 1/3") == (
        "Only the chair may do this.")
    assert await chat.command(chat.secretary, "/rules quorum 1/3") == (
        "Only the chair may do this.")
    assert await chat.command(chat.chair, "/rules quorum 3/2") == (
        "A quorum is a share above 0 and at most 1 (all members).")
    assert await chat.command(chat.chair, "/rules majority simple of members") == (
        "A simple majority is of the votes cast; for more than half of all members, use absolute.")
    assert await chat.command(chat.chair, "/rules call 2d") == (
        "The agenda call (days before the meeting: 2) must come before the proposal deadline "
        "(days before: 3).")
    assert await chat.command(chat.chair, "/rules speed 3") == (
        "Unknown rule 'speed': quorum, majority, majors, deadline or call.")
    assert await chat.command(chat.chair, "/rules quorum") == (
        "Usage: /rules [quorum|majority|majors|deadline|call <value>]")
    assert snapshot(chat.database.url) == unchanged

    changed = await chat.command(chat.chair, "/rules quorum >=1/3")
    assert changed.splitlines()[:3] == [
        "Rule changed; votes already open keep their rules.",
        "Rules of procedure of Riverside District CIO Council:",
        "• Quorum: at least 1/3 of the member departments"]
    assert await chat.command(chat.chair, "/rules deadline 5d") == (
        "\n".join(["Rule changed; votes already open keep their rules.",
                   *DEFAULT_RULES.replace("more than 1/2", "at least 1/3")
                   .replace("Proposal deadline: 3", "Proposal deadline: 5").splitlines()]))
    after = motion_id(await chat.command(chat.chair, "/motion Opened under the new rules"))
    for motion in (before, after):
        for code in ("EPB", "MSB", "EDU", "HLTH"):
            await chat.command(chat.cios[code], f"/vote M{motion} yes")

    old = await chat.command(chat.chair, f"/close M{before}")
    new = await chat.command(chat.chair, f"/close M{after}")

    assert old.splitlines()[:3] == [
        f"❌ M{before} failed: quorum not met: Opened under the old rules",
        "Yes 4 · No 0 · Abstain 0", "Quorum not met: 4 voted; 5 of 9 member departments needed."]
    assert new.splitlines()[:3] == [
        f"✅ M{after} carried: Opened under the new rules", "Yes 4 · No 0 · Abstain 0",
        "Quorum 3 of 9 member departments; 4 voted."]
    assert (await basis(chat, before), await basis(chat, after)) == (
        ("simple", "cast", 9, 5, False), ("simple", "cast", 9, 3, True))
    async with chat.database.engine.connect() as connection:
        changes = (await connection.execute(sa.select(AUDIT.c.payload).where(
            AUDIT.c.action == "council.rules").order_by(AUDIT.c.seq))).scalars().all()
    assert changes == ['{"after":">=1/3","before":">1/2","setting":"quorum"}',
                       '{"after":"5d","before":"3d","setting":"deadline"}']


async def test_the_majority_rule_states_its_base(chat: CouncilChat) -> None:
    """Two-thirds of the members needs six yes of nine, however few vote no; in Chinese the
    result and the rules say the same."""
    await open_meeting(chat, CODES[:7])
    await chat.command(chat.chair, "/rules majority two_thirds of members")
    motion = motion_id(await chat.command(chat.chair, "/motion Amend the charter"))
    for code, choice in zip(CODES[:7], ["yes"] * 5 + ["no", "abstain"], strict=True):
        await chat.command(chat.cios[code], f"/vote {choice}")
    result = await chat.command(chat.chair, "/close")
    assert result.splitlines()[:3] == [
        f"❌ M{motion} not carried: Amend the charter", "Yes 5 · No 1 · Abstain 1",
        "Quorum 5 of 9 member departments; 7 voted."]
    assert result.splitlines()[-1].startswith(
        "Rule: two-thirds majority of the member departments. Ballot set #")
    assert await basis(chat, motion) == ("two_thirds", "members", 9, 5, False)
    assert ballot_digest([]) not in result

    await chat.command(chat.chair, "/lang zh")
    assert (await chat.command(chat.cios["EPB"], "/rules")).splitlines()[:3] == [
        "Riverside District CIO Council议事规则：", "• 法定人数：超过成员单位的1/2",
        "• 表决规则：全体成员单位的三分之二多数"]
