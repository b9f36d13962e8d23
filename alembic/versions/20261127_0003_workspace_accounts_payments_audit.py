"""The builder workspace: accounts and sign-in sessions, Payment and Refund records apart from the
booking (existing bookings carried over), the audit log, session type locations, calendar feed tokens.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('role', sa.Enum('builder', 'admin', name='user_role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('builder_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('password_changed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_sign_in_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint("(role = 'builder' AND builder_id IS NOT NULL) OR (role = 'admin' AND builder_id IS NULL)", name='ck_user_account_role_builder'),
    sa.ForeignKeyConstraint(['builder_id'], ['builder.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('builder_id'),
    sa.UniqueConstraint('email')
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('entity_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('entity_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('builder_id', sa.Integer(), nullable=True),
    sa.Column('before', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('after', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['actor_user_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['builder_id'], ['builder.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_actor_user_id'), ['actor_user_id'], unique=False)
        batch_op.create_index('ix_audit_log_at', ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_builder_id'), ['builder_id'], unique=False)

    op.create_table('auth_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_session_user_id'), ['user_id'], unique=False)

    op.create_table('payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('checkout_session_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('payment_intent_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('status', sa.Enum('creating', 'open', 'processing', 'failed', 'paid', 'partially_refunded', 'refunded', 'expired', name='checkout_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('amount_refunded', sa.Integer(), nullable=False),
    sa.Column('failure_code', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('failure_message', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('paid_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('failed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.CheckConstraint('amount >= 0 AND amount_refunded >= 0', name='ck_payment_amounts'),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('booking_id', 'attempt', name='uq_payment_booking_attempt'),
    sa.UniqueConstraint('checkout_session_id'),
    sa.UniqueConstraint('payment_intent_id')
    )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index('ix_payment_status_created', ['status', 'created_at'], unique=False)

    op.create_table('refund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('stripe_refund_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('request_key', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('status', sa.Enum('requested', 'pending', 'succeeded', 'failed', 'canceled', name='refund_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('failure_reason', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('requested_by_user_id', sa.Integer(), nullable=True),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint('amount > 0', name='ck_refund_amount'),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], ),
    sa.ForeignKeyConstraint(['requested_by_user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_key'),
    sa.UniqueConstraint('stripe_refund_id')
    )
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refund_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refund_payment_id'), ['payment_id'], unique=False)

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index('ix_booking_builder_start', ['builder_id', 'start_time'], unique=False)
        batch_op.create_index('ix_booking_start', ['start_time'], unique=False)

    with op.batch_alter_table('builder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_builder_calendar_token_hash'), ['calendar_token_hash'], unique=True)

    with op.batch_alter_table('session_type', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='0'))
        # A constant default (SQLite can't add a column defaulting to now), then the real value.
        batch_op.add_column(sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False, server_default='1970-01-01 00:00:00'))
    op.execute("UPDATE session_type SET updated_at = created_at")

    with op.batch_alter_table('stripe_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default='webhook'))
        batch_op.add_column(sa.Column('booking_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_stripe_event_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stripe_event_received_at'), ['received_at'], unique=False)

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_created_at', ['created_at'], unique=False)

    _carry_over_payments()


def _carry_over_payments() -> None:
    """Every booking that reached Checkout gets its Payment row; a refunded amount, its Refund row."""
    op.execute("""
        INSERT INTO payment (booking_id, attempt, checkout_session_id, payment_intent_id, amount, currency,
                             status, amount_refunded, created_at, updated_at, paid_at)
        SELECT id, CASE WHEN checkout_attempts > 0 THEN checkout_attempts ELSE 1 END,
               checkout_session_id, payment_intent_id, amount, currency,
               CASE
                   WHEN payment_status IN ('paid', 'partially_refunded', 'refunded', 'processing', 'failed')
                       THEN payment_status
                   WHEN status = 'pending' THEN 'open'
                   ELSE 'expired'
               END,
               amount_refunded, created_at, updated_at, confirmed_at
        FROM booking
        WHERE checkout_session_id IS NOT NULL OR payment_intent_id IS NOT NULL
    """)
    op.execute("""
        INSERT INTO refund (payment_id, booking_id, amount, currency, status, requested_by, created_at, updated_at)
        SELECT payment.id, payment.booking_id, payment.amount_refunded, payment.currency, 'succeeded',
               'stripe', payment.updated_at, payment.updated_at
        FROM payment
        WHERE payment.amount_refunded > 0
    """)


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_created_at')

    with op.batch_alter_table('stripe_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stripe_event_received_at'))
        batch_op.drop_index(batch_op.f('ix_stripe_event_booking_id'))
        batch_op.drop_column('booking_id')
        batch_op.drop_column('source')

    with op.batch_alter_table('session_type', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('revision')
        batch_op.drop_column('location')

    with op.batch_alter_table('builder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_builder_calendar_token_hash'))
        batch_op.drop_column('calendar_token_hash')

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_start')
        batch_op.drop_index('ix_booking_builder_start')

    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refund_payment_id'))
        batch_op.drop_index(batch_op.f('ix_refund_booking_id'))

    op.drop_table('refund')
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_status_created')
        batch_op.drop_index(batch_op.f('ix_payment_booking_id'))

    op.drop_table('payment')
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_session_user_id'))

    op.drop_table('auth_session')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_builder_id'))
        batch_op.drop_index('ix_audit_log_at')
        batch_op.drop_index(batch_op.f('ix_audit_log_actor_user_id'))

    op.drop_table('audit_log')
    op.drop_table('user_account')
