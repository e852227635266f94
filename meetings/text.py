"""Input hygiene for user-supplied text: stored safely, shown safely, exported safely."""

from __future__ import annotations

import re
import unicodedata

from meetings.errors import InvalidInput

# C0/C1 controls and the Unicode bidi overrides that can disguise text; newline and tab survive
# only where multi-line text is allowed.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CODE = re.compile(r"[A-Z0-9]{1,16}")

NAME_MAX = 200
TEXT_MAX = 4000


def clean(text: str, *, field: str, max_length: int = NAME_MAX, multiline: bool = False) -> str:
    """NFC-normalised text without control characters; raises when empty or too long."""
    normalised = unicodedata.normalize("NFC", text)
    cleaned = _CONTROL.sub("", normalised)
    if not multiline:
        cleaned = " ".join(cleaned.split())
    cleaned = cleaned.strip()
    if not cleaned:
        raise InvalidInput(f"{field} is empty")
    if len(cleaned) > max_length:
        raise InvalidInput(f"{field} is too long ({len(cleaned)} characters, at most {max_length})")
    return cleaned


def department_code(text: str) -> str:
    """An upper-case code of 1-16 ASCII letters and digits, e.g. EPB."""
    code = text.strip().upper()
    if not _CODE.fullmatch(code):
        raise InvalidInput(f"department code {text.strip()[:20]!r} must be 1-16 letters or digits")
    return code
