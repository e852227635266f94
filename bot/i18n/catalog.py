"""Keeps the Chinese catalog complete: `python -m bot.i18n.catalog` adds every new English message
to ``zh/LC_MESSAGES/messages.po`` (translations already there are kept), and the test suite fails
while any message lacks a translation.

Messages are found where they are written: ``req.t("...")``, ``translate(lang, "...")`` and
``N_("...")`` in the shell, and the templates of domain errors raised in ``meetings/`` and
``storage/`` (``template("...")`` marks those kept in tables).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from meetings.domain import errors

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = Path(__file__).parent / "zh" / "LC_MESSAGES"
SOURCES = ("bot", "meetings", "storage")
_ERROR_CLASSES = [name for name, value in vars(errors).items()
                  if inspect.isclass(value) and issubclass(value, errors.CouncilError)]
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "t": None, "N_": None, "template": None, "Word": None, "translate": (2,),
    **dict.fromkeys(_ERROR_CLASSES),
}


def messages() -> Iterator[tuple[str, str]]:
    """Every English message id in the code, with where it was found."""
    for package in SOURCES:
        found = extract_from_dir(ROOT / package, method_map=[("**.py", "python")],
                                 keywords=KEYWORDS, comment_tags=(), strip_comment_tags=True)
        for filename, lineno, message, _comments, _context in found:
            if "sandbox" in filename.split("/"):
                continue  # the sandbox imitates Telegram's own English errors
            if isinstance(message, str) and message.strip():
                yield message, f"{package}/{filename}:{lineno}"


def translated() -> dict[str, str]:
    """English id -> Chinese text, over every catalog file."""
    result: dict[str, str] = {}
    for source in sorted(CATALOGS.glob("*.po")):
        with source.open("rb") as po:
            for entry in read_po(po, locale="zh"):
                if entry.id and isinstance(entry.id, str) and isinstance(entry.string, str):
                    result[entry.id] = entry.string
    return result


def update() -> int:
    """Adds missing messages to messages.po; returns how many still need a translation."""
    path = CATALOGS / "messages.po"
    catalog = Catalog(locale="zh", project="cio-council")
    if path.exists():
        with path.open("rb") as po:
            catalog = read_po(po, locale="zh")
    known = translated()
    for message, where in messages():
        if message not in known and message not in catalog:
            catalog.add(message, "", locations=[(where.rsplit(":", 1)[0],
                                                 int(where.rsplit(":", 1)[1]))])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as po:
        write_po(po, catalog, width=100, omit_header=False, include_lineno=False)
    return sum(1 for entry in catalog if entry.id and not entry.string)


if __name__ == "__main__":
    missing = update()
    print(f"{missing} message(s) still need a Chinese translation" if missing
          else "the Chinese catalog is complete")
