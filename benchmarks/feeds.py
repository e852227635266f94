"""Calendar feeds: how fast GET /calendar/<token>.ics answers against a static-bytes handler, and
how long a feed holding ten years of a council's meetings takes to build.

    .venv/bin/python benchmarks/feeds.py [--years 10] [--per-month 2] [--items 5]
        [--requests 3000] [--concurrency 16] [--rounds 2]

Setup: a fresh SQLite database in a temporary directory, migrated; one council (Asia/Shanghai)
with ``--years`` of meetings, ``--per-month`` a month, each with ``--items`` agenda items (the
first one major, all accepted), written through the repositories in one transaction, with the
audit events the use cases would record (a schedule per meeting, a proposal and a decision per
item), since SEQUENCE and DTSTAMP are derived from them.

Build time: `usecases.calendar.council_feed` (load from the database, derive, write the bytes),
median of ``--builds`` runs, and its pure part alone (`feeds.council_feed` + `feed_bytes` on
values already loaded).

Throughput: a child process (this script with ``--serve``) runs two aiohttp servers on
127.0.0.1: ours (`bot.web.make_web_app`, the real feed route with its cache) and a baseline
whose handler returns the same bytes and headers from memory (a 304 when If-None-Match
matches). This process sends ``--requests`` GETs with ``--concurrency`` in flight over
keep-alive connections, for 200 answers (no validator) and for 304 answers (If-None-Match with
the ETag), alternating ours and the baseline for ``--rounds`` rounds. Reported: requests/s and
the ratio ours/static, the figure that survives the noise of a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.clock import FixedClock
from bot.links import feed_path
from bot.web import make_web_app
from bot.web.feeds import RECHECK, FeedRoutes
from meetings import usecases
from meetings.domain import feeds
from meetings.domain.model import AgendaItem, AgendaState, Meeting, MeetingKind, Role
from meetings.exports.ics import feed_bytes
from meetings.ports import AuditEntry
from storage import Database, migrate

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
CLI = usecases.common.Operator()


async def _populate(database: Database, *, years: int, per_month: int, items: int) -> str:
    """The council with its history; returns the council feed's token."""
    council = await usecases.councils.create_council(
        database.uow(), name="Benchmark CIO Council", actor=CLI,
        now=NOW - timedelta(days=365 * years + 30))
    await usecases.councils.add_department(database.uow(), council.id, code="EPB", name="EPB",
                                           actor=CLI, now=NOW)
    cio = await usecases.councils.add_member(database.uow(), council.id, name="CIO",
                                             role=Role.CIO, actor=CLI, now=NOW,
                                             department="EPB", telegram_id=1)
    first = date(NOW.year - years, NOW.month, 1)
    uow = database.uow()
    async with uow:
        for month in range(years * 12):
            for slot in range(per_month):
                day = date(first.year + (first.month - 1 + month) // 12,
                           (first.month - 1 + month) % 12 + 1, 8 + 14 * slot)
                starts = datetime(day.year, day.month, day.day, 6, 30, tzinfo=UTC)
                meeting = await uow.meetings.add(Meeting(
                    council.id, MeetingKind.REGULAR, starts, location="Room 301, City Hall",
                    occurrence=day))
                at = starts - timedelta(days=20)
                await uow.audit.append(AuditEntry(council.id, "operator:cli", "meeting.schedule",
                                                  {"meeting": meeting.id}, at))
                for index in range(items):
                    item = await uow.agenda.add(AgendaItem(
                        meeting.id, f"Agenda item {index + 1}: shared data platform, phase "
                        f"{month}", cio.id, cio.department_id, at,
                        description="Why it matters; what is asked of the council.",
                        state=AgendaState.ACCEPTED, major=index == 0))
                    for action in ("agenda.propose", "agenda.accepted"):
                        await uow.audit.append(AuditEntry(
                            council.id, f"member:{cio.id}", action,
                            {"item": item.id, "meeting": meeting.id}, at))
        await uow.commit()
    return await usecases.calendar.issue_token(database.uow(), council.id, actor=CLI, now=NOW)


async def _build_times(database: Database, builds: int) -> dict[str, float]:
    council_id = 1
    full = []
    for _ in range(builds):
        started = time.perf_counter()
        data = await usecases.calendar.council_feed(database.uow(), council_id, now=NOW)
        full.append(time.perf_counter() - started)
    uow = database.uow()
    async with uow:
        council = await uow.councils.get(council_id)
        assert council is not None
        meetings = await uow.meetings.list(council_id)
        agenda = {m.id: list(await uow.agenda.list(m.id)) for m in meetings}
        history = await uow.audit.list(council_id)
    pure = []
    for _ in range(builds):
        started = time.perf_counter()
        value = feeds.council_feed(council, meetings, agenda, feeds.revisions(history),
                                   created=history[0].at, now=NOW)
        feed_bytes(value)
        pure.append(time.perf_counter() - started)
    return {"full": statistics.median(full), "pure": statistics.median(pure),
            "bytes": len(data), "events": len(meetings), "audit": len(history)}


# --- the servers (child process) -------------------------------------------------------------


async def _serve(url: str, token: str, recheck: float) -> None:
    database = Database(url)
    routes = FeedRoutes(database, FixedClock(NOW), recheck=recheck)
    ours = web.AppRunner(make_web_app(database, feeds=routes), access_log=None)
    await ours.setup()
    ours_site = web.TCPSite(ours, "127.0.0.1", 0)
    await ours_site.start()
    # The static baseline serves exactly what ours serves, from memory.
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{ours_site.port}{feed_path(token)}") as response:
        body, headers = await response.read(), response.headers.copy()
    etag = headers["ETag"]
    fixed = {name: headers[name] for name in
             ("ETag", "Last-Modified", "Cache-Control", "Referrer-Policy")}

    async def static(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=fixed)
        return web.Response(body=body, headers=fixed, content_type="text/calendar",
                            charset="utf-8")

    app = web.Application()
    app.router.add_get("/static.ics", static)
    baseline = web.AppRunner(app, access_log=None)
    await baseline.setup()
    baseline_site = web.TCPSite(baseline, "127.0.0.1", 0)
    await baseline_site.start()
    print(json.dumps({"ours": f"http://127.0.0.1:{ours_site.port}{feed_path(token)}",
                      "static": f"http://127.0.0.1:{baseline_site.port}/static.ics",
                      "etag": etag}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until closed
    print(f"server: {routes.builds} feed build(s), {routes.resolves} token resolution(s)",
          file=sys.stderr)
    await ours.cleanup()
    await baseline.cleanup()
    await database.dispose()


# --- the load (this process) -----------------------------------------------------------------


async def _load(url: str, *, requests: int, concurrency: int, etag: str | None,
                expected: int) -> float:
    """requests/s for ``requests`` GETs of ``url``, ``concurrency`` in flight."""
    headers = {"If-None-Match": etag} if etag else {}
    left = requests
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                async with session.get(url, headers=headers) as response:
                    await response.read()
                    if response.status != expected:
                        raise SystemExit(f"{url} answered {response.status}, not {expected}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


async def _throughput(urls: dict[str, str], args: argparse.Namespace
                      ) -> dict[tuple[str, int], list[float]]:
    found: dict[tuple[str, int], list[float]] = {}
    for status, etag in ((200, None), (304, urls["etag"])):
        for who in ("ours", "static"):  # warm up: connections, caches
            await _load(urls[who], requests=200, concurrency=args.concurrency, etag=etag,
                        expected=status)
    for round_number in range(1, args.rounds + 1):
        for status, etag in ((200, None), (304, urls["etag"])):
            for who in ("ours", "static"):
                rate = await _load(urls[who], requests=args.requests,
                                   concurrency=args.concurrency, etag=etag, expected=status)
                found.setdefault((who, status), []).append(rate)
                print(f"round {round_number}/{args.rounds}: {who:6} {status}: {rate:8.0f} req/s",
                      flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--per-month", type=int, default=2, choices=(1, 2))
    parser.add_argument("--items", type=int, default=5)
    parser.add_argument("--builds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--recheck", type=float, default=RECHECK,
                        help="seconds a token's resolution is trusted (the service's default)")
    parser.add_argument("--serve", nargs=3, metavar=("URL", "TOKEN", "RECHECK"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        url, token, recheck = args.serve
        asyncio.run(_serve(url, token, float(recheck)))
        return
    started = time.perf_counter()
    print(f"machine: Python {platform.python_version()}, {platform.system()} "
          f"{platform.machine()}, {os.cpu_count()} CPUs, load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    with tempfile.TemporaryDirectory(prefix="feeds-") as scratch:
        url = f"sqlite:///{Path(scratch) / 'council.sqlite3'}"
        migrate.upgrade(url)

        async def prepare() -> tuple[str, dict[str, float]]:
            database = Database(url)
            try:
                token = await _populate(database, years=args.years, per_month=args.per_month,
                                        items=args.items)
                return token, await _build_times(database, args.builds)
            finally:
                await database.dispose()

        token, built = asyncio.run(prepare())
        print(f"feed: {built['events']:.0f} meetings over {args.years} years, "
              f"{args.items} agenda items each, {built['audit']:.0f} audit events; "
              f"{built['bytes'] / 1024:.0f} KiB")
        print(f"build (database + derive + write, median of {args.builds}): "
              f"{built['full'] * 1000:.0f} ms; derive + write alone: {built['pure'] * 1000:.0f} ms")
        child = subprocess.Popen(  # noqa: S603 -- this very script, with our own arguments
            [sys.executable, __file__, "--serve", url, token, str(args.recheck)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None
            urls = json.loads(child.stdout.readline())
            rates = asyncio.run(_throughput(urls, args))
        finally:
            assert child.stdin is not None
            child.stdin.close()
            child.wait(timeout=30)
    print(f"\nparameters: --requests {args.requests} --concurrency {args.concurrency} "
          f"--rounds {args.rounds} --recheck {args.recheck}; servers in one child process, "
          "load from this one")
    print(f"{'answer':8} {'ours req/s':>11} {'static req/s':>13} {'ours/static':>12}")
    for status in (200, 304):
        ours = statistics.median(rates[("ours", status)])
        static = statistics.median(rates[("static", status)])
        print(f"{status:<8} {ours:11.0f} {static:13.0f} {ours / static:11.2f}x")
    print(f"total run time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
