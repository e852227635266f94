"""`cio-council backup`, run as its own process while fifty CIOs press a vote button against the
running service (webhook mode, as `serve --webhook` runs), takes a copy that holds every
ballot acknowledged before it began; restored into an empty database, its audit chain verifies."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.sandbox import SandboxServer, WebhookPolicy
from bot.sandbox.driver import ChatDriver
from meetings.domain.model import Choice
from storage import Database
from tests.conftest import _scratch_postgres_database
from tests.e2e.instances import (
    BUTTON_LABELS,
    create_cios,
    department_codes,
    motion_with_everyone_present,
    press_all_at_once,
    scaled_out,
)

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 on a Wednesday in Shanghai
VOTERS = 50
ANSWER_TIMEOUT = 30.0
BACKUP_AFTER = 10  # answered presses before the backup starts: it runs mid-burst


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def sandbox(clock: FixedClock) -> AsyncIterator[SandboxServer]:
    policy = WebhookPolicy(first_delay=0.05, backoff=1.0)
    async with SandboxServer(clock=clock.timestamp, webhook_policy=policy) as server:
        yield server


@pytest.fixture
def restore_url(engine_name: str, tmp_path: Path, request: pytest.FixtureRequest,
                ) -> Iterator[str]:
    """An empty database of the same engine to restore into."""
    if engine_name == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore (Debian package postgresql-client) are missing")
    yield from _scratch_postgres_database(request.getfixturevalue("postgres_admin_url"))


async def cio_council(database_url: str, *args: str, cwd: Path) -> tuple[int, str]:
    """Runs the command line in a process of its own, as cron or a systemd timer would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNCIL_")}
    env["COUNCIL_DATABASE_URL"] = database_url
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


async def ballot_history(database_url: str, motion_id: int) -> Counter[tuple[str, Choice]]:
    database = Database(database_url)
    try:
        async with database.uow() as uow:
            motion = await uow.motions.get(motion_id)
            assert motion is not None
            codes = {d.id: d.code for d in await uow.departments.list(motion.council_id)}
            return Counter((codes[b.department_id], b.choice)
                           for b in await uow.ballots.history(motion_id))
    finally:
        await database.dispose()


async def test_a_backup_taken_mid_burst_holds_every_acknowledged_ballot(
        sandbox: SandboxServer, migrated_url: str, restore_url: str, clock: FixedClock,
        tmp_path: Path) -> None:
    """50 presses go out at once; once some are answered, `cio-council backup` runs; the
    restored copy has a ballot for each press answered before it began (and none that was
    never made), and `audit verify` passes on it."""
    control = sandbox.control
    chair = control.create_user("Wang Lei", username="wang_lei")
    codes = department_codes(VOTERS)
    cios = create_cios(control, codes)
    group = control.create_group("CIO Council", creator=chair.id, admins=[chair.id],
                                 members=[cio.id for cio in cios.values()])
    driver = ChatDriver(control, sandbox.bot.username, group.id, timeout=ANSWER_TIMEOUT)
    backup_file = tmp_path / "council.backup"
    async with scaled_out(sandbox, migrated_url, clock, tmp_path, instances=1):
        motion = await motion_with_everyone_present(
            control, driver, chair, group.id, cios, database_url=migrated_url, now=clock.now(),
            timeout=ANSWER_TIMEOUT)

        burst = press_all_at_once(control, group.id, motion.message_id, cios,
                                  timeout=ANSWER_TIMEOUT)
        await control.wait_until(lambda: len(burst.answered()) >= BACKUP_AFTER, ANSWER_TIMEOUT)
        acknowledged = burst.answered()
        made = await cio_council(migrated_url, "backup", "-o", str(backup_file), cwd=tmp_path)
        assert made[0] == 0, made
        assert {a.text for a in await burst.answers} <= {
            f"Your vote on M1: {label}." for label in BUTTON_LABELS.values()}

    assert (await cio_council(restore_url, "restore", str(backup_file), cwd=tmp_path))[0] == 0
    verified = await cio_council(restore_url, "audit", "verify", cwd=tmp_path)
    assert verified[0] == 0, verified
    assert verified[1].startswith("Audit log intact: ")

    restored = await ballot_history(restore_url, 1)
    expected = Counter(burst.presses[query] for query in acknowledged)
    assert restored & expected == expected  # every acknowledged press is in the copy
    assert restored <= Counter(burst.presses.values())  # and nothing else but real presses
    assert await ballot_history(migrated_url, 1) == Counter(burst.presses.values())
    print(f"acknowledged before the backup: {len(acknowledged)}; in the copy: "
          f"{restored.total()} of {VOTERS}")
