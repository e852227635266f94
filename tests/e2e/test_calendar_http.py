"""Calendar feeds over real HTTP on 127.0.0.1: headers calendar clients rely on, 304s, 404s that
reveal nothing, tokens kept out of the access log, and a cache rebuilt only when data changes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import aiohttp
import icalendar
import pytest
from aiohttp import web
from multidict import CIMultiDict
from sqlalchemy import text

from bot.clock import FixedClock
from bot.web import make_web_app
from bot.web.feeds import FeedRoutes, RedactingAccessLogger, feed_path
from meetings import usecases
from meetings.domain import feeds
from meetings.domain.model import Council, Member, Role
from storage import Database
from tests.unit import icsread

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
CLI = usecases.common.Operator()


@dataclass
class Served:
    url: str
    routes: FeedRoutes

    async def get(self, path: str, **headers: str) -> tuple[int, CIMultiDict[str], bytes]:
        async with aiohttp.ClientSession() as session, session.get(
                self.url + path, headers=headers) as response:
            return response.status, CIMultiDict(response.headers), await response.read()


async def _serve(database: Database, clock: FixedClock) -> AsyncIterator[Served]:
    routes = FeedRoutes(database, clock, recheck=0)
    runner = web.AppRunner(make_web_app(database, feeds=routes),
                           access_log_class=RedactingAccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield Served(f"http://127.0.0.1:{site.port}", routes)
    finally:
        await runner.cleanup()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def served(migrated_db: Database, clock: FixedClock) -> AsyncIterator[Served]:
    async for one in _serve(migrated_db, clock):
        yield one


@pytest.fixture
async def council(migrated_db: Database) -> tuple[Council, dict[str, Member]]:
    council = await usecases.councils.create_council(
        migrated_db.uow(), name="Harbour CIO Council", actor=CLI, now=NOW - timedelta(days=9))
    people: dict[str, Member] = {}
    for code in ("EPB", "MSB"):
        await usecases.councils.add_department(migrated_db.uow(), council.id, code=code,
                                               name=code, actor=CLI, now=NOW)
        people[code] = await usecases.councils.add_member(
            migrated_db.uow(), council.id, name=code, role=Role.CIO, actor=CLI, now=NOW,
            department=code, telegram_id=len(people) + 10)
    for start in ("2027-03-11 14:30", "2027-05-13 14:30"):
        await usecases.schedule.schedule_meeting(migrated_db.uow(), council.id,
                                                 local_start=start, actor=CLI, now=NOW)
    return council, people


async def test_a_feed_is_served_with_validators_and_answered_304_when_unchanged(
        migrated_db: Database, served: Served, council: tuple[Council, dict[str, Member]],
        clock: FixedClock) -> None:
    """200 with text/calendar, a strong ETag, Last-Modified, private caching and no referrer;
    304 with no body on a matching If-None-Match or a later If-Modified-Since; no rebuild
    while nothing changes."""
    token = await usecases.calendar.issue_token(migrated_db.uow(), council[0].id, actor=CLI,
                                                now=NOW)
    status, headers, body = await served.get(feed_path(token))
    assert status == 200
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert headers["ETag"].startswith('"')
    assert headers["Cache-Control"] == "private, max-age=900"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert {"2027-03-11T14:30:00", "2027-05-13T14:30:00"} == {
        start for _, start in icsread.agreed(body, "Asia/Shanghai")}
    etag, modified = headers["ETag"], headers["Last-Modified"]
    for conditional in ({"If-None-Match": etag}, {"If-None-Match": f'"other", W/{etag}'},
                        {"If-Modified-Since": modified}):
        status, again, body304 = await served.get(feed_path(token), **conditional)
        assert (304, b"", etag) == (status, body304, again["ETag"])
    earlier = format_datetime(NOW - timedelta(days=30), usegmt=True)
    assert (await served.get(feed_path(token), **{"If-Modified-Since": earlier}))[0] == 200
    assert (await served.get(feed_path(token), **{"If-None-Match": '"other"'}))[0] == 200
    assert served.routes.builds == 1


async def test_a_change_gives_new_bytes_and_a_later_last_modified(
        migrated_db: Database, served: Served, council: tuple[Council, dict[str, Member]],
        clock: FixedClock) -> None:
    """A reschedule changes the ETag, moves Last-Modified forward and the old ETag gets 200."""
    token = await usecases.calendar.issue_token(migrated_db.uow(), council[0].id, actor=CLI,
                                                now=NOW)
    _, before, _ = await served.get(feed_path(token))
    clock.advance(timedelta(hours=2))
    meetings = await usecases.schedule.list_meetings(migrated_db.uow(), council[0].id)
    await usecases.schedule.reschedule_meeting(migrated_db.uow(), council[0].id, meetings[0].id,
                                               local_start="2027-03-12 09:00", actor=CLI,
                                               now=clock.now())
    status, after, body = await served.get(feed_path(token), **{"If-None-Match": before["ETag"]})
    assert status == 200
    assert after["ETag"] != before["ETag"]
    assert (parsedate_to_datetime(after["Last-Modified"])
            > parsedate_to_datetime(before["Last-Modified"]))
    assert (feeds.meeting_uid(meetings[0]), "2027-03-12T09:00:00") in icsread.agreed(
        body, "Asia/Shanghai")
    assert served.routes.builds == 2


async def test_wrong_malformed_revoked_and_departed_tokens_get_a_bare_404(
        migrated_db: Database, served: Served, council: tuple[Council, dict[str, Member]]
) -> None:
    """404 with no calendar in the body for a wrong, malformed, revoked token, and for the
    token of a member who has left the council."""
    council_value, people = council
    old = await usecases.calendar.issue_token(migrated_db.uow(), council_value.id, actor=CLI,
                                              now=NOW, member_id=people["EPB"].id)
    assert (await served.get(feed_path(old)))[0] == 200
    await usecases.calendar.issue_token(migrated_db.uow(), council_value.id, actor=CLI, now=NOW,
                                        member_id=people["EPB"].id, reset=True)
    leaver = await usecases.calendar.issue_token(migrated_db.uow(), council_value.id, actor=CLI,
                                                 now=NOW, member_id=people["MSB"].id)
    assert (await served.get(feed_path(leaver)))[0] == 200
    async with migrated_db.transaction() as session:
        await session.exec(text("DELETE FROM members WHERE id = :id").bindparams(  # type: ignore[call-overload]
            id=people["MSB"].id))
        await session.commit()
    wrong = "A" * 43
    for token in (old, leaver, wrong, "short", "%2e%2e%2fetc", "x" * 5000, old + "A"):
        status, headers, body = await served.get(feed_path(token))
        assert status == 404, token
        assert b"VCALENDAR" not in body
        assert "ETag" not in headers


async def test_the_access_log_shows_the_route_but_never_the_token(
        migrated_db: Database, served: Served, council: tuple[Council, dict[str, Member]],
        caplog: pytest.LogCaptureFixture) -> None:
    """Served and refused feed requests are logged as /calendar/<token>.ics."""
    token = await usecases.calendar.issue_token(migrated_db.uow(), council[0].id, actor=CLI,
                                                now=NOW)
    with caplog.at_level(logging.INFO):
        await served.get(feed_path(token))
        await served.get(feed_path("B" * 43))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert '"GET /calendar/<token>.ics" 200' in logged
    assert '"GET /calendar/<token>.ics" 404' in logged
    assert token not in logged
    assert "B" * 43 not in logged


async def test_two_instances_serve_the_same_bytes_and_see_each_others_changes(
        migrated_db: Database, served: Served, council: tuple[Council, dict[str, Member]],
        clock: FixedClock) -> None:
    """Another instance on the same database answers with the same ETag, and after a change
    made elsewhere both serve the new feed: the version comes from the data."""
    council_value, people = council
    token = await usecases.calendar.issue_token(migrated_db.uow(), council_value.id,
                                                actor=people["EPB"], now=NOW,
                                                member_id=people["EPB"].id)
    async for other in _serve(migrated_db, clock):
        first = [(await s.get(feed_path(token)))[1]["ETag"] for s in (served, other)]
        assert first[0] == first[1]
        await usecases.actions.assign_action(migrated_db.uow(), council_value.id, code="EPB",
                                             due="2027-03-20", text="Server inventory",
                                             actor=CLI, now=NOW)
        answers = [await s.get(feed_path(token)) for s in (served, other)]
        assert answers[0][1]["ETag"] == answers[1][1]["ETag"] != first[0]
        assert answers[0][2] == answers[1][2]
        [due] = [e for e in icalendar.Calendar.from_ical(answers[0][2]).walk("VEVENT")
                 if str(e["SUMMARY"]) == "Due: Server inventory"]
        assert due.decoded("DTSTART").isoformat() == "2027-03-20"


async def test_a_personal_feed_never_shows_another_departments_deadlines(
        migrated_db: Database, served: Served, council: tuple[Council, dict[str, Member]]
) -> None:
    """EPB's feed holds EPB's action item and not MSB's, and MSB's the other way round."""
    council_value, people = council
    for code in ("EPB", "MSB"):
        await usecases.actions.assign_action(migrated_db.uow(), council_value.id, code=code,
                                             due="2027-04-01", text=f"{code} only", actor=CLI,
                                             now=NOW)
    for mine, theirs in (("EPB", "MSB"), ("MSB", "EPB")):
        token = await usecases.calendar.issue_token(
            migrated_db.uow(), council_value.id, actor=CLI, now=NOW,
            member_id=people[mine].id)
        _, _, body = await served.get(feed_path(token))
        summaries = {str(e["SUMMARY"]) for e in
                     icalendar.Calendar.from_ical(body).walk("VEVENT")}
        assert f"Due: {mine} only" in summaries
        assert f"Due: {theirs} only" not in summaries
