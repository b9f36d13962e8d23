"""The per-network hold cap counts live unpaid holds in the database: `booking.client_address_key`, a keyed
digest of the client's IP (never the address), indexed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTERs (no batch copy on SQLite: that would drop 0002's triggers).
    op.add_column("booking", sa.Column("client_address_key", sa.String(length=64), nullable=True))
    op.create_index("ix_booking_client_address_key", "booking", ["client_address_key"])


def downgrade() -> None:
    op.drop_index("ix_booking_client_address_key", table_name="booking")
    op.drop_column("booking", "client_address_key")
