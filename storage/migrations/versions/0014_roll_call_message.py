"""The roll call's group message: which message a meeting's live roll call keeps current.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meetings") as batch_op:
        batch_op.add_column(sa.Column("roll_call_chat_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("roll_call_message_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # Plain drops, not a batch copy: on SQLite a batch drops and recreates `meetings`, and the
    # drop cascades to every row that refers to a meeting (notes, decisions, ...).
    op.drop_column("meetings", "roll_call_message_id")
    op.drop_column("meetings", "roll_call_chat_id")
