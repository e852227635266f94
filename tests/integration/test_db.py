"""Engines get the right driver for a URL, and SQLite connections are set up for concurrency."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text

from storage import Database, default_sqlite_url
from storage.db import make_engine, sync_url


@pytest.mark.parametrize(("url", "driver"), [
    ("sqlite:///data/council.sqlite3", "sqlite+aiosqlite"),
    ("sqlite+aiosqlite:///data/council.sqlite3", "sqlite+aiosqlite"),
    ("postgresql://council@db/council", "postgresql+psycopg"),
    ("postgresql+psycopg://council@db/council", "postgresql+psycopg"),
    ("postgres://council@db/council", "postgresql+psycopg"),
])
async def test_urls_get_an_async_driver(url: str, driver: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain and explicit URLs of both engines map to their asyncio drivers."""
    monkeypatch.chdir(tmp_path)
    engine = make_engine(url)

    assert engine.url.drivername == driver
    await engine.dispose()


def test_sync_urls_for_alembic() -> None:
    """Alembic gets the blocking driver for the same database."""
    assert sync_url("sqlite+aiosqlite:///x.db") == "sqlite+pysqlite:///x.db"
    assert sync_url("postgresql://u:p%40ss@h/db") == "postgresql+psycopg://u:p%40ss@h/db"
    with pytest.raises(ValueError, match="unsupported database"):
        sync_url("mysql://h/db")


async def test_sqlite_connections_are_tuned(tmp_path: Path) -> None:
    """The file and its directory are created; WAL, foreign keys, FULL sync and a busy
    timeout are on for every connection."""
    database = Database(default_sqlite_url(tmp_path / "data"))
    async with database.transaction() as session:
        connection = await session.connection()
        settings = [(await connection.execute(text(f"PRAGMA {name}"))).scalar_one()
                    for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")]
    await database.dispose()

    assert settings == ["wal", 1, 2, 30_000]
    assert (tmp_path / "data" / "council.sqlite3").exists()


async def test_sqlite_transactions_take_the_write_lock_up_front(tmp_path: Path) -> None:
    """A unit of work that has only read already holds the write lock, so it can never fail
    later when it upgrades to writing."""
    database = Database(default_sqlite_url(tmp_path))
    async with database.transaction() as session:
        await (await session.connection()).execute(text("SELECT 1"))
        with (
            closing(sqlite3.connect(tmp_path / "council.sqlite3", timeout=0)) as other,
            pytest.raises(sqlite3.OperationalError, match="locked"),
        ):
            other.execute("BEGIN IMMEDIATE")
    await database.dispose()
