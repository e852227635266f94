"""Notes and /agreed decisions carry their place in the meeting's record (``seq``), so /undo
finds the last one from the records themselves rather than by reading the audit log.

Existing rows are numbered per meeting in the audit log's order (``note.add`` and
``decision.agreed`` events name the record they made), which is exact even where timestamps
tie; a record the log does not name comes after those it does, by time and id. A vote's
decision keeps no number: it is never undone.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 05:10:00
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The audit action that made each kind of record, and the payload field naming it.
_MADE_BY = {"note.add": ("notes", "note"), "decision.agreed": ("decisions", "decision")}


def upgrade() -> None:
    for table in ("notes", "decisions"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
    _number_existing_records(op.get_bind())
    for table in ("notes", "decisions"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_unique_constraint(f"uq_{table}_meeting_id_seq", ["meeting_id", "seq"])


def downgrade() -> None:
    for table in ("decisions", "notes"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_meeting_id_seq", type_="unique")
            batch_op.drop_column("seq")


def _number_existing_records(connection: sa.Connection) -> None:
    logged: dict[tuple[str, int], int] = {}  # (table, id) -> the audit event's place
    events = connection.execute(sa.text(
        "SELECT action, payload FROM audit_events WHERE action IN ('note.add', 'decision.agreed') "
        "ORDER BY council_id, seq"))
    for place, (action, payload) in enumerate(events):
        table, field = _MADE_BY[action]
        record_id = _record_id(payload, field)
        if record_id is not None:
            logged.setdefault((table, record_id), place)
    by_meeting: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    records = [
        *(("notes", *row) for row in connection.execute(sa.text(
            "SELECT id, meeting_id, created_at FROM notes"))),
        *(("decisions", *row) for row in connection.execute(sa.text(
            "SELECT id, meeting_id, created_at FROM decisions "
            "WHERE meeting_id IS NOT NULL AND motion_id IS NULL"))),
    ]
    for table, record_id, meeting_id, created_at in records:
        logged_at = logged.get((table, record_id))
        by_meeting[meeting_id].append(
            (logged_at is None, logged_at or 0, _sortable(created_at), table, record_id))
    for ordered in by_meeting.values():
        for seq, (*_, table, record_id) in enumerate(sorted(ordered), start=1):
            connection.execute(sa.text(f"UPDATE {table} SET seq = :seq WHERE id = :id"),  # noqa: S608 -- table is one of two constants
                               {"seq": seq, "id": record_id})


def _record_id(payload: str, field: str) -> int | None:
    try:
        value = json.loads(payload).get(field)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _sortable(created_at: datetime | str) -> str:
    # SQLite hands back the stored text, PostgreSQL an aware datetime: both are UTC.
    if isinstance(created_at, datetime):
        return created_at.strftime("%Y-%m-%d %H:%M:%S.%f")
    return str(created_at)
