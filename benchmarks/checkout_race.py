"""The checkout race: 1,000 concurrent create-checkout calls over 100 slots, through HTTP.

    .venv/bin/python -m benchmarks.checkout_race [--quick]

The app runs under granian (1 worker, the production ASGI stack) and talks to the **Stripe emulator**,
run in this process on its own port, over real HTTP (the official SDK, as with Stripe). 1,000 clients
(distinct emails) each open a connection and send `POST /api/payments/create-checkout-session` at
once, ten for each of 100 open slots, shuffled. Expected: exactly 100 answers 201 and 900 answers 409,
exactly 100 active holds in the database, one per slot, none overlapping another.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from datetime import datetime, timedelta, timezone

import httpx
from sqlmodel import Session, select

from benchmarks import _harness as h
from benchmarks._load import closed_loop, json_request
from booking.core.models import Booking, BookingStatus
from stripe_emulator.server import EmulatorServer

ACTIVE = (BookingStatus.PENDING, BookingStatus.CONFIRMED)


def race(backend: str, *, slots: int, callers_per_slot: int) -> dict[str, object]:
    with h.fresh_database(backend) as url, EmulatorServer(webhook_url=None, webhook_secret=h.WEBHOOK_SECRET) as stripe:
        engine = h.engine_of(url)
        _, session_type_id = h.seed_builder(engine)
        with h.app_server(url, fake_gateway=False, stripe_api_base=stripe.url) as server:
            day = (datetime.now(timezone.utc) + timedelta(days=2)).date()
            found = httpx.get(f"{server.url}/api/session-types/{session_type_id}/slots",
                              params={"from": str(day), "days": 7, "tz": "UTC"}, timeout=30).json()["slots"]
            starts, free_from = [], ""
            for slot in found:  # slots may overlap (a start every 30 minutes): take non-overlapping ones
                if slot["start_time"] >= free_from and len(starts) < slots:
                    starts.append(slot["start_time"])
                    free_from = slot["end_time"]
            assert len(starts) == slots, f"only {len(starts)} open slots"
            calls = [(start, n) for start in starts for n in range(callers_per_slot)]
            random.Random(7).shuffle(calls)
            requests = [json_request("POST", "/api/payments/create-checkout-session", host=server.host, payload={
                "session_type_id": str(session_type_id), "start_time": start, "client_name": "Racer",
                "client_email": f"racer-{index}@bench.example"}) for index, (start, _) in enumerate(calls)]
            run = asyncio.run(closed_loop(h.HOST, server.port, requests, concurrency=len(requests)))
        with Session(engine) as session:
            holds = session.exec(select(Booking).where(Booking.session_type_id == session_type_id,
                                                       Booking.status.in_(ACTIVE))
                                 .order_by(Booking.start_time)).all()
            spans = [(b.start_time, b.end_time) for b in holds]
        engine.dispose()

    overlaps = sum(1 for (_, end), (start, _) in zip(spans, spans[1:]) if start < end)
    distinct = len({start for start, _ in spans})
    statuses = run.statuses()
    exact = statuses.get(201) == slots and len(holds) == slots and distinct == slots and overlaps == 0
    h.heading(f"Checkout race, {backend}: {len(requests)} concurrent calls over {slots} slots "
              f"({h.cores()} cores, granian 1 worker, Stripe emulator over HTTP)")
    h.figure("answers", ", ".join(f"{count} x {status}" for status, count in statuses.items()))
    h.figure("active holds in the database / distinct slots / overlaps", f"{len(holds)} / {distinct} / {overlaps}")
    h.figure("outcome", "exactly one hold per slot, no overlaps" if exact else "WRONG: see above")
    h.figure("all answered in", f"{run.elapsed:5.1f} s ({run.throughput:.0f} calls/s), median {run.median:.0f} ms, "
                                f"p99 {run.percentile(0.99):.0f} ms")
    return {"exact": exact, "statuses": statuses, "elapsed": run.elapsed}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 calls over 20 slots (a smoke run)")
    args = parser.parse_args(argv)
    for backend in h.backends():
        race(backend, slots=20 if args.quick else 100, callers_per_slot=10)


if __name__ == "__main__":
    main()
