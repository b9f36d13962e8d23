"""A member's time zone travels with a membership: `membership.client_time_zone` ("America/New_York", the
browser's when subscribing; NULL for those from before it was kept, or when it was not known: the membership's
emails tell the renewal in UTC, as before).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER, as 0029 (no batch copy on SQLite).
    op.add_column("membership", sa.Column("client_time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE membership DROP COLUMN client_time_zone")
