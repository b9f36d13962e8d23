"""What blocks a builder's time: confirmed bookings and holds that are unexpired or still paying."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from booking.core.models import Booking, BookingStatus, PaymentStatus


def _busy_filter(*, builder_id: int, start: datetime, end: datetime, now: datetime) -> tuple:
    """Confirmed bookings and unexpired (or still paying) holds of one builder overlapping [start, end)."""
    return (
        Booking.builder_id == builder_id,
        Booking.start_time < end,
        Booking.end_time > start,
        sa.or_(
            Booking.status == BookingStatus.CONFIRMED,
            sa.and_(
                Booking.status == BookingStatus.PENDING,
                sa.or_(Booking.hold_expires_at > now, Booking.payment_status == PaymentStatus.PROCESSING),
            ),
        ),
    )


def busy_bookings(*, session: Session, builder_id: int, start: datetime, end: datetime,
                  now: datetime) -> list[Booking]:
    """Confirmed bookings and unexpired holds of one builder that overlap [start, end)."""
    return list(session.exec(select(Booking).where(*_busy_filter(builder_id=builder_id, start=start, end=end,
                                                                 now=now))).all())


def busy_spans(*, session: Session, builder_id: int, start: datetime, end: datetime,
               now: datetime) -> list[tuple[str, datetime, datetime]]:
    """(id, start, end) of the same bookings: slot search needs only the times, not whole rows."""
    return [tuple(row) for row in session.execute(
        sa.select(Booking.id, Booking.start_time, Booking.end_time)
        .where(*_busy_filter(builder_id=builder_id, start=start, end=end, now=now))
    ).all()]
