"""A round-robin load balancer on loopback: several instances of the bot behind one webhook URL.

Telegram knows a single webhook URL. A deployment that scales out puts a load balancer there,
which hands each request to the next instance in turn, and to the one after when an instance
refuses the connection (nginx's ``proxy_next_upstream error``). This one does the same for tests
and benchmarks, and notes which instance took which update, so they can tell each one did its
share.

    async with RoundRobin([f"http://127.0.0.1:{port}" for port in ports]) as balancer:
        ...  # instances set their webhook to balancer.url + path
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

log = logging.getLogger(__name__)

# Headers that describe one hop's connection, not the request (RFC 9110, section 7.6.1).
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer",
                         "upgrade", "proxy-authorization", "proxy-authenticate", "host",
                         "content-length"})


@dataclass(frozen=True)
class Routed:
    """One request the balancer passed on: to which backend (its index), and the answer."""

    backend: int
    update: dict[str, Any] | None  # None when the body is not a JSON object (not for us to judge)
    status: int

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


class RoundRobin:
    def __init__(self, backends: Sequence[str], *, host: str = "127.0.0.1", port: int = 0,
                 timeout: float = 60.0) -> None:
        if not backends:
            raise ValueError("a balancer needs at least one backend")
        self.backends = [url.rstrip("/") for url in backends]
        self.host = host
        self.port = port
        self.routed: list[Routed] = []
        self._timeout = timeout
        self._next = itertools.cycle(range(len(self.backends)))
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def accepted(self, backend: int) -> list[dict[str, Any]]:
        """The updates this backend accepted (answered 2xx), in the order it got them."""
        return [r.update for r in self.routed
                if r.backend == backend and r.update is not None and r.accepted]

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._timeout))
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> RoundRobin:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        first = next(self._next)
        for offset in range(len(self.backends)):
            backend = (first + offset) % len(self.backends)
            try:
                async with self._session.request(
                        request.method, self.backends[backend] + request.path_qs, data=body,
                        headers=headers, allow_redirects=False) as response:
                    answer = await response.read()
                    self.routed.append(Routed(backend, _json_object(body), response.status))
                    return web.Response(body=answer, status=response.status,
                                        content_type=response.content_type)
            except aiohttp.ClientConnectionError:
                # Refused or reset before an answer: the request did not reach that instance's
                # handler, so it is safe to try the next one (an idempotent webhook would
                # even take a replay).
                log.info("backend %s unavailable; trying the next", self.backends[backend])
        return web.Response(status=502, text="no backend available")


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
