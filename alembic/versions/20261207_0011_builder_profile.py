"""The builder's profile: the photo (processed bytes, served to every worker from the database) and the
old public slugs, which keep redirecting to the builder's page and can't be taken by anyone else.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "builder_photo",
        sa.Column("builder_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["builder_id"], ["builder.id"]),
        sa.PrimaryKeyConstraint("builder_id"),
    )
    op.create_table(
        "builder_slug_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("builder_id", sa.Integer(), nullable=False),
        sa.Column("old_slug", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("changed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["builder_id"], ["builder.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("old_slug"),
    )
    op.create_index("ix_builder_slug_history_builder_id", "builder_slug_history", ["builder_id"])


def downgrade() -> None:
    op.drop_index("ix_builder_slug_history_builder_id", table_name="builder_slug_history")
    op.drop_table("builder_slug_history")
    op.drop_table("builder_photo")
