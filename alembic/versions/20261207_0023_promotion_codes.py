"""Promotion codes: `promotion_code` (a builder's or the platform's code, percent or amount off, with its
limits and its Stripe Coupon and Promotion Code) and `promotion_redemption` (one use by one booking: the
discount's ledger entry, reserved with the hold, redeemed on confirmation, released when the hold ends).
Written only by booking/payments/promotions.py.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "promotion_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("builder_id", sa.Integer(), nullable=True),
        sa.Column("session_type_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.Enum("percent", "amount", name="discount_kind", native_enum=False,
                                  create_constraint=True, length=20), nullable=False),
        sa.Column("percent_off", sa.Integer(), nullable=True),
        sa.Column("amount_off", sa.Integer(), nullable=True),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("first_booking_only", sa.Boolean(), nullable=False),
        sa.Column("minimum_amount", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("stripe_coupon_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("stripe_promotion_code_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("sync_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(kind = 'percent' AND percent_off BETWEEN 1 AND 100 AND amount_off IS NULL) OR "
            "(kind = 'amount' AND amount_off > 0 AND percent_off IS NULL AND currency IS NOT NULL)",
            name="ck_promotion_code_discount"),
        sa.CheckConstraint("max_uses IS NULL OR max_uses > 0", name="ck_promotion_code_max_uses"),
        sa.ForeignKeyConstraint(["builder_id"], ["builder.id"]),
        sa.ForeignKeyConstraint(["session_type_id"], ["session_type.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("stripe_coupon_id"),
        sa.UniqueConstraint("stripe_promotion_code_id"),
    )
    op.create_index("ix_promotion_code_builder_id", "promotion_code", ["builder_id"])
    op.create_index("ix_promotion_code_session_type_id", "promotion_code", ["session_type_id"])
    op.create_table(
        "promotion_redemption",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("promotion_code_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("client_email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("list_amount", sa.Integer(), nullable=False),
        sa.Column("discount_amount", sa.Integer(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("status", sa.Enum("reserved", "redeemed", "released", name="redemption_status", native_enum=False,
                                    create_constraint=True, length=20), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("discount_amount >= 0 AND discount_amount <= list_amount",
                           name="ck_promotion_redemption_amounts"),
        sa.ForeignKeyConstraint(["promotion_code_id"], ["promotion_code.id"]),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"]),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("booking_id"),
    )
    op.create_index("ix_promotion_redemption_code_status", "promotion_redemption", ["promotion_code_id", "status"])
    op.create_index("ix_promotion_redemption_payment_id", "promotion_redemption", ["payment_id"])
    op.create_index("ix_promotion_redemption_client_email", "promotion_redemption", ["client_email"])


def downgrade() -> None:
    for index in ("ix_promotion_redemption_client_email", "ix_promotion_redemption_payment_id",
                  "ix_promotion_redemption_code_status"):
        op.drop_index(index, table_name="promotion_redemption")
    op.drop_table("promotion_redemption")
    op.drop_index("ix_promotion_code_session_type_id", table_name="promotion_code")
    op.drop_index("ix_promotion_code_builder_id", table_name="promotion_code")
    op.drop_table("promotion_code")
