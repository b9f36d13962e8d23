"""Two workers against one: create-checkout throughput.

    .venv/bin/python -m benchmarks.workers [--quick]

The app under granian with 1 worker, then with 2 (REDIS_URL set in both runs, as several workers need),
against the same database. 16 concurrent senders create holds on distinct free slots of 20 builders (no
two calls want the same slot), so the figure is the app's own throughput. Stripe is the in-memory fake
gateway inside each worker (tests/support/fake_gateway.py), so the emulator's speed is not measured.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from datetime import datetime, timedelta, timezone

from benchmarks import _harness as h
from benchmarks._load import closed_loop, json_request

BUILDERS = 20
SENDERS = 16
HOURS_A_DAY = 23  # 60-minute sessions starting 00:00 ... 22:00
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def measure(backend: str, *, calls: int) -> dict[int, float]:
    throughput: dict[int, float] = {}
    with h.fresh_database(backend) as url:
        engine = h.engine_of(url)
        types = [h.seed_builder(engine, slug=f"w{n}")[1] for n in range(BUILDERS)]
        base = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=2)
        for round_index, workers in enumerate((1, 2)):
            per_builder = -(-calls // BUILDERS)
            first = base + timedelta(days=round_index * (per_builder // HOURS_A_DAY + 2))

            def nth_slot(k: int, first: datetime = first) -> datetime:  # builders are open 00:00-23:59 UTC
                return first + timedelta(days=k // HOURS_A_DAY, hours=k % HOURS_A_DAY)

            with h.app_server(url, workers=workers, redis_url=REDIS_URL) as server:
                def request(n: int, start: datetime, type_id: int, host: str = server.host,
                            tag: str = f"w{workers}") -> bytes:
                    return json_request("POST", "/api/payments/create-checkout-session", host=host, payload={
                        "session_type_id": str(type_id), "start_time": start.isoformat(), "client_name": "Bench",
                        "client_email": f"{tag}-{n}@bench.example"})

                warm = [request(n, first - timedelta(days=1) + timedelta(hours=n % HOURS_A_DAY), types[n % BUILDERS],
                                tag=f"warm{workers}") for n in range(20)]
                asyncio.run(closed_loop(h.HOST, server.port, warm, concurrency=SENDERS))
                batch = [request(n, nth_slot(n // BUILDERS), types[n % BUILDERS]) for n in range(calls)]
                run = asyncio.run(closed_loop(h.HOST, server.port, batch, concurrency=SENDERS))
            if set(run.statuses()) != {201}:
                print(f"  !! {workers} worker(s): answers {run.statuses()}")
            throughput[workers] = run.throughput
            h.figure(f"{backend}, {workers} worker{'s' if workers > 1 else ''}: {calls} create-checkout calls",
                     f"{run.throughput:6.0f} calls/s  median {run.median:6.1f} ms  p99 {run.percentile(0.99):6.1f} ms")
        engine.dispose()
    h.figure(f"{backend}: 2 workers / 1 worker", f"{throughput[2] / throughput[1]:6.2f} x")
    return throughput


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (a smoke run)")
    args = parser.parse_args(argv)
    h.heading(f"Two workers against one: create-checkout throughput ({h.cores()} cores, {SENDERS} senders, "
              "fake Stripe gateway)")
    for backend in h.backends():
        measure(backend, calls=200 if args.quick else 600)


if __name__ == "__main__":
    main()
