"""The production build on two web workers (WORKERS=2, Redis for state) and two job workers
(`python -m booking.worker` twice, as JOB_WORKERS=2 starts them), end to end: a client books and pays
through the emulator's hosted Checkout, the webhook is stored and applied by the job worker that leads
(WEBHOOK_PROCESSING=worker, as `make run` serves it), one confirmation email goes out (the leader locks
keep the outbox to one runner across the job workers), and the builder signs in and sees the booking. Every page of ours is
served with the Content-Security-Policy, and the browser reports no violation of it.

Runs on SQLite and, when TEST_POSTGRES_URL is set, on a fresh PostgreSQL database; needs Redis
(TEST_REDIS_URL, default redis://127.0.0.1:6379/11).
"""

from __future__ import annotations

import email
import os
import re
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from booking.core.db import engine_for
from booking.core.migrations import PROJECT_ROOT
from booking.core.models import Booking, BookingStatus, EventStatus, StripeEvent, UserAccount, UserRole
from tests.conftest import free_port
from tests.factories import make_builder, make_session_type
from tests.support.admin_states import PASSWORD, password_hash
from tests.support.app_server import AppServer, start_app
from tests.support.databases import backends, temporary_database
from tests.support.processes import ServerProcess, wait_until

pytestmark = pytest.mark.e2e

WORKERS = 2
JOB_WORKERS = 2
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
WEBHOOK_SECRET = "whsec_workers_" + "w" * 24
CARD_OK = "4242 4242 4242 4242"


@dataclass
class Deployment:
    app: AppServer
    database_url: str
    mail_dir: Path


@pytest.fixture(scope="module", params=backends())
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """The app on WORKERS=2 with REDIS_URL, its own database and its own Stripe emulator."""
    assert redis.Redis.from_url(REDIS_URL).ping(), f"Redis is needed at {REDIS_URL}"
    workdir = Path(tmp_path_factory.mktemp(f"workers-{request.param}"))
    app_port, emulator_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    emulator = ServerProcess(
        [sys.executable, "-m", "stripe_emulator", "--port", str(emulator_port), "--public-url", emulator_url,
         "--webhook-url", f"http://127.0.0.1:{app_port}/api/payments/webhook",
         "--state-file", str(workdir / "emulator.sqlite3"), "--test-mode", "--retry-schedule", "0.5,1,2,4"],
        cwd=PROJECT_ROOT, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT), "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET},
        log_path=workdir / "emulator.log",
    )
    try:
        emulator.wait_ready(f"{emulator_url}/", timeout=30)
        with temporary_database(request.param, workdir) as database_url:
            app = start_app(workdir, port=app_port, settings={
                "DATABASE_URL": database_url, "WORKERS": str(WORKERS), "REDIS_URL": REDIS_URL,
                "PUBLIC_URL": f"http://127.0.0.1:{app_port}", "STRIPE_SECRET_KEY": "sk_test_workers",
                "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": emulator_url,
                "MAIL_DIR": str(workdir / "mail"), "NOTIFICATION_INTERVAL_SECONDS": "0.5",
                "SWEEP_INTERVAL_SECONDS": "1",
                "MAX_HOLDS_PER_IP": "0", "CHECKOUT_RATE_LIMIT": "",  # every browser here is 127.0.0.1
                # As `make run` serves it: the webhook stored and answered, the job worker applies it.
                "WEBHOOK_PROCESSING": "worker", "JOB_WORKERS": str(JOB_WORKERS),
            }, job_workers=JOB_WORKERS)
            try:
                yield Deployment(app=app, database_url=database_url, mail_dir=workdir / "mail")
            finally:
                app.stop()
    finally:
        emulator.stop()


@pytest.fixture
def builder_with_sign_in(deployment: Deployment):
    tag = uuid.uuid4().hex[:8]
    with Session(engine_for(deployment.database_url), expire_on_commit=False) as session:
        builder = make_builder(session, name=f"Wendy {tag}", slug=f"wendy-{tag}", time_zone="Europe/London",
                               hours=(time(0, 0), time(23, 0)), min_notice_minutes=60)
        session_type = make_session_type(session, builder, price_amount=4200, currency="gbp", name=f"Pairing {tag}")
        user = UserAccount(email=f"wendy-{tag}@e2e.test", password_hash=password_hash(), role=UserRole.BUILDER,
                           builder_id=builder.id)
        session.add(user)
        session.commit()
        return {"session_type": session_type, "email": user.email, "tag": tag}


def app_processes(app: AppServer) -> list[int]:
    """The server's processes: `reflex run` and the granian workers it forks (one process group)."""
    group = os.getpgid(app.process.process.pid)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) == group and b"reflex" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
    return found


class PolicyWatch:
    """Collects every Content-Security-Policy violation the browser reports on our pages."""

    def __init__(self, page: Page, app_url: str) -> None:
        self.violations: list[str] = []
        self.app_url = app_url
        page.expose_function("__reportCspViolation", self._report)
        page.add_init_script("""document.addEventListener('securitypolicyviolation', e =>
            window.__reportCspViolation(`${e.documentURI} ${e.violatedDirective} ${e.blockedURI}`));""")
        page.on("console", self._console)

    def _report(self, text: str) -> None:
        if text.startswith(self.app_url):
            self.violations.append(text)

    def _console(self, message) -> None:
        url = (message.location or {}).get("url", "")
        if "Content Security Policy" in message.text and url.startswith(self.app_url):
            self.violations.append(message.text)


def redis_values(store: redis.Redis) -> list[bytes]:
    """Every value in the Redis database (Reflex's pickled states are strings; counters and locks too)."""
    values: list[bytes] = []
    for key in store.scan_iter(count=1000):
        kind = store.type(key)
        if kind == b"string":
            values.append(store.get(key) or b"")
        elif kind == b"hash":
            values.extend(k + b"=" + v for k, v in store.hgetall(key).items())
        elif kind in (b"list", b"set", b"zset"):
            values.extend(store.lrange(key, 0, -1) if kind == b"list" else
                          store.smembers(key) if kind == b"set" else store.zrange(key, 0, -1))
    return values


def test_two_workers_serve_the_whole_booking_flow(deployment: Deployment, builder_with_sign_in, browser: Browser):
    app_url = deployment.app.url
    context = browser.new_context(timezone_id="Europe/London", locale="en-GB")
    context.set_default_timeout(30_000)
    page = context.new_page()
    watch = PolicyWatch(page, app_url)
    session_type, tag = builder_with_sign_in["session_type"], builder_with_sign_in["tag"]
    client_email = f"client-{tag}@example.com"

    first = page.goto(f"{app_url}/book/{session_type.id}")
    policy = {part.split()[0]: part.strip() for part in first.headers["content-security-policy"].split(";")}
    assert policy["frame-ancestors"] == "frame-ancestors *"  # a public booking page may be embedded; /admin never
    assert "'sha256-" in policy["script-src"] and "'unsafe-inline'" not in policy["script-src"]
    page.get_by_test_id("slot").first.click()
    page.get_by_label("Name").fill("Cleo Client")
    page.get_by_label("Email").fill(client_email)
    page.get_by_role("button", name=re.compile(r"^Pay")).click()
    page.get_by_label("Card number").fill(CARD_OK)
    page.get_by_label("Expiry").fill("12/34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Cardholder name").fill("Cleo Client")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_test_id("booking-confirmed")).to_be_visible()

    engine = engine_for(deployment.database_url)

    def booking() -> Booking | None:
        with Session(engine) as session:
            return session.exec(select(Booking).where(Booking.session_type_id == session_type.id)).first()

    wait_until(lambda: booking() is not None and booking().status == BookingStatus.CONFIRMED, timeout=30,
               message="the booking confirmed")

    def completion_applied() -> bool:  # the stored event, applied by a job worker
        with Session(engine) as session:
            return session.exec(select(StripeEvent).where(StripeEvent.type == "checkout.session.completed",
                                                          StripeEvent.booking_id == booking().id,
                                                          StripeEvent.status == EventStatus.PROCESSED)).first() is not None

    wait_until(completion_applied, timeout=30, message="checkout.session.completed applied")

    def confirmations() -> list[Path]:
        found = []
        for path in deployment.mail_dir.glob("*.eml"):
            message = email.message_from_bytes(path.read_bytes())
            if client_email in str(message["To"]) and "Confirmed" in str(message["Subject"]):
                found.append(path)
        return found

    wait_until(lambda: bool(confirmations()), timeout=30, message="the confirmation email")

    # The builder signs in (a websocket event on whichever worker) and finds the booking.
    page.goto(f"{app_url}/admin/login")
    page.get_by_label("Email").fill(builder_with_sign_in["email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signed-in-as")).to_have_text(builder_with_sign_in["email"])
    page.goto(f"{app_url}/admin/bookings")
    expect(page.get_by_test_id("booking-row").filter(has_text=client_email)).to_be_visible()
    page.reload()  # a fresh websocket, perhaps to the other worker: still signed in
    expect(page.get_by_test_id("booking-row").filter(has_text=client_email)).to_be_visible()

    # The session cookie is HttpOnly, and no state Reflex keeps in Redis holds its raw value.
    (session_cookie,) = [c for c in context.cookies() if c["name"] == "admin_session"]
    assert session_cookie["httpOnly"] and "admin_session" not in page.evaluate("document.cookie")
    stored = redis_values(redis.Redis.from_url(REDIS_URL))
    assert stored and not any(session_cookie["value"].encode() in blob for blob in stored)

    # The app really runs on two web workers and two job workers; and after many outbox ticks of both job
    # workers, the client has exactly one confirmation.
    assert len(app_processes(deployment.app)) >= WORKERS + 1  # the supervisor and its workers
    assert all(worker.process.poll() is None for worker in deployment.app.job_workers)
    assert len(confirmations()) == 1
    assert watch.violations == []
    context.close()
