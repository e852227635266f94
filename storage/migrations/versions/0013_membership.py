"""Membership: at most one chair per council; whether the bot can write to a member privately;
the people the bot has seen in each council's chat.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHAIR = sa.text("role = 'chair'")

# At least one chair, on PostgreSQL: checked at commit (deferred), so the hand-over may demote
# first and promote after; the message is how storage.errors recognises it (KEEP_A_CHAIR).
# SQLite has no deferred triggers; its writers are serialised (BEGIN IMMEDIATE), so the use
# cases' own check (meetings.domain.membership.require_keeps_chair) cannot be raced there.
KEEP_A_CHAIR = [
    """
    CREATE FUNCTION members_keep_a_chair() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM councils WHERE id = OLD.council_id)
           AND NOT EXISTS (SELECT 1 FROM members
                           WHERE council_id = OLD.council_id AND role = 'chair') THEN
            RAISE EXCEPTION 'members_keep_a_chair: council % would have no chair',
                OLD.council_id USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE CONSTRAINT TRIGGER members_keep_a_chair AFTER UPDATE OF role OR DELETE ON members
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.role = 'chair')
    EXECUTE FUNCTION members_keep_a_chair()
    """,
]


def upgrade() -> None:
    # A council that somehow got a second chair keeps its first; the others become observers
    # (their rows and history stay), so the new index can hold.
    op.execute("""
        UPDATE members SET role = 'observer'
        WHERE role = 'chair' AND id > (SELECT min(first.id) FROM members AS first
                                       WHERE first.council_id = members.council_id
                                       AND first.role = 'chair')
    """)
    # Plain ALTER TABLE (no batch copy: copying `members` would drop a table that other
    # tables' foreign keys refer to).
    op.add_column("members", sa.Column("private_chat", sa.Boolean(),
                                       server_default=sa.text("false"), nullable=False))
    op.add_column("members", sa.Column("unreachable_reported", sa.Boolean(),
                                       server_default=sa.text("false"), nullable=False))
    op.create_index("uq_members_one_chair", "members", ["council_id"], unique=True,
                    sqlite_where=CHAIR, postgresql_where=CHAIR)
    if op.get_context().dialect.name == "postgresql":
        for statement in KEEP_A_CHAIR:
            op.execute(statement)
    op.create_table(
        "chat_people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["council_id"], ["councils.id"], ondelete="CASCADE",
                                name=op.f("fk_chat_people_council_id_councils")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_people")),
        sa.UniqueConstraint("council_id", "telegram_id",
                            name=op.f("uq_chat_people_council_id_telegram_id")),
    )
    op.create_index(op.f("ix_chat_people_username"), "chat_people", ["username"])


def downgrade() -> None:
    op.drop_index(op.f("ix_chat_people_username"), table_name="chat_people")
    op.drop_table("chat_people")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of the table would drop
    # `members`, which other tables' foreign keys refer to.
    op.drop_column("members", "unreachable_reported")
    op.drop_column("members", "private_chat")
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION members_keep_a_chair() CASCADE")
    op.drop_index("uq_members_one_chair", table_name="members")
