"""Prices in several currencies: a session type's price in other currencies than its own (the Stripe
Price's `currency_options`). One row per offer and currency; a package reference can join
`session_type_id` later (the check then says "exactly one offer").

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "price_option",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_type_id", sa.Integer(), sa.ForeignKey("session_type.id", ondelete="CASCADE"),
                  nullable=True),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("unit_amount", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("session_type_id", "currency", name="uq_price_option_offer_currency"),
        sa.CheckConstraint("unit_amount > 0", name="ck_price_option_amount"),
        sa.CheckConstraint("session_type_id IS NOT NULL", name="ck_price_option_offer"),
    )
    op.create_index("ix_price_option_session_type_id", "price_option", ["session_type_id"])


def downgrade() -> None:
    op.drop_index("ix_price_option_session_type_id", table_name="price_option")
    op.drop_table("price_option")
