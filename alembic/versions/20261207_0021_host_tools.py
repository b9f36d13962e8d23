"""Host tools: private notes on a booking, session-type slugs (and their old slugs), secret session types,
daily and weekly booking limits (per builder and per session type), and a session type's own weekly hours.

Existing session types get a slug from their name (made unique per builder with their id).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _slug_of(name: str) -> str:
    # Frozen copy of booking.workspace.slugs.slugify as of this migration (migrations never import the app).
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:60] or "session"


def upgrade() -> None:
    # Plain ALTERs (no batch copy on SQLite: that would drop 0002's triggers).
    op.add_column("booking", sa.Column("host_note", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True))
    op.add_column("builder", sa.Column("daily_limit", sa.Integer(), nullable=True))
    op.add_column("builder", sa.Column("weekly_limit", sa.Integer(), nullable=True))
    op.add_column("session_type", sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))
    op.add_column("session_type", sa.Column("secret", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("session_type", sa.Column("daily_limit", sa.Integer(), nullable=True))
    op.add_column("session_type", sa.Column("weekly_limit", sa.Integer(), nullable=True))
    op.add_column("session_type", sa.Column("own_availability", sa.Boolean(), nullable=False,
                                            server_default=sa.false()))
    connection = op.get_bind()
    taken: set[tuple[int, str]] = set()
    for type_id, builder_id, name in connection.execute(
            sa.text("SELECT id, builder_id, name FROM session_type ORDER BY id")).all():
        slug = _slug_of(name)
        if (builder_id, slug) in taken:
            slug = f"{slug}-{type_id}"
        taken.add((builder_id, slug))
        connection.execute(sa.text("UPDATE session_type SET slug = :slug WHERE id = :id"),
                           {"slug": slug, "id": type_id})
    op.create_index("uq_session_type_builder_slug", "session_type", ["builder_id", "slug"], unique=True)

    op.create_table(
        "session_type_availability_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_type_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.CheckConstraint("start_time < end_time", name="ck_session_type_availability_rule_order"),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_session_type_availability_rule_weekday"),
        sa.ForeignKeyConstraint(["session_type_id"], ["session_type.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_session_type_availability_rule_session_type_id", "session_type_availability_rule",
                    ["session_type_id"])
    op.create_table(
        "session_type_slug_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("builder_id", sa.Integer(), nullable=False),
        sa.Column("session_type_id", sa.Integer(), nullable=False),
        sa.Column("old_slug", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("changed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["builder_id"], ["builder.id"]),
        sa.ForeignKeyConstraint(["session_type_id"], ["session_type.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_session_type_slug_history_builder_id", "session_type_slug_history", ["builder_id"])
    op.create_index("ix_session_type_slug_history_session_type_id", "session_type_slug_history",
                    ["session_type_id"])
    op.create_index("uq_session_type_slug_history", "session_type_slug_history", ["builder_id", "old_slug"],
                    unique=True)


def downgrade() -> None:
    op.drop_index("uq_session_type_slug_history", table_name="session_type_slug_history")
    op.drop_index("ix_session_type_slug_history_session_type_id", table_name="session_type_slug_history")
    op.drop_index("ix_session_type_slug_history_builder_id", table_name="session_type_slug_history")
    op.drop_table("session_type_slug_history")
    op.drop_index("ix_session_type_availability_rule_session_type_id",
                  table_name="session_type_availability_rule")
    op.drop_table("session_type_availability_rule")
    op.drop_index("uq_session_type_builder_slug", table_name="session_type")
    # SQLite: DROP COLUMN works in place (3.35+); no batch copy that would lose 0002's triggers.
    for column in ("own_availability", "weekly_limit", "daily_limit", "secret", "slug"):
        op.drop_column("session_type", column)
    for column in ("weekly_limit", "daily_limit"):
        op.drop_column("builder", column)
    op.drop_column("booking", "host_note")
