"""The `cio-council` command line against a real database (SQLite, and PostgreSQL when given)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console
from typer.testing import CliRunner

from bot.cli import make_app
from bot.clock import FixedClock
from storage.db import sync_url
from tests.snapshot import snapshot

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@dataclass
class Outcome:
    code: int
    out: str
    err: str


Cli = Callable[..., Outcome]


def make_cli(url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("COUNCIL_DATABASE_URL", url)
    monkeypatch.delenv("COUNCIL_BOT_TOKEN", raising=False)

    def run(*args: str) -> Outcome:
        out, err = io.StringIO(), io.StringIO()
        app = make_app(FixedClock(NOW), Console(file=out, width=200),
                       Console(file=err, width=200))
        result = CliRunner().invoke(app, list(args))
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Outcome(result.exit_code, out.getvalue() + result.output, err.getvalue())

    return run


@pytest.fixture
def cli(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The CLI on a migrated database of each engine."""
    return make_cli(migrated_url, monkeypatch)


@pytest.fixture
def council(cli: Cli) -> Cli:
    """A migrated database with one council, two departments and a chair."""
    for args in [("init",), ("council", "create", "Riverside District CIO Council"),
                 ("department", "add", "EPB", "Environmental Protection Bureau"),
                 ("department", "add", "MSB", "Market Supervision Bureau"),
                 ("member", "add", "Wang Lei", "--role", "chair", "--telegram-id", "1001",
                  "--username", "wang_lei")]:
        result = cli(*args)
        assert result.code == 0, result
    return cli


def test_a_council_is_set_up_from_the_command_line(council: Cli) -> None:
    """Departments, members and a bimonthly series are created and listed in local time."""
    assert council("member", "add", "Li Na", "--role", "cio", "--department", "epb",
                   "--username", "@li_na").code == 0
    series = council("series", "set", "bimonthly 2TH 14:30 120")
    assert series.code == 0
    assert "6 meetings planned" in series.out
    listing = council("meetings", "list")
    assert "2027-01-14" in listing.out  # second Thursday of January 2027
    assert "14:30" in listing.out
    members = council("member", "list").out
    assert "Li Na" in members
    assert "EPB" in members
    assert "@li_na" in members
    extra = council("meetings", "schedule", "2027-06-17 09:30", "--title", "Data sharing")
    assert "scheduled for 2027-06-17 09:30 Asia/Shanghai." in extra.out  # a name, not "CST"
    assert "Short notice" not in extra.out


def test_a_short_notice_meeting_says_until_when_it_takes_proposals(council: Cli) -> None:
    """A meeting scheduled at 10:00 for 14:30 the next day, past the three-day deadline, says
    that CIOs' proposals close halfway through its notice."""
    result = council("meetings", "schedule", "2026-11-26 14:30")
    assert (result.code, result.out.splitlines()[-1]) == (
        0, "Short notice: CIOs' proposals are taken until 2026-11-26 00:15 Asia/Shanghai, "
           "halfway to the meeting, instead of 3 days before it.")


def test_the_chair_is_handed_over_from_the_command_line(council: Cli) -> None:
    """`member role <member> chair` hands the chair over and says who holds it now; the list
    shows one chair."""
    assert council("member", "add", "Li Na", "--role", "cio", "--department", "EPB",
                   "--telegram-id", "1002").code == 0
    handed = council("member", "role", "tg:1002", "chair")
    assert (handed.code, handed.out.strip()) == (
        0, "Li Na is now the chair; Wang Lei is now observer.")
    listing = council("member", "list").out
    assert listing.count("chair") == 1


def test_holiday_moves_are_shown_with_their_reason(council: Cli) -> None:
    """An occurrence on a public holiday is moved and the listing says from where and why."""
    result = council("series", "set", "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=1 10:00",
                     "--starting", "2027-01-01")
    assert result.code == 0
    assert "moved from 2027-01-01" in council("meetings", "list").out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("member", "add", "Zhao", "--role", "cio", "--department", "XYZ"),
         "no department with code 'XYZ'"),
        (("meetings", "schedule", "2027-02-30 14:30"), "2027-02-30"),
        (("series", "set", "FREQ=SOMETIMES;INTERVAL=2"), "FREQ"),
        (("series", "set", "fortnightly 2TH"), "fortnightly"),
        (("department", "add", "epb", "Duplicate"), "EPB"),
        (("department", "add", "E-P", "Bad code"), "letters or digits"),
        (("meetings", "reschedule", "999", "2027-03-11 14:30"), "no meeting 999"),
        (("meetings", "cancel", "999"), "no meeting 999"),
        (("council", "create", "Riverside District CIO Council"), "already exists"),
        (("series", "set", "bimonthly 2TH 14:30", "--starting", "2027-02-30"), "not a date"),
        (("series", "set", "bimonthly 2TH 14:30", "--starting", "2026-01-01"),
         "cannot start on 2026-01-01: that day is past"),
        (("series", "set", "FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TH"), "missing the time"),
        (("member", "role", "@nobody", "cio"), "I have not seen '@nobody' in the council's chat"),
        (("member", "add", "Li Na", "--role", "chair"),
         "the council already has a chair, Wang Lei: hand the chair over instead"),
        (("member", "role", "tg:1001", "cio", "--department", "EPB"),
         "Wang Lei is the council's chair: a council always has one, so hand the chair over"),
        (("member", "add", "Li Na", "--role", "expert", "--username", "li na"),
         "username 'li na' is not a Telegram username: 5-32 letters, digits or underscores"),
        (("member", "add", "Li Na", "--role", "expert", "--telegram-id", "-1001"),
         "Telegram user id -1001 is not valid: a person's id is a positive number"),
        (("member", "add", "Li Na", "--role", "expert", "--telegram-id", "1001"),
         "Telegram user 1001 is already a member of this council: Wang Lei"),
        (("department", "list", "--council", "Atlantis"), "no council named 'Atlantis'"),
        (("member", "add", "Other Wang", "--role", "expert", "--username", "@Wang_Lei"),
         "@Wang_Lei is already the username of a member of this council: Wang Lei"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    council: Cli, migrated_url: str, args: tuple[str, ...], message: str
) -> None:
    """Every refused command prints one `error:` line, exits 2 and leaves the database as it was."""
    before = snapshot(migrated_url)
    result = council(*args)
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert snapshot(migrated_url) == before


def test_commands_need_an_initialised_database(database_url: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Before `init`, commands say so instead of failing on a missing table; `init` fixes it."""
    cli = make_cli(database_url, monkeypatch)
    result = cli("council", "list")
    assert result.code == 2
    assert "run `cio-council init` first" in result.err
    assert cli("init").code == 0
    assert cli("council", "list").code == 0


def test_audit_verify_detects_an_edit_behind_its_back(council: Cli, migrated_url: str) -> None:
    """An audit row changed directly in the database makes `audit verify` fail and name it."""
    intact = council("audit", "verify")
    assert intact.code == 0
    assert "4 events verified" in intact.out
    engine = sa.create_engine(sync_url(migrated_url))
    try:
        with engine.begin() as connection:
            # The append-only trigger refuses the edit; a hostile admin drops it first.
            with pytest.raises(sa.exc.DatabaseError), connection.begin_nested():
                connection.execute(sa.text(
                    "UPDATE audit_events SET payload = '{}' WHERE seq = 2"))
            for statement in _drop_audit_guards(engine.dialect.name):
                connection.execute(sa.text(statement))
            connection.execute(sa.text(
                "UPDATE audit_events SET payload = '{\"code\":\"EPX\"}' WHERE seq = 2"))
    finally:
        engine.dispose()
    broken = council("audit", "verify")
    assert broken.code == 1
    assert "event 2: content does not match its hash (edited)" in broken.err


def _drop_audit_guards(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return ["DROP TRIGGER audit_events_no_update"]
    return ["DROP TRIGGER audit_events_no_update ON audit_events"]


def test_help_is_everywhere(cli: Cli) -> None:
    """Every command group answers --help without touching a database."""
    for group in ["council", "department", "member", "series", "meetings", "db", "audit"]:
        result = cli(group, "--help")
        assert result.code == 0
        assert "Usage" in result.out


def test_serve_without_token_runs_the_demo(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    """With no bot token, `serve` plays the demo session and leaves its database and transcript."""
    monkeypatch.chdir(tmp_path)
    cli = make_cli(f"sqlite:///{tmp_path / 'unused.sqlite3'}", monkeypatch)
    # The demo runs only where nothing is configured (tests/cli/test_errors.py has the refusal).
    monkeypatch.delenv("COUNCIL_DATABASE_URL")
    monkeypatch.delenv("COUNCIL_DATA_DIR", raising=False)
    result = cli("serve")
    assert result.code == 0, result
    assert "running the local demo" in result.out
    assert "[21/21]" in result.out  # through the meeting and the circular vote after it
    assert "★" in result.out
    assert "reminders sent" in result.out
    assert "Next meeting: S" in result.out
    assert "下一次会议" in result.out
    transcript = (tmp_path / "council-demo" / "transcript.txt").read_text(encoding="utf-8")
    assert "CIO TRN is now the CIO of their department." in transcript
    assert "✅ M3 carried" in transcript  # the circular vote, closed at its deadline
    # /endmeeting's answer is the draft minutes: the file and its caption are in the record.
    assert ".docx] 🏁 Meeting S1 has ended." in transcript
    assert cli("serve").code == 0  # a second run replaces the demo's own files
