"""Webhook ingest: the real route against its ceiling, on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.webhook_ingest [--quick]

The app runs as in production (granian, 1 worker, the whole ASGI stack: benchmarks/_asgi.py). Beside
the real route (`/api/payments/webhook`: verify, store, dispatch `checkout.session.completed`, which
confirms a pending booking and queues two emails) the same server has a bare endpoint that only verifies
the signature and inserts the event id. Both get signed events from 16 concurrent senders (throughput,
and the ratio real / bare), then the real route gets events paced at 200 per second (p99 latency).

Goals: the real route at least 80 % of the bare ceiling in worker mode (issue 13; 60 % in issue 10);
p99 at most 25 ms at 200 events/s. `--mode worker --backend postgresql` for that figure alone.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from datetime import datetime, timedelta, timezone

from sqlmodel import Session, func, select

from benchmarks import _harness as h
from benchmarks._asgi import BARE_WEBHOOK
from benchmarks._load import build_request, closed_loop, open_loop
from booking.core.models import Booking, BookingStatus
from tests.support import stripe_events as se

SENDERS = 16
RATE = 200  # events per second
MODES = ("inline", "worker")
_ids = itertools.count(1)


def signed(path: str, host: str, event: dict) -> bytes:
    payload = se.encode(event)
    return build_request("POST", path, host=host, body=payload, headers={
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": se.sign(payload, secret=h.WEBHOOK_SECRET)})


def completed_event(booking_id: str, n: int) -> dict:
    checkout = se.checkout_session(booking_id, f"cs_ingest_{n}", payment_intent=f"pi_ingest_{n}")
    return se.event("checkout.session.completed", checkout, event_id=f"evt_ingest_{next(_ids):08d}")


def bare_event() -> dict:
    return se.event("checkout.session.completed", se.checkout_session("none", f"cs_bare_{next(_ids)}"),
                    event_id=f"evt_bare_{next(_ids):08d}")


def measure(backend: str, *, throughput_events: int, paced_events: int,
            modes: tuple[str, ...] = MODES) -> list[dict[str, float]]:
    per_mode = throughput_events + paced_events
    results = []
    with h.fresh_database(backend) as url:
        engine = h.engine_of(url)
        builder_id, session_type_id = h.seed_builder(engine)
        first = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        booking_ids = h.seed_bookings(engine, builder_id=builder_id, session_type_id=session_type_id,
                                      count=per_mode * len(modes), status=BookingStatus.PENDING,
                                      first_start=first, prefix="ingest")
        for index, mode in enumerate(modes):
            mine = list(enumerate(booking_ids))[index * per_mode:(index + 1) * per_mode]
            results.append(_measure_mode(backend, mode, engine, url, mine, throughput_events))
        engine.dispose()
    return results


def _wait_applied(engine, expected: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while _confirmed(engine) < expected and time.monotonic() < deadline:
        time.sleep(0.05)


def _confirmed(engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Booking)
                            .where(Booking.status == BookingStatus.CONFIRMED)).one()


def _measure_mode(backend: str, mode: str, engine, url: str, bookings: list[tuple[int, str]],
                  throughput_events: int) -> dict[str, float]:
    confirmed_before = _confirmed(engine)
    with h.app_server(url, extra_env={"WEBHOOK_PROCESSING": mode}) as server:
        host = server.host

        def run(requests, **how):
            if "rate" in how:
                return asyncio.run(open_loop(h.HOST, server.port, requests, rate=how["rate"]))
            return asyncio.run(closed_loop(h.HOST, server.port, requests, concurrency=how["concurrency"]))

        def real_events(chosen):
            return [signed("/api/payments/webhook", host, completed_event(booking_id, n)) for n, booking_id in chosen]

        # Warm both paths (imports, pools, caches) with events that change nothing.
        run([signed(BARE_WEBHOOK, host, bare_event()) for _ in range(100)], concurrency=SENDERS)
        run([signed("/api/payments/webhook", host, se.event("customer.created", {"id": f"cus_{n}"}))
             for n in range(100)], concurrency=SENDERS)
        bare = run([signed(BARE_WEBHOOK, host, bare_event()) for _ in range(throughput_events)], concurrency=SENDERS)
        bare_paced = run([signed(BARE_WEBHOOK, host, bare_event()) for _ in range(len(bookings) // 4)], rate=RATE)
        started = time.perf_counter()
        real = run(real_events(bookings[:throughput_events]), concurrency=SENDERS)
        _wait_applied(engine, confirmed_before + throughput_events)  # worker mode: its backlog drains first
        drained = time.perf_counter() - started
        paced = run(real_events(bookings[throughput_events:]), rate=RATE)
        _wait_applied(engine, confirmed_before + len(bookings))
    confirmed = _confirmed(engine) - confirmed_before

    for name, result in (("bare", bare), ("real", real), ("paced", paced), ("bare paced", bare_paced)):
        if set(result.statuses()) != {200}:
            print(f"  !! {name}: answers {result.statuses()}")
    ratio = real.throughput / bare.throughput
    described = {"inline": "verify, store, confirm the booking, queue 2 emails, answer",
                 "worker": "verify, store, answer; a background job confirms"}[mode]
    h.heading(f"Webhook ingest, {backend}, WEBHOOK_PROCESSING={mode} ({h.cores()} cores, granian 1 worker)")
    h.figure(f"bare endpoint (verify + insert the event id), {SENDERS} senders",
             f"{bare.throughput:6.0f} events/s  p99 {bare.percentile(0.99):7.1f} ms")
    h.figure(f"real route ({described})", f"{real.throughput:6.0f} events/s  p99 {real.percentile(0.99):7.1f} ms")
    h.figure("real / bare", f"{ratio:6.0%}  ({h.goal(ratio >= 0.8)}: >= 80 %)")
    h.figure(f"real route paced at {RATE}/s: median / p99",
             f"{paced.median:6.1f} ms / {paced.percentile(0.99):6.1f} ms  ({h.goal(paced.percentile(0.99) <= 25)}: "
             "p99 <= 25 ms)")
    h.figure(f"real route paced at {RATE}/s: p90 / p95 / max",
             f"{paced.percentile(0.90):6.1f} ms / {paced.percentile(0.95):6.1f} ms / {paced.percentile(1.0):6.1f} ms")
    h.figure(f"bare endpoint paced at {RATE}/s: median / p99",
             f"{bare_paced.median:6.1f} ms / {bare_paced.percentile(0.99):6.1f} ms")
    h.figure(f"{throughput_events} events: sent, and all applied",
             f"{real.elapsed:5.1f} s, {drained:5.1f} s ({throughput_events / drained:4.0f} applied/s)")
    h.figure("bookings confirmed by the events", f"{confirmed} of {len(bookings)}")
    return {"mode": mode, "ratio": ratio, "p99": paced.percentile(0.99), "bare": bare.throughput,
            "real": real.throughput}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer events (a smoke run)")
    parser.add_argument("--mode", choices=MODES, action="append", help="only this WEBHOOK_PROCESSING mode")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), action="append", help="only this database")
    args = parser.parse_args(argv)
    throughput_events, paced_events = (300, 400) if args.quick else (1500, 2000)
    for backend in h.backends():
        if args.backend is None or backend in args.backend:
            measure(backend, throughput_events=throughput_events, paced_events=paced_events,
                    modes=tuple(args.mode or MODES))


if __name__ == "__main__":
    main()
