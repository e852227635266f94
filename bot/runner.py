"""`cio-council serve`: the bot, the web service and the reminders on one event loop.

Start-up order matters in webhook mode: the web server accepts updates before Telegram is told
where to send them, and the PTB application is initialised (it knows its bot id) before the first
update arrives. Shutdown runs the other way round, so updates already accepted are handled first.

The database is migrated automatically only when it is SQLite: one machine, one process, and the
quick start should just work. A shared PostgreSQL database is upgraded as a deliberate deploy step
(`cio-council db upgrade`, which holds an advisory lock), so a rolling deploy never changes the
schema under instances of the previous release; `serve` refuses to start until it is current.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

from aiohttp import web
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from telegram import Update
from telegram.error import InvalidToken, TelegramError

from bot import logs
from bot.metrics import Metrics, observed_requests
from bot.reminders import Reminders, worker_id
from bot.settings import Settings
from bot.telegram.app import AnyApplication, build_application, close_live
from bot.telegram.context import BotEnv, Defaults
from bot.web import WEBHOOK_PATH, UpdateIntake, make_web_app
from bot.web.feeds import RedactingAccessLogger
from bot.web.links import Downloads
from meetings.ports import Clock
from storage import Database, inbox, migrate
from storage.uow import retry_observer
from storage.updates import forget_updates

# The outbox worker waits this long at most for the bot's shared flood limits (longer waits put
# the message off), with this many messages on their way at once.
SEND_HOLD = timedelta(seconds=2)
SENDERS = 4

# PTB 22 warns on every RetryAfter unless durations are opted in to timedelta (the reminders
# read `retry_after` as either); set before PTB reads it, and leave an operator's choice alone.
os.environ.setdefault("PTB_TIMEDELTA", "1")

log = logging.getLogger(__name__)

# Telegram redelivers for up to 24 h; an update id must be remembered for longer than that.
KEEP_UPDATE_IDS = timedelta(hours=48)
HOUSEKEEPING_INTERVAL = 3600.0
POLLING_RETRY = 5.0  # seconds between attempts to start polling when the Bot API is unreachable


class ServeError(Exception):
    """Start-up refused; the message is one line saying what to fix."""


async def serve(settings: Settings, *, webhook: bool, clock: Clock,
                stop: asyncio.Event | None = None,
                ready: Callable[[str], None] | None = None) -> None:
    """Runs until ``stop`` is set (or SIGINT/SIGTERM when there is none); ``ready`` gets the web
    server's URL once everything is running."""
    if settings.bot_token is None:
        raise ServeError("COUNCIL_BOT_TOKEN is not set")
    secret = _webhook_secret(settings) if webhook else None
    token = settings.bot_token.get_secret_value()
    await asyncio.to_thread(_ensure_migrated, settings.effective_database_url)
    if stop is not None:
        await _run(settings, token, secret, clock, stop, ready)
        return
    stop = asyncio.Event()
    with _signals_set(stop):
        await _run(settings, token, secret, clock, stop, ready)


def _downloads(settings: Settings, database: Database, clock: Clock) -> Downloads | None:
    """Signed download links to the minutes, when a download secret is configured."""
    if settings.download_secret is None:
        return None
    return Downloads(database, settings.download_secret.get_secret_value().encode(), clock)


async def _run(settings: Settings, token: str, secret: str | None, clock: Clock,
               stop: asyncio.Event, ready: Callable[[str], None] | None) -> None:
    async with AsyncExitStack() as stack:
        database = Database(settings.effective_database_url)
        stack.push_async_callback(database.dispose)
        metrics = Metrics(clock, database=database)
        # Set before any task starts: the tasks below inherit it, and report to this process.
        stack.callback(retry_observer.reset, retry_observer.set(metrics.retried))
        env = BotEnv(database=database, clock=clock, defaults=Defaults(
            timezone=settings.timezone, language=settings.language,
            holiday_country=settings.holiday_country), public_url=settings.public_url)
        application = build_application(
            token, env, base_url=settings.bot_api_url,
            base_file_url=file_url(settings.bot_api_url), durable_intake=True,
            requests=observed_requests(metrics))
        metrics.instrument(application)
        logs.instrument(application)
        # Both modes take updates through the durable intake, never PTB's own updater.
        intake = UpdateIntake(database, application, clock, secret=secret,
                              observe=metrics.received)
        intake.register()
        stack.push_async_callback(intake.close)  # after the application has stopped
        await stack.enter_async_context(_application(application, settings.bot_api_url))
        metrics_token = (settings.metrics_token.get_secret_value()
                         if settings.metrics_token else None)
        site_url = await stack.enter_async_context(_web_server(
            make_web_app(database, intake=intake if secret else None, clock=clock,
                         link=f"https://t.me/{application.bot.username}",
                         downloads=_downloads(settings, database, clock), metrics=metrics,
                         metrics_token=metrics_token),
            settings.web_host, settings.web_port))
        background = await stack.enter_async_context(_Background.running())
        if secret is not None:
            await _set_webhook(application, settings, secret)
        else:
            await _delete_webhook(application, stop)
            # Before the first poll: what a killed process accepted comes before newer updates.
            await intake.take_over()
            background.start(intake.poll, "polling")
        background.start(intake.sweep, "replay unhandled updates")
        worker = worker_id()
        background.start(Reminders(database, application.bot, clock, worker=worker,
                                   observe=metrics.job_finished, hold=SEND_HOLD,
                                   senders=SENDERS).run, "reminders")
        background.start(functools.partial(_housekeeping, database, clock), "housekeeping")
        log.info("serving in %s mode; web server at %s", "webhook" if secret else "polling",
                 site_url)
        if ready is not None:
            ready(site_url)
        await stop.wait()
        log.info("stopping")


def file_url(bot_api_url: str) -> str | None:
    """The file download base that goes with a Bot API base URL (``.../bot`` ->
    ``.../file/bot``); None leaves PTB's default, which fits only api.telegram.org."""
    base = bot_api_url.rstrip("/")
    return base.removesuffix("/bot") + "/file/bot" if base.endswith("/bot") else None


def _webhook_secret(settings: Settings) -> str:
    if not settings.public_url:
        raise ServeError("webhook mode needs COUNCIL_PUBLIC_URL (the https:// address Telegram "
                         "can reach this server at)")
    if settings.webhook_secret is None:
        raise ServeError("webhook mode needs COUNCIL_WEBHOOK_SECRET "
                         "(generate one with `openssl rand -hex 32`)")
    return settings.webhook_secret.get_secret_value()


def _ensure_migrated(url: str) -> None:
    try:
        state = migrate.status(url)
    except DBAPIError as err:
        first_line = str(err.orig).strip().splitlines()[0] if str(err.orig).strip() else ""
        raise ServeError(f"cannot open the database: {first_line or type(err.orig).__name__}"
                         ) from err
    if state == "current":
        return
    if make_url(url).get_backend_name() == "sqlite" and (
            state == "empty" or state.startswith("behind")):
        log.info("migrating the SQLite database (%s)", state)
        migrate.upgrade(url)
        return
    raise ServeError(f"the database is {state}; run `cio-council db upgrade` first")


@contextlib.contextmanager
def _signals_set(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


@asynccontextmanager
async def _application(application: AnyApplication, api_url: str) -> AsyncIterator[None]:
    """Initialised (getMe: the bot id) and started; on exit, queued updates are handled first."""
    try:
        await application.initialize()
    except TelegramError as err:
        # getMe failed after the HTTP clients were opened; close them (shutdown() would not).
        await application.bot.shutdown()
        if isinstance(err, InvalidToken):
            raise ServeError("the Bot API rejected COUNCIL_BOT_TOKEN") from err
        reason = str(err).replace(application.bot.token, "<token>")
        raise ServeError(f"cannot reach the Bot API at {api_url}: {reason}") from err
    try:
        if application.post_init is not None:
            # Only run_polling/run_webhook call post_init; we drive the lifecycle ourselves.
            await application.post_init(application)
        await application.start()
        try:
            yield
        finally:
            await application.stop()
            # Live counts and roll calls still due an edit show their final state now, while
            # the bot and the database are open, instead of failing after.
            await close_live(application)
    finally:
        await application.shutdown()


@asynccontextmanager
async def _web_server(app: web.Application, host: str, port: int) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log_class=RedactingAccessLogger)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as err:
            raise ServeError(f"cannot listen on {host}:{port}: {err.strerror}") from err
        yield f"http://{host}:{site.port}"
    finally:
        await runner.cleanup()


async def _set_webhook(application: AnyApplication, settings: Settings, secret: str) -> None:
    assert settings.public_url is not None
    url = settings.public_url.rstrip("/") + WEBHOOK_PATH
    try:
        await application.bot.set_webhook(url=url, secret_token=secret,
                                          allowed_updates=Update.ALL_TYPES)
    except TelegramError as err:
        # Essential: without it Telegram does not know where to send updates.
        raise ServeError(f"setWebhook to {url} failed: {err}") from err


async def _delete_webhook(application: AnyApplication, stop: asyncio.Event) -> None:
    """Polling needs any earlier webhook gone; a failure is retried until it works or we stop."""
    while not stop.is_set():
        try:
            await application.bot.delete_webhook()
            return
        except InvalidToken:
            raise
        except TelegramError:
            log.warning("deleteWebhook failed; retrying in %s s", POLLING_RETRY, exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLLING_RETRY)


async def _housekeeping(database: Database, clock: Clock, stop: asyncio.Event) -> None:
    """Forgets update ids old enough that Telegram will not redeliver them."""
    while not stop.is_set():
        try:
            async with database.transaction() as session:
                before = clock.now() - KEEP_UPDATE_IDS
                await forget_updates(session, before=before)
                await inbox.forget(session, before=before)
        except Exception:
            log.exception("housekeeping failed; trying again in %s s", HOUSEKEEPING_INTERVAL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), HOUSEKEEPING_INTERVAL)


class _Background:
    """Loops that run until their shared stop event is set; on exit each is stopped and awaited
    (a reminder being sent is finished, not cut off)."""

    def __init__(self) -> None:
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    @asynccontextmanager
    async def running(cls) -> AsyncIterator[_Background]:
        background = cls()
        try:
            yield background
        finally:
            background._stop.set()
            await asyncio.gather(*background._tasks, return_exceptions=True)

    def start(self, loop: Callable[[asyncio.Event], Awaitable[None]], name: str) -> None:
        async def guarded() -> None:
            try:
                await loop(self._stop)
            except Exception:
                # The loops catch their own errors; this is a bug, but not worth the service.
                log.exception("background task %r stopped", name)

        self._tasks.append(asyncio.create_task(guarded(), name=name))
