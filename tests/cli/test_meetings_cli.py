"""The calendar from the command line: `series set` again says what it replaced and kept,
a taken slot is refused without --force, and meetings are named S12 (the old 12 still works)."""

from __future__ import annotations

import re

import pytest

from tests.cli.test_cli import Cli, make_cli


@pytest.fixture
def council(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    cli = make_cli(migrated_url, monkeypatch)
    for args in [("init",), ("council", "create", "Riverside District CIO Council"),
                 ("department", "add", "EPB", "Environmental Protection Bureau")]:
        assert cli(*args).code == 0
    return cli


def ids(listing: str) -> list[str]:
    return re.findall(r"\b(S\d+)\b", listing)


def test_setting_the_series_again_says_what_was_replaced_and_kept(council: Cli) -> None:
    """The meeting moved by hand is kept, with its reason; the others are listed as removed."""
    assert council("series", "set", "bimonthly 2TH 14:30 120").code == 0
    listing = council("meetings", "list").out
    january, march, may = ids(listing)[:3]
    assert council("meetings", "reschedule", may, "2027-05-18 10:00").code == 0

    result = council("series", "set", "bimonthly 3TU 14:30 120")

    assert result.code == 0
    assert "5 meetings planned" in result.out
    lines = result.out.splitlines()
    assert "Removed, as the new series has no meeting on their dates:" in lines
    assert f"• {january} Thu 14 Jan 2027, 14:30" in lines
    assert f"• {march} Thu 11 Mar 2027, 14:30" in lines
    assert (f"• {may} Tue 18 May 2027, 10:00 (rescheduled from Thu 13 May 2027, 14:30): moved by "
            "hand") in lines
    assert f"No new meeting on Tue 18 May 2027: meeting {may} is already on that day." in lines


def test_a_taken_slot_needs_force(council: Cli) -> None:
    """A second meeting at a time another holds is refused with one error line naming it, and
    stored only with --force."""
    first = council("meetings", "schedule", "2027-01-20 14:00", "--title", "Budget")
    [taken] = ids(first.out)
    refused = council("meetings", "schedule", "2027-01-20 15:00")
    assert refused.code == 2
    assert refused.err.strip() == (
        f"error: meeting {taken} already holds that time (2027-01-20 14:00, 120 minutes): "
        f"choose another time, or move or cancel {taken} first; or give --force to keep both")
    assert len(ids(council("meetings", "list").out)) == 1
    forced = council("meetings", "schedule", "2027-01-20 15:00", "--force")
    assert forced.code == 0
    assert len(ids(council("meetings", "list").out)) == 2


def test_meetings_are_named_s_and_found_by_the_old_number_too(council: Cli) -> None:
    """`meetings list` shows S-ids; cancel takes S1 or the older 1; junk is one error line."""
    shown = council("meetings", "schedule", "2027-01-20 14:00").out
    [meeting] = ids(shown)
    assert shown.startswith(f"Meeting {meeting} scheduled for 2027-01-20 14:00")
    assert ids(council("meetings", "list").out) == [meeting]
    moved = council("meetings", "reschedule", meeting.removeprefix("S"), "2027-01-21 14:00")
    assert moved.out.startswith(f"Meeting {meeting} moved to 2027-01-21 14:00")
    assert council("meetings", "cancel", meeting.lower()).out.strip() == (
        f"Meeting {meeting} cancelled.")
    wrong = council("meetings", "cancel", "M1")
    assert wrong.code == 2
    assert "'M1' is not a meeting id" in wrong.out + wrong.err
