"""Migrations build the schema the table classes describe, on both engines."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from storage.db import sync_url
from storage.migrate import check_drift, current, downgrade, head, status, upgrade


def test_upgrade_from_empty_reaches_head_without_drift(database_url: str) -> None:
    """An empty database upgrades to the shipped head and then matches the tables exactly."""
    assert (current(database_url), status(database_url)) == (None, "empty")

    upgrade(database_url)

    assert (current(database_url), status(database_url)) == (head(), "current")
    assert check_drift(database_url) == []


def test_drift_check_notices_a_missing_index(database_url: str) -> None:
    """The drift check is not vacuous: a schema edited behind Alembic's back is reported."""
    upgrade(database_url)
    engine = create_engine(sync_url(database_url), poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_meetings_council_id_starts_at"))
    engine.dispose()

    drift = check_drift(database_url)

    assert [(kind, index.name) for kind, index in drift] == [
        ("add_index", "ix_meetings_council_id_starts_at")]


def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    """The initial revision can be undone completely, triggers included, and redone."""
    upgrade(database_url)

    downgrade(database_url, "base")
    assert current(database_url) is None
    upgrade(database_url)

    assert current(database_url) == head()
    assert check_drift(database_url) == []
