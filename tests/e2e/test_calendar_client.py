"""A real calendar client follows the feed: vdirsyncer syncs it over HTTP into a directory and khal
lists it, at the council's local times; after a reschedule and a cancellation a second sync
shows the move (same UID, higher SEQUENCE) and the cancellation.

vdirsyncer's http storage replaces every UID by a hash of the item (``HttpStorage._ignore_uids``
is hard-wired to True), so on its side a meeting is followed by its title; the UIDs are checked
in the feed it fetched.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import icalendar
import pytest
from aiohttp import web

from bot.clock import FixedClock
from bot.links import feed_path
from bot.web import make_web_app
from bot.web.feeds import FeedRoutes
from meetings import usecases
from meetings.domain import feeds
from storage import Database
from tests.unit import icsread

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
CLI = usecases.common.Operator()
ZONE = "Europe/Berlin"  # daylight saving starts on 28 March 2027: both sides are listed
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[dev]' brings it)")
    return found


async def _run(*command: str, env: dict[str, str]) -> str:
    """Runs a client without blocking the loop our web server answers it on."""
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, (command, out.decode(), err.decode())
    return out.decode()


class Client:
    """vdirsyncer (http -> filesystem) and khal, configured in a scratch directory."""

    def __init__(self, root: Path, url: str) -> None:
        self.vdirsyncer, self.khal = _tool("vdirsyncer"), _tool("khal")
        self.local = root / "calendars" / "council"
        self.local.mkdir(parents=True)
        (root / "status").mkdir()
        self.vdir_config = root / "vdirsyncer.conf"
        self.vdir_config.write_text(f"""[general]
status_path = "{root / 'status'}"

[pair council]
a = "council_remote"
b = "council_local"
collections = null
conflict_resolution = "a wins"

[storage council_remote]
type = "http"
url = "{url}"

[storage council_local]
type = "filesystem"
path = "{self.local}"
fileext = ".ics"
""")
        self.khal_config = root / "khal.conf"
        self.khal_config.write_text(f"""[calendars]
[[council]]
path = {self.local}
type = calendar

[locale]
local_timezone = {ZONE}
default_timezone = {ZONE}
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M

[sqlite]
path = {root / 'khal.db'}
""")
        self.env = {**os.environ, "VDIRSYNCER_CONFIG": str(self.vdir_config),
                    "XDG_CONFIG_HOME": str(root / "config"), "XDG_DATA_HOME": str(root / "data"),
                    "TZ": ZONE}

    async def sync(self) -> None:
        await _run(self.vdirsyncer, "discover", "council", env=self.env)
        await _run(self.vdirsyncer, "sync", env=self.env)

    async def listed(self) -> list[str]:
        out = await _run(self.khal, "-c", str(self.khal_config), "list", "--once",
                         "--day-format", "", "--format", "{start} {end-time} {status}{title}",
                         "2027-01-01", "2028-12-31", env=self.env)
        return [line.strip() for line in out.splitlines() if line.strip()]

    def stored(self) -> dict[str, icalendar.Component]:
        """The events in the synced directory, by title (see the module's note on UIDs)."""
        found = {}
        for path in self.local.glob("*.ics"):
            for event in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT"):
                assert str(event["SUMMARY"]) not in found
                found[str(event["SUMMARY"])] = event
        return found


async def _served_events(url: str) -> dict[str, icalendar.Component]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return {str(e["UID"]): e for e in
                icalendar.Calendar.from_ical(await response.read()).walk("VEVENT")}


@pytest.fixture
async def served(migrated_db: Database) -> AsyncIterator[tuple[str, FixedClock]]:
    clock = FixedClock(NOW)
    runner = web.AppRunner(make_web_app(migrated_db,
                                        feeds=FeedRoutes(migrated_db, clock, recheck=0)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site.port}", clock
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
async def test_vdirsyncer_and_khal_follow_moves_and_cancellations(
        migrated_db: Database, served: tuple[str, FixedClock], tmp_path: Path) -> None:
    """Every meeting lists at its local wall-clock time (before and after the DST change); a
    second sync after a reschedule and a cancellation keeps the UIDs, raises SEQUENCE, shows
    the new time and marks the cancelled meeting."""
    base, clock = served
    council = await usecases.councils.create_council(
        migrated_db.uow(), name="Rhine CIO Council", actor=CLI, now=NOW - timedelta(days=3),
        timezone=ZONE, holiday_country="DE")
    meetings = [await usecases.schedule.schedule_meeting(
        migrated_db.uow(), council.id, local_start=start, actor=CLI, now=NOW, title=title,
        location="Room 3")
        for start, title in [("2027-03-25 10:00", "Budget round"),
                             ("2027-04-15 14:30", "Cloud strategy"),
                             ("2027-06-10 09:00", "Data sharing")]]
    token = await usecases.calendar.issue_token(migrated_db.uow(), council.id, actor=CLI,
                                                now=NOW)
    client = Client(tmp_path, base + feed_path(token))
    feed_before = await _served_events(base + feed_path(token))
    await client.sync()
    assert await client.listed() == [
        "2027-03-25 10:00 12:00 CONFIRMED Budget round",
        "2027-04-15 14:30 16:30 CONFIRMED Cloud strategy",
        "2027-06-10 09:00 11:00 CONFIRMED Data sharing",
    ]
    before = client.stored()
    clock.advance(timedelta(days=1))
    await usecases.schedule.reschedule_meeting(
        migrated_db.uow(), council.id, meetings[1].id, local_start="2027-04-22 11:00",
        actor=CLI, now=clock.now(), reason="clash with the budget hearing")
    await usecases.schedule.cancel_meeting(migrated_db.uow(), council.id, meetings[2].id,
                                           actor=CLI, now=clock.now())
    await client.sync()
    listed = await client.listed()
    assert listed == [
        "2027-03-25 10:00 12:00 CONFIRMED Budget round",
        "2027-04-22 11:00 13:00 CONFIRMED Cloud strategy",
        "2027-06-10 09:00 11:00 CANCELLED Data sharing",
    ]
    after = client.stored()
    assert set(before) == set(after)  # three meetings, none duplicated nor lost
    for title in ("Cloud strategy", "Data sharing"):
        assert icsread.sequence(after[title]) > icsread.sequence(before[title])
    assert icsread.sequence(after["Budget round"]) == icsread.sequence(before["Budget round"])
    assert str(after["Data sharing"]["STATUS"]) == "CANCELLED"
    feed_after = await _served_events(base + feed_path(token))
    moved, dropped = (feeds.meeting_uid(m) for m in meetings[1:])
    assert set(feed_before) == set(feed_after) == {feeds.meeting_uid(m) for m in meetings}
    for uid in (moved, dropped):
        assert icsread.sequence(feed_after[uid]) > icsread.sequence(feed_before[uid])
