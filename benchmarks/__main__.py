"""Every benchmark, one after another: `python -m benchmarks` (see the README's "Benchmarks").

    TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python -m benchmarks
    .venv/bin/python -m benchmarks --quick                     # a smoke run, SQLite only when no URL is set
    .venv/bin/python -m benchmarks --only slot_search,webhook_ingest

PostgreSQL is measured too when BENCH_POSTGRES_URL (or TEST_POSTGRES_URL) names a server where new
databases may be created; Redis at BENCH_REDIS_URL (default redis://127.0.0.1:6379/13) for the
several-workers run. Each script prints its figures with the goal it is measured against.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import time
from datetime import datetime, timezone

from benchmarks import _harness as h

SCRIPTS = ["slot_search", "checkout_race", "webhook_ingest", "workers", "booking_page", "event_loop"]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="Run every benchmark.")
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke test of the scripts)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(SCRIPTS)}")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()] or SCRIPTS
    unknown = sorted(set(chosen) - set(SCRIPTS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    print(f"Benchmarks, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: {h.cores()} cores, "
          f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"databases: {', '.join(h.backends())}")
    for name in chosen:
        started = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        module.main(["--quick"] if args.quick else [])
        print(f"  ({name} took {time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
