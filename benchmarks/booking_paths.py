"""Figures for the hot paths: slot search, the checkout race, webhook handling.

    .venv/bin/python -m benchmarks.booking_paths            # SQLite in a temp dir
    BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python -m benchmarks.booking_paths

Uses a fresh migrated database (dropped afterwards) and the Stripe emulator in-process over real HTTP.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from datetime import time as dtime
from pathlib import Path

from sqlmodel import Session, select

from booking.core.config import load_settings
from booking.core.models import AvailabilityRule, Booking, BookingStatus, Builder, Client, SessionType
from booking.events.webhooks import handle_webhook
from booking.lifecycle import checkout as payments
from booking.payments.gateway import StripeGateway
from booking.scheduling import slots
from stripe_emulator.server import EmulatorServer
from tests.support import stripe_events as se
from tests.support.databases import temporary_database

SETTINGS = load_settings(PUBLIC_URL="http://localhost:3000")


def _seed(session: Session, bookings: int) -> int:
    builder = Builder(name="Bench", slug="bench", email="b@example.com", time_zone="Europe/London",
                      min_notice_minutes=0, horizon_days=90)
    session.add(builder)
    session.flush()
    for weekday in range(7):
        session.add(AvailabilityRule(builder_id=builder.id, weekday=weekday, start_time=dtime(8), end_time=dtime(20)))
    st = SessionType(builder_id=builder.id, name="Call", duration_minutes=60, price_amount=5000, currency="gbp")
    client = Client(name="C", email="c@example.com")
    session.add_all([st, client])
    session.flush()
    start = datetime.now(timezone.utc).replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(days=1)
    for n in range(bookings):
        begin = start + timedelta(days=n // 4, hours=3 * (n % 4))
        session.add(Booking(client_id=client.id, builder_id=builder.id, session_type_id=st.id, start_time=begin,
                            end_time=begin + timedelta(hours=1), amount=5000, currency="gbp",
                            status=BookingStatus.CONFIRMED))
    session.commit()
    return st.id


def _timed(fn, runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def run(url: str) -> None:
    from booking.core.db import engine_for

    engine = engine_for(url)
    with Session(engine) as session:
        st_id = _seed(session, bookings=200)
    today = datetime.now(timezone.utc).date()
    for days in (14, 31):
        def search(days=days) -> None:
            with Session(engine) as s:
                slots.find_open_slots(session=s, session_type_id=st_id, from_day=today, days=days,
                                      viewer_time_zone="America/New_York", now=datetime.now(timezone.utc))
        median, p95 = _timed(search, 50)
        print(f"  slot search, {days} days, 200 bookings: median {median:.1f} ms, p95 {p95:.1f} ms")

    with EmulatorServer(webhook_url=None, webhook_secret=se.WEBHOOK_SECRET) as emulator:
        gateway = StripeGateway(secret_key="sk_test_bench", webhook_secret=se.WEBHOOK_SECRET, api_base=emulator.url)
        wanted = (datetime.now(timezone.utc) + timedelta(days=80)).replace(hour=10, minute=0, second=0, microsecond=0)

        def attempt(n: int) -> str:
            try:
                payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS, session_type_id=st_id,
                                        start_time=wanted, client_name="Racer", client_email=f"r{n}@example.com")
                return "held"
            except payments.SlotUnavailable:
                return "refused"

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=16) as pool:
            outcomes = list(pool.map(attempt, range(50)))
        elapsed = time.perf_counter() - t0
        print(f"  50 concurrent checkouts for one slot: {outcomes.count('held')} held, "
              f"{outcomes.count('refused')} refused, {elapsed * 1000:.0f} ms in all")

        t0 = time.perf_counter()
        for n in range(20):
            begin = wanted + timedelta(days=1, hours=0) + timedelta(days=n // 10, hours=n % 10)
            payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS, session_type_id=st_id,
                                    start_time=begin, client_name="Seq", client_email=f"s{n}@example.com")
        print(f"  sequential checkout (hold + Stripe session over HTTP): {(time.perf_counter() - t0) * 50:.1f} ms each")

    with Session(engine) as session:
        holds = session.exec(select(Booking).where(Booking.status == BookingStatus.PENDING)).all()
        events = [se.event("checkout.session.completed", se.checkout_session(b.id, b.checkout_session_id,
                                                                             payment_intent=f"pi_{i}"))
                  for i, b in enumerate(holds)]
    fake = _VerifyOnly()
    payloads = [se.encode(e) for e in events]
    t0 = time.perf_counter()
    for payload in payloads:
        handle_webhook(engine=engine, gateway=fake, payload=payload, signature=se.sign(payload))
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for payload in payloads:
        handle_webhook(engine=engine, gateway=fake, payload=payload, signature=se.sign(payload))
    again = time.perf_counter() - t0
    print(f"  webhook checkout.session.completed: {first / len(payloads) * 1000:.1f} ms each (confirm + 2 emails "
          f"queued); duplicate: {again / len(payloads) * 1000:.1f} ms each")
    engine.dispose()


class _VerifyOnly:
    def verify_webhook(self, payload, signature):
        from booking.payments.gateway import verify_webhook

        return verify_webhook(payload, signature, se.WEBHOOK_SECRET)


def main() -> None:
    print("SQLite")
    with tempfile.TemporaryDirectory() as tmp, temporary_database("sqlite", Path(tmp)) as url:
        run(url)
    pg = os.environ.get("BENCH_POSTGRES_URL")
    if pg:
        os.environ["TEST_POSTGRES_URL"] = pg
        import tests.support.databases as databases

        databases.POSTGRES_ADMIN_URL = pg
        print("PostgreSQL")
        with tempfile.TemporaryDirectory() as tmp, temporary_database("postgresql", Path(tmp)) as url:
            run(url)


if __name__ == "__main__":
    main()
