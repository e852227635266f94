"""The aiohttp application: a health check, Prometheus metrics, the calendar feeds, the minutes'
downloads, and Telegram's webhook in webhook mode.

It shares the event loop with the PTB application (docs/ARCHITECTURE.md: the path of one
update); the webhook route only checks the request and lets `UpdateIntake` store and hand over
the update.
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from aiohttp import web
from sqlalchemy import text

from bot.clock import SystemClock
from bot.metrics import CONTENT_TYPE, Metrics
from bot.web.feeds import FEED_ROUTE, FeedRoutes
from bot.web.intake import MalformedUpdate, UpdateIntake
from bot.web.links import MINUTES_PATH, Downloads
from meetings.ports import Clock
from storage import Database

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
METRICS_PATH = "/metrics"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 -- a header name, not a secret
HEALTH_TIMEOUT = 5.0  # seconds; a probe that hangs is as bad as one that fails


def make_web_app(database: Database, *, intake: UpdateIntake | None = None,
                 clock: Clock | None = None, feeds: FeedRoutes | None = None,
                 link: str | None = None, downloads: Downloads | None = None,
                 metrics: Metrics | None = None, metrics_token: str | None = None,
                 ) -> web.Application:
    """The web service; with ``intake`` it is in webhook mode and serves `WEBHOOK_PATH`. The
    calendar feeds are served in both modes; ``link`` (the bot's t.me address) is the way back
    to the council every event carries; with ``downloads`` it serves signed links to the minutes
    (`bot.web.links`); with ``metrics`` it serves `METRICS_PATH`, to bearers of
    ``metrics_token`` only when one is set."""
    routes = _Routes(database, intake, metrics, metrics_token)
    feeds = feeds or FeedRoutes(database, clock or SystemClock(), link=link)
    app = web.Application()
    app.router.add_get("/healthz", routes.health)
    app.router.add_get(FEED_ROUTE, feeds.feed)
    if intake is not None:
        app.router.add_post(WEBHOOK_PATH, routes.webhook)
    if downloads is not None:
        app.router.add_get(MINUTES_PATH, downloads.minutes)
    if metrics is not None:
        app.router.add_get(METRICS_PATH, routes.metrics)
    return app


class _Routes:
    def __init__(self, database: Database, intake: UpdateIntake | None,
                 metrics: Metrics | None = None, metrics_token: str | None = None) -> None:
        self._database = database
        self._intake = intake
        self._mode = "polling" if intake is None else "webhook"
        self._metrics = metrics
        self._metrics_bearer = f"Bearer {metrics_token}".encode() if metrics_token else None

    async def metrics(self, request: web.Request) -> web.Response:
        """GET /metrics: the Prometheus text format."""
        assert self._metrics is not None  # the route exists only with metrics
        presented = request.headers.get("Authorization", "").encode(errors="replace")
        if self._metrics_bearer is not None and not hmac.compare_digest(
                presented, self._metrics_bearer):
            return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})
        return web.Response(body=await self._metrics.scrape(),
                            headers={"Content-Type": CONTENT_TYPE})

    async def health(self, _request: web.Request) -> web.Response:
        """GET /healthz: up, and the database answers a trivial query."""
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT), self._database.engine.connect() as db:
                await db.execute(text("SELECT 1"))
        except Exception:
            log.warning("health check: the database is unavailable", exc_info=True)
            return web.json_response(
                {"status": "unavailable", "database": "unavailable", "mode": self._mode},
                status=503)
        return web.json_response({"status": "ok", "database": "ok", "mode": self._mode})

    async def webhook(self, request: web.Request) -> web.Response:
        """POST /telegram/webhook: 200 only once the update is stored (or was before)."""
        assert self._intake is not None  # the route exists only in webhook mode
        if not self._intake.authentic(request.headers.get(SECRET_HEADER)):
            # Details stay in our log; a prober learns nothing from the answer.
            log.warning("webhook: refused a request from %s without the right secret token",
                        request.remote)
            return web.Response(status=403)
        try:
            await self._intake.accept(await request.read())
        except MalformedUpdate as err:
            log.warning("webhook: refused a malformed update: %s", err)
            return web.Response(status=400)
        except Exception:
            # Not stored: a non-2xx answer makes Telegram deliver it again later.
            log.exception("webhook: could not store an update; Telegram will retry")
            return web.Response(status=503)
        return web.Response(status=200)
