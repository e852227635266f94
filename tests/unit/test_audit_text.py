"""The audit hash chain and input hygiene."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from meetings.domain.audit import GENESIS, seal, verify
from meetings.domain.errors import InvalidInput, Word
from meetings.domain.model import AuditEvent
from meetings.domain.text import clean, department_code

T0 = datetime(2027, 1, 5, 8, 0, tzinfo=UTC)


def chain(length: int, council_id: int = 1) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    for i in range(length):
        events.append(seal(events[-1] if events else None, council_id=council_id,
                           at=T0 + timedelta(minutes=i), actor="operator:cli",
                           action="department.add", payload={"code": f"D{i}", "名": "环保局"}))
    return events


def test_intact_chain_verifies() -> None:
    """A sealed chain links each event to the one before, starting from the genesis hash."""
    events = chain(5)
    assert events[0].prev_hash == GENESIS
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert verify(events) == []


@pytest.mark.parametrize(
    ("tamper", "seq", "reason"),
    [
        (lambda es: [*es[:2], replace(es[2], payload='{"code":"X"}'), *es[3:]], 3, "edited"),
        (lambda es: [*es[:2], replace(es[2], actor="member:9"), *es[3:]], 3, "edited"),
        (lambda es: [*es[:2], *es[3:]], 4, "sequence jumps"),
        (lambda es: [es[0], es[2], es[1], *es[3:]], 3, "sequence jumps"),
    ],
)
def test_tampering_is_found(tamper: object, seq: int, reason: str) -> None:
    """Editing, deleting or reordering an event is reported at the first broken link."""
    assert callable(tamper)
    breaks = verify(tamper(chain(5)))
    assert breaks
    assert (breaks[0].seq, reason in breaks[0].reason) == (seq, True)


def test_rehashed_edit_breaks_the_next_link() -> None:
    """An attacker who recomputes an edited event's hash still breaks the link after it."""
    events = chain(3)
    forged = seal(events[0], council_id=1, at=events[1].at, actor="x", action="y", payload={})
    breaks = verify([events[0], forged, events[2]])
    assert [(b.seq, b.reason) for b in breaks] == [(3, "does not link to the event before it")]


def test_councils_have_separate_chains() -> None:
    """Events of several councils interleaved still verify per council."""
    a, b = chain(3, council_id=1), chain(2, council_id=2)
    assert verify([a[0], b[0], a[1], b[1], a[2]]) == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Market\tSupervision \n Bureau ", "Market Supervision Bureau"),
        ("环境\u0000保护局\u202e", "环境保护局"),
        ("e\u0301", "\u00e9"),  # NFC: one code point, as stored and compared
        ("مكتب 🏛️", "مكتب 🏛️"),
    ],
)
def test_clean_keeps_meaning_and_drops_controls(raw: str, expected: str) -> None:
    """Control and bidi-override characters go; RTL text and emoji stay."""
    assert clean(raw, field=Word("name")) == expected


def test_clean_refuses_empty_and_huge_text() -> None:
    """Empty and oversize text gets a specific error, naming the field and the limit."""
    with pytest.raises(InvalidInput, match="name is empty"):
        clean("\x00\x01 ", field=Word("name"))
    with pytest.raises(InvalidInput, match=r"too long \(100000 characters, at most 200\)"):
        clean("x" * 100_000, field=Word("name"))


def test_multiline_text_keeps_newlines() -> None:
    """Descriptions may span lines."""
    assert clean("a\nb\x07", field=Word("text"), multiline=True, max_length=10) == "a\nb"


@pytest.mark.parametrize(("raw", "code"), [("epb", "EPB"), (" HRSS2 ", "HRSS2")])
def test_department_codes(raw: str, code: str) -> None:
    """Codes are upper-cased letters and digits."""
    assert department_code(raw) == code


@pytest.mark.parametrize("raw", ["", "E-P-B", "环保", "A" * 17, "'; DROP TABLE x;--"])
def test_bad_department_codes(raw: str) -> None:
    """Anything but 1-16 letters or digits is refused."""
    with pytest.raises(InvalidInput, match="letters or digits"):
        department_code(raw)
