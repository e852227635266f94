"""A secret ballot's papers survive a crash: the real `cio-council serve`, SIGKILLed as the
motion goes up in the group or as the first paper is on its way, is started again and every CIO
gets their paper exactly once (the papers were queued in the job table with the motion)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.sandbox import Message
from tests.e2e.crash import CrashingSandbox, ServeProcess
from tests.e2e.test_crash_restart import ANSWER_WITHIN, CODES, READY_WITHIN, cast, seed


@pytest.mark.parametrize("after", [0, 1], ids=["at the motion's post", "at the first paper"])
async def test_every_paper_of_a_secret_ballot_arrives_once_after_a_crash(
        crashing_sandbox: CrashingSandbox, migrated_url: str, tmp_path: Path, after: int) -> None:
    """Killed as the motion's message (or the first paper after it) reaches the Bot API, the
    restarted bot sends each of the six CIOs their paper once, and nobody else one."""
    sandbox = crashing_sandbox
    control = sandbox.control
    group, people = cast(sandbox)
    for code in CODES:
        control.start_bot(people[code].id)
    meeting_id = await seed(migrated_url, group, people, datetime.now(UTC))
    chair = people["chair"]
    bot_name = sandbox.bot.username

    def papers(person: str) -> list[Message]:
        return [m for m in control.bot_messages(people[person].id)
                if (m.text or "").startswith("🗳 Secret ballot M")]

    serve = ServeProcess({
        "COUNCIL_BOT_TOKEN": sandbox.token, "COUNCIL_BOT_API_URL": sandbox.base_url,
        "COUNCIL_DATABASE_URL": migrated_url, "COUNCIL_DATA_DIR": str(tmp_path / "data"),
        "COUNCIL_WEB_HOST": "127.0.0.1", "COUNCIL_WEB_PORT": "0"},
        cwd=tmp_path, log=tmp_path / "serve.log")
    try:
        await serve.start()
        opened = control.send_text(chair.id, group.id, f"/startmeeting@{bot_name} {meeting_id}")
        await serve.alive_while(control.next_bot_message(group.id, after=opened,
                                                         timeout=READY_WITHIN))
        # Every /start was answered: what comes next is the ballot.
        await serve.alive_while(control.wait_until(
            lambda: all(control.bot_messages(people[code].id) for code in CODES), ANSWER_WITHIN))

        sandbox.kill_at_next_answer(serve.kill_now, after=after)
        control.send_text(chair.id, group.id, f"/secret@{bot_name} Elect the vice-chair")
        await sandbox.killed(ANSWER_WITHIN)
        await serve.kill()
        assert [len(papers(code)) for code in CODES] == [0] * len(CODES)

        await serve.start()
        await serve.alive_while(control.wait_until(
            lambda: all(papers(code) for code in CODES), READY_WITHIN))
        # A round trip after the papers: anything still on its way would have come by now.
        probe = control.create_user("Probe")
        asked = control.send_text(probe.id, probe.id, "/help")
        await serve.alive_while(control.next_bot_message(probe.id, after=asked,
                                                         timeout=ANSWER_WITHIN))
        assert await serve.stop() == 0, serve.log_tail()
    finally:
        await serve.cleanup()

    assert {code: len(papers(code)) for code in CODES} == dict.fromkeys(CODES, 1)
    others = ("chair", "secretary", "expert")
    assert [papers(person) for person in others] == [[] for _ in others]
    assert all([b["text"] for b in papers(code)[0].buttons()] == ["Yes", "No", "Abstain"]
               for code in CODES)
