"""Small builders of test rows. Each takes the session and only the fields a test cares about."""

from __future__ import annotations

import itertools
from datetime import time

from sqlmodel import Session

from booking.models import AvailabilityRule, Builder, Client, SessionType

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
