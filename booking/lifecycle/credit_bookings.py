"""Booking with a package credit: the slot is held, one of the client's credits reserved for it, then the
booking confirmed at once (`transitions.confirm_with_credit`, the table's `pay_with_credit`) and the credit
spent. No Checkout and no money: one transaction, which the caller owns.

Two browsers spending the client's last credit: the credit ledger locks the client's grants before it
reads them (booking.payments.credits), so the second finds none left (NoCreditAvailable) and its hold is
rolled back with its transaction. Two clients racing for one slot: the builder's lock and the database's
no-overlap guard, as for a paid hold.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from booking.core.models import Booking, utcnow
from booking.core.time import known_locale_tag
from booking.lifecycle import transitions as bookings
from booking.lifecycle.checkout import SlotUnavailable, validate_client
from booking.lifecycle.checkout import _upsert_client as upsert_client  # one row per address
from booking.payments import credits
from booking.scheduling import slots

# The hold lasts only inside the transaction that confirms it; a crash leaves it to the sweeper.
CREDIT_HOLD = timedelta(minutes=30)


def write_credit_booking(*, session: Session, session_type_id: int, start_time: datetime, client_name: str,
                         client_email: str, client_time_zone: str = "UTC", client_hour12: bool | None = None,
                         client_locale: str | None = None, now: datetime | None = None) -> Booking:
    """Hold the slot with one of the client's credits and confirm it. Raises SlotUnavailable,
    credits.NoCreditAvailable, slots.SessionTypeNotFound or InvalidRequest: the caller rolls back."""
    now = now or utcnow()
    name, email = validate_client(name=client_name, email=client_email)
    schedule = slots.load_schedule(session=session, session_type_id=session_type_id)
    bookings.lock_builder(session=session, builder_id=schedule.builder.id)
    start = start_time.astimezone(now.tzinfo)
    end = start + timedelta(minutes=schedule.session_type.duration_minutes)
    bookings.end_lapsed_holds(session=session, builder_id=schedule.builder.id, start=start, end=end, now=now)
    if not slots.is_open(session=session, schedule=schedule, start=start, now=now):
        raise SlotUnavailable("That time is no longer available.")
    client = upsert_client(session=session, name=name, email=email)
    booking = Booking(client_id=client.id, builder_id=schedule.builder.id, session_type_id=schedule.session_type.id,
                      start_time=start, end_time=end, client_time_zone=client_time_zone,
                      client_hour12=client_hour12 if isinstance(client_hour12, bool) else None,
                      client_locale=known_locale_tag(client_locale),
                      hold_expires_at=now + CREDIT_HOLD, client_name=name)
    try:
        with session.begin_nested():
            session.add(booking)
            session.flush()
    except sa.exc.IntegrityError:
        raise SlotUnavailable("That time is no longer available.") from None
    credits.reserve(session=session, booking_id=booking.id, builder_id=schedule.builder.id, client_email=email,
                    session_type_id=schedule.session_type.id, now=now)
    bookings.confirm_with_credit(session=session, booking_id=booking.id, now=now)
    return bookings.get_booking(session=session, booking_id=booking.id)

