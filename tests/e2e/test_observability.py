"""What an operator sees of a running service (`bot.runner.serve` in webhook mode, against the
sandbox): `/metrics` counts exactly what happened in a conversation with reminders and injected
Telegram errors, and the JSON log of the whole run never contains a secret."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from bot import logs
from bot.clock import FixedClock
from bot.sandbox import SandboxServer, User, WebhookPolicy, wire
from bot.sandbox.driver import ChatDriver
from bot.sandbox.errors import ApiError
from bot.settings import Settings
from meetings import usecases
from meetings.domain.model import Role
from storage import Database
from storage.tables import UpdateInboxRow
from tests.e2e.instances import Instance, free_port

SECRET = "observability-webhook-secret_0123456789"
METRICS_TOKEN = "metrics-bearer-token_0123456789abcdef"
NAME = "Riverside CIO Council"
DAY_BEFORE = datetime(2025, 6, 11, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai, a day before it meets
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class RecordingSandbox(SandboxServer):
    """The sandbox, counting its Bot API answers by method and status; `refuse_next` makes the
    next call of a method fail the way Telegram's flood control does."""

    def __init__(self, clock: FixedClock) -> None:
        super().__init__(clock=clock.timestamp,
                         webhook_policy=WebhookPolicy(first_delay=0.05, backoff=1.0))
        self.answers: Counter[tuple[str, str]] = Counter()
        self._refusals: dict[str, ApiError] = {}

    def refuse_next(self, method: str, error: ApiError) -> None:
        self._refusals[method] = error

    def app(self) -> web.Application:
        app = super().app()
        app.middlewares.append(self._record)
        return app

    @web.middleware
    async def _record(self, request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                      ) -> web.StreamResponse:
        method = request.match_info.get("method")
        if method is None or not request.path.startswith("/bot"):
            return await handler(request)
        refusal = self._refusals.pop(method, None)
        response = wire.error(refusal) if refusal else await handler(request)
        self.answers[(method, str(response.status))] += 1
        return response


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DAY_BEFORE)


@pytest.fixture
async def sandbox(clock: FixedClock) -> AsyncIterator[RecordingSandbox]:
    server = RecordingSandbox(clock)
    async with server:
        yield server


async def council_with_a_meeting(database_url: str, sandbox: SandboxServer,
                                 clock: FixedClock) -> tuple[User, User, int]:
    """A council bound to a group of a chair, a CIO and an observer who never started the bot
    (so Telegram refuses every message to them: 403 Forbidden); its meeting is tomorrow, so
    the day-before reminder is due."""
    control = sandbox.control
    chair = control.create_user("Wang Lei", username="wang_lei")
    cio = control.create_user("Li Na", username="li_na")
    blocked = control.create_user("Zhao Min", username="zhao_min")
    for person in (chair, cio):
        control.start_bot(person.id)
    group = control.create_group(NAME, creator=chair.id, admins=[chair.id],
                                 members=[cio.id, blocked.id])
    database = Database(database_url)
    operator = usecases.common.Operator()
    now = clock.now()
    try:
        council = await usecases.councils.create_council(
            database.uow(), name=NAME, actor=operator, now=now, chat_id=group.id)
        await usecases.councils.add_department(database.uow(), council.id, code="EPB",
                                               name="Ecology", actor=operator, now=now)
        for person, role, department in ((chair, Role.CHAIR, None), (cio, Role.CIO, "EPB"),
                                         (blocked, Role.OBSERVER, None)):
            await usecases.councils.add_member(
                database.uow(), council.id, name=person.first_name, role=role, actor=operator,
                now=now, telegram_id=person.id, username=person.username, department=department)
        await usecases.schedule.schedule_meeting(database.uow(), council.id,
                                                 local_start="2025-06-12 14:30", actor=operator,
                                                 now=now)
    finally:
        await database.dispose()
    return chair, cio, group.id


@asynccontextmanager
async def serving(sandbox: SandboxServer, database_url: str, clock: FixedClock,
                  data_dir: Path) -> AsyncIterator[str]:
    """`serve --webhook` with a metrics token; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    instance = Instance(Settings(
        bot_token=sandbox.token, bot_api_url=sandbox.base_url, database_url=database_url,
        data_dir=data_dir, web_host="127.0.0.1", web_port=port, public_url=url,
        webhook_secret=SECRET, metrics_token=METRICS_TOKEN), clock)
    await instance.start()
    try:
        yield url
    finally:
        await instance.stop()


async def conversation(sandbox: RecordingSandbox, chair: User, cio: User, group: int) -> None:
    """The reminders go out; then a meeting with a roll call and a vote, one reply of it
    refused once by flood control (PTB's rate limiter waits and sends it again)."""
    control = sandbox.control
    await control.wait_until(lambda: sandbox.answers[("sendMessage", "403")] == 1 and all(
        any((m.text or "").startswith("📅") for m in control.bot_messages(chat))
        for chat in (group, chair.id, cio.id)), 10.0)
    driver = ChatDriver(control, sandbox.bot.username, group)
    sandbox.refuse_next("sendMessage", ApiError(429, "Too Many Requests: retry after 1",
                                                retry_after=1))
    assert (await driver.command(chair, "/schedule 2025-06-11 16:00 60 Extra")
            ).startswith("Scheduled: S2")
    roll_call = await driver.ask(chair, "/startmeeting")
    assert await driver.press(cio, roll_call, "✋ Here") == "You are marked present."
    motion = await driver.ask(chair, "/motion Adopt the shared data platform")
    assert await driver.press(cio, motion, "Yes") == "Your vote on M1: Yes."
    assert (await driver.command(chair, "/help")).startswith("Commands you can use")


async def scrape(url: str, *, token: str | None = METRICS_TOKEN) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as client, client.get(
            url + "/metrics", headers=headers) as response:
        return response.status, await response.text()


def samples(text: str) -> Samples:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def by_labels(found: Samples, name: str, *labels: str) -> dict[tuple[str, ...], float]:
    """The samples of one series name, keyed by the values of ``labels``."""
    return {tuple(dict(key)[label] for label in labels): value
            for (sample, key), value in found.items() if sample == name}


async def stored_kinds(database_url: str) -> Counter[str]:
    """The updates our inbox holds, by type (the key beside update_id)."""
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            payloads = list(await session.exec(select(UpdateInboxRow.payload)))
    finally:
        await database.dispose()
    return Counter(next(k for k in json.loads(p) if k != "update_id") for p in payloads)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Polls ``check`` until it holds: the last update's counters are written just after the
    reply the test waited for."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the metrics never matched")
        await asyncio.sleep(0.02)


async def test_metrics_count_what_happened(
        sandbox: RecordingSandbox, migrated_url: str, clock: FixedClock, tmp_path: Path) -> None:
    """After reminders and a conversation, /metrics (only with the bearer token) counts every
    update stored and handled by kind, every Bot API call by method and status as the sandbox
    answered it (the injected 429 and the blocked user's 403 included), the reminders sent and
    given up, the open motion and an empty inbox."""
    chair, cio, group = await council_with_a_meeting(migrated_url, sandbox, clock)
    async with serving(sandbox, migrated_url, clock, tmp_path) as url:
        await conversation(sandbox, chair, cio, group)
        kinds = await stored_kinds(migrated_url)
        found: Samples = {}

        async def settled() -> bool:
            nonlocal found
            status, text = await scrape(url)
            assert status == 200
            found = samples(text)
            handled = by_labels(found, "council_updates_handled_total", "kind", "outcome")
            calls = by_labels(found, "council_telegram_requests_total", "method", "status")
            return (sum(handled.values()) == kinds.total()
                    and calls == {key: float(n) for key, n in sandbox.answers.items()})

        await eventually(settled)
        assert await scrape(url, token=None) == (401, "")
        assert (await scrape(url, token="wrong-token-0123456789"))[0] == 401

    assert sandbox.answers[("sendMessage", "429")] == 1
    assert sandbox.answers[("sendMessage", "403")] == 1
    assert {(kind, "stored"): float(n) for kind, n in kinds.items()} == by_labels(
        found, "council_updates_received_total", "kind", "outcome")
    assert {(kind, "ok"): float(n) for kind, n in kinds.items()} == by_labels(
        found, "council_updates_handled_total", "kind", "outcome")
    assert kinds["callback_query"] == 2
    assert {(kind,): float(n) for kind, n in kinds.items()} == by_labels(
        found, "council_update_handling_seconds_count", "kind")
    assert by_labels(found, "council_jobs_total", "kind", "outcome") == {
        ("day_before", "sent"): 3.0, ("day_before", "given_up"): 1.0}
    assert found[("council_open_motions", frozenset())] == 1.0
    assert found[("council_inbox_unhandled", frozenset())] == 0.0
    assert found[("council_inbox_oldest_unhandled_seconds", frozenset())] == 0.0
    assert found[("council_database_up", frozenset())] == 1.0
    assert by_labels(found, "council_db_transaction_retries_total", "error") == {}
    assert [version for (version,) in by_labels(found, "council_build_info", "version")] == [
        "0.1.0"]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every logger at INFO (httpx too, which logs each Bot API URL) into a JSON-lines buffer,
    scrubbed as the service's own log is."""
    buffer = io.StringIO()
    handler = logs.handler(json_lines=True, secrets=[SECRET, METRICS_TOKEN], stream=buffer)
    root, httpx = logging.getLogger(), logging.getLogger("httpx")
    levels = root.level, httpx.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    httpx.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        httpx.setLevel(levels[1])


async def test_the_json_log_of_a_whole_run_holds_no_secret(
        sandbox: RecordingSandbox, migrated_url: str, clock: FixedClock, tmp_path: Path,
        json_log: io.StringIO) -> None:
    """Every line is one JSON object; the bot token (whole, or its secret half), the webhook
    secret and the metrics token appear in none, although httpx logged every Bot API URL; the
    lines logged while handling an update carry its id, its command and its council."""
    chair, cio, group = await council_with_a_meeting(migrated_url, sandbox, clock)
    async with serving(sandbox, migrated_url, clock, tmp_path) as url:
        await conversation(sandbox, chair, cio, group)
        assert (await scrape(url))[0] == 200

    text = json_log.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) > 20
    token_secret = sandbox.token.split(":", 1)[1]
    for secret in (sandbox.token, token_secret, SECRET, METRICS_TOKEN):
        assert secret not in text
    assert any(line["logger"] == "httpx" and "<redacted>" in line["message"] for line in lines)
    handled = {line["command"]: line for line in lines
               if line["message"].startswith("update ") and line["message"].count("handled")}
    assert {"schedule", "startmeeting", "motion", "button", "help"} <= set(handled)
    assert all(isinstance(line["update_id"], int) for line in handled.values())
    assert handled["motion"]["council"] == 1
