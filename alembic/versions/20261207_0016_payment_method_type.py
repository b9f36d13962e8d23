"""How each payment was paid: `payment.payment_method_type` (card, apple_pay, google_pay, paypal, sepa_debit,
bacs_debit, other), recorded from Stripe's charge, shown in the workspace.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER (no batch copy on SQLite: that would drop 0002's triggers). No CHECK: the kinds grow.
    op.add_column("payment", sa.Column("payment_method_type", sa.String(length=20), nullable=True))


def downgrade() -> None:
    op.drop_column("payment", "payment_method_type")
