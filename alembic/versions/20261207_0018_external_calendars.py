"""External calendars: `external_calendar` (an ICS feed or a CalDAV account of a builder),
`external_busy_interval` (its events expanded to UTC spans, refreshed by the job worker) and
`calendar_write` (the write-back outbox: one row per booking kept in the builder's CalDAV calendar).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString
_time = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "external_calendar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("builder_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("ics", "caldav", name="calendar_kind", native_enum=False, length=10,
                                  create_constraint=True), nullable=False),
        sa.Column("name", _text(length=120), nullable=False),
        sa.Column("url", _text(length=2000), nullable=False),
        sa.Column("username", _text(length=254), nullable=False),
        sa.Column("password_encrypted", _text(length=1000), nullable=False),
        sa.Column("write_bookings", sa.Boolean(), nullable=False),
        sa.Column("etag", _text(length=255), nullable=True),
        sa.Column("last_modified", _text(length=64), nullable=True),
        sa.Column("last_synced_at", _time(), nullable=True),
        sa.Column("last_error", _text(length=500), nullable=True),
        sa.Column("last_error_at", _time(), nullable=True),
        sa.Column("next_sync_at", _time(), nullable=False),
        sa.Column("spans_version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(["builder_id"], ["builder.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_external_calendar_builder_id", "external_calendar", ["builder_id"])
    op.create_index("ix_external_calendar_next_sync_at", "external_calendar", ["next_sync_at"])
    op.create_table(
        "external_busy_interval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("builder_id", sa.Integer(), nullable=False),
        sa.Column("start_time", _time(), nullable=False),
        sa.Column("end_time", _time(), nullable=False),
        sa.ForeignKeyConstraint(["calendar_id"], ["external_calendar.id"]),
        sa.ForeignKeyConstraint(["builder_id"], ["builder.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_external_busy_interval_calendar_id", "external_busy_interval", ["calendar_id"])
    op.create_index("ix_external_busy_builder_start", "external_busy_interval", ["builder_id", "start_time"])
    op.create_table(
        "calendar_write",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", _text(length=36), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _time(), nullable=False),
        sa.Column("last_error", _text(length=500), nullable=True),
        sa.Column("written_at", _time(), nullable=True),
        sa.Column("updated_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"]),
        sa.ForeignKeyConstraint(["calendar_id"], ["external_calendar.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("booking_id"),
    )
    op.create_index("ix_calendar_write_calendar_id", "calendar_write", ["calendar_id"])
    op.create_index("ix_calendar_write_due", "calendar_write", ["done", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_calendar_write_due", table_name="calendar_write")
    op.drop_index("ix_calendar_write_calendar_id", table_name="calendar_write")
    op.drop_table("calendar_write")
    op.drop_index("ix_external_busy_builder_start", table_name="external_busy_interval")
    op.drop_index("ix_external_busy_interval_calendar_id", table_name="external_busy_interval")
    op.drop_table("external_busy_interval")
    op.drop_index("ix_external_calendar_next_sync_at", table_name="external_calendar")
    op.drop_index("ix_external_calendar_builder_id", table_name="external_calendar")
    op.drop_table("external_calendar")
