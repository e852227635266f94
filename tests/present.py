"""Narrowing for the optional fields of Telegram objects, where a test expects them present."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def present(value: T | None) -> T:
    """``value``, failing the test when it is None (PTB types most fields of an update optional)."""
    assert value is not None, "expected a value, got None"
    return value
