"""Performance appraisal: each council's score weights and excused rule, and the indexes the
tallies of a period read by (a person's proposals, a council's motions, a department's actions,
a person's ballot on a motion).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_agenda_items_proposer_id_proposed_at", "agenda_items", ["proposer_id", "proposed_at"]),
    ("ix_motions_council_id_opened_at", "motions", ["council_id", "opened_at"]),
    ("ix_action_items_department_id_created_at", "action_items", ["department_id", "created_at"]),
    ("ix_ballots_motion_id_department_id_member_id", "ballots",
     ["motion_id", "department_id", "member_id"]),
)


def upgrade() -> None:
    op.create_table(
        "appraisal_weights",
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column("attendance", sa.Integer(), nullable=False),
        sa.Column("agenda", sa.Integer(), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("actions", sa.Integer(), nullable=False),
        sa.Column("excused_neutral", sa.Boolean(), nullable=False),
        sa.CheckConstraint("attendance BETWEEN 0 AND 100 AND agenda BETWEEN 0 AND 100 AND "
                           "votes BETWEEN 0 AND 100 AND actions BETWEEN 0 AND 100",
                           name=op.f("ck_appraisal_weights_weights_in_range")),
        sa.CheckConstraint("attendance + agenda + votes + actions > 0",
                           name=op.f("ck_appraisal_weights_weights_not_all_zero")),
        sa.ForeignKeyConstraint(["council_id"], ["councils.id"], ondelete="CASCADE",
                                name=op.f("fk_appraisal_weights_council_id_councils")),
        sa.PrimaryKeyConstraint("council_id", name=op.f("pk_appraisal_weights")),
    )
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table("appraisal_weights")
