"""Reminders and no-show fees: the builder's reminder times, each booking's scheduled reminders (one row per
booking, offset and recipient), a session type's no-show fee and window, the client's Stripe Customer, the
card a booking keeps (Checkout in setup mode), what the builder marked after the start (attended / no-show),
and which Payment rows are no-show fees.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTERs (no batch copy on SQLite: that would drop 0002's triggers); unique indexes are the constraints.
    op.add_column("builder", sa.Column("reminder_offsets", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False,
                                       server_default="1440,60"))
    op.add_column("session_type", sa.Column("no_show_fee_amount", sa.Integer(), nullable=True))
    op.add_column("session_type", sa.Column("no_show_window_hours", sa.Integer(), nullable=False,
                                            server_default="24"))
    op.add_column("client", sa.Column("stripe_customer_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
    op.create_index("ix_client_stripe_customer_id", "client", ["stripe_customer_id"], unique=True)
    op.add_column("booking", sa.Column("attendance", sa.Enum("attended", "no_show", name="attendance",
                                                             native_enum=False, create_constraint=False,
                                                             length=20), nullable=True))
    op.add_column("payment", sa.Column("kind", sa.Enum("booking", "no_show_fee", name="payment_kind",
                                                       native_enum=False, create_constraint=False, length=20),
                                       nullable=False, server_default="booking"))
    op.create_table(
        "booking_reminder",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("booking_id", sqlmodel.sql.sqltypes.AutoString(length=36), sa.ForeignKey("booking.id"), nullable=False),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.Enum("client", "builder", name="reminder_recipient", native_enum=False,
                                       create_constraint=False, length=20), nullable=False),
        sa.Column("due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("status", sa.Enum("scheduled", "sent", "skipped", "cancelled", name="reminder_status",
                                    native_enum=False, create_constraint=False, length=20), nullable=False),
        sa.Column("settled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("booking_id", "offset_minutes", "recipient", name="uq_booking_reminder"),
    )
    op.create_index("ix_booking_reminder_booking_id", "booking_reminder", ["booking_id"])
    op.create_index("ix_booking_reminder_due", "booking_reminder", ["status", "due_at"])
    op.create_table(
        "card_on_file",
        sa.Column("booking_id", sqlmodel.sql.sqltypes.AutoString(length=36), sa.ForeignKey("booking.id"), primary_key=True),
        sa.Column("stripe_customer_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("checkout_session_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False, unique=True),
        sa.Column("setup_intent_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True, unique=True),
        sa.Column("payment_method_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_card_on_file_stripe_customer_id", "card_on_file", ["stripe_customer_id"])


def downgrade() -> None:
    op.drop_index("ix_card_on_file_stripe_customer_id", table_name="card_on_file")
    op.drop_table("card_on_file")
    op.drop_index("ix_booking_reminder_due", table_name="booking_reminder")
    op.drop_index("ix_booking_reminder_booking_id", table_name="booking_reminder")
    op.drop_table("booking_reminder")
    op.drop_column("payment", "kind")
    op.drop_column("booking", "attendance")
    op.drop_index("ix_client_stripe_customer_id", table_name="client")
    op.drop_column("client", "stripe_customer_id")
    op.drop_column("session_type", "no_show_window_hours")
    op.drop_column("session_type", "no_show_fee_amount")
    op.drop_column("builder", "reminder_offsets")
