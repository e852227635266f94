"""The installed `cio-council` command, run as a user runs it: every mistake is one `error:` line
on stderr and exit status 2, never a traceback, and nothing is created or changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.demo import MARKER

COMMAND = Path(sys.executable).with_name("cio-council")
# A port nothing listens on: PostgreSQL refuses the connection at once.
UNREACHABLE = "postgresql://postgres@127.0.0.1:9/council"


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COUNCIL_")}
    return subprocess.run([str(COMMAND), *args], cwd=cwd, env={**clean, **env}, text=True,
                          capture_output=True, timeout=60, check=False)


def assert_one_error_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert (result.returncode, result.stderr.count("\n")) == (2, 1), result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    assert expected in result.stderr


@pytest.mark.parametrize("args", [("db", "status"), ("db", "upgrade"), ("meetings", "list"),
                                  ("audit", "verify"), ("init",)])
def test_an_unreachable_database_is_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    """A PostgreSQL server that refuses connections is named in one line, with the reason."""
    result = run(tmp_path, *args, COUNCIL_DATABASE_URL=UNREACHABLE)
    assert_one_error_line(result, "cannot use the database at postgresql://postgres@127.0.0.1:9")
    assert "Connection refused" in result.stderr


def test_a_malformed_settings_file_is_one_line(tmp_path: Path) -> None:
    """A council.toml that is not TOML is named, not a parser's traceback."""
    (tmp_path / "council.toml").write_text("data_dir = [\n", encoding="utf-8")
    assert_one_error_line(run(tmp_path, "meetings", "list"), "council.toml: not valid TOML")


def test_a_data_directory_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    """A data directory below a plain file cannot hold a database; `init` says so."""
    (tmp_path / "taken").write_text("", encoding="utf-8")
    result = run(tmp_path, "init", COUNCIL_DATA_DIR=str(tmp_path / "taken" / "council"))
    assert_one_error_line(result, "cannot use the database at sqlite:///")


def test_reading_before_init_creates_nothing(tmp_path: Path) -> None:
    """Commands before `init` point at `init` and leave no empty database behind."""
    for args in (("meetings", "list"), ("council", "list")):
        assert_one_error_line(run(tmp_path, *args), "run `cio-council init` first")
    assert list(tmp_path.iterdir()) == []
    status = run(tmp_path, "db", "status")
    assert (status.returncode, "no database yet" in status.stdout) == (0, True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("args", "expected"), [
    (("member", "add", "Zhao", "--role", "chief"), "'chief' is not one of 'chair'"),
    (("member", "add"), "Missing argument 'name'"),
    (("meetings", "cancel", "soon"), "Invalid value for 'MEETING'"),
    (("bogus",), "No such command 'bogus'"),
])
def test_usage_mistakes_are_one_line(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    """A wrong option value, a missing argument or an unknown command is one line naming it."""
    result = run(tmp_path, *args)
    assert_one_error_line(result, expected)
    assert "--help" in result.stderr


def test_version(tmp_path: Path) -> None:
    """`--version` prints the installed version."""
    result = run(tmp_path, "--version")
    assert (result.returncode, result.stdout.startswith("cio-council 0.")) == (0, True)


@pytest.mark.parametrize("setting", ["COUNCIL_DATA_DIR", "COUNCIL_DATABASE_URL"])
def test_serve_without_a_token_on_a_configured_box_refuses(tmp_path: Path, setting: str) -> None:
    """With a database configured but no bot token, `serve` fails instead of playing the demo."""
    value = "./data" if setting == "COUNCIL_DATA_DIR" else f"sqlite:///{tmp_path}/c.sqlite3"
    result = run(tmp_path, "serve", **{setting: value})
    assert_one_error_line(result, "COUNCIL_BOT_TOKEN is not set")
    assert list(tmp_path.iterdir()) == []


def test_the_demo_never_replaces_a_real_database(tmp_path: Path) -> None:
    """`demo --dir` refuses a folder whose database the demo did not create, and leaves it."""
    real = tmp_path / "my-council"
    real.mkdir()
    (real / "council.sqlite3").write_bytes(b"a real council")
    assert_one_error_line(run(tmp_path, "demo", "--dir", str(real)),
                          "holds a database the demo did not create")
    assert (real / "council.sqlite3").read_bytes() == b"a real council"
    assert not (real / MARKER).exists()
