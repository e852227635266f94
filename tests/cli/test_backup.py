"""`cio-council backup` and `restore` on SQLite and PostgreSQL (where pg_dump is installed)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli import Cli, make_cli
from tests.conftest import _scratch_postgres_database
from tests.snapshot import snapshot

NEEDS_CLIENT = "pg_dump and pg_restore (Debian package postgresql-client) are not installed"


@pytest.fixture
def restore_url(engine_name: str, tmp_path: Path, request: pytest.FixtureRequest,
                ) -> Iterator[str]:
    """An empty database of the same engine to restore into."""
    if engine_name == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'council.sqlite3'}"
        return
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip(NEEDS_CLIENT)
    yield from _scratch_postgres_database(request.getfixturevalue("postgres_admin_url"))


@pytest.fixture
def council(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A council with two departments and a chair, set up through the CLI."""
    cli = make_cli(migrated_url, monkeypatch)
    for args in [("council", "create", "Riverside District CIO Council"),
                 ("department", "add", "EPB", "Environmental Protection Bureau"),
                 ("department", "add", "MSB", "Market Supervision Bureau"),
                 ("member", "add", "Wang Lei", "--role", "chair", "--telegram-id", "1001")]:
        assert cli(*args).code == 0
    return cli


def test_a_backup_restores_into_an_empty_database_with_its_audit_chain(
        council: Cli, migrated_url: str, restore_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The restored database holds every row of the original and `audit verify` passes."""
    file = tmp_path / "council.backup"
    made = council("backup", "-o", str(file))
    assert made.code == 0, made
    assert f"written to {file} ({file.stat().st_size} bytes)." in made.out

    restored = make_cli(restore_url, monkeypatch)
    done = restored("restore", str(file))
    assert done.code == 0, done
    assert "the schema is current." in done.out
    assert snapshot(restore_url) == snapshot(migrated_url)
    verified = restored("audit", "verify")
    assert (verified.code, verified.out.strip()) == (0, "Audit log intact: 4 events verified.")


def test_restore_refuses_a_database_holding_data_without_force(
        council: Cli, migrated_url: str, tmp_path: Path) -> None:
    """Restoring over data is one error line and changes nothing; with --force the backup
    replaces what was added since."""
    if migrated_url.startswith("postgresql") and shutil.which("pg_dump") is None:
        pytest.skip(NEEDS_CLIENT)
    file = tmp_path / "council.backup"
    assert council("backup", "-o", str(file)).code == 0
    before = snapshot(migrated_url)
    assert council("department", "add", "EDU", "Education Bureau").code == 0
    after = snapshot(migrated_url)

    refused = council("restore", str(file))
    assert (refused.code, refused.err) == (
        2, "error: the database already holds data; add --force to replace it with the "
           "backup\n")
    assert snapshot(migrated_url) == after
    forced = council("restore", str(file), "--force")
    assert forced.code == 0, forced
    assert snapshot(migrated_url) == before
    assert council("audit", "verify").code == 0


def test_restore_refuses_a_file_that_is_not_a_backup(council: Cli, tmp_path: Path) -> None:
    """Any other file is one error line naming it."""
    file = tmp_path / "notes.txt"
    file.write_text("not a backup")
    refused = council("restore", str(file), "--force")
    assert refused.code == 2
    assert refused.err.startswith(f"error: {file} is not a ")
    missing = council("restore", str(tmp_path / "absent.backup"))
    assert missing.err.startswith("error: cannot read ")


def test_without_pg_dump_the_error_names_the_package(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """On PostgreSQL without the client tools, backup says which Debian package to install."""
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing to run here
    cli = make_cli("postgresql://council@127.0.0.1:1/council", monkeypatch)
    refused = cli("backup", "-o", str(tmp_path / "council.backup"))
    assert (refused.code, refused.err) == (
        2, "error: pg_dump was not found; install the Debian package postgresql-client "
           "(apt-get install postgresql-client)\n")
    assert not (tmp_path / "council.backup").exists()
