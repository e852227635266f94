"""`serve` end to end: the whole service (bot, web server, reminders) against the sandbox Bot API,
in polling and in webhook mode, started and stopped as an operator would."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rich.console import Console
from typer.testing import CliRunner

from bot.cli import make_app
from bot.clock import FixedClock
from bot.runner import ServeError, file_url, serve
from bot.sandbox import Chat, SandboxServer, User
from bot.settings import Settings
from bot.web import WEBHOOK_PATH
from storage import Database, inbox
from tests.e2e.conftest import START

SECRET = "webhook-secret-for-the-tests_0123"
STARTS_WITHIN = 10.0  # seconds; generous, it takes well under one
STOPS_WITHIN = 5.0


def settings_for(sandbox: SandboxServer, database_url: str, tmp_path: Path,
                 **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": sandbox.token, "bot_api_url": sandbox.base_url,
        "database_url": database_url, "data_dir": tmp_path, "web_host": "127.0.0.1",
        "web_port": 0}
    return Settings(**(values | overrides))


@asynccontextmanager
async def running(settings: Settings, clock: FixedClock, *, webhook: bool,
                  ) -> AsyncIterator[str]:
    """The service in a task; yields its web URL once it is ready, and on exit sets `stop` and
    insists that it finishes within `STOPS_WITHIN` seconds."""
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, webhook=webhook, clock=clock, stop=stop,
                                     ready=ready.set_result))
    # Whichever comes first: the service ready, or serve() ending (failing) before it is.
    first: set[asyncio.Future[Any]] = {task, ready}
    done, _ = await asyncio.wait(first, timeout=STARTS_WITHIN,
                                 return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # a start-up error surfaces here
        pytest.fail("serve returned before it was ready")
    assert ready in done, "serve did not get ready in time"
    try:
        yield ready.result()
    finally:
        stop.set()
        await asyncio.wait_for(task, STOPS_WITHIN)


def free_port() -> int:
    """A port nobody listens on, for webhook mode, where the public URL must name the port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def people(sandbox: SandboxServer) -> tuple[User, Chat]:
    chair = sandbox.control.create_user("Wang Lei", username="wang_lei")
    group = sandbox.control.create_group("CIO Council", creator=chair.id, admins=[chair.id])
    return chair, group


async def set_up_council(sandbox: SandboxServer, chair: User, group: Chat) -> str:
    control = sandbox.control
    await control.wait_until(lambda: bool(control.bot_messages(group.id)))  # the greeting
    sent = control.send_text(chair.id, group.id,
                             f"/setup@{sandbox.bot.username} Riverside Council")
    return (await control.next_bot_message(group.id, after=sent)).text or ""


async def health(url: str) -> tuple[int, dict[str, str]]:
    async with aiohttp.ClientSession() as client, client.get(url + "/healthz") as response:
        return response.status, await response.json()


async def council_names(database_url: str) -> list[str]:
    database = Database(database_url)
    try:
        async with database.uow() as uow:
            return [council.name for council in await uow.councils.list()]
    finally:
        await database.dispose()


async def test_serve_polls_answers_and_stops(
        sandbox: SandboxServer, migrated_url: str, clock: FixedClock, tmp_path: Path) -> None:
    """Long polling: a command gets its reply, /healthz says polling, `stop` ends it cleanly."""
    chair, group = people(sandbox)
    async with running(settings_for(sandbox, migrated_url, tmp_path), clock,
                       webhook=False) as url:
        reply = await set_up_council(sandbox, chair, group)
        assert reply.startswith("This group is now the council Riverside Council.")
        assert await health(url) == (200, {"status": "ok", "database": "ok",
                                           "mode": "polling"})
    assert sandbox.control.pending_updates() == []  # the last batch was confirmed on stop
    assert await council_names(migrated_url) == ["Riverside Council"]


async def test_serve_takes_webhooks_and_stops(
        sandbox: SandboxServer, migrated_url: str, clock: FixedClock, tmp_path: Path) -> None:
    """Webhook mode: it sets the webhook with its secret, replies, says webhook, stops cleanly
    with every accepted update handled."""
    chair, group = people(sandbox)
    port = free_port()
    settings = settings_for(sandbox, migrated_url, tmp_path, web_port=port,
                            public_url=f"http://127.0.0.1:{port}/", webhook_secret=SECRET)
    async with running(settings, clock, webhook=True) as url:
        assert url == f"http://127.0.0.1:{port}"
        hook = sandbox.bot.webhook
        assert hook is not None
        assert (hook.url, hook.secret_token) == (url + WEBHOOK_PATH, SECRET)
        reply = await set_up_council(sandbox, chair, group)
        assert reply.startswith("This group is now the council Riverside Council.")
        assert await health(url) == (200, {"status": "ok", "database": "ok",
                                           "mode": "webhook"})
    assert [a.ok for a in sandbox.control.webhook_deliveries()] == [True, True, True]
    assert await council_names(migrated_url) == ["Riverside Council"]
    database = Database(migrated_url)
    try:
        async with database.transaction() as session:
            assert await inbox.unhandled(session, bot=str(sandbox.bot.user.id),
                                         received_before=clock.now() + timedelta(days=1)) == []
    finally:
        await database.dispose()


async def test_sigterm_stops_the_service_when_no_stop_event_is_given(
        sandbox: SandboxServer, migrated_url: str, clock: FixedClock, tmp_path: Path) -> None:
    """Without ``stop``, SIGTERM (what systemd and Docker send) shuts the service down."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[str] = loop.create_future()
    task = asyncio.create_task(serve(settings_for(sandbox, migrated_url, tmp_path),
                                     webhook=False, clock=clock, ready=ready.set_result))
    await asyncio.wait_for(asyncio.shield(ready), STARTS_WITHIN)
    os.kill(os.getpid(), signal.SIGTERM)  # the handler is installed while serve runs
    await asyncio.wait_for(task, STOPS_WITHIN)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # and removed afterwards


async def test_an_empty_database_is_migrated_on_sqlite_only(
        sandbox: SandboxServer, database_url: str, clock: FixedClock, tmp_path: Path) -> None:
    """SQLite (one machine) is migrated on start; PostgreSQL must be upgraded as a deploy step."""
    settings = settings_for(sandbox, database_url, tmp_path)
    if database_url.startswith("sqlite"):
        async with running(settings, clock, webhook=False) as url:
            assert (await health(url))[0] == 200
        assert await council_names(database_url) == []
    else:
        with pytest.raises(ServeError, match=r"^the database is empty; run `cio-council db "
                                             r"upgrade` first$"):
            await serve(settings, webhook=False, clock=clock, stop=asyncio.Event())


async def test_start_up_problems_are_one_line_errors(
        sandbox: SandboxServer, migrated_url: str, clock: FixedClock, tmp_path: Path) -> None:
    """A port in use, webhook mode without its settings, a token the Bot API rejects, or no Bot
    API there: a one-line error that never shows the token."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        for overrides, webhook, message in [
                ({"web_port": busy}, False, f"cannot listen on 127.0.0.1:{busy}: "),
                ({}, True, "webhook mode needs COUNCIL_PUBLIC_URL"),
                ({"public_url": "https://council.example.org"}, True,
                 "webhook mode needs COUNCIL_WEBHOOK_SECRET"),
                ({"bot_token": "7000000009:not-a-token-the-sandbox-knows"}, False,
                 "the Bot API rejected COUNCIL_BOT_TOKEN"),
                ({"bot_api_url": "http://127.0.0.1:9/bot"}, False,
                 "cannot reach the Bot API at http://127.0.0.1:9/bot: ")]:
            settings = settings_for(sandbox, migrated_url, tmp_path, **overrides)
            with pytest.raises(ServeError) as refused:
                await serve(settings, webhook=webhook, clock=clock, stop=asyncio.Event())
            assert str(refused.value).startswith(message)
            assert "\n" not in str(refused.value)
            assert settings.bot_token is not None
            assert settings.bot_token.get_secret_value() not in str(refused.value)


def test_the_cli_reports_a_refused_start_with_exit_code_2(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`cio-council serve --webhook` without a public URL: one line on stderr, exit code 2."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COUNCIL_BOT_TOKEN", "7000000001:SANDBOX-council-bot-token")
    monkeypatch.delenv("COUNCIL_PUBLIC_URL", raising=False)
    err = io.StringIO()
    app = make_app(FixedClock(START), Console(file=io.StringIO()),
                   Console(file=err, width=200))
    result = CliRunner().invoke(app, ["serve", "--webhook"])
    assert result.exit_code == 2
    assert err.getvalue().startswith("error: webhook mode needs COUNCIL_PUBLIC_URL")
    assert err.getvalue().count("\n") == 1


def test_file_downloads_follow_the_bot_api_url() -> None:
    """``.../bot`` gives ``.../file/bot``; an unusual base leaves PTB's default."""
    assert file_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_url("https://api.telegram.org/bot/") == "https://api.telegram.org/file/bot"
    assert file_url("https://proxy.example.org/telegram") is None
