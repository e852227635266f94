"""Consistent copies of the database while the service runs, and putting one back.

SQLite: the online backup API copies every page in one step under a read transaction, so the
copy is the database as of one instant even while instances keep writing (WAL lets them go on;
the copy then just does not hold what they commit after that instant). The copy is written next
to the target and renamed into place, so a crash never leaves half a backup under its name.

PostgreSQL: ``pg_dump --format=custom`` runs in one repeatable-read snapshot, likewise consistent
without stopping anyone; ``pg_restore`` puts it back in one transaction. Both come with the
client tools (Debian's ``postgresql-client``); the password goes through the environment, never
on a command line other users can read.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url

from storage.db import make_sync_engine

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
CLIENT_PACKAGE = "postgresql-client"  # the Debian package with pg_dump and pg_restore
_BOOKKEEPING = {"alembic_version"}


class BackupError(Exception):
    """The backup or restore did not happen; the message is one line saying why."""


def backup(url: str, target: Path) -> int:
    """Writes a consistent copy of the database at ``url`` to ``target``; returns its size."""
    parsed = make_url(url)
    partial = target.with_name(target.name + ".partial")
    try:
        if parsed.get_backend_name() == "sqlite":
            _sqlite_backup(_sqlite_file(parsed), partial)
        else:
            _run([_client("pg_dump"), "--format=custom", "--file", str(partial),
                  "--dbname", _libpq_url(parsed)], parsed)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size


def restore(url: str, source: Path, *, force: bool = False) -> None:
    """Replaces the database at ``url`` with the backup in ``source``; refuses to overwrite a
    database holding data unless ``force``."""
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    expected = SQLITE_MAGIC if sqlite else PG_DUMP_MAGIC
    try:
        with source.open("rb") as file:
            header = file.read(len(expected))
    except OSError as err:
        raise BackupError(f"cannot read {source}: {err.strerror}") from err
    if header != expected:
        made_by = "SQLite backup" if sqlite else "pg_dump --format=custom backup"
        raise BackupError(f"{source} is not a {made_by}, which this database needs")
    if not force and holds_data(url):
        raise BackupError("the database already holds data; add --force to replace it "
                          "with the backup")
    if sqlite:
        _sqlite_restore(source, _sqlite_file(parsed))
    else:
        _run([_client("pg_restore"), "--clean", "--if-exists", "--no-owner",
              "--single-transaction", "--exit-on-error", "--dbname", _libpq_url(parsed),
              str(source)], parsed)


def holds_data(url: str) -> bool:
    """Whether any table of the database has a row (a freshly migrated one has none)."""
    engine = make_sync_engine(url)
    try:
        with engine.connect() as connection:
            tables = [name for name in inspect(connection).get_table_names()
                      if name not in _BOOKKEEPING]
            quote = connection.dialect.identifier_preparer.quote
            return any(connection.execute(text(f"SELECT 1 FROM {quote(name)} LIMIT 1")).first()  # noqa: S608 -- names from the catalogue
                       for name in tables)
    finally:
        engine.dispose()


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _sqlite_backup(database: Path, target: Path) -> None:
    if not database.is_file():
        raise BackupError(f"there is no database at {database}")
    # Read-write, though it only reads: a read-only connection cannot open a WAL database
    # whose shared-memory file is missing (the service is stopped).
    source = sqlite3.connect(database, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # all pages in one step: one consistent snapshot
        # One self-contained file, whatever journal the live database uses.
        copy.execute("PRAGMA journal_mode=DELETE")
        copy.commit()
    finally:
        copy.close()
        source.close()


def _sqlite_restore(backup_file: Path, database: Path) -> None:
    source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    try:
        has_schema = source.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
        if not has_schema:
            raise BackupError(f"{backup_file} is a SQLite file but not a council database")
        database.parent.mkdir(parents=True, exist_ok=True)
        target = sqlite3.connect(database, timeout=30)
        try:
            source.backup(target)  # replaces every page, in the target's own transaction
        finally:
            target.close()
    finally:
        source.close()


def _client(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        raise BackupError(f"{program} was not found; install the Debian package "
                          f"{CLIENT_PACKAGE} (apt-get install {CLIENT_PACKAGE})")
    return found


def _libpq_url(url: URL) -> str:
    """The URL libpq reads, without the password (which goes in PGPASSWORD)."""
    return url.set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)


def _run(command: list[str], url: URL) -> None:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603 -- a fixed client program, arguments as a list
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        reason = lines[0] if lines else f"exit status {done.returncode}"
        raise BackupError(f"{Path(command[0]).name} failed: {reason}")
