"""Small builders of test rows. Each takes the session and only the fields a test cares about."""

from __future__ import annotations

import itertools
from datetime import time

from sqlmodel import Session

from booking.core.models import AvailabilityRule, Builder, Client, SessionType

_sequence = itertools.count(1)


def make_builder(session: Session, *, time_zone: str = "Europe/London", weekdays: range | list[int] = range(7),
                 hours: tuple[time, time] = (time(9, 0), time(17, 0)), **fields: object) -> Builder:
    n = next(_sequence)
    builder = Builder(
        name=fields.pop("name", f"Builder {n}"),
        slug=fields.pop("slug", f"builder-{n}"),
        email=fields.pop("email", f"builder{n}@example.com"),
        time_zone=time_zone,
        min_notice_minutes=fields.pop("min_notice_minutes", 0),
        **fields,
    )
    session.add(builder)
    session.flush()
    for weekday in weekdays:
        session.add(AvailabilityRule(builder_id=builder.id, weekday=weekday, start_time=hours[0], end_time=hours[1]))
    session.flush()
    return builder


def make_session_type(session: Session, builder: Builder, *, price_amount: int = 5000,
                      currency: str = "gbp", duration_minutes: int = 60, **fields: object) -> SessionType:
    session_type = SessionType(
        builder_id=builder.id,
        name=fields.pop("name", f"Session {next(_sequence)}"),
        duration_minutes=duration_minutes,
        price_amount=price_amount,
        currency=currency,
        **fields,
    )
    session.add(session_type)
    session.flush()
    return session_type


def make_client(session: Session, **fields: object) -> Client:
    n = next(_sequence)
    client = Client(name=fields.pop("name", f"Client {n}"), email=fields.pop("email", f"client{n}@example.com"), **fields)
    session.add(client)
    session.flush()
    return client


def make_hold(session: Session, *, builder: Builder | None = None, session_type: SessionType | None = None,
              client: Client | None = None, start=None, hold_minutes: int = 30, **fields: object):
    """A pending booking holding a slot, as start_checkout leaves it."""
    from datetime import datetime, timedelta, timezone

    from booking.core.models import Booking

    builder = builder or make_builder(session)
    session_type = session_type or make_session_type(session, builder)
    client = client or make_client(session)
    now = datetime.now(timezone.utc)
    start = start or (now + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    booking = Booking(
        client_id=client.id, builder_id=builder.id, session_type_id=session_type.id, start_time=start,
        end_time=start + timedelta(minutes=session_type.duration_minutes), amount=session_type.price_amount,
        currency=session_type.currency, hold_expires_at=now + timedelta(minutes=hold_minutes),
        checkout_session_id=fields.pop("checkout_session_id", f"cs_test_hold{next(_sequence)}"),
        checkout_attempts=1, **fields,
    )
    session.add(booking)
    session.flush()
    return booking
