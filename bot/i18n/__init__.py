"""Translations through gettext catalogs.

English text is the message id; Chinese lives in ``zh/LC_MESSAGES/*.po`` (one catalog per part of
the shell, merged). The .po sources are compiled in memory when first used, so no generated .mo
files are kept in the repository.
Templates use named fields (``{when}``) filled in after translation, never before.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("en", "zh")
_HERE = Path(__file__).parent


def N_(message: str) -> str:  # noqa: N802 -- the gettext convention for "mark, translate later"
    return message


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    merged: gettext.NullTranslations = gettext.NullTranslations()
    for source in sorted((_HERE / language / "LC_MESSAGES").glob("*.po")):
        with source.open("rb") as po:
            catalog = read_po(po, locale=language)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        part = gettext.GNUTranslations(compiled)
        part.add_fallback(merged)
        merged = part
    return merged


def translate(language: str, message: str, /, **fields: object) -> str:
    """The message in ``language`` with its fields filled in."""
    text = _catalog(language).gettext(message)
    return text.format(**fields) if fields else text


def plural(language: str, singular: str, many: str, count: int, /,
           **fields: object) -> str:
    text = _catalog(language).ngettext(singular, many, count)
    return text.format(count=count, **fields)
