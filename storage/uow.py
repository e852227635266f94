"""The SQL unit of work: one session, one transaction, per use case."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from types import TracebackType
from typing import Self, TypeVar

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import repositories as sql
from storage.appraisal import SqlAppraisal
from storage.errors import is_transient, translated
from storage.inbox import SqlInbox
from storage.jobs import SqlJobs
from storage.updates import AlreadyProcessed, IncomingUpdate, record_update

U = TypeVar("U")
T = TypeVar("T")

# Told of each retry `retrying` makes (the service counts them, `bot.metrics`). A context
# variable, so each service instance's tasks report to their own instance's counters.
retry_observer: ContextVar[Callable[[BaseException], None] | None] = ContextVar(
    "retry_observer", default=None)


class SqlUnitOfWork:
    """Implements ``meetings.ports.UnitOfWork``; leaving the block without `commit` rolls back.

    The repositories exist while the block is open, bound to its session; each is its concrete
    SQL class, which satisfies the port's read-only property of the same name.

    With ``update``, entering also records that Telegram update as handled, in the same
    transaction, and raises `AlreadyProcessed` if it was handled before.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *,
                 update: IncomingUpdate | None = None) -> None:
        self._sessions = sessions
        self._update = update
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        """The open session, for storage functions (jobs, updates) that share the transaction."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use `async with uow:`")
        return self._session

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("this unit of work is already open; nested use needs its own")
        session = self._session = self._sessions()
        self.councils = sql.SqlCouncils(session)
        self.departments = sql.SqlDepartments(session)
        self.members = sql.SqlMembers(session)
        self.people = sql.SqlPeople(session)
        self.join_requests = sql.SqlJoinRequests(session)
        self.series = sql.SqlSeries(session)
        self.meetings = sql.SqlMeetings(session)
        self.agenda = sql.SqlAgenda(session)
        self.attendance = sql.SqlAttendance(session)
        self.guests = sql.SqlGuests(session)
        self.notes = sql.SqlNotes(session)
        self.decisions = sql.SqlDecisions(session)
        self.motions = sql.SqlMotions(session)
        self.ballots = sql.SqlBallots(session)
        self.secret_ballots = sql.SqlSecretBallots(session)
        self.inbox = SqlInbox(session, bot=self._update.bot if self._update else None)
        self.actions = sql.SqlActions(session)
        self.appraisal = SqlAppraisal(session)
        self.minutes = sql.SqlMinutes(session)
        self.audit = sql.SqlAuditLog(session)
        self.feed_tokens = sql.SqlFeedTokens(session)
        self.jobs = SqlJobs(session)
        if self._update is not None:
            try:
                await self._claim(self._update)
            except BaseException:
                # The caller's `async with` body never runs, so __aexit__ will not clean up.
                await self._close()
                raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._close()

    async def commit(self) -> None:
        with translated():
            await self.session.commit()

    async def _claim(self, update: IncomingUpdate) -> None:
        if not await record_update(self.session, bot=update.bot, update_id=update.update_id,
                                   now=update.received_at):
            raise AlreadyProcessed(f"update {update.update_id} of bot {update.bot}")

    async def _close(self) -> None:
        # Closing rolls back whatever was not committed and returns the connection to the pool.
        await self.session.close()
        self._session = None


async def retrying(new_uow: Callable[[], U], work: Callable[[U], Awaitable[T]], *,
                   attempts: int = 10, first_delay: float = 0.005) -> T:
    """Runs ``work`` on a fresh unit of work, again when it lost a race to a concurrent writer.

    ``work`` must do the whole use case (``async with uow: ...; await uow.commit()``), typically
    ``lambda uow: usecases.voting.cast_vote(uow, ...)``. Errors that are not races propagate at
    once.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await work(new_uow())
        except Exception as err:
            if attempt == attempts or not is_transient(err):
                raise
            observe = retry_observer.get()
            if observe is not None:
                observe(err)
        # Jittered exponential backoff, so racing writers do not collide again in lockstep.
        await asyncio.sleep(random.uniform(0, first_delay * 2**attempt))  # noqa: S311  # jitter, not a secret
    raise ValueError("attempts must be at least 1")
