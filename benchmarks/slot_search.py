"""Slot search: 60 days for a builder with 1,000 confirmed bookings and 500 other busy spans, before and
after the steady-day fast path, in-process and through the API.

    .venv/bin/python -m benchmarks.slot_search [--quick]

The builder is open around the clock (UTC) with 60-minute sessions; the 1,000 confirmed bookings lie
inside the searched 60 days (one every 80 minutes), so the search subtracts every one of them. 500 more
busy spans stand in for external calendars' events (which do not exist yet): a third come from weekly
recurrences expanded up front in Europe/London (across its DST change when the range holds one), the
rest are one-off events. They reach the search the way external calendars will: a source registered
with `booking.scheduling.busy.register_busy_source`. The viewer is in New York.

In-process: `slots.find_open_slots` in a fresh session each time. Through the API:
`GET /api/session-types/{id}/slots?days=60` against the app under granian, one request at a time.
"Before" is the per-candidate walk it replaced (tests/support/slots_reference.py), measured in the
same run on the same data; through the API the app is started a second time with it in place.

Goals (issue 17, item 8): median <= 5 ms in-process, <= 25 ms through the API.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlmodel import Session

from benchmarks import _harness as h
from benchmarks._load import build_request, closed_loop
from booking.core.models import BookingStatus
from booking.scheduling import busy, slots

DAYS = 60
BOOKINGS = 1000
OTHER_BUSY = 500
ZONE = "America/New_York"
SOURCE = "bench-calendar"
# The app under granian registers the same spans when these are set (benchmarks/_asgi.py).
ENV_FIRST = "BENCH_SLOT_BUSY_FROM"
ENV_BEFORE = "BENCH_SLOT_SEARCH_BEFORE"


def other_busy_spans(first: datetime) -> list[tuple[datetime, datetime]]:
    """500 spans over the 60 days from `first`: a third from weekly recurrences (each event expanded to
    its occurrences in its own zone, as recurring-ical-events will), the rest one-off; deterministic."""
    rng = random.Random(17)
    london = ZoneInfo("Europe/London")
    spans: list[tuple[datetime, datetime]] = []
    recurring = OTHER_BUSY // 3
    while len(spans) < recurring:
        local_start = datetime.combine(first.date() + timedelta(days=rng.randrange(7)),
                                       datetime.min.time()).replace(hour=rng.randrange(7, 20),
                                                                    minute=rng.choice((0, 15, 30, 45)))
        length = timedelta(minutes=rng.choice((30, 45, 60, 90)))
        for week in range(DAYS // 7 + 1):
            if len(spans) == recurring:
                break
            start = (local_start + timedelta(weeks=week)).replace(tzinfo=london).astimezone(timezone.utc)
            spans.append((start, start + length))
    while len(spans) < OTHER_BUSY:
        start = first + timedelta(minutes=15 * rng.randrange(DAYS * 96))
        spans.append((start, start + timedelta(minutes=rng.choice((15, 30, 60, 120, 240)))))
    return spans


def register_other_busy(first: datetime) -> list[tuple[datetime, datetime]]:
    """Register the 500 spans as a busy source (what an external calendar will do); returns them."""
    spans = other_busy_spans(first)

    def source(*, session, builder_id: int, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        return [(s, e) for s, e in spans if s < end and e > start]

    busy.register_busy_source(SOURCE, source)
    return spans


def use_before_in_app() -> None:
    """In the app under granian: answer slot requests with the per-candidate walk (the "before" server)."""
    from booking_ui import api
    from tests.support.slots_reference import per_candidate_find_open_slots

    spans = other_busy_spans(datetime.fromisoformat(os.environ[ENV_FIRST]))
    busy.unregister_busy_source(SOURCE)  # the old path had no seam: it gets the spans directly

    def before(**kwargs):
        return per_candidate_find_open_slots(other_busy=spans, **kwargs)

    api.find_open_slots = before


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _timed(search: Callable[[], int], runs: int, cpu: list[float]) -> list[float]:
    """Wall-clock ms per search; appends this process's CPU ms per search to `cpu` (on a machine shared
    with other work, the CPU time shows what the search itself costs)."""
    for _ in range(5):
        search()
    samples = []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        search()
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return samples


def _api(url: str, session_type_id: int, from_day: date, first: datetime, runs: int, *, before: bool):
    env = {ENV_FIRST: first.isoformat(), ENV_BEFORE: "1" if before else ""}
    with h.app_server(url, extra_env=env, job_worker=False) as server:
        request = build_request("GET", f"/api/session-types/{session_type_id}/slots?from={from_day}"
                                f"&days={DAYS}&tz={ZONE}", host=server.host)
        asyncio.run(closed_loop(h.HOST, server.port, [request] * 10, concurrency=1))  # warm
        return asyncio.run(closed_loop(h.HOST, server.port, [request] * runs, concurrency=1))


def measure(backend: str, *, runs: int) -> dict[str, float]:
    from tests.support.slots_reference import per_candidate_find_open_slots

    with h.fresh_database(backend) as url:
        engine = h.engine_of(url)
        builder_id, session_type_id = h.seed_builder(engine)
        now = datetime.now(timezone.utc)
        first = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        h.seed_bookings(engine, builder_id=builder_id, session_type_id=session_type_id, count=BOOKINGS,
                        status=BookingStatus.CONFIRMED, first_start=first, step=timedelta(minutes=80),
                        prefix="slots")
        spans = register_other_busy(first)
        from_day = (now + timedelta(days=1)).date()

        def after() -> list:
            with Session(engine) as session:
                return slots.find_open_slots(session=session, session_type_id=session_type_id, from_day=from_day,
                                             days=DAYS, viewer_time_zone=ZONE, now=datetime.now(timezone.utc))

        def before() -> list:
            with Session(engine) as session:
                return per_candidate_find_open_slots(session=session, session_type_id=session_type_id,
                                                     from_day=from_day, days=DAYS, viewer_time_zone=ZONE,
                                                     now=datetime.now(timezone.utc), other_busy=spans)

        found, found_before = after(), before()
        same = [(s.start, s.end) for s in found] == [(s.start, s.end) for s in found_before]
        # Interleaved rounds, so a burst of load elsewhere on the machine hits both alike.
        before_ms: list[float] = []
        after_ms: list[float] = []
        before_cpu: list[float] = []
        after_cpu: list[float] = []
        for _ in range(5):
            before_ms += _timed(before, runs // 5, before_cpu)
            after_ms += _timed(after, runs // 5, after_cpu)
        busy.unregister_busy_source(SOURCE)

        api_before = _api(url, session_type_id, from_day, first, runs, before=True)
        api_after = _api(url, session_type_id, from_day, first, runs, before=False)
        engine.dispose()

    for run in (api_before, api_after):
        if set(run.statuses()) != {200}:
            print(f"  !! API answers {run.statuses()}")
    in_process, old = statistics.median(after_ms), statistics.median(before_ms)
    h.heading(f"Slot search, {backend}: {DAYS} days, {BOOKINGS} confirmed bookings, {OTHER_BUSY} other busy spans "
              f"({OTHER_BUSY // 3} from weekly recurrences) ({h.cores()} cores)")
    h.figure("open slots found (before = after)", f"{len(found)} ({'same' if same else 'DIFFERENT'})")
    h.figure(f"in-process before, {len(before_ms)} runs: median / p95",
             f"{old:6.1f} ms / {_percentile(before_ms, 0.95):6.1f} ms  (CPU median {statistics.median(before_cpu):.1f} ms)")
    h.figure(f"in-process after, {len(after_ms)} runs: median / p95",
             f"{in_process:6.1f} ms / {_percentile(after_ms, 0.95):6.1f} ms  "
             f"({h.goal(in_process <= 5)}: median <= 5 ms; CPU median {statistics.median(after_cpu):.1f} ms)")
    h.figure(f"through the API before (HTTP, granian 1 worker), {runs} requests",
             f"{api_before.median:6.1f} ms / {api_before.percentile(0.95):6.1f} ms")
    h.figure(f"through the API after, {runs} requests: median / p95",
             f"{api_after.median:6.1f} ms / {api_after.percentile(0.95):6.1f} ms  "
             f"({h.goal(api_after.median <= 25)}: median <= 25 ms)")
    if not same:
        print("  !! the fast path and the per-candidate walk disagree")
    return {"in_process": in_process, "in_process_before": old, "api": api_after.median,
            "api_before": api_before.median}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke run)")
    args = parser.parse_args(argv)
    for backend in h.backends():
        measure(backend, runs=20 if args.quick else 100)


if __name__ == "__main__":
    main()
