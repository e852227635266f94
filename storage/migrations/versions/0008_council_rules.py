"""The council's rules of procedure as councils write them: the quorum is more than (or at
least) a share of the membership, and a majority rule names its base; each motion keeps the
basis it opened with (its rule's base, the membership then, the departments its quorum needs).

Existing councils take the new default, a quorum of more than the share (过半数), and an
absolute majority of the members. Closed motions keep their declared results: their membership
is the electorate they were judged against and their quorum the one then posted (the share of
it, rounded up); an open motion is judged by the new rule against the departments that have a
CIO now.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 15:00:00
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _add_base(table: str, name: str) -> None:
    """The column naming a majority's base (``cast`` or ``members``), checked on both engines:
    in place on SQLite (where a batch would copy the table, which the rows referring to
    councils and the ballots trigger on motions forbid), as a named CHECK on PostgreSQL."""
    if op.get_context().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {name} VARCHAR(32) DEFAULT 'cast' NOT NULL "
                   f"CONSTRAINT ck_{table}_{name} CHECK ({name} IN ('cast', 'members'))")
        return
    op.add_column(table, sa.Column(
        name, sa.Enum("cast", "members", name=name, native_enum=False, create_constraint=True,
                      length=32), server_default="cast", nullable=False))


def upgrade() -> None:
    _add_base("councils", "majority_base")
    op.add_column("councils", sa.Column("quorum_over", sa.Boolean(),
                                        server_default=sa.text("true"), nullable=False))
    _add_base("motions", "base")
    op.add_column("motions", sa.Column("membership", sa.Integer(), server_default="0",
                                       nullable=False))
    op.add_column("motions", sa.Column("quorum_needed", sa.Integer(), server_default="1",
                                       nullable=False))
    op.execute("UPDATE councils SET majority_base = 'members' WHERE majority_rule = 'absolute'")
    _fix_bases(op.get_bind())


def _fix_bases(connection: sa.Connection) -> None:
    connection.execute(sa.text("UPDATE motions SET base = 'members' WHERE rule = 'absolute'"))
    with_cio: dict[int, int] = dict(connection.execute(sa.text(
        "SELECT council_id, COUNT(DISTINCT department_id) FROM members "
        "WHERE role = 'cio' AND department_id IS NOT NULL GROUP BY council_id")).all())
    motions = connection.execute(sa.text(
        "SELECT id, council_id, quorum, eligible FROM motions")).all()
    for motion_id, council_id, quorum, eligible in motions:
        share = Fraction(quorum).limit_denominator(1000)
        if eligible is not None:  # declared: as it was posted
            membership, needed = eligible, math.ceil(share * eligible)
        else:  # open: the new rule, of the membership now
            membership = with_cio.get(council_id, 0)
            needed = math.floor(share * membership) + 1
        connection.execute(
            sa.text("UPDATE motions SET membership = :membership, quorum_needed = :needed "
                    "WHERE id = :id"),
            {"membership": membership, "needed": max(1, needed), "id": motion_id})


def downgrade() -> None:
    # SQLite >= 3.35 drops columns in place (with the CHECK on the column itself).
    for table, names in (("motions", ("quorum_needed", "membership", "base")),
                         ("councils", ("quorum_over", "majority_base"))):
        for name in names:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
