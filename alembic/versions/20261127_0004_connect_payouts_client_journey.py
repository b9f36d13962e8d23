"""Connect payouts (builder accounts, fee and transfer on each payment, payouts) and the client's
journey (manage link, cancellation policy per builder with per-type overrides, reschedules, the .ics
sequence, the name given with each booking, one hold per browser).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('payout',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('builder_id', sa.Integer(), nullable=True),
    sa.Column('stripe_payout_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('stripe_account_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('status', sa.Enum('pending', 'in_transit', 'paid', 'failed', 'canceled', name='payout_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('arrival_date', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('failure_code', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('failure_message', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['builder_id'], ['builder.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('stripe_payout_id')
    )
    with op.batch_alter_table('payout', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_builder_id'), ['builder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payout_stripe_account_id'), ['stripe_account_id'], unique=False)

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))
        batch_op.add_column(sa.Column('manage_token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('reschedule_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('invite_sequence', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('browser_hold_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_booking_browser_hold_key'), ['browser_hold_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_booking_manage_token_hash'), ['manage_token_hash'], unique=True)
    # The name each booking was made with: the client's name as it stands today.
    op.execute("UPDATE booking SET client_name = (SELECT name FROM client WHERE client.id = booking.client_id)")

    with op.batch_alter_table('builder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_account_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('charges_enabled', sa.Boolean(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('payouts_enabled', sa.Boolean(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('details_submitted', sa.Boolean(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('requirements_due', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('account_updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('policy_full_refund_hours', sa.Integer(), nullable=False, server_default='24'))
        batch_op.add_column(sa.Column('policy_partial_refund_percent', sa.Integer(), nullable=False, server_default='50'))
        batch_op.add_column(sa.Column('policy_partial_refund_hours', sa.Integer(), nullable=False, server_default='2'))
        batch_op.add_column(sa.Column('policy_reschedule_hours', sa.Integer(), nullable=False, server_default='24'))
        batch_op.add_column(sa.Column('policy_max_reschedules', sa.Integer(), nullable=False, server_default='2'))
        batch_op.create_index(batch_op.f('ix_builder_stripe_account_id'), ['stripe_account_id'], unique=True)

    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('application_fee_amount', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('destination_account_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('transfer_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('net_amount', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_payment_transfer_id'), ['transfer_id'], unique=True)

    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reverse_transfer', sa.Boolean(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('application_fee_refunded', sa.Integer(), nullable=False, server_default='0'))

    with op.batch_alter_table('session_type', schema=None) as batch_op:
        batch_op.add_column(sa.Column('policy_full_refund_hours', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('policy_partial_refund_percent', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('policy_partial_refund_hours', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('policy_reschedule_hours', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('policy_max_reschedules', sa.Integer(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('session_type', schema=None) as batch_op:
        batch_op.drop_column('policy_max_reschedules')
        batch_op.drop_column('policy_reschedule_hours')
        batch_op.drop_column('policy_partial_refund_hours')
        batch_op.drop_column('policy_partial_refund_percent')
        batch_op.drop_column('policy_full_refund_hours')

    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_column('application_fee_refunded')
        batch_op.drop_column('reverse_transfer')

    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_transfer_id'))
        batch_op.drop_column('net_amount')
        batch_op.drop_column('transfer_id')
        batch_op.drop_column('destination_account_id')
        batch_op.drop_column('application_fee_amount')

    with op.batch_alter_table('builder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_builder_stripe_account_id'))
        batch_op.drop_column('policy_max_reschedules')
        batch_op.drop_column('policy_reschedule_hours')
        batch_op.drop_column('policy_partial_refund_hours')
        batch_op.drop_column('policy_partial_refund_percent')
        batch_op.drop_column('policy_full_refund_hours')
        batch_op.drop_column('account_updated_at')
        batch_op.drop_column('requirements_due')
        batch_op.drop_column('details_submitted')
        batch_op.drop_column('payouts_enabled')
        batch_op.drop_column('charges_enabled')
        batch_op.drop_column('stripe_account_id')

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_manage_token_hash'))
        batch_op.drop_index(batch_op.f('ix_booking_browser_hold_key'))
        batch_op.drop_column('browser_hold_key')
        batch_op.drop_column('invite_sequence')
        batch_op.drop_column('reschedule_count')
        batch_op.drop_column('manage_token_hash')
        batch_op.drop_column('client_name')

    with op.batch_alter_table('payout', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_stripe_account_id'))
        batch_op.drop_index(batch_op.f('ix_payout_builder_id'))

    op.drop_table('payout')
