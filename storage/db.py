"""Engines for SQLite (the single-machine default) and PostgreSQL (several instances).

SQLite needs help to behave like a server database under concurrent writers: WAL so readers never
block the writer, a busy timeout so a second writer waits instead of failing, and ``BEGIN
IMMEDIATE`` so a transaction that reads before it writes takes the write lock up front (a deferred
transaction that later tries to upgrade fails at once with "database is locked").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

SQLITE_FILE = "council.sqlite3"
BUSY_TIMEOUT_MS = 30_000

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
_SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
    # Acknowledged votes must survive a power cut, not only a process crash.
    "PRAGMA synchronous=FULL",
)


def default_sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / SQLITE_FILE}"


def _with_driver(url: str, drivers: dict[str, str]) -> URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgres":  # the spelling Heroku-style URLs use
        backend = "postgresql"
    if backend not in drivers:
        raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return parsed.set(drivername=drivers[backend])


def _async_url(url: str) -> str:
    return _with_driver(url, _ASYNC_DRIVERS).render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The same database through a blocking driver, for Alembic."""
    return _with_driver(url, _SYNC_DRIVERS).render_as_string(hide_password=False)


def missing_sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL when it does not exist yet (opening it would create it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def make_engine(url: str) -> AsyncEngine:
    parsed = make_url(_async_url(url))
    _create_sqlite_parent(parsed)
    # A server's connections can die while pooled (restarts, idle timeouts); a file's cannot.
    engine = create_async_engine(parsed, pool_pre_ping=parsed.get_backend_name() != "sqlite")
    _configure_sqlite(engine.sync_engine)
    return engine


def make_sync_engine(url: str) -> Engine:
    parsed = make_url(sync_url(url))
    _create_sqlite_parent(parsed)
    engine = create_engine(parsed, poolclass=NullPool)
    _configure_sqlite(engine)
    return engine


def _create_sqlite_parent(url: URL) -> None:
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling never emits BEGIN for SELECT or DDL; take it over.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


async def insert_unless_present(session: AsyncSession, row_type: type[SQLModel],
                                values: dict[str, Any]) -> bool:
    """Inserts one row; False when a unique key already holds it (the caller's transaction stays
    usable, unlike after a failed plain INSERT on PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING rather than rowcount, which ORM-level execution does not report reliably.
    statement = insert(row_type).values(values).on_conflict_do_nothing().returning(literal(1))
    return (await session.exec(statement)).first() is not None
