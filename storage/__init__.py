"""The SQL adapter: implements ``meetings.ports`` on SQLite or PostgreSQL.

The composition root builds one `Database` from a URL and hands ``database.uow`` to the services;
schema changes go through `storage.migrate`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import default_sqlite_url, make_engine
from storage.errors import Conflict
from storage.uow import SqlUnitOfWork, retrying
from storage.updates import AlreadyProcessed, IncomingUpdate

__all__ = [
    "AlreadyProcessed",
    "Conflict",
    "Database",
    "IncomingUpdate",
    "SqlUnitOfWork",
    "default_sqlite_url",
    "retrying",
]


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = make_engine(url)
        # Domain values are built from rows right after each write; nothing reads expired rows.
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession,
                                            expire_on_commit=False)

    def uow(self, *, update: IncomingUpdate | None = None) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, update=update)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that commits when the block succeeds (jobs, maintenance)."""
        async with self._sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
