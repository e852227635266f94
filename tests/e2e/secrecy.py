"""Looking for a secret ballot's choices where they must not be: in any row of any table (found
through the database's own catalogue, so a table added later is scanned too) and in any log line.

A choice shows as a vote button's callback data (``v:12:y``), a quoted value (``"no"``,
``'Abstain'``), the argument of a ``/vote`` command, an answer naming it (``: Yes.``) or a
Chinese choice word. A row or line reveals a choice when the choices it mentions are not all
mentioned equally often: a vote's keyboard (each choice once as a label and once as callback
data) or a declared tally (each choice once) tells nothing, one more press among them does.
The ballot box itself holds choices by design; it is checked instead to have no column that
could name a voter, and no row order or row version that follows the order of the casts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import sqlalchemy as sa

from meetings.domain.model import Choice
from storage.db import make_sync_engine

_KEYS = {"y": Choice.YES, "n": Choice.NO, "a": Choice.ABSTAIN}
_WORDS = {"yes": Choice.YES, "no": Choice.NO, "abstain": Choice.ABSTAIN,
          "赞成": Choice.YES, "同意": Choice.YES, "反对": Choice.NO, "弃权": Choice.ABSTAIN}
_MARKS = [
    (re.compile(r"\bv:\d{1,9}:([yna])\b"), _KEYS),
    (re.compile(r"""["'](yes|no|abstain)["']""", re.IGNORECASE), _WORDS),
    (re.compile(r"/vote(?:@\w+)?\s+(?:M?\d+\s+)?(yes|no|abstain|y|n|a)\b", re.IGNORECASE),
     {**_WORDS, **_KEYS}),
    (re.compile(r":\s*(Yes|No|Abstain)\."), _WORDS),
    (re.compile(r"(赞成|同意|反对|弃权)"), _WORDS),
]
BOX_COLUMNS = {"motion_id", "choice", "ballots"}


def choices_in(text: str) -> Counter[Choice]:
    """How often each choice is mentioned in ``text``."""
    found: Counter[Choice] = Counter()
    for pattern, meaning in _MARKS:
        for match in pattern.finditer(text):
            found[meaning[match.group(1).lower()]] += 1
    return found


def reveals(text: str) -> bool:
    """Whether ``text`` mentions some choice more often than another (see the module)."""
    found = choices_in(text)
    return bool(found) and len({found[choice] for choice in Choice}) > 1


def _text(value: object) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def scan_database(url: str, motion_id: int) -> tuple[list[str], int]:
    """Every row of every table that reveals a choice, and how many rows were read; and the
    ways the ballot box of ``motion_id`` could be joined back to its voters."""
    problems: list[str] = []
    rows_read = 0
    engine = make_sync_engine(url)
    try:
        with engine.connect() as db:
            # On the one connection: another would wait for this one's write lock (SQLite).
            inspector = sa.inspect(db)
            tables = inspector.get_table_names()
            for table in tables:
                columns = [c["name"] for c in inspector.get_columns(table)]
                if "choice" in columns and table != "ballot_box":
                    held = db.execute(sa.text(
                        f'SELECT count(*) FROM "{table}" WHERE motion_id = :m'),
                        {"m": motion_id}).scalar_one()
                    if held:
                        problems.append(f"{table}: {held} rows with a choice for M{motion_id}")
                if table == "ballot_box":
                    if set(columns) != BOX_COLUMNS:
                        problems.append(f"ballot_box has columns {columns}")
                    continue
                quoted = ", ".join(f'"{c}"' for c in columns)
                for row in db.execute(sa.text(f'SELECT {quoted} FROM "{table}"')):
                    rows_read += 1
                    text = " | ".join(_text(value) for value in row)
                    if reveals(text):
                        problems.append(f"{table}: {text[:300]}")
            problems += _box_order(db, engine.dialect.name, motion_id)
    finally:
        engine.dispose()
    return problems, rows_read


def _box_order(db: sa.Connection, dialect: str, motion_id: int) -> list[str]:
    """The box's rows sit (SQLite rowid, PostgreSQL ctid) in the order of the choices, whatever
    the order of the casts, and on PostgreSQL all carry one transaction id (xmin), the last
    cast's: neither can be matched to a has-voted row's."""
    problems: list[str] = []
    order = ("rowid" if dialect == "sqlite" else "ctid")
    placed = [row[0] for row in db.execute(sa.text(
        f"SELECT choice FROM ballot_box WHERE motion_id = :m ORDER BY {order}"),
        {"m": motion_id})]
    if placed != [choice.value for choice in Choice]:
        problems.append(f"the ballot box's rows lie in the order {placed}")
    if dialect == "postgresql":
        versions = db.execute(sa.text(
            "SELECT count(DISTINCT xmin::text) FROM ballot_box WHERE motion_id = :m"),
            {"m": motion_id}).scalar_one()
        if versions != 1:
            problems.append(f"the ballot box's rows carry {versions} transaction ids")
    return problems


def scan_lines(lines: Iterable[str]) -> list[str]:
    """The log lines that reveal a choice."""
    return [line[:300] for line in lines if reveals(line)]


def stored_box(url: str, motion_id: int) -> tuple[dict[str, int], set[int]]:
    """The ballot box's counts and the departments with a has-voted row, read directly."""
    engine = make_sync_engine(url)
    try:
        with engine.connect() as db:
            counts = {str(c): int(n) for c, n in db.execute(sa.text(
                "SELECT choice, ballots FROM ballot_box WHERE motion_id = :m"), {"m": motion_id})}
            voted = {int(d) for (d,) in db.execute(sa.text(
                "SELECT department_id FROM secret_votes WHERE motion_id = :m"), {"m": motion_id})}
    finally:
        engine.dispose()
    return counts, voted
