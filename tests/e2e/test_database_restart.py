"""The database server is killed (SIGKILL) in the middle of a 50-voter burst and started again a
few seconds later, under a running service in webhook mode: the service keeps running, /healthz
goes 503 then 200, and every press is counted exactly once — those answered before the crash,
and those Telegram delivered again (the webhook said 503) or the intake put off (their handling
met the dead server) after it.

The server is the test's own (`initdb` and `pg_ctl` on a spare port), never the shared one."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.clock import FixedClock
from bot.sandbox import SandboxServer, WebhookPolicy
from bot.sandbox.driver import ChatDriver
from bot.settings import Settings
from storage import Database, migrate
from tests.e2e.instances import (
    BUTTON_LABELS,
    Instance,
    create_cios,
    department_codes,
    free_port,
    motion_with_everyone_present,
    press_all_at_once,
)

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 on a Wednesday in Shanghai
VOTERS = 50
KILL_AFTER = 10  # presses answered before the server is killed
ANSWER_TIMEOUT = 60.0
OUTAGE_TIMEOUT = 20.0
SECRET = "database-restart-webhook-secret_0123"


class OwnPostgres:
    """A PostgreSQL server in a scratch directory, run as the postgres user when we are root
    (initdb refuses root)."""

    def __init__(self, bin_dir: Path, base: Path) -> None:
        self._bin = bin_dir
        self._data = base / "data"
        self._log = base / "server.log"
        self._base = base
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as, *command], check=True, capture_output=True, timeout=60)

    def initialise(self) -> None:
        self._run(str(self._bin / "initdb"), "-D", str(self._data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        # TCP only: no socket lock file for a killed server to leave behind.
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
        self._run(str(self._bin / "pg_ctl"), "-D", str(self._data), "-l", str(self._log),
                  "-o", options, "-w", "-t", "30", "start")

    def kill(self) -> None:
        """SIGKILL to the server and every process of it, as a crash or an OOM kill does."""
        postmaster = int((self._data / "postmaster.pid").read_text().split()[0])
        doomed = [postmaster, *(pid for pid, parent in _processes() if parent == postmaster)]
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in doomed:
            _wait_gone(pid)
        if _state_and_parent(postmaster) is not None:
            # A zombie: dead, but where no init reaps orphans (a container) its pid stays
            # taken, and the next postmaster would take it for a live server.
            (self._data / "postmaster.pid").unlink()

    def stop(self) -> None:
        subprocess.run([*self._as, str(self._bin / "pg_ctl"), "-D", str(self._data), "-m",
                        "immediate", "stop"], capture_output=True, timeout=60, check=False)


def _state_and_parent(pid: int) -> tuple[str, int] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (name) state ppid ...": the name may hold spaces and parentheses.
    state, parent = text.rsplit(")", 1)[1].split()[:2]
    return state, int(parent)


def _processes() -> list[tuple[int, int]]:
    found = []
    for path in glob.glob("/proc/[0-9]*"):
        pid = int(path.rsplit("/", 1)[1])
        if (known := _state_and_parent(pid)) is not None:
            found.append((pid, known[1]))
    return found


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    """Until the killed process is gone (or a zombie nobody has reaped yet)."""
    deadline = time.monotonic() + timeout
    while (known := _state_and_parent(pid)) is not None and known[0] != "Z":
        if time.monotonic() > deadline:
            raise TimeoutError(f"process {pid} survived SIGKILL")
        time.sleep(0.01)


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins or not Path(bins[-1], "initdb").exists():
        pytest.skip("the PostgreSQL server is not installed (Debian package postgresql)")
    if os.geteuid() == 0 and (shutil.which("runuser") is None or _no_postgres_user()):
        pytest.skip("as root, initdb needs a postgres user and runuser to run as it")
    base = Path(tempfile.mkdtemp(prefix="council-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    server = OwnPostgres(Path(bins[-1]), base)
    try:
        server.initialise()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def _no_postgres_user() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return True
    return False


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def sandbox(clock: FixedClock) -> AsyncIterator[SandboxServer]:
    # Telegram retries a failed delivery for hours; here every 0.1 s for a minute, longer than
    # the slowest outage the test waits out (a busy machine can take seconds to restart).
    policy = WebhookPolicy(max_attempts=600, first_delay=0.1, backoff=1.0, timeout=10.0)
    async with SandboxServer(clock=clock.timestamp, webhook_policy=policy) as server:
        yield server


async def watch_health(url: str, seen: list[int], stop: asyncio.Event) -> None:
    """Probes /healthz as a load balancer does, noting each change of status."""
    async with aiohttp.ClientSession() as client:
        while not stop.is_set():
            async with client.get(url + "/healthz") as response:
                if not seen or seen[-1] != response.status:
                    seen.append(response.status)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)


async def test_a_database_killed_mid_burst_loses_and_doubles_nothing(
        sandbox: SandboxServer, own_postgres: OwnPostgres, clock: FixedClock,
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """SIGKILL the server once 10 of 50 presses are answered, start it again: the service never
    stops, /healthz reads 200, 503, 200, every press is answered and counted once."""
    url = own_postgres.url
    await asyncio.to_thread(migrate.upgrade, url)
    control = sandbox.control
    chair = control.create_user("Wang Lei", username="wang_lei")
    codes = department_codes(VOTERS)
    cios = create_cios(control, codes)
    group = control.create_group("CIO Council", creator=chair.id, admins=[chair.id],
                                 members=[cio.id for cio in cios.values()])
    driver = ChatDriver(control, sandbox.bot.username, group.id, timeout=ANSWER_TIMEOUT)
    port = free_port()
    service_url = f"http://127.0.0.1:{port}"
    instance = Instance(Settings(
        bot_token=sandbox.token, bot_api_url=sandbox.base_url, database_url=url,
        data_dir=tmp_path, web_host="127.0.0.1", web_port=port, public_url=service_url,
        webhook_secret=SECRET), clock)
    await instance.start()
    health: list[int] = []
    stop_watching = asyncio.Event()
    try:
        motion = await motion_with_everyone_present(
            control, driver, chair, group.id, cios, database_url=url, now=clock.now(),
            timeout=ANSWER_TIMEOUT)
        watcher = asyncio.create_task(watch_health(service_url, health, stop_watching))

        burst = press_all_at_once(control, group.id, motion.message_id, cios,
                                  timeout=ANSWER_TIMEOUT)
        await control.wait_until(lambda: len(burst.answered()) >= KILL_AFTER, ANSWER_TIMEOUT)
        await asyncio.to_thread(own_postgres.kill)
        killed_at = asyncio.get_running_loop().time()
        before_crash = burst.answered()
        await _until(lambda: health[-1:] == [503], OUTAGE_TIMEOUT)
        await asyncio.to_thread(own_postgres.start)
        await _until(lambda: health[-1:] == [200], OUTAGE_TIMEOUT)
        outage = asyncio.get_running_loop().time() - killed_at
        replies = await burst.answers
        assert instance.running  # the same process throughout: nothing restarted it
        counted = await outcomes(service_url)
    finally:
        stop_watching.set()
        await instance.stop()
    await watcher

    assert health == [200, 503, 200]
    assert len(before_crash) < VOTERS  # the crash did come mid-burst
    texts = {f"Your vote on M1: {label}." for label in BUTTON_LABELS.values()}
    assert {a.text for a in replies} <= texts | {"Your vote was already counted."}
    presses = burst.presses
    assert Counter(a.callback_query_id for a in control.callback_answers()
                   if a.callback_query_id in presses) == Counter(dict.fromkeys(presses, 1))
    database = Database(url)
    try:
        async with database.uow() as uow:
            departments = {d.id: d.code for d in await uow.departments.list(1)}
            history = Counter((departments[b.department_id], b.choice)
                              for b in await uow.ballots.history(1))
            current = {(departments[b.department_id], b.choice)
                       for b in await uow.ballots.current(1)}
    finally:
        await database.dispose()
    assert history == Counter(burst.presses.values())  # each press exactly once
    assert current == set(burst.presses.values())
    refused = sum(1 for a in control.webhook_deliveries() if a.status == 503)
    put_off = sum("met an unreachable database" in r.getMessage() for r in caplog.records)
    repeated = sum(1 for a in replies if a.text == "Your vote was already counted.")
    # Committed as the server died, so the intake heard nothing and answered 503: the
    # redelivery found the update stored and handled it then.
    taken_back = counted.get(("council_updates_received_total", "replayed"), 0)
    assert counted.get(("council_updates_received_total", "failed"), 0) == refused
    assert counted.get(("council_updates_handled_total", "put_off"), 0) == put_off
    print(f"answered before the kill: {len(before_crash)}; webhook deliveries answered 503: "
          f"{refused}; stored as the server died, taken back on redelivery: {taken_back}; "
          f"handlings put off: {put_off}; answered as already counted: {repeated}; "
          f"outage until /healthz 200: {outage:.1f} s")


async def outcomes(service_url: str) -> dict[tuple[str, str], float]:
    """The service's update counters by outcome, summed over kinds, from /metrics."""
    async with aiohttp.ClientSession() as client, client.get(
            service_url + "/metrics") as response:
        text = await response.text()
    summed: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("council_updates_") and sample.name.endswith("_total"):
                key = (sample.name, sample.labels["outcome"])
                summed[key] = summed.get(key, 0) + sample.value
    return summed


async def _until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the condition was not met in time")
        await asyncio.sleep(0.02)
