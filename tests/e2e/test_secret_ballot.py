"""A secret ballot stays secret in the database and the log (issue 12): after nine CIOs vote —
through a SIGKILL of `cio-council serve` with its answer on the way, a press waiting while it is
down, a kill once a press is stored, a second press, and a /vote command — and after two
instances take nine presses at once, no row of any table and no log line (at DEBUG, where PTB
logs every update and every Bot API call) tells a department's choice; the tally, the ballot-set
hash and one vote per department still hold, recounted from the ballot box.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import logs
from bot.clock import FixedClock
from bot.sandbox import Chat, Message, SandboxServer, User, WebhookPolicy
from bot.sandbox.driver import ChatDriver
from meetings import usecases
from meetings.domain import votes
from meetings.domain.errors import AlreadyVoted
from meetings.domain.model import Choice, Meeting, MeetingKind, Member, Role, SecretVote
from storage import Database
from tests.e2e.crash import CrashingSandbox, ServeProcess
from tests.e2e.instances import scaled_out
from tests.e2e.secrecy import scan_database, scan_lines, stored_box

CODES = ["EPB", "MSB", "EDU", "HLTH", "PSB", "FIN", "HRSS", "TRN", "CIV"]
LABELS = {Choice.YES: "Yes", Choice.NO: "No", Choice.ABSTAIN: "Abstain"}
# Five yes, three no, one abstention: the motion carries.
CHOSEN = dict(zip(CODES, [Choice.YES, Choice.NO, Choice.YES, Choice.ABSTAIN, Choice.YES,
                          Choice.NO, Choice.YES, Choice.NO, Choice.YES], strict=True))
TEXT = "Name EPB the lead department of the data platform"
ANSWER_WITHIN = 10.0
READY_WITHIN = 60.0  # a start takes ~1.5 s, far longer on a loaded machine


def in_box(motion_id: int) -> str:
    return f"🗳 Your secret vote on M{motion_id} is in the ballot box. Secret votes are final."



async def seed(url: str, group: Chat, chair: User, cios: dict[str, User], now: datetime) -> int:
    """The council with a department per CIO and today's meeting started, every CIO present in
    person; returns the council's id."""
    database = Database(url)
    operator = usecases.common.Operator("secret drill")
    try:
        council = await usecases.councils.create_council(
            database.uow(), name="Riverside Council", actor=operator, now=now, chat_id=group.id)
        await usecases.councils.add_member(database.uow(), council.id, name=chair.first_name,
                                           role=Role.CHAIR, actor=operator, now=now,
                                           telegram_id=chair.id, username=chair.username)
        members: list[Member] = []
        for code, user in cios.items():
            await usecases.councils.add_department(database.uow(), council.id, code=code,
                                                   name=f"{code} Bureau", actor=operator, now=now)
            members.append(await usecases.councils.add_member(
                database.uow(), council.id, name=user.first_name, role=Role.CIO, actor=operator,
                now=now, telegram_id=user.id, username=user.username, department=code))
        async with database.uow() as uow:
            meeting = await uow.meetings.add(Meeting(
                council.id, MeetingKind.EXTRAORDINARY, now - timedelta(minutes=5), 120,
                title="Data governance"))
            await uow.commit()
        await usecases.meeting.start_meeting(database.uow(), council.id, actor=operator,
                                             now=now, meeting_id=meeting.id)
        for member in members:
            await usecases.meeting.mark_here(database.uow(), council.id, actor=member, now=now)
        return council.id
    finally:
        await database.dispose()


def people(sandbox: SandboxServer) -> tuple[Chat, User, dict[str, User]]:
    control = sandbox.control
    chair = control.create_user("Wang Lei", username="wang_lei")
    cios = {code: control.create_user(f"CIO {code}", username=f"cio_{code.lower()}")
            for code in CODES}
    group = control.create_group("CIO Council", creator=chair.id, admins=[chair.id],
                                 members=[u.id for u in cios.values()])
    for cio in cios.values():
        control.start_bot(cio.id)  # so the bot may write to them privately
    return group, chair, cios


def ballot_of(sandbox: SandboxServer, cio: User, motion_id: int) -> Message | None:
    """The secret ballot's buttons in the CIO's private chat."""
    return next((m for m in sandbox.control.bot_messages(cio.id)
                 if (m.text or "").startswith(f"🗳 Secret ballot M{motion_id}: ")
                 and m.buttons()), None)


async def open_ballot(sandbox: SandboxServer, chair: User, group: Chat,
                      cios: dict[str, User], *, alive: ServeProcess | None = None
                      ) -> tuple[int, dict[str, Message]]:
    """The chair's /secret in the group; waits until every CIO has the ballot privately."""
    control = sandbox.control
    asked = control.send_text(chair.id, group.id, f"/secret@{sandbox.bot.username} {TEXT}")
    waiting = control.next_bot_message(group.id, after=asked, timeout=ANSWER_WITHIN)
    opened = await (alive.alive_while(waiting) if alive else waiting)
    found = re.match(rf"🗳 Secret ballot M(\d+): {TEXT}\n", opened.text or "")
    assert found is not None, opened.text
    motion_id = int(found.group(1))

    def delivered() -> bool:
        return all(ballot_of(sandbox, cio, motion_id) for cio in cios.values())

    await control.wait_until(delivered, ANSWER_WITHIN)
    ballots = {code: ballot_of(sandbox, cio, motion_id) for code, cio in cios.items()}
    assert all(ballots.values())
    first = next(iter(ballots.values()))
    assert first is not None
    assert "A secret vote is final" in (first.text or "")
    return motion_id, {code: b for code, b in ballots.items() if b is not None}


def check_result(result: str, motion_id: int, digest: str) -> None:
    counts = Counter(CHOSEN.values())
    *lines, decision = result.splitlines()
    assert re.fullmatch(r"Recorded as decision D\d+\.", decision)  # it carried
    assert lines == [
        f"✅ M{motion_id} carried: {TEXT}",
        f"Yes {counts[Choice.YES]} · No {counts[Choice.NO]} · Abstain {counts[Choice.ABSTAIN]}",
        "Quorum 5 of 9 member departments; 9 voted.",
        f"Rule: simple majority of the votes cast. Ballot set #{digest}."]


async def recount(url: str, motion_id: int) -> tuple[dict[str, int], str, str]:
    """The box as stored, the digest recounted from it and the stored rows of who voted, and
    the digest the motion declared."""
    counts, voted = stored_box(url, motion_id)
    database = Database(url)
    try:
        async with database.uow() as uow:
            motion = await uow.motions.get(motion_id)
            assert motion is not None
            departments = {d.code: d.id for d in await uow.departments.list(motion.council_id)}
    finally:
        await database.dispose()
    assert voted == set(departments.values())  # one has-voted row per department, all nine
    box = votes.SecretBox(motion_id, frozenset(voted),
                          {Choice(c): n for c, n in counts.items()})
    return counts, votes.box_digest(box), motion.digest


async def test_a_secret_ballot_through_crashes_leaves_no_choice_in_any_table_or_log(
        crashing_sandbox: CrashingSandbox, migrated_url: str, tmp_path: Path) -> None:
    """Nine secret votes with `cio-council serve` SIGKILLed twice in the middle (once with an
    answer on its way, once right after a press was stored) and a press waiting while it is
    down: each vote counts once, a second press is refused as final, the result and its hash
    equal a recount of the box, and no table row or DEBUG log line reveals a choice."""
    sandbox = crashing_sandbox
    control = sandbox.control
    group, chair, cios = people(sandbox)
    await seed(migrated_url, group, chair, cios, datetime.now(UTC))
    serve = ServeProcess({
        "COUNCIL_BOT_TOKEN": sandbox.token, "COUNCIL_BOT_API_URL": sandbox.base_url,
        "COUNCIL_DATABASE_URL": migrated_url, "COUNCIL_DATA_DIR": str(tmp_path / "data"),
        "COUNCIL_WEB_HOST": "127.0.0.1", "COUNCIL_WEB_PORT": "0",
        "COUNCIL_LOG_LEVEL": "DEBUG"}, cwd=tmp_path, log=tmp_path / "serve.log")
    probes = 0

    async def ready() -> None:
        """A /help round trip from someone new: everything sent before has been handled."""
        nonlocal probes
        probes += 1
        probe = control.create_user(f"Probe {probes}")
        asked = control.send_text(probe.id, probe.id, "/help")
        await serve.alive_while(control.next_bot_message(probe.id, after=asked,
                                                         timeout=READY_WITHIN))

    async def press(code: str, label: str | None = None) -> str:
        return control.press_button(cios[code].id, cios[code].id, ballots[code].message_id,
                                    text=label or LABELS[CHOSEN[code]])

    def answers_to(query: str) -> set[str]:
        return {a.text or "" for a in control.callback_answers() if a.callback_query_id == query}

    async def answer(query: str) -> str:
        found = await serve.alive_while(control.answer_to(query, timeout=ANSWER_WITHIN))
        return found.text or ""

    try:
        await serve.start()
        await ready()
        motion_id, ballots = await open_ballot(sandbox, chair, group, cios, alive=serve)

        for code in CODES[:3]:
            assert await answer(await press(code)) == in_box(motion_id)
        # Killed as its answer reaches the Bot API: the vote is committed, the answer lost.
        sandbox.kill_at_next_answer(serve.kill_now)
        lost = await press(CODES[3])
        await sandbox.killed(ANSWER_WITHIN)
        await serve.kill()
        # Pressed while the bot is down: it waits at the Bot API.
        waiting = await press(CODES[4])
        await serve.start()
        await ready()
        # Answered, unless the restart took longer than Telegram waits for an answer (15 s
        # under load): the vote counts all the same (the tally below).
        assert answers_to(waiting) <= {in_box(motion_id)}
        assert not answers_to(lost)
        # Killed once the press is stored (the bot confirmed it to the Bot API), at some point
        # of its handling: the restarted bot takes it over from its inbox.
        stored = await press(CODES[5])
        await serve.alive_while(control.wait_until(lambda: not control.pending_updates(),
                                                   timeout=ANSWER_WITHIN))
        await serve.kill()
        await serve.start()
        await ready()
        assert answers_to(stored) <= {in_box(motion_id)}
        # A second press, for another choice, is refused: a secret vote is final.
        assert await answer(await press(CODES[6])) == in_box(motion_id)
        other = next(c for c in Choice if c is not CHOSEN[CODES[6]])
        again = await serve.alive_while(control.answer_to(
            await press(CODES[6], LABELS[other]), timeout=ANSWER_WITHIN))
        assert (again.text, again.show_alert) == (
            f"Your secret vote on M{motion_id} is already in the ballot box; a secret vote is "
            "final.", True)
        # A vote by command in the private chat.
        cio = cios[CODES[7]]
        sent = control.send_text(cio.id, cio.id, f"/vote M{motion_id} {CHOSEN[CODES[7]].value}")
        reply = await serve.alive_while(control.next_bot_message(cio.id, after=sent,
                                                                 timeout=ANSWER_WITHIN))
        assert reply.text == in_box(motion_id)
        assert await answer(await press(CODES[8])) == in_box(motion_id)

        asked = control.send_text(chair.id, group.id, f"/close@{sandbox.bot.username}")
        closed = await serve.alive_while(control.next_bot_message(group.id, after=asked,
                                                                  timeout=ANSWER_WITHIN))
        await ready()
        assert await serve.stop() == 0, serve.log_tail()
    finally:
        await serve.cleanup()

    counts, digest, declared = await recount(migrated_url, motion_id)
    assert counts == {c.value: n for c, n in Counter(CHOSEN.values()).items()} | {
        c.value: 0 for c in Choice if c not in CHOSEN.values()}
    assert declared == digest
    check_result(closed.text or "", motion_id, digest)

    problems, rows = scan_database(migrated_url, motion_id)
    assert problems == []
    assert rows > 50  # the scan read the council, the inbox, the audit log and more
    lines = (tmp_path / "serve.log").read_text().splitlines()
    assert sum("Processing update" in line for line in lines) >= 12  # DEBUG was on
    assert sum(f"v:{motion_id}:<redacted>" in line for line in lines) >= 9
    assert scan_lines(lines) == []


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))


@pytest.fixture
async def sandbox(clock: FixedClock) -> AsyncIterator[SandboxServer]:
    # A failed push (an instance still starting) is tried again soon, as Telegram would.
    policy = WebhookPolicy(first_delay=0.05, backoff=1.0)
    async with SandboxServer(clock=clock.timestamp, webhook_policy=policy) as server:
        yield server


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    """Every record of every logger at DEBUG, written as the service writes its log."""
    stream = io.StringIO()
    handler = logs.handler(stream=stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_two_instances_take_a_secret_ballot_at_once_and_keep_it_secret(
        sandbox: SandboxServer, migrated_url: str, clock: FixedClock, tmp_path: Path,
        service_log: io.StringIO) -> None:
    """Nine CIOs press their secret ballots at once, and once more each for another choice,
    against two instances on one database: nine votes in the box, every second press refused,
    a department's extra has-voted row refused by the database, the posted result equal to a
    recount, and no table row or DEBUG log line revealing a choice."""
    control = sandbox.control
    group, chair, cios = people(sandbox)
    council_id = await seed(migrated_url, group, chair, cios, clock.now())
    driver = ChatDriver(control, sandbox.bot.username, group.id, timeout=ANSWER_WITHIN)
    async with scaled_out(sandbox, migrated_url, clock, tmp_path, instances=2):
        motion_id, ballots = await open_ballot(sandbox, chair, group, cios)
        first = [control.press_button(cios[code].id, cios[code].id, ballots[code].message_id,
                                      text=LABELS[CHOSEN[code]]) for code in CODES]
        answers = await asyncio.gather(*(control.answer_to(q, timeout=ANSWER_WITHIN)
                                         for q in first))
        assert {(a.text, a.show_alert) for a in answers} == {(in_box(motion_id), False)}
        second = [control.press_button(
            cios[code].id, cios[code].id, ballots[code].message_id,
            text=LABELS[next(c for c in Choice if c is not CHOSEN[code])]) for code in CODES]
        refused = await asyncio.gather(*(control.answer_to(q, timeout=ANSWER_WITHIN)
                                         for q in second))
        assert {(a.text, a.show_alert) for a in refused} == {(
            f"Your secret vote on M{motion_id} is already in the ballot box; a secret vote is "
            "final.", True)}

        # The database itself refuses a second has-voted row, whatever the code above it.
        database = Database(migrated_url)
        try:
            async with database.uow() as uow:
                member = await uow.members.by_telegram(council_id, cios["EPB"].id)
                assert member is not None
                assert member.department_id is not None
                with pytest.raises(AlreadyVoted):
                    await uow.secret_ballots.cast(SecretVote(
                        motion_id, member.id, member.department_id, clock.now()), Choice.NO)
        finally:
            await database.dispose()

        result = await driver.command(chair, f"/close M{motion_id}")

    counts, digest, declared = await recount(migrated_url, motion_id)
    assert sum(counts.values()) == 9
    assert counts == {"yes": 5, "no": 3, "abstain": 1}
    assert declared == digest
    check_result(result, motion_id, digest)
    problems, _ = scan_database(migrated_url, motion_id)
    assert problems == []
    lines = service_log.getvalue().splitlines()
    assert sum("Processing update" in line for line in lines) >= 18
    assert scan_lines(lines) == []
