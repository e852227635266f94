"""The web service's download links to stored minutes: signed, expiring, the right headers."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.clock import FixedClock
from bot.web import make_web_app
from bot.web.links import Downloads, minutes_link
from meetings.domain.minutes import MinutesRevision
from storage import Database
from tests.integration.conftest import NOW, World, committed

Client = TestClient[web.Request, web.Application]
SECRET = b"k" * 32
DATA = b"PK\x03\x04 the approved minutes"


@pytest.fixture
async def client(migrated_db: Database, world: World) -> AsyncIterator[Client]:
    """The web service with downloads, its clock at NOW; the council is renamed in Chinese and
    its meeting has an approved revision 2 in the GB/T style."""
    await committed(migrated_db, lambda uow: uow.councils.update(
        replace(world.council, name="滨江市首席信息官委员会")))
    await committed(migrated_db, lambda uow: uow.minutes.add(MinutesRevision(
        world.meeting.id, 2, "gbt9704", DATA, hashlib.sha256(DATA).hexdigest(), "c" * 64, NOW,
        "member:1", approved=True)))
    app = make_web_app(migrated_db, downloads=Downloads(migrated_db, SECRET, FixedClock(NOW)))
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_a_signed_link_serves_the_stored_file_with_its_name(
    client: Client, world: World
) -> None:
    """The file comes byte for byte as a Word document, its Chinese name in filename*."""
    link = minutes_link("https://council.example.gov/", SECRET, world.meeting.id, 2, now=NOW)

    response = await client.get(path_of(link))

    assert link.startswith(f"https://council.example.gov/minutes/{world.meeting.id}/2?expires=")
    assert response.status == 200
    assert await response.read() == DATA
    assert response.headers["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    name = f"滨江市首席信息官委员会 会议纪要 {world.meeting.id} 第2版.docx"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="minutes-meeting-{world.meeting.id}-r2-approved.docx"; '
        f"filename*=UTF-8''{quote(name, safe='')}")
    assert response.headers["X-Content-SHA256"] == hashlib.sha256(DATA).hexdigest()


@pytest.mark.parametrize(("change", "status"), [
    (lambda path: path.replace("sig=", "sig=0"), 403),           # a forged signature
    (lambda path: path.replace("/2?", "/1?"), 403),              # another revision, same sig
    (lambda path: path.split("&sig=")[0], 403),                  # no signature at all
    (lambda path: path.replace("expires=", "expires=x"), 404),   # not a link we make
])
async def test_a_changed_link_is_refused(client: Client, world: World, change: object,
                                         status: int) -> None:
    """Any change to a link makes it worthless."""
    link = minutes_link("http://x", SECRET, world.meeting.id, 2, now=NOW)
    response = await client.get(change(path_of(link)))  # type: ignore[operator]
    assert response.status == status


async def test_an_expired_link_is_refused_and_a_valid_one_to_nothing_is_not_found(
    client: Client, world: World
) -> None:
    """A link whose time is up is refused; a correctly signed link to a missing revision is
    not found."""
    expired = minutes_link("http://x", SECRET, world.meeting.id, 2,
                           now=NOW - timedelta(days=8))
    missing = minutes_link("http://x", SECRET, world.meeting.id, 5, now=NOW)

    assert (await client.get(path_of(expired))).status == 403
    assert (await client.get(path_of(missing))).status == 404
