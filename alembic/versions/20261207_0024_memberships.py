"""Memberships: `membership_plan` (a builder's "N sessions a month" at a recurring price, synced as a Stripe
Product and recurring Price), `membership` (one client's subscription, its Stripe ids and status) and
`membership_invoice` (each subscription invoice; once paid, its money is a `payment` row of kind `membership`,
booking nothing, journalled as every payment is).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STRING = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "membership_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("builder_id", sa.Integer(), nullable=False),
        sa.Column("name", _STRING(length=120), nullable=False),
        sa.Column("sessions_per_period", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", _STRING(length=3), nullable=False),
        sa.Column("unused_credits", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("stripe_product_id", _STRING(length=255), nullable=True),
        sa.Column("stripe_price_id", _STRING(length=255), nullable=True),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("updated_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["builder_id"], ["builder.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stripe_product_id"),
        sa.UniqueConstraint("stripe_price_id"),
        sa.CheckConstraint("sessions_per_period > 0 AND amount > 0", name="ck_membership_plan_amounts"),
    )
    op.create_index("ix_membership_plan_builder_id", "membership_plan", ["builder_id"])
    op.create_table(
        "membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("builder_id", sa.Integer(), nullable=False),
        sa.Column("client_email", _STRING(length=254), nullable=False),
        sa.Column("client_name", _STRING(length=120), nullable=False),
        sa.Column("checkout_session_id", _STRING(length=255), nullable=True),
        sa.Column("stripe_subscription_id", _STRING(length=255), nullable=True),
        sa.Column("stripe_customer_id", _STRING(length=255), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("current_period_end", _TIME(), nullable=True),
        sa.Column("stripe_state_at", _TIME(), nullable=True),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("updated_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["membership_plan.id"]),
        sa.ForeignKeyConstraint(["builder_id"], ["builder.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("checkout_session_id"),
        sa.UniqueConstraint("stripe_subscription_id"),
    )
    op.create_index("ix_membership_plan_id", "membership", ["plan_id"])
    op.create_index("ix_membership_builder_id", "membership", ["builder_id"])
    op.create_index("ix_membership_client_email", "membership", ["client_email"])
    op.create_index("ix_membership_stripe_customer_id", "membership", ["stripe_customer_id"])
    op.create_table(
        "membership_invoice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("stripe_invoice_id", _STRING(length=255), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", _STRING(length=3), nullable=False),
        sa.Column("application_fee_amount", sa.Integer(), nullable=False),
        sa.Column("destination_account_id", _STRING(length=255), nullable=True),
        sa.Column("period_start", _TIME(), nullable=True),
        sa.Column("period_end", _TIME(), nullable=True),
        sa.Column("paid_at", _TIME(), nullable=True),
        sa.Column("failed_at", _TIME(), nullable=True),
        sa.Column("credits_granted_at", _TIME(), nullable=True),
        sa.Column("failure_notice_queued_at", _TIME(), nullable=True),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("updated_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["membership_id"], ["membership.id"]),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stripe_invoice_id"),
        sa.UniqueConstraint("payment_id"),
    )
    op.create_index("ix_membership_invoice_membership_id", "membership_invoice", ["membership_id"])


def downgrade() -> None:
    op.drop_index("ix_membership_invoice_membership_id", table_name="membership_invoice")
    op.drop_table("membership_invoice")
    for index in ("stripe_customer_id", "client_email", "builder_id", "plan_id"):
        op.drop_index(f"ix_membership_{index}", table_name="membership")
    op.drop_table("membership")
    op.drop_index("ix_membership_plan_builder_id", table_name="membership_plan")
    op.drop_table("membership_plan")
