"""Schema migrations, driven from code so an installed package needs no alembic.ini or checkout.

Alembic runs on a blocking engine (the same SQLite pragmas and BEGIN IMMEDIATE as the app), inside
one transaction: PostgreSQL and SQLite both have transactional DDL, so a failed upgrade leaves the
schema as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, TypeDecorator, text

from storage.db import make_sync_engine
from storage.tables import metadata

_SCRIPTS = Path(__file__).with_name("migrations")
# Any constant will do: it only has to be the same for every instance upgrading one database.
_PG_UPGRADE_LOCK = 0x43494F43


def context_options(connection: Connection) -> dict[str, Any]:
    """How Alembic compares and renders our schema, shared by env.py and `check_drift`."""
    return {
        "target_metadata": metadata,
        "compare_type": True,
        # SQLite alters most things by copying the table; batch mode writes migrations that way.
        "render_as_batch": connection.dialect.name == "sqlite",
        "render_item": _render_item,
    }


def _render_item(kind: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    # A migration must not import application types that may change after it was written; the
    # database only ever sees the type a decorator wraps.
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["connection"] = connection
    return config


@contextmanager
def _transaction(url: str) -> Iterator[Connection]:
    engine = make_sync_engine(url)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def head() -> str | None:
    """The newest revision this package ships."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def current(url: str) -> str | None:
    """The revision the database is at; None for an empty database."""
    with _transaction(url) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def status(url: str) -> str:
    """``"current"``, ``"empty"``, or how the schema differs from this release, for people."""
    revision, newest = current(url), head()
    if revision == newest:
        return "current"
    if revision is None:
        return "empty"
    scripts = ScriptDirectory.from_config(_config())
    if revision in {script.revision for script in scripts.walk_revisions()}:
        return f"behind (at revision {revision}, this release has {newest})"
    return f"at revision {revision}, which this release does not know (newer software?)"


def upgrade(url: str, revision: str = "head") -> None:
    with _transaction(url) as connection:
        if connection.dialect.name == "postgresql":
            # Instances starting together would otherwise race to create the same tables.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": _PG_UPGRADE_LOCK})
        command.upgrade(_config(connection), revision)


def downgrade(url: str, revision: str) -> None:
    with _transaction(url) as connection:
        command.downgrade(_config(connection), revision)


def check_drift(url: str) -> list[Any]:
    """Differences between the database and the table classes; empty when migrations cover them."""
    with _transaction(url) as connection:
        context = MigrationContext.configure(connection, opts=context_options(connection))
        return list(compare_metadata(context, metadata))


def revision(url: str, message: str) -> None:
    """Writes a new revision from the difference between ``url`` (at head) and the tables
    (for developers, in a source checkout)."""
    with _transaction(url) as connection:
        command.revision(_config(connection), message=message, autogenerate=True)
