"""Input hygiene for user-supplied text: stored safely, shown safely, exported safely."""

from __future__ import annotations

import re
import unicodedata

from meetings.domain.errors import InvalidInput, Word

# C0/C1 controls and the Unicode bidi overrides that can disguise text; newline and tab survive
# only where multi-line text is allowed. Other format characters (ZWJ in emoji) are real text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CODE = re.compile(r"[A-Z0-9]{1,16}")

NAME_MAX = 200
TEXT_MAX = 4000


def clean(text: str, *, field: Word, max_length: int = NAME_MAX, multiline: bool = False) -> str:
    """NFC-normalised text without control characters; raises when empty or too long."""
    normalised = unicodedata.normalize("NFC", text)
    cleaned = _CONTROL.sub("", normalised)
    if not multiline:
        cleaned = " ".join(cleaned.split())
    cleaned = cleaned.strip()
    if not cleaned:
        raise InvalidInput("{field} is empty", field=field)
    if len(cleaned) > max_length:
        raise InvalidInput("{field} is too long ({length} characters, at most {limit})",
                           field=field, length=len(cleaned), limit=max_length)
    return cleaned


def optional(text: str, *, field: Word, max_length: int = NAME_MAX) -> str:
    """Like `clean`, but blank text is allowed and stays empty."""
    return clean(text, field=field, max_length=max_length) if text.strip() else ""


def shown(text: str, limit: int = 40) -> str:
    """User input quoted for a message, cut short so a huge input cannot flood a reply."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def department_code(text: str) -> str:
    """An upper-case code of 1-16 ASCII letters and digits, e.g. EPB."""
    code = text.strip().upper()
    if not _CODE.fullmatch(code):
        raise InvalidInput("department code {code} must be 1-16 letters or digits",
                           code=shown(text.strip(), 20))
    return code


# Telegram's rule for a username: 5-32 letters, digits and underscores, starting with a letter.
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")
# Telegram user ids are positive and fit in 52 bits.
_TELEGRAM_ID_MAX = 2**52


def username(text: str | None) -> str | None:
    """A Telegram username without its @, or None when blank; refuses one Telegram would not
    allow (spaces, punctuation, too short or too long) and says why."""
    name = (text or "").strip().removeprefix("@")
    if not name:
        return None
    if not _USERNAME.fullmatch(name):
        raise InvalidInput("username {username} is not a Telegram username: 5-32 letters, "
                           "digits or underscores, starting with a letter",
                           username=shown(name, 40))
    return name


def telegram_id(value: int | None) -> int | None:
    """A Telegram user id: a positive number (group chats have negative ids, people never)."""
    if value is not None and not 0 < value < _TELEGRAM_ID_MAX:
        raise InvalidInput("Telegram user id {id} is not valid: a person's id is a positive "
                           "number", id=value)
    return value
