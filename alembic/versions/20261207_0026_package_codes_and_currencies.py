"""Packages join promotion codes and prices in several currencies: `price_option.package_id` (exactly one
offer per row: a session type or a package), `promotion_code.package_id` (a code for one package) and
`promotion_redemption.package_purchase_id` (a use keyed by a package purchase; exactly one of it and
`booking_id`).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OFFER_CHECK = ("(session_type_id IS NOT NULL AND package_id IS NULL) OR "
               "(session_type_id IS NULL AND package_id IS NOT NULL)")
USE_CHECK = ("(booking_id IS NOT NULL AND package_purchase_id IS NULL) OR "
             "(booking_id IS NULL AND package_purchase_id IS NOT NULL)")


def upgrade() -> None:
    with op.batch_alter_table("price_option") as batch:
        batch.add_column(sa.Column("package_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_price_option_package_id", "credit_package", ["package_id"], ["id"],
                                 ondelete="CASCADE")
        batch.drop_constraint("ck_price_option_offer", type_="check")
        batch.create_check_constraint("ck_price_option_offer", OFFER_CHECK)
        batch.create_unique_constraint("uq_price_option_package_currency", ["package_id", "currency"])
        batch.create_index("ix_price_option_package_id", ["package_id"])
    with op.batch_alter_table("promotion_code") as batch:
        batch.add_column(sa.Column("package_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_promotion_code_package_id", "credit_package", ["package_id"], ["id"])
        batch.create_index("ix_promotion_code_package_id", ["package_id"])
    with op.batch_alter_table("promotion_redemption") as batch:
        batch.add_column(sa.Column("package_purchase_id", sa.Integer(), nullable=True))
        batch.alter_column("booking_id", existing_type=sa.String(length=36), nullable=True)
        batch.create_foreign_key("fk_promotion_redemption_package_purchase_id", "package_purchase",
                                 ["package_purchase_id"], ["id"])
        batch.create_unique_constraint("uq_promotion_redemption_package_purchase_id", ["package_purchase_id"])
        batch.create_check_constraint("ck_promotion_redemption_use", USE_CHECK)


def downgrade() -> None:
    op.execute("DELETE FROM promotion_redemption WHERE package_purchase_id IS NOT NULL")
    op.execute("DELETE FROM price_option WHERE package_id IS NOT NULL")
    op.execute("DELETE FROM promotion_code WHERE package_id IS NOT NULL")
    with op.batch_alter_table("promotion_redemption") as batch:
        batch.drop_constraint("ck_promotion_redemption_use", type_="check")
        batch.drop_constraint("uq_promotion_redemption_package_purchase_id", type_="unique")
        batch.drop_constraint("fk_promotion_redemption_package_purchase_id", type_="foreignkey")
        batch.alter_column("booking_id", existing_type=sa.String(length=36), nullable=False)
        batch.drop_column("package_purchase_id")
    with op.batch_alter_table("promotion_code") as batch:
        batch.drop_index("ix_promotion_code_package_id")
        batch.drop_constraint("fk_promotion_code_package_id", type_="foreignkey")
        batch.drop_column("package_id")
    with op.batch_alter_table("price_option") as batch:
        batch.drop_index("ix_price_option_package_id")
        batch.drop_constraint("uq_price_option_package_currency", type_="unique")
        batch.drop_constraint("ck_price_option_offer", type_="check")
        batch.create_check_constraint("ck_price_option_offer", "session_type_id IS NOT NULL")
        batch.drop_constraint("fk_price_option_package_id", type_="foreignkey")
        batch.drop_column("package_id")
