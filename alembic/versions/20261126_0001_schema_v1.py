"""schema v1

Revision ID: 0001
Revises: 
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The no-overlap exclusion constraint mixes = on an integer with && on a range.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table('builder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('slug', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('time_zone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('bio', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('buffer_minutes', sa.Integer(), nullable=False),
    sa.Column('min_notice_minutes', sa.Integer(), nullable=False),
    sa.Column('horizon_days', sa.Integer(), nullable=False),
    sa.Column('slot_step_minutes', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug')
    )
    op.create_table('client',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    op.create_table('stripe_event',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('payload', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('processed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('status', sa.Enum('received', 'processed', 'ignored', 'failed', name='event_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stripe_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stripe_event_type'), ['type'], unique=False)

    op.create_table('availability_override',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('builder_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=True),
    sa.Column('end_time', sa.Time(), nullable=True),
    sa.CheckConstraint('(closed AND start_time IS NULL AND end_time IS NULL) OR (NOT closed AND start_time < end_time)', name='ck_availability_override_shape'),
    sa.ForeignKeyConstraint(['builder_id'], ['builder.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('availability_override', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_availability_override_builder_id'), ['builder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_availability_override_day'), ['day'], unique=False)

    op.create_table('availability_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('builder_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('end_time', sa.Time(), nullable=False),
    sa.CheckConstraint('start_time < end_time', name='ck_availability_rule_order'),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name='ck_availability_rule_weekday'),
    sa.ForeignKeyConstraint(['builder_id'], ['builder.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('availability_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_availability_rule_builder_id'), ['builder_id'], unique=False)

    op.create_table('session_type',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('builder_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('price_amount', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('stripe_product_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('stripe_price_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['builder_id'], ['builder.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('stripe_price_id'),
    sa.UniqueConstraint('stripe_product_id')
    )
    with op.batch_alter_table('session_type', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_type_builder_id'), ['builder_id'], unique=False)

    op.create_table('booking',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('builder_id', sa.Integer(), nullable=False),
    sa.Column('session_type_id', sa.Integer(), nullable=False),
    sa.Column('start_time', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('end_time', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'confirmed', 'cancelled', 'expired', name='booking_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('payment_status', sa.Enum('unpaid', 'processing', 'failed', 'paid', 'partially_refunded', 'refunded', name='payment_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('payment_intent_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('checkout_session_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('checkout_url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('checkout_attempts', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('amount_refunded', sa.Integer(), nullable=False),
    sa.Column('client_time_zone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hold_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('cancellation_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('confirmed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint('amount >= 0', name='ck_booking_amount'),
    sa.CheckConstraint('start_time < end_time', name='ck_booking_order'),
    sa.ForeignKeyConstraint(['builder_id'], ['builder.id'], ),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ),
    sa.ForeignKeyConstraint(['session_type_id'], ['session_type.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('checkout_session_id'),
    sa.UniqueConstraint('payment_intent_id')
    )
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_builder_id'), ['builder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_booking_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_booking_session_type_id'), ['session_type_id'], unique=False)
        batch_op.create_index('uq_booking_active_start', ['builder_id', 'start_time'], unique=True, sqlite_where=sa.text("status IN ('pending', 'confirmed')"), postgresql_where=sa.text("status IN ('pending', 'confirmed')"))
    if op.get_bind().dialect.name == "postgresql":
        # No two active bookings of one builder overlap, enforced by the database itself.
        op.execute(
            "ALTER TABLE booking ADD CONSTRAINT ex_booking_no_overlap EXCLUDE USING gist "
            "(builder_id WITH =, tstzrange(start_time, end_time) WITH &&) "
            "WHERE (status IN ('pending', 'confirmed'))"
        )

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('booking_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('payload', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', name='notification_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index('ix_notification_due', ['status', 'next_attempt_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_due')
        batch_op.drop_index(batch_op.f('ix_notification_booking_id'))

    op.drop_table('notification')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index('uq_booking_active_start', sqlite_where=sa.text("status IN ('pending', 'confirmed')"), postgresql_where=sa.text("status IN ('pending', 'confirmed')"))
        batch_op.drop_index(batch_op.f('ix_booking_session_type_id'))
        batch_op.drop_index(batch_op.f('ix_booking_client_id'))
        batch_op.drop_index(batch_op.f('ix_booking_builder_id'))

    op.drop_table('booking')
    with op.batch_alter_table('session_type', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_type_builder_id'))

    op.drop_table('session_type')
    with op.batch_alter_table('availability_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_availability_rule_builder_id'))

    op.drop_table('availability_rule')
    with op.batch_alter_table('availability_override', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_availability_override_day'))
        batch_op.drop_index(batch_op.f('ix_availability_override_builder_id'))

    op.drop_table('availability_override')
    with op.batch_alter_table('stripe_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stripe_event_type'))

    op.drop_table('stripe_event')
    op.drop_table('client')
    op.drop_table('builder')
