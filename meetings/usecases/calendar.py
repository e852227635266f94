"""Use cases of calendar subscriptions: the secret feed addresses (issued, reset, resolved) and
the feeds themselves as iCalendar bytes.

A token is 256 bits from `secrets`, shown once and stored only as its SHA-256 hash, so a leaked
database holds no working address. Looking one up goes by the hash (an index lookup, which
leaks nothing about the token itself), and the stored hash is compared again in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time

from meetings.domain import feeds
from meetings.domain.errors import Duplicate, UnknownFeed
from meetings.domain.feeds import FeedVersion
from meetings.domain.model import (
    ActionItem,
    AgendaItem,
    Council,
    FeedToken,
    Meeting,
    Member,
    Motion,
    MotionKind,
)
from meetings.domain.permissions import Act
from meetings.domain.scheduling import to_utc
from meetings.exports.ics import feed_bytes
from meetings.ports import UnitOfWork
from meetings.usecases.agenda import agenda_of
from meetings.usecases.common import (
    Actor,
    Operator,
    authorise,
    council_of,
    meeting_of,
    record,
)

TOKEN_BYTES = 32  # 256 bits; the issue asks for at least 128
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # token_urlsafe(32): 43 base64url characters


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    """Whether ``token`` could be one we issued (anything else is refused before the database)."""
    return TOKEN_SHAPE.fullmatch(token) is not None


@dataclass(frozen=True, slots=True)
class FeedAccess:
    """What a valid token opens: a council's feed, or one member's, at the data's version."""

    council: Council
    member: Member | None
    version: FeedVersion
    modified: datetime  # the last change: Last-Modified, never going backwards

    @property
    def key(self) -> tuple[int, int | None, FeedVersion]:
        """Equal keys mean equal feed bytes, in every instance of the service."""
        return (self.council.id, self.member.id if self.member else None, self.version)


async def issue_token(
    uow: UnitOfWork, council_id: int, *, actor: Actor, now: datetime,
    member_id: int | None = None, reset: bool = False, again: str = "/calendar reset",
) -> str:
    """A new feed address for a member (``member_id``) or, with None, the council's shared feed.

    Members get their own; the council's feed and other members' are for the office (or the
    operator). Without ``reset`` an existing live token stays and `Duplicate` says so: it was
    shown once and cannot be shown again (``again`` names the command that resets it). With
    ``reset`` the old one stops working at once.
    """
    if member_id is None or (isinstance(actor, Member) and actor.id != member_id):
        authorise(actor, Act.EXPORT)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    async with uow:
        await council_of(uow, council_id)
        if member_id is not None:
            await _member_in(uow, council_id, member_id)
        live = await uow.feed_tokens.live(council_id, member_id)
        if live is not None:
            if not reset:
                raise Duplicate("this calendar link was given out before and is not shown "
                                "again; {command} makes a new one (the old link stops working)",
                                command=again)
            await uow.feed_tokens.update(replace(live, revoked_at=now))
        await uow.feed_tokens.add(FeedToken(council_id=council_id, member_id=member_id,
                                            token_hash=hash_token(token), created_at=now))
        await record(uow, council_id, actor, "calendar.reset" if live else "calendar.issue",
                     now, member=member_id)  # never the token
        await uow.commit()
    return token


async def revoke_token(uow: UnitOfWork, council_id: int, *, actor: Actor, now: datetime,
                       member_id: int | None = None) -> bool:
    """Stops a member's (or, with None, the council's) feed address; False if there was none."""
    if member_id is None or (isinstance(actor, Member) and actor.id != member_id):
        authorise(actor, Act.EXPORT)
    async with uow:
        live = await uow.feed_tokens.live(council_id, member_id)
        if live is None:
            return False
        await uow.feed_tokens.update(replace(live, revoked_at=now))
        await record(uow, council_id, actor, "calendar.revoke", now, member=member_id)
        await uow.commit()
    return True


async def _member_in(uow: UnitOfWork, council_id: int, member_id: int) -> Member:
    member = await uow.members.get(member_id)
    if member is None or member.council_id != council_id:
        raise UnknownFeed("no member {id} in this council", id=member_id)
    return member


async def resolve(uow: UnitOfWork, token: str, *, now: datetime) -> FeedAccess:
    """What a feed address opens; `UnknownFeed` for a wrong, malformed or revoked token, or a
    member who has left the council."""
    if not well_formed(token):
        raise UnknownFeed("no such calendar")
    token_hash = hash_token(token)
    async with uow:
        stored = await uow.feed_tokens.by_hash(token_hash)
        if (stored is None or stored.revoked_at is not None
                or not hmac.compare_digest(stored.token_hash, token_hash)):
            raise UnknownFeed("no such calendar")
        council = await uow.councils.get(stored.council_id)
        member = await uow.members.get(stored.member_id) if stored.member_id else None
        if council is None or (stored.member_id is not None
                               and (member is None or member.council_id != council.id)):
            raise UnknownFeed("no such calendar")
        last = await uow.audit.last(council.id)
    version = feeds.version(last.seq if last else 0, council, now)
    modified = max(last.at if last else feeds.EPOCH, _local_midnight(council, version))
    return FeedAccess(council, member, version, modified)


def _local_midnight(council: Council, version: FeedVersion) -> datetime:
    # The feed also changes when the local date turns (a cancelled meeting ages out), so the
    # day's start bounds Last-Modified from below: If-Modified-Since then never hides a change.
    return to_utc(datetime.combine(version.local_day, time()), council.timezone)


@dataclass(frozen=True, slots=True)
class CouncilData:
    """Everything a council's feeds are built from, read once per version and shared by the
    council's feed and every member's."""

    council: Council
    meetings: tuple[Meeting, ...]
    agenda: Mapping[int, Sequence[AgendaItem]]
    revisions: feeds.Revisions
    created: datetime
    actions: tuple[ActionItem, ...]
    motions: tuple[Motion, ...]  # the open ones
    voted: Mapping[int, frozenset[int]]  # open motion -> departments with a current ballot


async def load(uow: UnitOfWork, council: Council) -> CouncilData:
    async with uow:
        meetings = tuple(await uow.meetings.list(council.id))
        agenda = {m.id: tuple(await uow.agenda.list(m.id)) for m in meetings}
        history = await uow.audit.list(council.id)
        motions = tuple(await uow.motions.list(council.id, open_only=True))
        voted = {m.id: await _voted(uow, m) for m in motions}
        actions = tuple(await uow.actions.list(council.id))
    return CouncilData(council, meetings, agenda, feeds.revisions(history),
                       history[0].at if history else feeds.EPOCH, actions, motions, voted)


async def _voted(uow: UnitOfWork, motion: Motion) -> frozenset[int]:
    """The departments that have voted on an open motion (a secret ballot's has-voted rows)."""
    if motion.kind is MotionKind.SECRET:
        return frozenset(v.department_id for v in await uow.secret_ballots.voters(motion.id))
    return frozenset(b.department_id for b in await uow.ballots.current(motion.id))


def render(data: CouncilData, member: Member | None, *, now: datetime,
           link: str | None = None) -> bytes:
    """The council's feed (``member`` None) or a member's, as iCalendar bytes: pure, so it may
    run in a worker thread. ``link`` leads back to the council (the bot's chat)."""
    if member is None:
        value = feeds.council_feed(data.council, data.meetings, data.agenda, data.revisions,
                                   created=data.created, now=now, link=link)
    else:
        personal = feeds.Personal(member, data.actions, data.motions, data.voted)
        value = feeds.personal_feed(data.council, data.meetings, data.agenda, data.revisions,
                                    personal, created=data.created, now=now, link=link)
    return feed_bytes(value)


async def feed(uow: UnitOfWork, access: FeedAccess, *, now: datetime,
               link: str | None = None) -> bytes:
    """The feed ``access`` opens, as iCalendar bytes (the same bytes for the same version)."""
    return render(await load(uow, access.council), access.member, now=now, link=link)


async def council_feed(uow: UnitOfWork, council_id: int, *, now: datetime) -> bytes:
    """The council's feed (what `calendar export` writes)."""
    async with uow:
        council = await council_of(uow, council_id)
        last = await uow.audit.last(council_id)
    version = feeds.version(last.seq if last else 0, council, now)
    return await feed(uow, FeedAccess(council, None, version, now.astimezone(UTC)), now=now)


async def meeting_file(uow: UnitOfWork, council_id: int, meeting_id: int, *,
                       now: datetime) -> bytes:
    """One meeting as a one-event calendar (the "add to calendar" file)."""
    async with uow:
        council = await council_of(uow, council_id)
        meeting = await meeting_of(uow, council_id, meeting_id)
        found = await agenda_of(uow, council, meeting, now=now)
        history = await uow.audit.list(council_id)
    return feed_bytes(feeds.single_meeting(
        council, found, feeds.revisions(history),
        created=history[0].at if history else feeds.EPOCH))


__all__ = ["CouncilData", "FeedAccess", "Operator", "council_feed", "feed", "issue_token", "load",
           "meeting_file", "render", "resolve", "revoke_token"]
