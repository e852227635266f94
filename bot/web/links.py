"""Download links for stored minutes: an HMAC-signed URL that expires.

The link names a meeting, a revision and an expiry instant; its signature is an HMAC-SHA256 of
those with the service's download secret (``COUNCIL_DOWNLOAD_SECRET``), so a link cannot be
guessed from another one, and none outlives its expiry.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from aiohttp import web

from meetings import usecases
from meetings.domain.errors import CouncilError
from meetings.exports.docx import CONTENT_TYPE
from meetings.ports import Clock
from storage import Database

MINUTES_PATH = "/minutes/{meeting}/{revision}"
DEFAULT_LIFETIME = timedelta(days=7)


def _signature(secret: bytes, meeting_id: int, revision: int, expires: int) -> str:
    message = f"minutes:{meeting_id}:{revision}:{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def minutes_link(base_url: str, secret: bytes, meeting_id: int, revision: int, *,
                 now: datetime, lifetime: timedelta = DEFAULT_LIFETIME) -> str:
    """The URL of one revision's file, valid until ``now + lifetime``."""
    expires = int((now + lifetime).timestamp())
    path = MINUTES_PATH.format(meeting=meeting_id, revision=revision)
    signature = _signature(secret, meeting_id, revision, expires)
    return f"{base_url.rstrip('/')}{path}?expires={expires}&sig={signature}"


def content_disposition(filename: str, fallback: str) -> str:
    """RFC 6266: an ASCII ``filename`` for old clients and the real name as ``filename*``."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@dataclass(frozen=True, slots=True)
class Downloads:
    database: Database
    secret: bytes
    clock: Clock

    async def minutes(self, request: web.Request) -> web.Response:
        """GET /minutes/{meeting}/{revision}?expires=&sig=: the stored file, byte for byte."""
        try:
            meeting_id = int(request.match_info["meeting"])
            revision = int(request.match_info["revision"])
            expires = int(request.query.get("expires", ""))
        except ValueError:
            return web.Response(status=404)
        given = request.query.get("sig", "")
        expected = _signature(self.secret, meeting_id, revision, expires)
        # The same answer for a forged and an expired link: a prober learns nothing.
        if not hmac.compare_digest(given, expected) or (
                self.clock.now().timestamp() >= expires):
            return web.Response(status=403)
        try:
            found = await usecases.minutes.stored_revision(self.database.uow(), meeting_id,
                                                           revision)
        except CouncilError:
            return web.Response(status=404)
        council, stored = found
        state = "approved" if stored.approved else "draft"
        fallback = f"minutes-meeting-{meeting_id}-r{revision}-{state}.docx"
        name = (f"{council.name} 会议纪要 {meeting_id} 第{revision}版.docx"
                if stored.style == "gbt9704" else
                f"{council.name} minutes {meeting_id} r{revision} {state}.docx")
        return web.Response(body=stored.data, content_type=CONTENT_TYPE, headers={
            "Content-Disposition": content_disposition(name, fallback),
            "X-Content-SHA256": stored.sha256, "Cache-Control": "private, no-store"})
