"""Initial schema, with the triggers that guard votes and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 01:40:01.958490
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Trigger names are the same on both engines. The messages are how storage.errors recognises
# these refusals; PostgreSQL raises them with the integrity-violation SQLSTATE so drivers report
# them as IntegrityError, as SQLite does.
TRIGGERS = {
    "sqlite": [
        """
        CREATE TRIGGER ballots_motion_open BEFORE INSERT ON ballots
        WHEN (SELECT state FROM motions WHERE id = NEW.motion_id) IS NOT 'open'
        BEGIN SELECT RAISE(ABORT, 'motion_not_open'); END
        """,
        """
        CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit_events_append_only'); END
        """,
        """
        CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit_events_append_only'); END
        """,
    ],
    "postgresql": [
        # FOR SHARE waits for a concurrent close of the motion and then sees its outcome, so a
        # ballot can never be inserted after the close that should have refused it commits.
        """
        CREATE FUNCTION ballots_require_open_motion() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM 1 FROM motions WHERE id = NEW.motion_id AND state = 'open' FOR SHARE;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'motion_not_open: motion % is not open', NEW.motion_id
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$
        """,
        """
        CREATE TRIGGER ballots_motion_open BEFORE INSERT ON ballots
        FOR EACH ROW EXECUTE FUNCTION ballots_require_open_motion()
        """,
        """
        CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_events_append_only: % refused', TG_OP
                USING ERRCODE = 'integrity_constraint_violation';
        END $$
        """,
        """
        CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
        """,
        """
        CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
        """,
        """
        CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()
        """,
    ],
}
DROP_TRIGGERS = {
    "sqlite": [
        "DROP TRIGGER ballots_motion_open",
        "DROP TRIGGER audit_events_no_update",
        "DROP TRIGGER audit_events_no_delete",
    ],
    # Dropping a function drops the triggers that use it.
    "postgresql": [
        "DROP FUNCTION ballots_require_open_motion() CASCADE",
        "DROP FUNCTION audit_events_append_only() CASCADE",
    ],
}


def upgrade() -> None:
    op.create_table(
        "councils",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("holiday_country", sa.String(length=8), nullable=False),
        sa.Column(
            "majority_rule",
            sa.Enum(
                "simple",
                "absolute",
                "two_thirds",
                name="majority_rule",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("quorum", sa.Float(), nullable=False),
        sa.Column("max_major_issues", sa.Integer(), nullable=False),
        sa.Column("agenda_call_days", sa.Integer(), nullable=False),
        sa.Column("agenda_deadline_days", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "agenda_call_days >= 0 AND agenda_deadline_days >= 0",
            name=op.f("ck_councils_agenda_days_not_negative"),
        ),
        sa.CheckConstraint(
            "max_major_issues >= 0", name=op.f("ck_councils_max_major_issues_not_negative")
        ),
        sa.CheckConstraint("quorum >= 0 AND quorum <= 1", name=op.f("ck_councils_quorum_share")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_councils")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_councils_chat_id")),
        sa.UniqueConstraint("name", name=op.f("uq_councils_name")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_jobs_attempts_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_jobs_dedupe_key")),
    )
    op.create_index("ix_jobs_due", "jobs", ["done_at", "run_at"], unique=False)
    op.create_table(
        "processed_updates",
        sa.Column("bot", sa.String(length=64), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bot", "update_id", name=op.f("pk_processed_updates")),
    )
    op.create_index(
        op.f("ix_processed_updates_processed_at"),
        "processed_updates",
        ["processed_at"],
        unique=False,
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_audit_events_seq_positive")),
        sa.ForeignKeyConstraint(
            ["council_id"],
            ["councils.id"],
            name=op.f("fk_audit_events_council_id_councils"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("council_id", "seq", name=op.f("uq_audit_events_council_id_seq")),
    )
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["council_id"],
            ["councils.id"],
            name=op.f("fk_departments_council_id_councils"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("council_id", "code", name=op.f("uq_departments_council_id_code")),
    )
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "regular",
                "extraordinary",
                name="kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "scheduled",
                "agenda_open",
                "agenda_closed",
                "in_progress",
                "ended",
                "minutes_approved",
                "cancelled",
                name="state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("occurrence", sa.Date(), nullable=True),
        sa.Column("moved_reason", sa.Text(), nullable=False),
        sa.CheckConstraint("duration_minutes > 0", name=op.f("ck_meetings_duration_positive")),
        sa.ForeignKeyConstraint(
            ["council_id"],
            ["councils.id"],
            name=op.f("fk_meetings_council_id_councils"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
        sa.UniqueConstraint(
            "council_id", "occurrence", name=op.f("uq_meetings_council_id_occurrence")
        ),
    )
    op.create_index(
        "ix_meetings_council_id_starts_at", "meetings", ["council_id", "starts_at"], unique=False
    )
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column("rrule", sa.Text(), nullable=False),
        sa.Column("local_start", sa.DateTime(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.CheckConstraint("duration_minutes > 0", name=op.f("ck_series_duration_positive")),
        sa.ForeignKeyConstraint(
            ["council_id"],
            ["councils.id"],
            name=op.f("fk_series_council_id_councils"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series")),
        sa.UniqueConstraint("council_id", name=op.f("uq_series_council_id")),
    )
    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["council_id"],
            ["councils.id"],
            name=op.f("fk_action_items_council_id_councils"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_action_items_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_action_items_meeting_id_meetings"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_items")),
    )
    op.create_index(
        op.f("ix_action_items_council_id"), "action_items", ["council_id"], unique=False
    )
    op.create_index(
        op.f("ix_action_items_department_id"), "action_items", ["department_id"], unique=False
    )
    op.create_index(
        op.f("ix_action_items_meeting_id"), "action_items", ["meeting_id"], unique=False
    )
    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "chair",
                "secretary",
                "cio",
                "expert",
                "observer",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["council_id"],
            ["councils.id"],
            name=op.f("fk_members_council_id_councils"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_members_department_id_departments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint(
            "council_id", "telegram_id", name=op.f("uq_members_council_id_telegram_id")
        ),
    )
    op.create_index(op.f("ix_members_department_id"), "members", ["department_id"], unique=False)
    op.create_index(
        "uq_members_one_cio_per_department",
        "members",
        ["department_id"],
        unique=True,
        sqlite_where=sa.text("role = 'cio'"),
        postgresql_where=sa.text("role = 'cio'"),
    )
    op.create_table(
        "agenda_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("proposer_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "proposed",
                "accepted",
                "deferred",
                "rejected",
                name="state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("major", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_agenda_items_department_id_departments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_agenda_items_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["proposer_id"],
            ["members.id"],
            name=op.f("fk_agenda_items_proposer_id_members"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_items")),
    )
    op.create_index(
        op.f("ix_agenda_items_department_id"), "agenda_items", ["department_id"], unique=False
    )
    op.create_index(
        op.f("ix_agenda_items_meeting_id"), "agenda_items", ["meeting_id"], unique=False
    )
    op.create_index(
        op.f("ix_agenda_items_proposer_id"), "agenda_items", ["proposer_id"], unique=False
    )
    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "present",
                "proxy",
                "excused",
                "absent",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("proxy_name", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_attendance_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_attendance_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_attendance_member_id_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance")),
        sa.UniqueConstraint(
            "meeting_id", "department_id", name=op.f("uq_attendance_meeting_id_department_id")
        ),
    )
    op.create_index(
        op.f("ix_attendance_department_id"), "attendance", ["department_id"], unique=False
    )
    op.create_index(op.f("ix_attendance_member_id"), "attendance", ["member_id"], unique=False)
    op.create_table(
        "motions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "named",
                "secret",
                "circular",
                name="kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "rule",
            sa.Enum(
                "simple",
                "absolute",
                "two_thirds",
                name="rule",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("quorum", sa.Float(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("agenda_item_id", sa.Integer(), nullable=True),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "open", "closed", name="state", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("quorum >= 0 AND quorum <= 1", name=op.f("ck_motions_quorum_share")),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_items.id"],
            name=op.f("fk_motions_agenda_item_id_agenda_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["council_id"],
            ["councils.id"],
            name=op.f("fk_motions_council_id_councils"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_motions_meeting_id_meetings"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_motions")),
    )
    op.create_index(op.f("ix_motions_agenda_item_id"), "motions", ["agenda_item_id"], unique=False)
    op.create_index(op.f("ix_motions_council_id"), "motions", ["council_id"], unique=False)
    op.create_index(op.f("ix_motions_meeting_id"), "motions", ["meeting_id"], unique=False)
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "info", "idea", name="kind", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_items.id"],
            name=op.f("fk_notes_agenda_item_id_agenda_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["members.id"],
            name=op.f("fk_notes_author_id_members"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_notes_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
    )
    op.create_index(op.f("ix_notes_agenda_item_id"), "notes", ["agenda_item_id"], unique=False)
    op.create_index(op.f("ix_notes_author_id"), "notes", ["author_id"], unique=False)
    op.create_index(op.f("ix_notes_meeting_id"), "notes", ["meeting_id"], unique=False)
    op.create_table(
        "ballots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("motion_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column(
            "choice",
            sa.Enum(
                "yes",
                "no",
                "abstain",
                name="choice",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("cast_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_ballots_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_ballots_member_id_members"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["motion_id"],
            ["motions.id"],
            name=op.f("fk_ballots_motion_id_motions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ballots")),
    )
    op.create_index(op.f("ix_ballots_department_id"), "ballots", ["department_id"], unique=False)
    op.create_index(op.f("ix_ballots_member_id"), "ballots", ["member_id"], unique=False)
    op.create_index(op.f("ix_ballots_motion_id"), "ballots", ["motion_id"], unique=False)
    op.create_index(
        "uq_ballots_current_department",
        "ballots",
        ["motion_id", "department_id"],
        unique=True,
        sqlite_where=sa.text("current"),
        postgresql_where=sa.text("current"),
    )
    op.create_index(
        "uq_ballots_current_member",
        "ballots",
        ["motion_id", "member_id"],
        unique=True,
        sqlite_where=sa.text("current"),
        postgresql_where=sa.text("current"),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("agenda_item_id", sa.Integer(), nullable=True),
        sa.Column("motion_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_items.id"],
            name=op.f("fk_decisions_agenda_item_id_agenda_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["council_id"],
            ["councils.id"],
            name=op.f("fk_decisions_council_id_councils"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_decisions_meeting_id_meetings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["motion_id"],
            ["motions.id"],
            name=op.f("fk_decisions_motion_id_motions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_index(
        op.f("ix_decisions_agenda_item_id"), "decisions", ["agenda_item_id"], unique=False
    )
    op.create_index(op.f("ix_decisions_council_id"), "decisions", ["council_id"], unique=False)
    op.create_index(op.f("ix_decisions_meeting_id"), "decisions", ["meeting_id"], unique=False)
    op.create_index(op.f("ix_decisions_motion_id"), "decisions", ["motion_id"], unique=False)
    for statement in TRIGGERS[op.get_context().dialect.name]:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_TRIGGERS[op.get_context().dialect.name]:
        op.execute(statement)
    op.drop_table("decisions")
    op.drop_table("ballots")
    op.drop_table("notes")
    op.drop_table("motions")
    op.drop_table("attendance")
    op.drop_table("agenda_items")
    op.drop_table("members")
    op.drop_table("action_items")
    op.drop_table("series")
    op.drop_table("meetings")
    op.drop_table("departments")
    op.drop_table("audit_events")
    op.drop_table("processed_updates")
    op.drop_table("jobs")
    op.drop_table("councils")
