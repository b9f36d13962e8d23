"""Rows for credit ledger tests: a builder's session type, a client's grant, bookings to spend credits on."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from sqlmodel import Session

from booking.core.models import Booking, Builder, Client, CreditSourceKind, SessionType
from booking.payments import credits
from tests.factories import make_builder, make_client, make_session_type

_sources = itertools.count(1)
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)


def grant_for(session: Session, *, builder: Builder, session_type: SessionType, email: str, quantity: int,
              now: datetime = NOW, days: int = 30, source_id: str | None = None):
    return credits.grant(
        session=session, builder_id=builder.id, client_email=email, quantity=quantity,
        session_type_ids=[session_type.id], expires_at=now + timedelta(days=days),
        source_kind=CreditSourceKind.PACKAGE_PURCHASE, source_id=source_id or f"test-{next(_sources)}", now=now)


def booking_for(session: Session, *, builder: Builder, session_type: SessionType, client: Client,
                hours_ahead: int) -> Booking:
    start = (NOW + timedelta(days=3, hours=hours_ahead)).replace(minute=0, second=0, microsecond=0)
    booking = Booking(client_id=client.id, builder_id=builder.id, session_type_id=session_type.id, start_time=start,
                      end_time=start + timedelta(minutes=session_type.duration_minutes))
    session.add(booking)
    session.flush()
    return booking


def setup(session: Session, *, email: str = "Ann@Example.com"):
    builder = make_builder(session)
    session_type = make_session_type(session, builder)
    client = make_client(session, email=email.lower())
    return builder, session_type, client
