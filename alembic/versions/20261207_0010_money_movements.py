"""The money journal: `money_movement`, one append-only row per movement of a payment's money between the
client, the platform, the builder and Stripe (charges, Stripe's fees, transfers, fees, refunds, reversals,
disputes). Written only by booking/payments/movements.py.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "money_movement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("destination", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("stripe_object_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("occurred_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        sa.CheckConstraint("amount > 0", name="ck_money_movement_amount_positive"),
    )
    op.create_index("ix_money_movement_payment_id", "money_movement", ["payment_id"])
    op.create_index("ix_money_movement_stripe_object_id", "money_movement", ["stripe_object_id"])
    op.create_index("ix_money_movement_occurred_at", "money_movement", ["occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_money_movement_occurred_at", table_name="money_movement")
    op.drop_index("ix_money_movement_stripe_object_id", table_name="money_movement")
    op.drop_index("ix_money_movement_payment_id", table_name="money_movement")
    op.drop_table("money_movement")
