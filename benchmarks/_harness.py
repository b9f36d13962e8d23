"""What the benchmark scripts share: fresh databases, the app under granian on a free port, seed data,
and a plain way to print figures."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from datetime import time as dtime
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from booking.core.db import engine_for
from booking.core.migrations import PROJECT_ROOT
from booking.core.models import (
    AvailabilityRule,
    Booking,
    BookingStatus,
    Builder,
    CheckoutStatus,
    Client,
    Payment,
    PaymentStatus,
    SessionType,
)

WEBHOOK_SECRET = "whsec_bench_" + "b" * 24
# Every simulated client of a benchmark comes from 127.0.0.1: the abuse limits (booking/abuse.py) would
# take the load for an attack. Off for load tests; tests/integration covers them.
LOAD_TEST_LIMITS = {"MAX_HOLDS_PER_EMAIL": "0", "MAX_HOLDS_PER_IP": "0", "CHECKOUT_RATE_LIMIT": ""}
HOST = "127.0.0.1"


def postgres_admin_url() -> str:
    """BENCH_POSTGRES_URL, else TEST_POSTGRES_URL; empty: SQLite only."""
    return os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL") or ""


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if postgres_admin_url() else ["sqlite"]


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """A migrated, empty database (a SQLite file, or a new PostgreSQL database), dropped afterwards."""
    import tests.support.databases as databases

    databases.POSTGRES_ADMIN_URL = postgres_admin_url()
    with tempfile.TemporaryDirectory() as tmp, databases.temporary_database(backend, Path(tmp)) as url:
        yield url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@dataclass
class AppServer:
    port: int
    process: subprocess.Popen
    log_path: Path
    job_worker: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"


@contextmanager
def app_server(database_url: str, *, workers: int = 1, redis_url: str | None = None, fake_gateway: bool = True,
               stripe_api_base: str | None = None, extra_env: dict[str, str] | None = None,
               job_worker: bool = True) -> Iterator[AppServer]:
    """The production ASGI stack (benchmarks/_asgi.py) under granian, as `reflex run --env prod` serves it,
    and (as `make run`) the job worker beside it (benchmarks/_worker.py)."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="bench-app-"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("STRIPE_", "DATABASE_URL", "PUBLIC_URL", "REDIS_URL", "WORKERS", "GRANIAN_"))}
    env.update({
        "PYTHONPATH": str(PROJECT_ROOT), "DATABASE_URL": database_url, "PUBLIC_URL": f"http://{HOST}:{port}",
        "STRIPE_SECRET_KEY": "sk_test_bench", "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "BENCH_FAKE_GATEWAY": "1" if fake_gateway else "0", "MAIL_DIR": str(workdir / "mail"),
        "SECRET_KEY_FILE": str(workdir / "secret_key"), "REFLEX_TELEMETRY_ENABLED": "false",
        **LOAD_TEST_LIMITS,
    })
    if stripe_api_base:
        env["STRIPE_API_BASE"] = stripe_api_base
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra_env or {})
    log_path = workdir / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", HOST, "--port", str(port),
             "--workers", str(workers), "--log-level", "warning", "benchmarks._asgi:create_app"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = AppServer(port=port, process=process, log_path=log_path)
    try:
        if job_worker:
            with open(workdir / "job-worker.log", "wb") as log:
                server.job_worker = subprocess.Popen([sys.executable, "-m", "benchmarks._worker"], cwd=PROJECT_ROOT,
                                                     env=env, stdout=log, stderr=subprocess.STDOUT,
                                                     start_new_session=True)
        _wait_healthy(server)
        yield server
    finally:
        for child in (process, server.job_worker):
            if child is None:
                continue
            child.terminate()
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _wait_healthy(server: AppServer, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the app exited early:\n{server.log_path.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{server.url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the app was not healthy in {timeout}s:\n{server.log_path.read_text(errors='replace')[-3000:]}")


# --- seed data -----------------------------------------------------------------------------------------

def seed_builder(engine: Engine, *, slug: str = "bench", hours: tuple[int, int] = (0, 24),
                 horizon_days: int = 365) -> tuple[int, int]:
    """A builder open every day (in UTC) with one 60-minute, £50 session type: (builder id, session type id)."""
    with Session(engine) as session:
        builder = Builder(name=f"Bench {slug}", slug=slug, email=f"{slug}@bench.example", time_zone="UTC",
                          min_notice_minutes=0, horizon_days=horizon_days)
        session.add(builder)
        session.flush()
        end = dtime(23, 59) if hours[1] >= 24 else dtime(hours[1])
        for weekday in range(7):
            session.add(AvailabilityRule(builder_id=builder.id, weekday=weekday, start_time=dtime(hours[0]),
                                         end_time=end))
        session_type = SessionType(builder_id=builder.id, name="Bench call", duration_minutes=60,
                                   price_amount=5000, currency="gbp")
        session.add(session_type)
        session.commit()
        return builder.id, session_type.id


def seed_bookings(engine: Engine, *, builder_id: int, session_type_id: int, count: int, status: BookingStatus,
                  first_start: datetime, step: timedelta = timedelta(hours=1), prefix: str = "bench") -> list[str]:
    """`count` bookings one after another from `first_start`; pending ones hold a Checkout Session
    (`cs_<prefix>_<n>`) with its Payment row, as start_checkout leaves them. Returns their ids."""
    now = datetime.now(timezone.utc)
    ids = []
    with Session(engine) as session:
        client = Client(name="Bench Client", email=f"{prefix}-client@bench.example")
        session.add(client)
        session.flush()
        for n in range(count):
            start = first_start + n * step
            pending = status == BookingStatus.PENDING
            booking = Booking(
                client_id=client.id, builder_id=builder_id, session_type_id=session_type_id, start_time=start,
                end_time=start + timedelta(hours=1), amount=5000, currency="gbp", status=status,
                payment_status=PaymentStatus.UNPAID if pending else PaymentStatus.PAID,
                checkout_session_id=f"cs_{prefix}_{n}", checkout_attempts=1, client_name="Bench Client",
                hold_expires_at=now + timedelta(hours=6) if pending else None,
                confirmed_at=None if pending else now,
            )
            session.add(booking)
            ids.append(booking.id)
            session.add(Payment(booking_id=booking.id, attempt=1, checkout_session_id=booking.checkout_session_id,
                                amount=5000, currency="gbp",
                                status=CheckoutStatus.OPEN if pending else CheckoutStatus.PAID))
            if n % 500 == 499:
                session.flush()
        session.commit()
    return ids


def engine_of(url: str) -> Engine:
    return engine_for(url)


# --- printing ------------------------------------------------------------------------------------------

def heading(text: str) -> None:
    print(f"\n== {text}", flush=True)


def figure(label: str, value: str) -> None:
    print(f"  {label:<58} {value}", flush=True)


def goal(met: bool) -> str:
    return "goal met" if met else "GOAL MISSED"
