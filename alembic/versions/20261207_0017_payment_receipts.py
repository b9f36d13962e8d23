"""Receipts and invoices: each payment keeps Stripe's receipt link of its charge, whether the client asked
for an invoice at checkout, and the invoice Checkout made (its id, hosted page and PDF). Written only by
booking/payments/ledger.py.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTERs (no batch copy on SQLite: that would drop 0002's triggers).
    op.add_column("payment", sa.Column("invoice_requested", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.add_column("payment", sa.Column("receipt_url", sa.String(length=2000), nullable=True))
    op.add_column("payment", sa.Column("invoice_id", sa.String(length=255), nullable=True))
    op.add_column("payment", sa.Column("invoice_url", sa.String(length=2000), nullable=True))
    op.add_column("payment", sa.Column("invoice_pdf_url", sa.String(length=2000), nullable=True))


def downgrade() -> None:
    for column in ("invoice_pdf_url", "invoice_url", "invoice_id", "receipt_url", "invoice_requested"):
        op.drop_column("payment", column)
