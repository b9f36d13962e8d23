"""Held funds released: a payment the platform held for a builder (no destination charge: their payouts
were not enabled yet) names the transfer that paid the builder's share out once they were
(`payment.release_transfer_id`, unique: one release per payment), and when.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTERs (no batch copy on SQLite: that would drop 0002's triggers); the unique index is the constraint.
    op.add_column("payment", sa.Column("release_transfer_id", sqlmodel.sql.sqltypes.AutoString(length=255),
                                       nullable=True))
    op.add_column("payment", sa.Column("released_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.create_index("ix_payment_release_transfer_id", "payment", ["release_transfer_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_payment_release_transfer_id", table_name="payment")
    op.drop_column("payment", "released_at")
    op.drop_column("payment", "release_transfer_id")
