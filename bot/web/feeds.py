"""GET /calendar/<token>.ics: the calendar feeds, cached per council, with ETags and 304s.

A feed is rebuilt only when its council's data changes: the cache key is the version the use
case derives from the data (the council's last audit sequence number and local date), so every
instance of the service, on one PostgreSQL, serves the same bytes under the same ETag.

To answer a cached feed without the database on every poll, a token's resolution (and with it
the data version) is trusted for ``recheck`` seconds; a reset token, a departed member or a
change of data is noticed within that time, which calendar clients polling hourly never see.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from bot.links import FEED_ROUTE, feed_path
from meetings import usecases
from meetings.domain.errors import UnknownFeed
from meetings.domain.feeds import FeedVersion
from meetings.ports import Clock
from meetings.usecases.calendar import CouncilData, FeedAccess
from storage import Database

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = ["FEED_ROUTE", "FeedRoutes", "RedactingAccessLogger", "feed_path", "redacted"]

MAX_AGE = 900  # seconds clients and proxies may reuse a feed before asking again
RECHECK = 1.0  # seconds a token's resolution is trusted before the database is asked again
_FEED_PATH = re.compile(r"^/calendar/[^/]*")
_COMMON = {"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


def redacted(path: str) -> str:
    """A request path fit for the log: a feed's token never appears."""
    return _FEED_PATH.sub("/calendar/<token>.ics", path)


class RedactingAccessLogger(AbstractAccessLogger):
    """aiohttp's access log, with calendar tokens replaced by a placeholder."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %s %s %.3fs', request.remote, request.method,
                         redacted(request.path), response.status, response.body_length, time)


@dataclass(frozen=True, slots=True)
class _Built:
    body: bytes
    etag: str
    modified: datetime


@dataclass(slots=True)
class _Resolved:
    access: FeedAccess
    checked: float


class FeedRoutes:
    def __init__(self, database: Database, clock: Clock, *, recheck: float = RECHECK,
                 monotonic: Callable[[], float] = time.monotonic,
                 link: str | None = None) -> None:
        self._database = database
        self._link = link  # put in every event: the way back to the council's bot
        self._clock = clock
        self._recheck = recheck
        self._monotonic = monotonic
        self._resolved: dict[str, _Resolved] = {}  # by token hash, never by token
        self._built: dict[int, dict[tuple[object, ...], _Built]] = {}  # council -> key -> feed
        self._running: dict[tuple[object, ...], asyncio.Future[Any]] = {}
        self._data: dict[int, tuple[FeedVersion, CouncilData]] = {}  # council -> latest read
        self.builds = 0  # how many feeds were built (tests and the benchmark read it)
        self.resolves = 0  # how many times a token was looked up in the database

    async def feed(self, request: web.Request) -> web.Response:
        """GET /calendar/<token>.ics: the feed, or 304 when the client has it, or 404."""
        token = request.match_info["token"]
        try:
            access = await self._access(token)
        except UnknownFeed:
            return web.Response(status=404, text="not found\n",
                                headers={**_COMMON, "Cache-Control": "no-store"})
        built = await self._feed(access)
        headers = {**_COMMON, "ETag": built.etag,
                   "Last-Modified": format_datetime(built.modified, usegmt=True),
                   "Cache-Control": f"private, max-age={MAX_AGE}"}
        if _not_modified(request, built):
            return web.Response(status=304, headers=headers)
        return web.Response(body=built.body, headers=headers,
                            content_type="text/calendar", charset="utf-8")

    async def _access(self, token: str) -> FeedAccess:
        if not usecases.calendar.well_formed(token):
            raise UnknownFeed("no such calendar")
        key = usecases.calendar.hash_token(token)
        known = self._resolved.get(key)
        if known is not None and self._monotonic() - known.checked < self._recheck:
            return known.access
        return await self._once(("resolve", key), lambda: self._resolve(key, token))

    async def _resolve(self, key: str, token: str) -> FeedAccess:
        checked = self._monotonic()
        self.resolves += 1
        try:
            access = await usecases.calendar.resolve(self._database.uow(), token,
                                                     now=self._clock.now())
        except UnknownFeed:
            self._resolved.pop(key, None)
            raise
        if len(self._resolved) > 10_000:  # bounded: a burst of valid tokens cannot grow it
            self._resolved.clear()
        self._resolved[key] = _Resolved(access, checked)
        return access

    async def _feed(self, access: FeedAccess) -> _Built:
        found = self._built.get(access.council.id, {}).get(access.key)
        if found is not None:
            return found
        return await self._once(("build", access.key), lambda: self._build(access))

    async def _build(self, access: FeedAccess) -> _Built:
        data = await self._once(("load", access.council.id, access.version),
                                lambda: self._load(access))
        # Writing thousands of events is pure CPU: a worker thread keeps the chat answering.
        body = await asyncio.to_thread(usecases.calendar.render, data, access.member,
                                       now=self._clock.now(), link=self._link)
        self.builds += 1
        built = _Built(body, f'"{hashlib.sha256(body).hexdigest()[:40]}"', access.modified)
        # Feeds of an older version of this council are stale for good: drop them.
        council_feeds = self._built.get(access.council.id, {})
        current = {k: v for k, v in council_feeds.items() if k[2] == access.version}
        current[access.key] = built
        self._built[access.council.id] = current
        return built

    async def _load(self, access: FeedAccess) -> CouncilData:
        """The council's data at this version, read once for all its feeds."""
        council_id = access.council.id
        known = self._data.get(council_id)
        if known is not None and known[0] == access.version:
            return known[1]
        data = await usecases.calendar.load(self._database.uow(), access.council)
        self._data[council_id] = (access.version, data)
        return data

    async def _once(self, key: tuple[object, ...],
                    work: Callable[[], Awaitable[T]]) -> T:
        """Runs ``work`` once for everyone asking for ``key`` meanwhile: when a feed changes,
        the clients polling it at that moment cause one rebuild, not one each."""
        running = self._running.get(key)
        if running is None:
            running = self._running[key] = asyncio.ensure_future(work())
            running.add_done_callback(lambda _: self._running.pop(key, None))
        result: T = await asyncio.shield(running)
        return result


def _not_modified(request: web.Request, built: _Built) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present, else If-Modified-Since."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or built.etag in tags
    since = request.headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        client = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    if client.tzinfo is None:
        return False
    return built.modified.replace(microsecond=0) <= client
