"""Meeting proceedings: when a meeting ran and its topic, attendance of people without a
department (experts, observers), and each motion's count message and declared result.

A ballot also records the number of the chat update it came in, so a press replayed after a
crash never replaces a vote its voter sent later.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 04:11:53
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WITHOUT_DEPARTMENT = sa.text("department_id IS NULL")
_RESULT_COUNTS = ("eligible", "yes", "no", "abstain")


def upgrade() -> None:
    with op.batch_alter_table("attendance") as batch_op:
        batch_op.alter_column("department_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index("uq_attendance_member_without_department",
                              ["meeting_id", "member_id"], unique=True,
                              sqlite_where=WITHOUT_DEPARTMENT,
                              postgresql_where=WITHOUT_DEPARTMENT)
        batch_op.create_check_constraint("department_or_member",
                                         "department_id IS NOT NULL OR member_id IS NOT NULL")
    with op.batch_alter_table("meetings") as batch_op:
        batch_op.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("topic_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("motions") as batch_op:
        batch_op.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("message_id", sa.BigInteger(), nullable=True))
        for name in _RESULT_COUNTS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("passed", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("digest", sa.String(length=64), server_default="",
                                      nullable=False))
    op.add_column("ballots", sa.Column("update_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # Plain ALTERs: a batch would rebuild motions, which SQLite refuses while the ballots
    # trigger refers to the table (SQLite >= 3.35 drops columns in place).
    for name in ("digest", "passed", *reversed(_RESULT_COUNTS), "message_id", "chat_id"):
        op.execute(f"ALTER TABLE motions DROP COLUMN {name}")
    op.execute("ALTER TABLE ballots DROP COLUMN update_id")
    with op.batch_alter_table("meetings") as batch_op:
        for name in ("topic_id", "ended_at", "started_at"):
            batch_op.drop_column(name)
    op.execute("DELETE FROM attendance WHERE department_id IS NULL")
    with op.batch_alter_table("attendance") as batch_op:
        batch_op.drop_constraint("department_or_member", type_="check")
        batch_op.drop_index("uq_attendance_member_without_department")
        batch_op.alter_column("department_id", existing_type=sa.Integer(), nullable=False)
