"""Slot search: 60 days for a builder with 1,000 confirmed bookings, in-process and through the API.

    .venv/bin/python -m benchmarks.slot_search [--quick]

The builder is open around the clock (UTC) with 60-minute sessions; the 1,000 confirmed bookings lie
inside the searched 60 days (one every 80 minutes), so the search subtracts every one of them. The
viewer is in New York. In-process: `slots.find_open_slots` in a fresh session each time. Through the
API: `GET /api/session-types/{id}/slots?days=60` against the app under granian, one request at a time.

Goals (issue 10): median <= 5 ms in-process, <= 25 ms through the API.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import datetime, timedelta, timezone

from sqlmodel import Session

from benchmarks import _harness as h
from benchmarks._load import build_request, closed_loop
from booking.core.models import BookingStatus
from booking.scheduling import slots

DAYS = 60
BOOKINGS = 1000
ZONE = "America/New_York"


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(backend: str, *, runs: int) -> dict[str, float]:
    with h.fresh_database(backend) as url:
        engine = h.engine_of(url)
        builder_id, session_type_id = h.seed_builder(engine)
        now = datetime.now(timezone.utc)
        first = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        h.seed_bookings(engine, builder_id=builder_id, session_type_id=session_type_id, count=BOOKINGS,
                        status=BookingStatus.CONFIRMED, first_start=first, step=timedelta(minutes=80),
                        prefix="slots")
        from_day = (now + timedelta(days=1)).date()

        def search() -> int:
            with Session(engine) as session:
                return len(slots.find_open_slots(session=session, session_type_id=session_type_id, from_day=from_day,
                                                 days=DAYS, viewer_time_zone=ZONE, now=datetime.now(timezone.utc)))

        found = search()
        for _ in range(5):
            search()
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            search()
            samples.append((time.perf_counter() - started) * 1000)

        with h.app_server(url) as server:
            request = build_request("GET", f"/api/session-types/{session_type_id}/slots?from={from_day}"
                                    f"&days={DAYS}&tz={ZONE}", host=server.host)
            asyncio.run(closed_loop(h.HOST, server.port, [request] * 10, concurrency=1))  # warm
            api = asyncio.run(closed_loop(h.HOST, server.port, [request] * runs, concurrency=1))
        engine.dispose()

    if set(api.statuses()) != {200}:
        print(f"  !! API answers {api.statuses()}")
    in_process = statistics.median(samples)
    h.heading(f"Slot search, {backend}: {DAYS} days, {BOOKINGS} confirmed bookings ({h.cores()} cores)")
    h.figure("open slots found", str(found))
    h.figure(f"in-process, {runs} runs: median / p95",
             f"{in_process:6.1f} ms / {_percentile(samples, 0.95):6.1f} ms  ({h.goal(in_process <= 5)}: median <= 5 ms)")
    h.figure(f"through the API (HTTP, granian 1 worker), {runs} requests: median / p95",
             f"{api.median:6.1f} ms / {api.percentile(0.95):6.1f} ms  ({h.goal(api.median <= 25)}: median <= 25 ms)")
    return {"in_process": in_process, "api": api.median}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke run)")
    args = parser.parse_args(argv)
    for backend in h.backends():
        measure(backend, runs=20 if args.quick else 100)


if __name__ == "__main__":
    main()
