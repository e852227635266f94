"""What the service is doing, for Prometheus: one `Metrics` per process, served at ``/metrics``.

Each process (each `cio-council serve`) keeps its own `CollectorRegistry` rather than
prometheus-client's global one, so tests running several instances in one interpreter, and the
instances themselves, never count into each other. Counters start at zero when a process starts;
Prometheus' ``rate()`` and ``increase()`` absorb those resets, and ``sum by (...)`` adds up the
instances (docs/deploy.md). The gauges read from the database (inbox depth, due jobs, open
motions) are queried when scraped, so every instance reports the same, shared figure.

Events are counted where they happen, through small hooks: the intake counts what arrives, two
handler groups around the application's own time each update, `ObservedRequest` counts every
HTTP call to the Bot API (so a 429 that PTB's rate limiter retries shows as a 429 here), the
reminder worker reports each job's outcome, and `storage.retrying` reports its retries.
"""

from __future__ import annotations

import platform
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import col, select
from telegram import Update
from telegram.error import NetworkError, TimedOut
from telegram.ext import TypeHandler
from telegram.request import HTTPXRequest, RequestData

from bot.telegram.app import AnyApplication
from bot.telegram.context import BotContext
from meetings.domain.model import MotionState
from meetings.ports import Clock
from storage import Database
from storage.errors import is_unavailable
from storage.tables import JobRow, MotionRow, UpdateInboxRow

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Around every other handler group, including the intake's FINISHED_GROUP (99).
STARTED_GROUP = -1000
ENDED_GROUP = 1000
_API_METHOD = re.compile(r"/bot[^/]*/([A-Za-z]{1,64})$")
# Seconds; a reply takes tens of milliseconds, a burst queues updates for seconds.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def update_kind(update: Update) -> str:
    """The update's type as the Bot API names it (message, callback_query, my_chat_member...)."""
    for name in Update.ALL_TYPES:
        if getattr(update, name, None) is not None:
            return str(name)
    return "other"


def api_method(url: str) -> str:
    """The Bot API method of a request URL, never the token in it; "file" for downloads."""
    found = _API_METHOD.search(url)
    return found.group(1) if found else "file"


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Figures read from the database at scrape time."""

    unhandled: int
    oldest_unhandled_age: float  # seconds; 0 when nothing waits
    jobs_due: dict[str, int]
    open_motions: int


class Metrics:
    """Every metric of one process, in its own registry."""

    def __init__(self, clock: Clock, *, database: Database | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._clock = clock
        self._database = database
        self._snapshot: _Snapshot | None = None
        self._started: dict[int, float] = {}
        self._failed: dict[int, str] = {}  # update id -> outcome, for updates that failed
        r = self.registry
        self.updates_received = Counter(
            "council_updates_received", "Telegram updates offered to the intake, by outcome: "
            "stored (new), redelivered (stored before), replayed (taken over unhandled), "
            "failed (could not be stored; Telegram delivers it again).",
            ["kind", "outcome"], registry=r)
        self.updates_handled = Counter(
            "council_updates_handled", "Updates the application finished, by outcome: ok; "
            "error (a handler raised and the user was told); put_off (the database was "
            "unreachable, so the update is handled again later).",
            ["kind", "outcome"], registry=r)
        self.handling_seconds = Histogram(
            "council_update_handling_seconds", "Time from the first handler to the last.",
            ["kind"], buckets=_LATENCY_BUCKETS, registry=r)
        self.jobs = Counter(
            "council_jobs", "Reminder jobs worked on, by reminder kind and outcome "
            "(sent, failed: tried again later, given_up).", ["kind", "outcome"], registry=r)
        self.telegram_requests = Counter(
            "council_telegram_requests", "HTTP calls to the Bot API by method and status "
            "(the HTTP status, or network / timeout when none came back).",
            ["method", "status"], registry=r)
        self.telegram_seconds = Histogram(
            "council_telegram_request_seconds", "Duration of Bot API calls.", ["method"],
            buckets=_LATENCY_BUCKETS, registry=r)
        self.db_retries = Counter(
            "council_db_transaction_retries", "Units of work run again after losing a race "
            "to a concurrent writer (storage.retrying).", ["error"], registry=r)
        self.database_up = Gauge(
            "council_database_up", "1 when the last scrape could query the database.",
            registry=r)
        build = Gauge("council_build_info", "The running release.",
                      ["version", "python"], registry=r)
        build.labels(version=_version(), python=platform.python_version()).set(1)
        r.register(_DatabaseFigures(self))

    # --- hooks ----------------------------------------------------------------------------------

    def received(self, update: Update, outcome: str) -> None:
        self.updates_received.labels(kind=update_kind(update), outcome=outcome).inc()

    def job_finished(self, kind: str, outcome: str) -> None:
        self.jobs.labels(kind=kind, outcome=outcome.replace(" ", "_")).inc()

    def retried(self, err: BaseException) -> None:
        self.db_retries.labels(error=type(err).__name__).inc()

    def telegram_call(self, method: str, status: str, seconds: float) -> None:
        self.telegram_requests.labels(method=method, status=status).inc()
        self.telegram_seconds.labels(method=method).observe(seconds)

    def instrument(self, application: AnyApplication) -> None:
        """Times and counts every update the application handles."""
        application.add_handler(TypeHandler(Update, self._update_started), group=STARTED_GROUP)
        application.add_handler(TypeHandler(Update, self._update_ended), group=ENDED_GROUP)
        application.add_error_handler(self._update_failed)

    async def _update_started(self, update: Update, _context: BotContext) -> None:
        self._started[update.update_id] = time.perf_counter()

    async def _update_ended(self, update: Update, _context: BotContext) -> None:
        kind = update_kind(update)
        started = self._started.pop(update.update_id, None)
        if started is not None:
            self.handling_seconds.labels(kind=kind).observe(time.perf_counter() - started)
        outcome = self._failed.pop(update.update_id, "ok")
        self.updates_handled.labels(kind=kind, outcome=outcome).inc()

    async def _update_failed(self, update: object, context: BotContext) -> None:
        if isinstance(update, Update):
            unreachable = context.error is not None and is_unavailable(context.error)
            self._failed[update.update_id] = "put_off" if unreachable else "error"

    # --- scraping -------------------------------------------------------------------------------

    async def scrape(self) -> bytes:
        """The text exposition, with the database figures read now."""
        await self._refresh()
        return generate_latest(self.registry)

    async def _refresh(self) -> None:
        if self._database is None:
            return
        try:
            self._snapshot = await self._read(self._database, self._clock.now())
        except Exception:
            # /healthz says why; here the figures are left out rather than shown stale.
            self._snapshot = None
            self.database_up.set(0)
        else:
            self.database_up.set(1)

    @staticmethod
    async def _read(database: Database, now: datetime) -> _Snapshot:
        async with database.transaction() as session:
            unhandled, oldest = (await session.exec(
                select(func.count(), func.min(col(UpdateInboxRow.received_at)))
                .where(col(UpdateInboxRow.handled_at).is_(None)))).one()
            due = await session.exec(
                select(JobRow.kind, func.count())
                .where(col(JobRow.done_at).is_(None), col(JobRow.run_at) <= now)
                .group_by(col(JobRow.kind)))
            motions = (await session.exec(
                select(func.count()).where(col(MotionRow.state) == MotionState.OPEN))).one()
        age = 0.0
        if oldest is not None:
            age = max(0.0, (now - _aware(oldest, now)).total_seconds())
        return _Snapshot(unhandled=unhandled, oldest_unhandled_age=age,
                         jobs_due=dict(due.all()), open_motions=motions)

    def snapshot_families(self) -> Iterator[GaugeMetricFamily]:
        figures = self._snapshot
        if figures is None:
            return
        yield GaugeMetricFamily("council_inbox_unhandled",
                                "Updates stored and not yet handled (all instances).",
                                value=figures.unhandled)
        yield GaugeMetricFamily("council_inbox_oldest_unhandled_seconds",
                                "Age of the oldest unhandled update; 0 when none waits.",
                                value=figures.oldest_unhandled_age)
        due = GaugeMetricFamily("council_jobs_due", "Jobs due and not done, by job kind.",
                                labels=["kind"])
        for kind, count in sorted(figures.jobs_due.items()):
            due.add_metric([kind], count)
        yield due
        yield GaugeMetricFamily("council_open_motions", "Motions open for voting.",
                                value=figures.open_motions)


class _DatabaseFigures(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return self._metrics.snapshot_families()

    def describe(self) -> list[Any]:
        return []  # the families depend on the database; nothing to check at registration


class ObservedRequest(HTTPXRequest):
    """PTB's HTTP layer, counting each call to the Bot API by method and status."""

    def __init__(self, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._metrics = metrics

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        api = api_method(url)
        started = time.perf_counter()
        status = "network"
        try:
            code, payload = await super().do_request(url, method, request_data, *args, **kwargs)
            status = str(code)
            return code, payload
        except TimedOut:
            status = "timeout"
            raise
        except NetworkError:
            status = "network"
            raise
        finally:
            self._metrics.telegram_call(api, status, time.perf_counter() - started)


def observed_requests(metrics: Metrics) -> tuple[ObservedRequest, ObservedRequest]:
    """The two request objects an application needs (calls, getUpdates), as PTB sizes them."""
    return (ObservedRequest(metrics, connection_pool_size=256),
            ObservedRequest(metrics, connection_pool_size=1))


def _aware(moment: datetime, now: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were stored in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=now.tzinfo)


def _version() -> str:
    try:
        return metadata.version("cio-council")
    except metadata.PackageNotFoundError:
        return "unknown"
