"""Disputes: `dispute`, one row per Stripe dispute of a payment (charge.dispute.* events), with its status,
evidence deadline, outcome and the recovery of the disputed amount from the builder.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dispute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stripe_dispute_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("charge_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("evidence_due_by", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("submitted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("recovery", sa.String(length=20), nullable=False),
        sa.Column("recovery_amount", sa.Integer(), nullable=False),
        sa.Column("recovery_reversal_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("recovery_return_transfer_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("recovery_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"]),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stripe_dispute_id"),
    )
    op.create_index("ix_dispute_payment_id", "dispute", ["payment_id"])
    op.create_index("ix_dispute_booking_id", "dispute", ["booking_id"])


def downgrade() -> None:
    op.drop_index("ix_dispute_booking_id", table_name="dispute")
    op.drop_index("ix_dispute_payment_id", table_name="dispute")
    op.drop_table("dispute")
