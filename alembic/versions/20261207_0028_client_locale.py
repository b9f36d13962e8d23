"""The client's locale travels with the booking: `booking.client_locale` ("fr-FR"; NULL for bookings made
before it was kept, or when the browser's language was not one Babel knows: the default locale, as before).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER (no batch copy on SQLite: that would drop the booking triggers).
    op.add_column("booking", sa.Column("client_locale", sa.String(length=35), nullable=True))


def downgrade() -> None:
    # Plain SQL: a batch copy on SQLite would lose the booking triggers.
    op.execute("ALTER TABLE booking DROP COLUMN client_locale")
