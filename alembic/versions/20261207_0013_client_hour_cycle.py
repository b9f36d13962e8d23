"""The client's 12/24-hour choice travels with the booking: `booking.client_hour12` (NULL for bookings made
before it was kept: they read on a 24-hour clock, as before).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER (no batch copy on SQLite: that would drop 0002's triggers).
    op.add_column("booking", sa.Column("client_hour12", sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_column("booking", "client_hour12")
