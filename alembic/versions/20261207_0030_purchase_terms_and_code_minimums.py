"""What was sold stays as sold, and a code's minimum says its currency.

- `package_purchase.session_type_ids`: the session types the package covered when the client started paying
  (a JSON list of ids). The credits are granted for these, even if the builder edits the package before the
  payment lands. Existing purchases get their package's current types.
- `promotion_code.minimum_currency`: the currency of `minimum_amount`. A minimum compared with a price in
  another currency meant nothing (5000 was £50 or ¥5,000); such a code is now refused for prices in another
  currency, as Stripe refuses it. Existing minimums get the code's own currency, else its session type's or
  package's, else GBP (the form's fallback when they were written).
- `ix_membership_invoice_failed (status, failed_at)`: the dashboard's recent failed membership payments.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("package_purchase", sa.Column("session_type_ids", sa.Text(), nullable=True))
    op.add_column("promotion_code", sa.Column("minimum_currency", sa.String(length=3), nullable=True))
    op.create_index("ix_membership_invoice_failed", "membership_invoice", ["status", "failed_at"])
    connection = op.get_bind()
    covered: dict[int, list[int]] = {}
    for package_id, session_type_id in connection.execute(sa.text(
            "SELECT package_id, session_type_id FROM credit_package_session_type ORDER BY session_type_id")):
        covered.setdefault(package_id, []).append(session_type_id)
    for purchase_id, package_id in connection.execute(sa.text("SELECT id, package_id FROM package_purchase")).all():
        connection.execute(sa.text("UPDATE package_purchase SET session_type_ids = :ids WHERE id = :id"),
                           {"ids": json.dumps(covered.get(package_id, [])), "id": purchase_id})
    op.execute("""
        UPDATE promotion_code SET minimum_currency = lower(coalesce(
            currency,
            (SELECT currency FROM session_type WHERE session_type.id = promotion_code.session_type_id),
            (SELECT currency FROM credit_package WHERE credit_package.id = promotion_code.package_id),
            'gbp'))
        WHERE minimum_amount IS NOT NULL
    """)


def downgrade() -> None:
    op.drop_index("ix_membership_invoice_failed", table_name="membership_invoice")
    # Plain SQL, as 0029 (no batch copy on SQLite).
    op.execute("ALTER TABLE promotion_code DROP COLUMN minimum_currency")
    op.execute("ALTER TABLE package_purchase DROP COLUMN session_type_ids")
