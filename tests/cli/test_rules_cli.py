"""`cio-council council rules`: the rules of procedure shown and set from the command line, one
`error:` line and exit 2 for a bad value, which changes nothing."""

from __future__ import annotations

import pytest

from tests.cli.test_cli import Cli, make_cli
from tests.snapshot import snapshot


@pytest.fixture
def council(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A migrated database with one council."""
    cli = make_cli(migrated_url, monkeypatch)
    for args in [("init",), ("council", "create", "Riverside District CIO Council")]:
        assert cli(*args).code == 0
    return cli


def test_the_rules_are_shown_and_set(council: Cli) -> None:
    """`council rules` shows the defaults; `set` changes one, shows the result, and the
    change is what the next `show` prints."""
    shown = council("council", "rules")
    assert shown.code == 0
    assert "• Quorum: more than 1/2 of the member departments" in shown.out
    assert "• Majority: simple majority of the votes cast" in shown.out
    changed = council("council", "rules", "set", "majority", "two_thirds", "of", "members")
    assert changed.code == 0, changed
    assert "• Majority: two-thirds majority of the member departments" in changed.out
    assert council("council", "rules", "set", "call", "21d").code == 0
    again = council("council", "rules", "show").out
    assert "• Majority: two-thirds majority of the member departments" in again
    assert "• Agenda call: 21 days before the meeting" in again


@pytest.mark.parametrize(("args", "message"), [
    (("council", "rules", "set", "quorum", "3/2"), "at most 1 (all members)"),
    (("council", "rules", "set", "majority", "absolute", "of", "cast"), "use simple"),
    (("council", "rules", "set", "majors", "11"), "from 0 to 10"),
    (("council", "rules", "set", "deadline", "3h"), "whole days"),
    (("council", "rules", "set", "speed", "3"), "unknown rule 'speed'"),
    (("council", "rules", "set", "quorum"), "usage: council rules"),
    (("council", "rules", "show", "quorum"), "usage: council rules"),
    (("council", "rules", "reset"), "usage: council rules"),
    (("council", "rules", "--council", "Nowhere"), "no council named 'Nowhere'"),
])
def test_mistakes_are_one_error_line_and_change_nothing(
        council: Cli, migrated_url: str, args: tuple[str, ...],
        message: str) -> None:
    """Exit 2, a single `error:` line naming the problem, and the database as it was."""
    before = snapshot(migrated_url)
    result = council(*args)
    assert result.code == 2
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result
    assert message in errors[0]
    assert snapshot(migrated_url) == before
