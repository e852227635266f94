"""`cio-council calendar link` and `calendar export` against a real database."""

from __future__ import annotations

import re
from pathlib import Path

import icalendar
import pytest

from tests.cli.test_cli import Cli, make_cli
from tests.unit import icsread


@pytest.fixture
def cli(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("COUNCIL_PUBLIC_URL", "https://council.example.org/")
    return make_cli(migrated_url, monkeypatch)


@pytest.fixture
def council(cli: Cli) -> Cli:
    """A migrated database with one council, a department and its chair."""
    for args in [("init",), ("council", "create", "Riverside District CIO Council"),
                 ("department", "add", "EPB", "Environmental Protection Bureau"),
                 ("member", "add", "Wang Lei", "--role", "chair", "--telegram-id", "1001")]:
        result = cli(*args)
        assert result.code == 0, result
    return cli


def test_link_prints_https_and_webcal_once_and_reset_replaces_it(council: Cli) -> None:
    """The council's and a member's links are printed; asking again without --reset is refused
    in one line (the token is not kept), and --reset gives a different link."""
    shared = council("calendar", "link")
    assert shared.code == 0, shared
    https, webcal = shared.out.split()
    assert re.fullmatch(r"https://council\.example\.org/calendar/[A-Za-z0-9_-]{43}\.ics", https)
    assert webcal == "webcal://" + https.removeprefix("https://")
    again = council("calendar", "link")
    assert (again.code, again.out) == (2, "")
    assert again.err.startswith("error: this calendar link was given out before")
    mine = council("calendar", "link", "--member", "tg:1001")
    assert mine.code == 0
    assert mine.out.split()[0] != https
    reset = council("calendar", "link", "--reset")
    assert reset.code == 0
    assert reset.out.split()[0] != https
    unknown = council("calendar", "link", "--member", "@nobody")
    assert (unknown.code, unknown.err) == (2, "error: no member '@nobody' in this council\n")


def test_link_without_a_public_address_says_so(council: Cli,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Without COUNCIL_PUBLIC_URL there is nothing to link to: one error line, exit 2."""
    monkeypatch.delenv("COUNCIL_PUBLIC_URL")
    result = council("calendar", "link")
    assert result.code == 2
    assert "COUNCIL_PUBLIC_URL is not set" in result.err


def test_export_writes_the_council_feed(council: Cli, tmp_path: Path) -> None:
    """The exported file holds every meeting of the series, readable by three parsers."""
    assert council("series", "set", "bimonthly 2TH 14:30 120").code == 0
    target = tmp_path / "council.ics"
    result = council("calendar", "export", "-o", str(target))
    assert result.code == 0, result
    data = target.read_bytes()
    assert len(icsread.agreed(data, "Asia/Shanghai")) == 6
    assert "UID" not in icalendar.Calendar.from_ical(data)
    missing = council("calendar", "export", "-o", str(tmp_path / "no" / "such" / "dir.ics"))
    assert missing.code == 2
    assert missing.err.startswith("error: cannot write")
