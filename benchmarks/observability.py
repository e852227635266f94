"""What watching the service costs: per-update instrumentation, a scrubbed log line, a scrape.

    .venv/bin/python benchmarks/observability.py [--updates 20000] [--inbox 5000]

Each figure is set against a baseline measured in the same run, on the same machine:
- the metrics and log hooks around one update (the four handler-group callbacks `serve` adds)
  against parsing that update (`Update.de_json`, which every update costs anyway);
- one JSON log line through `bot.logs` (with the secret scrubbing) against the standard
  library's plain formatter on the same record;
- one `/metrics` scrape (three queries and the text exposition) on a SQLite database with
  ``--inbox`` unhandled updates, against one `/healthz` query (SELECT 1) on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from telegram import Bot, Update

from bot import logs
from bot.clock import FixedClock
from bot.metrics import Metrics
from storage import Database, inbox
from storage.migrate import upgrade

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # noqa: S105 -- a made-up token to scrub
UPDATE = {"update_id": 1, "message": {
    "message_id": 7, "date": 1764036000, "text": "/next@council_bot",
    "chat": {"id": -100123, "type": "supergroup", "title": "CIO Council"},
    "from": {"id": 1001, "is_bot": False, "first_name": "Wang"},
    "entities": [{"type": "bot_command", "offset": 0, "length": 17}]}}


def per_call(work: Callable[[], Any], count: int) -> float:
    """Microseconds per call, best of three runs."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(count):
            work()
        best = min(best, time.perf_counter() - started)
    return best / count * 1e6


async def per_await(work: Callable[[], Awaitable[Any]], count: int) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(count):
            await work()
        best = min(best, time.perf_counter() - started)
    return best / count * 1e6


async def hooks(updates: int) -> tuple[float, float]:
    bot = Bot(TOKEN)
    update = Update.de_json(UPDATE, bot)
    metrics = Metrics(FixedClock(NOW))
    context: Any = None

    async def instrumented() -> None:
        await logs._bind(update, context)
        await metrics._update_started(update, context)
        await metrics._update_ended(update, context)
        logging.disable(logging.INFO)  # the "handled" line is measured below, as a log line
        await logs._unbind(update, context)
        logging.disable(logging.NOTSET)

    parse = per_call(lambda: Update.de_json(UPDATE, bot), updates)
    return await per_await(instrumented, updates), parse


def log_lines(count: int) -> tuple[float, float]:
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "HTTP Request: POST %s %s",
                               (f"https://api.telegram.org/bot{TOKEN}/sendMessage",
                                '"HTTP/1.1 200 OK"'), None)
    ours = logs.JsonLineFormatter(logs.Redactor(["0123456789abcdef0123456789abcdef"]))
    plain = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in logs.FIELDS:
        setattr(record, name, None)
    assert TOKEN not in ours.format(record)
    return per_call(lambda: ours.format(record), count), per_call(
        lambda: plain.format(record), count)


async def scrape(rows: int) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'council.sqlite3'}"
        upgrade(url)
        database = Database(url)
        try:
            async with database.transaction() as session:
                for update_id in range(rows):
                    await inbox.receive(session, bot="1", update_id=update_id,
                                        payload=json.dumps(UPDATE), now=NOW)
            metrics = Metrics(FixedClock(NOW), database=database)
            size = len(await metrics.scrape())

            async def health() -> None:
                async with database.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))

            return (await per_await(metrics.scrape, 200), await per_await(health, 200), size)
        finally:
            await database.dispose()


async def main(args: argparse.Namespace) -> None:
    hooked, parsed = await hooks(args.updates)
    ours, plain = log_lines(args.updates)
    scraped, probed, size = await scrape(args.inbox)
    print(f"update hooks (metrics + log fields): {hooked:7.1f} µs/update;"
          f" Update.de_json: {parsed:7.1f} µs; ratio {hooked / parsed:.2f}")
    print(f"JSON log line, scrubbed:             {ours:7.1f} µs/line;"
          f"   plain format: {plain:7.1f} µs; ratio {ours / plain:.2f}")
    print(f"/metrics scrape ({args.inbox} unhandled):   {scraped / 1000:7.2f} ms ({size} bytes);"
          f" /healthz query: {probed / 1000:5.2f} ms; ratio {scraped / probed:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--inbox", type=int, default=5_000)
    asyncio.run(main(parser.parse_args()))
