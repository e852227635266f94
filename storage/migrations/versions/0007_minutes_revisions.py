"""Minutes revisions: every version of a meeting's minutes as sent, with its SHA-256, append-only;
and each council's template for its minutes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 05:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The message is how storage.errors recognises the refusal (see MINUTES_FROZEN there).
TRIGGERS = {
    "sqlite": [
        """
        CREATE TRIGGER minutes_revisions_no_update BEFORE UPDATE ON minutes_revisions
        BEGIN SELECT RAISE(ABORT, 'minutes_revisions_append_only'); END
        """,
        """
        CREATE TRIGGER minutes_revisions_no_delete BEFORE DELETE ON minutes_revisions
        BEGIN SELECT RAISE(ABORT, 'minutes_revisions_append_only'); END
        """,
    ],
    "postgresql": [
        """
        CREATE FUNCTION minutes_revisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'minutes_revisions_append_only: % refused', TG_OP
                USING ERRCODE = 'integrity_constraint_violation';
        END $$
        """,
        """
        CREATE TRIGGER minutes_revisions_no_update BEFORE UPDATE ON minutes_revisions
        FOR EACH ROW EXECUTE FUNCTION minutes_revisions_append_only()
        """,
        """
        CREATE TRIGGER minutes_revisions_no_delete BEFORE DELETE ON minutes_revisions
        FOR EACH ROW EXECUTE FUNCTION minutes_revisions_append_only()
        """,
    ],
}
DROP_TRIGGERS = {
    "sqlite": ["DROP TRIGGER minutes_revisions_no_update",
               "DROP TRIGGER minutes_revisions_no_delete"],
    "postgresql": ["DROP FUNCTION minutes_revisions_append_only() CASCADE"],
}


def upgrade() -> None:
    op.create_table(
        "minutes_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("style", sa.String(length=16), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_minutes_revisions_revision_positive")),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_minutes_revisions_sha256_full")),
        sa.CheckConstraint("style IN ('en', 'gbt9704')",
                           name=op.f("ck_minutes_revisions_style_known")),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"],
                                name=op.f("fk_minutes_revisions_meeting_id_meetings"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_minutes_revisions")),
        sa.UniqueConstraint("meeting_id", "revision",
                            name=op.f("uq_minutes_revisions_meeting_id_revision")),
    )
    op.create_table(
        "minutes_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["council_id"], ["councils.id"],
                                name=op.f("fk_minutes_templates_council_id_councils"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_minutes_templates")),
        sa.UniqueConstraint("council_id", name=op.f("uq_minutes_templates_council_id")),
    )
    for statement in TRIGGERS[op.get_context().dialect.name]:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_TRIGGERS[op.get_context().dialect.name]:
        op.execute(statement)
    op.drop_table("minutes_templates")
    op.drop_table("minutes_revisions")
