"""Figures for /admin/bookings: the list query with ~5,000 bookings for one builder.

    .venv/bin/python -m benchmarks.admin_bookings           # SQLite in a temp dir
    TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python -m benchmarks.admin_bookings

Seeds a fresh migrated database (dropped afterwards): one builder with 5,000 bookings (half past, half
upcoming, every status, 1,000 clients) plus 2,000 of another builder as noise. Prints the median time of
the list query (`booking_admin.list_bookings`, what the page runs) for page 1, a late page, an email
search and a status + date filter, and the query plan of page 1. Asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from booking.core.db import engine_for
from booking.core.models import Booking, BookingStatus, Builder, Client, PaymentStatus, SessionType, new_booking_id
from booking.workspace import bookings as booking_admin
from tests.support.databases import backends, temporary_database

BOOKINGS = 5_000
NOISE = 2_000
CLIENTS = 1_000
RUNS = 30
_STATES = [  # (status, payment_status), cycled through
    (BookingStatus.CONFIRMED, PaymentStatus.PAID),
    (BookingStatus.CONFIRMED, PaymentStatus.PAID),
    (BookingStatus.CONFIRMED, PaymentStatus.PARTIALLY_REFUNDED),
    (BookingStatus.CANCELLED, PaymentStatus.REFUNDED),
    (BookingStatus.CANCELLED, PaymentStatus.UNPAID),
    (BookingStatus.EXPIRED, PaymentStatus.UNPAID),
    (BookingStatus.PENDING, PaymentStatus.UNPAID),
]


def _seed(engine, now: datetime) -> int:
    with Session(engine) as session:
        builders = [Builder(name="Bench", slug="bench", email="bench@example.com", time_zone="Europe/London"),
                    Builder(name="Noise", slug="noise", email="noise@example.com", time_zone="Asia/Tokyo")]
        session.add_all(builders)
        session.flush()
        types = [SessionType(builder_id=b.id, name="Call", duration_minutes=60, price_amount=5000, currency="gbp")
                 for b in builders]
        clients = [Client(name=f"Client {n}", email=f"client{n:04d}@example.com") for n in range(CLIENTS)]
        session.add_all(types + clients)
        session.flush()
        base = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=BOOKINGS)  # half past, half ahead
        rows = []
        for builder, session_type, count in ((builders[0], types[0], BOOKINGS), (builders[1], types[1], NOISE)):
            for n in range(count):
                start = base + timedelta(hours=2 * n)
                status, payment_status = _STATES[n % len(_STATES)]
                active = status in (BookingStatus.PENDING, BookingStatus.CONFIRMED)
                rows.append({
                    "id": new_booking_id(), "client_id": clients[n % CLIENTS].id, "builder_id": builder.id,
                    "session_type_id": session_type.id, "start_time": start, "end_time": start + timedelta(hours=1),
                    "status": status, "payment_status": payment_status, "amount": 5000, "currency": "gbp",
                    "amount_refunded": 2000 if payment_status == PaymentStatus.PARTIALLY_REFUNDED else 0,
                    "checkout_attempts": 1, "client_time_zone": "UTC",
                    "hold_expires_at": start if active and status == BookingStatus.PENDING else None,
                    "created_at": now, "updated_at": now,
                })
        session.execute(sa.insert(Booking), rows)
        session.commit()
        session.execute(sa.text("ANALYZE"))  # planner statistics, as a live database would have
        session.commit()
        return builders[0].id


def _median_ms(engine, query: booking_admin.BookingQuery, now: datetime) -> tuple[float, int]:
    samples, rows = [], 0
    for _ in range(RUNS):
        t0 = time.perf_counter()
        with Session(engine) as session:
            rows = len(booking_admin.list_bookings(session=session, query=query, now=now).rows)
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), rows


def _plan(engine, query: booking_admin.BookingQuery, now: datetime) -> str:
    statement = booking_admin.list_statement(query=query, now=now)
    compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(prefix + str(compiled)).all()
    return "\n".join("      " + " ".join(str(part) for part in row if part is not None) for row in rows)


def run(url: str) -> None:
    engine = engine_for(url)
    now = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    builder_id = _seed(engine, now)
    print(f"  seeded {BOOKINGS + NOISE} bookings in {time.perf_counter() - t0:.1f} s")
    upcoming_pages = (BOOKINGS // 2) // booking_admin.PAGE_SIZE
    week_ahead = (now + timedelta(days=7)).date()
    cases = {
        "page 1 (upcoming)": booking_admin.BookingQuery(builder_id=builder_id, time_zone="Europe/London"),
        f"late page ({upcoming_pages}, upcoming)": booking_admin.BookingQuery(
            builder_id=builder_id, page=upcoming_pages, time_zone="Europe/London"),
        "late page (50, past)": booking_admin.BookingQuery(builder_id=builder_id, past=True, page=50,
                                                           time_zone="Europe/London"),
        "email search (one client)": booking_admin.BookingQuery(builder_id=builder_id, email="client0042@example.com",
                                                                time_zone="Europe/London"),
        "status + date filter": booking_admin.BookingQuery(
            builder_id=builder_id, status="confirmed", date_from=week_ahead, date_to=week_ahead + timedelta(days=30),
            time_zone="Europe/London"),
        "all builders, page 1 (admin)": booking_admin.BookingQuery(builder_id=None, time_zone="UTC"),
    }
    for name, query in cases.items():
        median, rows = _median_ms(engine, query, now)
        print(f"  {name:<32} median {median:6.2f} ms  ({rows} rows)")
    print("    plan of page 1:")
    print(_plan(engine, cases["page 1 (upcoming)"], now))


def main() -> None:
    for backend in backends():
        print(f"{backend}:")
        with tempfile.TemporaryDirectory() as directory, temporary_database(backend, Path(directory)) as url:
            run(url)


if __name__ == "__main__":
    os.environ.setdefault("PUBLIC_URL", "http://localhost:3000")
    main()
