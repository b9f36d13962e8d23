"""Why a booking ended: the free-text `booking.cancellation_reason` becomes a typed `end_cause`, and the
builder's own message (the only free text people wrote) moves to `end_note`, which nothing branches on.

Every text the code wrote maps to one cause; any other text was a builder's message with a cancellation.
The downgrade writes the texts back (the builder's message where there was one).

Plain ALTER TABLE on both databases (SQLite >= 3.35 drops a column in place): no table rebuild, so
SQLite's no-overlap triggers (0002) stay.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CAUSES = ('replaced', 'expired', 'released_by_client', 'payment_failed', 'provider_unreachable',
           'repaired_by_reconcile', 'cancelled_by_builder', 'cancelled_by_client', 'refunded')

# Every text the code wrote into cancellation_reason, and its cause. (The text each cause is shown
# with today is the same, so the downgrade writes these back.)
_TEXT_TO_CAUSE = {
    'replaced by a new hold from the same browser': 'replaced',
    'hold expired': 'expired',
    'released by client': 'released_by_client',
    'payment failed': 'payment_failed',
    'the payment provider could not be reached': 'provider_unreachable',
    'checkout interrupted; repaired by reconcile': 'repaired_by_reconcile',
    'Cancelled by the builder': 'cancelled_by_builder',  # refunds.DEFAULT_CANCEL_REASON
    'Cancelled by the client': 'cancelled_by_client',  # manage.CLIENT_CANCEL_REASON
    'refunded': 'refunded',  # a full refund (webhook or admin)
    'paid after the slot was taken': 'refunded',  # the late-payment refund's reason
}
_CAUSE_TO_TEXT = {cause: text for text, cause in _TEXT_TO_CAUSE.items() if text != 'paid after the slot was taken'}


def _booking() -> sa.Table:
    return sa.table('booking', sa.column('status', sa.String), sa.column('cancellation_reason', sa.String),
                    sa.column('end_cause', sa.String), sa.column('end_note', sa.String))


def upgrade() -> None:
    # VARCHAR with a CHECK, like every enum column here (SQLite takes the CHECK only inline).
    check = "end_cause IN (" + ", ".join(f"'{cause}'" for cause in _CAUSES) + ")"
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f"ALTER TABLE booking ADD COLUMN end_cause VARCHAR(30) CONSTRAINT end_cause CHECK ({check})")
    else:
        op.add_column('booking', sa.Column('end_cause', sa.String(length=30), nullable=True))
        op.create_check_constraint('end_cause', 'booking', check)
    op.add_column('booking', sa.Column('end_note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
    booking = _booking()
    for text, cause in _TEXT_TO_CAUSE.items():
        op.execute(booking.update().where(booking.c.cancellation_reason == text).values(end_cause=cause))
    # Any other text was the builder's message with a cancellation.
    op.execute(booking.update()
               .where(booking.c.end_cause.is_(None), booking.c.cancellation_reason.is_not(None),
                      booking.c.cancellation_reason != '')
               .values(end_cause='cancelled_by_builder', end_note=booking.c.cancellation_reason))
    # An ended booking with no text: an expired hold says so by its status; any other ending is unknown.
    op.execute(booking.update().where(booking.c.end_cause.is_(None), booking.c.status == 'expired')
               .values(end_cause='expired'))
    # Only a revived booking (confirmed after a late payment) ever had its text cleared: active ones have none.
    op.execute(booking.update().where(booking.c.status.in_(('pending', 'confirmed'))).values(end_cause=None))
    op.drop_column('booking', 'cancellation_reason')


def downgrade() -> None:
    op.add_column('booking', sa.Column('cancellation_reason', sqlmodel.sql.sqltypes.AutoString(length=500),
                                       nullable=True))
    booking = _booking()
    for cause, text in _CAUSE_TO_TEXT.items():
        op.execute(booking.update().where(booking.c.end_cause == cause).values(cancellation_reason=text))
    op.execute(booking.update().where(booking.c.end_note.is_not(None), booking.c.end_note != '')
               .values(cancellation_reason=booking.c.end_note))
    op.drop_column('booking', 'end_note')
    op.drop_column('booking', 'end_cause')
