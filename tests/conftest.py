"""Database fixtures shared by every suite that needs real storage.

Each test gets a database of its own: a file in its tmp_path for SQLite, a uniquely named database
on the server named by COUNCIL_TEST_DATABASE_URL for PostgreSQL, so tests stay isolated and may
run concurrently. Migrated databases are copies of one template migrated once per session, which
is several times faster than migrating for every test.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import telegram
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bot.sandbox import Control, SandboxServer
from storage import Database
from storage.db import sync_url
from storage.migrate import upgrade

POSTGRES_URL_VARIABLE = "COUNCIL_TEST_DATABASE_URL"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(f"set {POSTGRES_URL_VARIABLE} to run storage tests on PostgreSQL")
    return url


def _scratch_postgres_database(admin_url: str, *, template: str | None = None) -> Iterator[str]:
    name = f"council_test_{uuid.uuid4().hex[:16]}"
    copy_of = f' TEMPLATE "{template}"' if template else ""
    # CREATE/DROP DATABASE cannot run inside a transaction.
    admin = create_engine(sync_url(admin_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"{copy_of}')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> Iterator[str]:
    """The name of a PostgreSQL database at the newest migration, for cloning."""
    for url in _scratch_postgres_database(postgres_admin_url):
        upgrade(url)
        yield str(make_url(url).database)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the newest migration, for copying."""
    path = tmp_path_factory.mktemp("template") / "council.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(engine_name: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database on each engine."""
    if engine_name == "sqlite":
        yield f"sqlite:///{tmp_path / 'council.sqlite3'}"
    else:
        yield from _scratch_postgres_database(request.getfixturevalue("postgres_admin_url"))


@pytest.fixture
def migrated_url(engine_name: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database at the newest migration on each engine."""
    if engine_name == "sqlite":
        path = tmp_path / "council.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        yield from _scratch_postgres_database(request.getfixturevalue("postgres_admin_url"),
                                              template=request.getfixturevalue("postgres_template"))


@pytest.fixture
async def migrated_db(migrated_url: str) -> AsyncIterator[Database]:
    """A `Database` at the newest migration."""
    database = Database(migrated_url)
    yield database
    await database.dispose()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In CI the PostgreSQL half of the storage tests must run, never skip quietly."""
    if os.environ.get("CI") == "true" and not os.environ.get(POSTGRES_URL_VARIABLE):
        raise pytest.UsageError(
            f"CI=true needs {POSTGRES_URL_VARIABLE}: the PostgreSQL tests would skip")


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB 22 warns on RetryAfter unless timedelta periods are opted in (warnings are errors)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


# Each suite defines its own `sandbox` (and clock); these build on whichever one is in scope.
@pytest.fixture
def control(sandbox: SandboxServer) -> Control:
    return sandbox.control


@pytest.fixture
async def bot(sandbox: SandboxServer) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(sandbox.token, base_url=sandbox.base_url,
                            base_file_url=sandbox.base_file_url) as ptb_bot:
        yield ptb_bot
