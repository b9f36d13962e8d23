"""Payment mismatches: a webhook whose session id, amount or currency differs from the booking's is
recorded here and shown to the admin, and never confirms the booking.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('payment_mismatch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('stripe_object_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('expected', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('actual', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('resolved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('payment_mismatch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_mismatch_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_mismatch_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('payment_mismatch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_mismatch_created_at'))
        batch_op.drop_index(batch_op.f('ix_payment_mismatch_booking_id'))

    op.drop_table('payment_mismatch')
