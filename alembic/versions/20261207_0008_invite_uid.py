"""An opaque calendar UID per booking: `booking.invite_uid`, so invites and feeds stop carrying the id.

Existing rows keep the UID their calendars already hold ("booking-<id>"); a calendar app matches a
later update or CANCEL on it. New rows get a random one from the model.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases: no table copy, so SQLite's no-overlap triggers (0002) stay.
    # SQLite adds a NOT NULL column in place only with a default; every row is filled next anyway.
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.add_column('booking', sa.Column('invite_uid', sa.String(length=64), nullable=not sqlite,
                                       server_default=sa.text("''") if sqlite else None))
    op.execute("UPDATE booking SET invite_uid = 'booking-' || id")
    if not sqlite:
        op.alter_column('booking', 'invite_uid', existing_type=sa.String(length=64), nullable=False)
    op.create_index('ix_booking_invite_uid', 'booking', ['invite_uid'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_booking_invite_uid', table_name='booking')
    op.drop_column('booking', 'invite_uid')
