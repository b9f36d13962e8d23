"""The buyer's locale travels with a package purchase and a membership: `package_purchase.client_locale` and
`membership.client_locale` ("fr-FR"; NULL for those from before it was kept, or when the browser's language
was not one Babel knows: the default locale, as before).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("package_purchase", "membership")


def upgrade() -> None:
    # Plain ALTERs, as 0028 (no batch copy on SQLite).
    for table in TABLES:
        op.add_column(table, sa.Column("client_locale", sa.String(length=35), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} DROP COLUMN client_locale")
