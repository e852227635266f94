"""Urgent business and guests: an agenda item can be urgent (临时动议, accepted at once); a
meeting remembers when it was given its current start, so a short-notice meeting's proposal
deadline fits the notice; and invited guests without a Telegram account attend (列席),
numbered with the meeting's notes and decisions so /undo can take one back.

Existing meetings keep no announcement time (NULL: ample notice, the council's deadline).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agenda_items") as batch_op:
        batch_op.add_column(sa.Column("urgent", sa.Boolean(), server_default=sa.text("false"),
                                      nullable=False))
    with op.batch_alter_table("meetings") as batch_op:
        batch_op.add_column(sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "guests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("organisation", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"],
                                name=op.f("fk_guests_meeting_id_meetings"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["recorded_by"], ["members.id"],
                                name=op.f("fk_guests_recorded_by_members"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guests")),
        sa.UniqueConstraint("meeting_id", "seq", name=op.f("uq_guests_meeting_id_seq")),
    )
    op.create_index(op.f("ix_guests_recorded_by"), "guests", ["recorded_by"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_guests_recorded_by"), table_name="guests")
    op.drop_table("guests")
    # Plain drops, not batch copies: on SQLite a batch drops and recreates the table, and the
    # drop cascades to the rows that refer to it.
    op.drop_column("meetings", "announced_at")
    op.drop_column("agenda_items", "urgent")
