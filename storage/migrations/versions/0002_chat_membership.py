"""Chat membership: join requests, the webhook's update inbox, and whether the bot is in a chat.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 02:04:41
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    op.create_table(
        "update_inbox",
        sa.Column("bot", sa.String(length=64), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("bot", "update_id", name=op.f("pk_update_inbox")),
    )
    op.create_index(op.f("ix_update_inbox_received_at"), "update_inbox", ["received_at"])
    op.create_table(
        "join_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("pending", "approved", "denied", name="join_state", native_enum=False,
                    create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["council_id"], ["councils.id"], ondelete="CASCADE",
                                name=op.f("fk_join_requests_council_id_councils")),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"], ondelete="CASCADE",
                                name=op.f("fk_join_requests_department_id_departments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_join_requests")),
    )
    op.create_index(op.f("ix_join_requests_department_id"), "join_requests", ["department_id"])
    op.create_index("uq_join_requests_pending", "join_requests", ["council_id", "telegram_id"],
                    unique=True, sqlite_where=PENDING, postgresql_where=PENDING)
    with op.batch_alter_table("councils") as batch_op:
        batch_op.add_column(sa.Column("active", sa.Boolean(), server_default=sa.text("true"),
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("councils") as batch_op:
        batch_op.drop_column("active")
    op.drop_table("join_requests")
    op.drop_table("update_inbox")
