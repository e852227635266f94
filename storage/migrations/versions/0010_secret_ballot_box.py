"""Secret ballots kept unlinked: a has-voted row per department (`secret_votes`) and a ballot box
of counts by choice (`ballot_box`), instead of ballots that name the voter and the choice.

Existing secret ballots move over: their current ballots become has-voted rows and box counts,
then every ballot row of a secret motion (history included) is deleted, the digest of a closed
secret motion is recomputed over the box (the old one hashed who voted what, and nine
departments' choices are only 3**9 guesses away), and the stored raw updates of presses on
secret motions are scrubbed. Downgrading cannot put back what was never kept: it drops both
tables, and with them the votes of secret ballots cast since.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 15:00:00
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHOICES = ("yes", "no", "abstain")
# The message is how storage.errors recognises the refusal (MOTION_NOT_OPEN there).
TRIGGERS = {
    "sqlite": [
        """
        CREATE TRIGGER secret_votes_motion_open BEFORE INSERT ON secret_votes
        WHEN (SELECT state FROM motions WHERE id = NEW.motion_id) IS NOT 'open'
        BEGIN SELECT RAISE(ABORT, 'motion_not_open'); END
        """,
        """
        CREATE TRIGGER ballot_box_motion_open BEFORE UPDATE ON ballot_box
        WHEN (SELECT state FROM motions WHERE id = NEW.motion_id) IS NOT 'open'
        BEGIN SELECT RAISE(ABORT, 'motion_not_open'); END
        """,
    ],
    # ballots_require_open_motion (migration 0001) checks NEW.motion_id, as these tables need.
    "postgresql": [
        """
        CREATE TRIGGER secret_votes_motion_open BEFORE INSERT ON secret_votes
        FOR EACH ROW EXECUTE FUNCTION ballots_require_open_motion()
        """,
        """
        CREATE TRIGGER ballot_box_motion_open BEFORE UPDATE ON ballot_box
        FOR EACH ROW EXECUTE FUNCTION ballots_require_open_motion()
        """,
    ],
}


def upgrade() -> None:
    op.create_table(
        "secret_votes",
        sa.Column("motion_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"],
                                name=op.f("fk_secret_votes_department_id_departments"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_secret_votes_member_id_members"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["motion_id"], ["motions.id"],
                                name=op.f("fk_secret_votes_motion_id_motions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("motion_id", "department_id", name=op.f("pk_secret_votes")),
        sa.UniqueConstraint("motion_id", "member_id",
                            name=op.f("uq_secret_votes_motion_id_member_id")),
    )
    op.create_index(op.f("ix_secret_votes_department_id"), "secret_votes", ["department_id"],
                    unique=False)
    op.create_index(op.f("ix_secret_votes_member_id"), "secret_votes", ["member_id"],
                    unique=False)
    op.create_table(
        "ballot_box",
        sa.Column("motion_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.Enum(*CHOICES, name="choice", native_enum=False,
                                    create_constraint=True, length=32), nullable=False),
        sa.Column("ballots", sa.Integer(), nullable=False),
        sa.CheckConstraint("ballots >= 0", name=op.f("ck_ballot_box_ballots_not_negative")),
        sa.ForeignKeyConstraint(["motion_id"], ["motions.id"],
                                name=op.f("fk_ballot_box_motion_id_motions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("motion_id", "choice", name=op.f("pk_ballot_box")),
    )
    _move_secret_ballots()
    for statement in TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)


def _move_secret_ballots() -> None:
    bind = op.get_bind()
    secret = [row[0] for row in bind.execute(sa.text(
        "SELECT id FROM motions WHERE kind = 'secret' ORDER BY id"))]
    for motion_id in secret:
        current = list(bind.execute(sa.text(
            "SELECT department_id, member_id, cast_at, choice FROM ballots "
            "WHERE motion_id = :m AND current"), {"m": motion_id}))
        for department_id, member_id, cast_at, _ in current:
            bind.execute(sa.text(
                "INSERT INTO secret_votes (motion_id, department_id, member_id, voted_at) "
                "VALUES (:m, :d, :p, :at)"),
                {"m": motion_id, "d": department_id, "p": member_id, "at": cast_at})
        counts = {choice: sum(1 for row in current if row[3] == choice) for choice in CHOICES}
        for choice in CHOICES:
            bind.execute(sa.text(
                "INSERT INTO ballot_box (motion_id, choice, ballots) VALUES (:m, :c, :n)"),
                {"m": motion_id, "c": choice, "n": counts[choice]})
        bind.execute(sa.text("DELETE FROM ballots WHERE motion_id = :m"), {"m": motion_id})
        # A frozen copy of meetings.domain.votes.box_digest, as it was when this was written.
        lines = sorted([*(f"{motion_id}:voted:{row[0]}" for row in current),
                        *(f"{motion_id}:box:{c}:{counts[c]}" for c in CHOICES)])
        digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:12]
        bind.execute(sa.text(
            "UPDATE motions SET digest = :digest WHERE id = :m AND state = 'closed'"),
            {"m": motion_id, "digest": digest})
    _scrub_presses(set(secret))


_PRESS = re.compile(r"^v:(\d{1,9}):")


def _scrub_presses(secret: set[int]) -> None:
    """What a press on a secret motion carried leaves the stored updates that were handled
    (an unhandled one is still to be cast, and the cast scrubs it)."""
    bind = op.get_bind()
    rows = list(bind.execute(sa.text(
        "SELECT bot, update_id, payload FROM update_inbox WHERE handled_at IS NOT NULL")))
    for bot, update_id, payload in rows:
        try:
            data = json.loads(payload)
        except ValueError:
            continue
        query = data.get("callback_query") if isinstance(data, dict) else None
        if not isinstance(query, dict):
            continue
        press = _PRESS.match(str(query.get("data", "")))
        if press is None or int(press.group(1)) not in secret:
            continue
        query.pop("data", None)
        bind.execute(sa.text(
            "UPDATE update_inbox SET payload = :payload WHERE bot = :bot AND update_id = :id"),
            {"payload": json.dumps(data), "bot": bot, "id": update_id})


def downgrade() -> None:
    # Dropping the tables drops their triggers on both engines.
    op.drop_table("ballot_box")
    op.drop_index(op.f("ix_secret_votes_member_id"), table_name="secret_votes")
    op.drop_index(op.f("ix_secret_votes_department_id"), table_name="secret_votes")
    op.drop_table("secret_votes")
