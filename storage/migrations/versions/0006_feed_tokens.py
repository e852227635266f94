"""Calendar feed tokens: the hashed secret of each member's (and the council's) feed address.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE_COUNCIL_TOKEN = sa.text("member_id IS NULL AND revoked_at IS NULL")
LIVE_MEMBER_TOKEN = sa.text("member_id IS NOT NULL AND revoked_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "feed_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["council_id"], ["councils.id"], ondelete="CASCADE",
                                name="fk_feed_tokens_council_id_councils"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE",
                                name="fk_feed_tokens_member_id_members"),
        sa.PrimaryKeyConstraint("id", name="pk_feed_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_feed_tokens_token_hash"),
    )
    op.create_index("uq_feed_tokens_live_council", "feed_tokens", ["council_id"], unique=True,
                    sqlite_where=LIVE_COUNCIL_TOKEN, postgresql_where=LIVE_COUNCIL_TOKEN)
    op.create_index("uq_feed_tokens_live_member", "feed_tokens", ["member_id"], unique=True,
                    sqlite_where=LIVE_MEMBER_TOKEN, postgresql_where=LIVE_MEMBER_TOKEN)


def downgrade() -> None:
    op.drop_index("uq_feed_tokens_live_member", table_name="feed_tokens")
    op.drop_index("uq_feed_tokens_live_council", table_name="feed_tokens")
    op.drop_table("feed_tokens")
