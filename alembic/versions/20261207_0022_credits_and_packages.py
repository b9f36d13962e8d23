"""Credits and packages: the append-only credit ledger (`credit_grant`, its session types, `credit_entry`),
builders' packages (`credit_package` and its session types), package purchases, clients' wallets, and
payments and refunds that book nothing (`payment.booking_id` and `refund.booking_id` nullable,
`payment.package_purchase_id`).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_String = sqlmodel.sql.sqltypes.AutoString
_Moment = sqlmodel.sql.sqltypes.UTCDateTime
_ENTRY_KINDS = ("granted", "reserved", "redeemed", "returned", "expired", "refunded")


def upgrade() -> None:
    op.create_table(
        "credit_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("builder_id", sa.Integer(), nullable=False),
        sa.Column("client_email", _String(length=254), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("expires_at", _Moment(), nullable=False),
        sa.Column("source_kind", sa.String(length=30), nullable=False),
        sa.Column("source_id", _String(length=255), nullable=False),
        sa.Column("created_at", _Moment(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_credit_grant_quantity"),
        sa.ForeignKeyConstraint(["builder_id"], ["builder.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_kind", "source_id", name="uq_credit_grant_source"),
    )
    op.create_index("ix_credit_grant_owner", "credit_grant", ["builder_id", "client_email"])
    op.create_index("ix_credit_grant_expires_at", "credit_grant", ["expires_at"])
    op.create_table(
        "credit_grant_session_type",
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("session_type_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["grant_id"], ["credit_grant.id"]),
        sa.ForeignKeyConstraint(["session_type_id"], ["session_type.id"]),
        sa.PrimaryKeyConstraint("grant_id", "session_type_id"),
    )
    op.create_table(
        "credit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum(*_ENTRY_KINDS, name="credit_entry_kind", native_enum=False,
                                  create_constraint=True, length=20), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("booking_id", _String(length=36), nullable=True),
        sa.Column("key", _String(length=255), nullable=False),
        sa.Column("occurred_at", _Moment(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_credit_entry_quantity"),
        sa.ForeignKeyConstraint(["grant_id"], ["credit_grant.id"]),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_credit_entry_grant_id", "credit_entry", ["grant_id"])
    op.create_index("ix_credit_entry_booking_id", "credit_entry", ["booking_id"])
    op.create_table(
        "credit_package",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("builder_id", sa.Integer(), nullable=False),
        sa.Column("name", _String(length=120), nullable=False),
        sa.Column("description", _String(length=2000), nullable=False),
        sa.Column("session_count", sa.Integer(), nullable=False),
        sa.Column("price_amount", sa.Integer(), nullable=False),
        sa.Column("currency", _String(length=3), nullable=False),
        sa.Column("validity_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("stripe_product_id", _String(length=255), nullable=True),
        sa.Column("stripe_price_id", _String(length=255), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", _Moment(), nullable=False),
        sa.Column("updated_at", _Moment(), nullable=False),
        sa.CheckConstraint("session_count > 0", name="ck_credit_package_count"),
        sa.CheckConstraint("validity_days > 0", name="ck_credit_package_validity"),
        sa.ForeignKeyConstraint(["builder_id"], ["builder.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stripe_product_id"),
        sa.UniqueConstraint("stripe_price_id"),
    )
    op.create_index("ix_credit_package_builder_id", "credit_package", ["builder_id"])
    op.create_table(
        "credit_package_session_type",
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("session_type_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["package_id"], ["credit_package.id"]),
        sa.ForeignKeyConstraint(["session_type_id"], ["session_type.id"]),
        sa.PrimaryKeyConstraint("package_id", "session_type_id"),
    )
    op.create_table(
        "package_purchase",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("builder_id", sa.Integer(), nullable=False),
        sa.Column("client_email", _String(length=254), nullable=False),
        sa.Column("client_name", _String(length=120), nullable=False),
        sa.Column("client_time_zone", _String(length=64), nullable=False),
        sa.Column("session_count", sa.Integer(), nullable=False),
        sa.Column("validity_days", sa.Integer(), nullable=False),
        sa.Column("created_at", _Moment(), nullable=False),
        sa.ForeignKeyConstraint(["package_id"], ["credit_package.id"]),
        sa.ForeignKeyConstraint(["builder_id"], ["builder.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_package_purchase_package_id", "package_purchase", ["package_id"])
    op.create_index("ix_package_purchase_builder_id", "package_purchase", ["builder_id"])
    op.create_table(
        "credit_wallet",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("builder_id", sa.Integer(), nullable=False),
        sa.Column("client_email", _String(length=254), nullable=False),
        sa.Column("token_hash", _String(length=64), nullable=False),
        sa.Column("created_at", _Moment(), nullable=False),
        sa.ForeignKeyConstraint(["builder_id"], ["builder.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("builder_id", "client_email", name="uq_credit_wallet_owner"),
        sa.UniqueConstraint("token_hash"),
    )
    # A payment or refund of a package sale books nothing. (Batch: SQLite alters a column by copying
    # its table; the triggers of 0002 are on `booking`, untouched.)
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.alter_column("booking_id", existing_type=_String(length=36), nullable=True)
        batch_op.add_column(sa.Column("package_purchase_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_payment_package_purchase_id", "package_purchase",
                                    ["package_purchase_id"], ["id"])
        batch_op.create_index("ix_payment_package_purchase_id", ["package_purchase_id"])
    with op.batch_alter_table("refund", schema=None) as batch_op:
        batch_op.alter_column("booking_id", existing_type=_String(length=36), nullable=True)


def downgrade() -> None:
    bind = op.get_bind()
    # Package sales have no booking to belong to: their refunds and payments (and their journal) go.
    for table in ("money_movement", "dispute", "refund"):
        bind.execute(sa.text(f'DELETE FROM "{table}" WHERE payment_id IN '
                             '(SELECT id FROM payment WHERE package_purchase_id IS NOT NULL)'))
    bind.execute(sa.text("DELETE FROM payment WHERE package_purchase_id IS NOT NULL"))
    with op.batch_alter_table("refund", schema=None) as batch_op:
        batch_op.alter_column("booking_id", existing_type=_String(length=36), nullable=False)
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_package_purchase_id")
        batch_op.drop_constraint("fk_payment_package_purchase_id", type_="foreignkey")
        batch_op.drop_column("package_purchase_id")
        batch_op.alter_column("booking_id", existing_type=_String(length=36), nullable=False)
    op.drop_table("credit_wallet")
    op.drop_index("ix_package_purchase_builder_id", table_name="package_purchase")
    op.drop_index("ix_package_purchase_package_id", table_name="package_purchase")
    op.drop_table("package_purchase")
    op.drop_table("credit_package_session_type")
    op.drop_index("ix_credit_package_builder_id", table_name="credit_package")
    op.drop_table("credit_package")
    op.drop_index("ix_credit_entry_booking_id", table_name="credit_entry")
    op.drop_index("ix_credit_entry_grant_id", table_name="credit_entry")
    op.drop_table("credit_entry")
    op.drop_table("credit_grant_session_type")
    op.drop_index("ix_credit_grant_expires_at", table_name="credit_grant")
    op.drop_index("ix_credit_grant_owner", table_name="credit_grant")
    op.drop_table("credit_grant")
