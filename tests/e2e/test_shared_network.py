"""Six clients behind one address (an office's network) each pick a time on the booking page and pay on the
emulator's hosted Checkout in Chromium, one after another: all six are confirmed. The app runs as in
production (two workers sharing Redis) with a per-network cap of two live holds, so the test fails if a
paid hold kept counting against the network. Every browser here comes from 127.0.0.1, one address."""

from __future__ import annotations

import os
import re
import sys
import uuid
from collections.abc import Iterator
from datetime import time
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Browser, expect
from sqlmodel import Session, select

from booking.core.db import engine_for
from booking.core.migrations import PROJECT_ROOT
from booking.core.models import Booking, BookingStatus
from tests.conftest import free_port
from tests.factories import make_builder, make_session_type
from tests.support.app_server import AppServer, start_app
from tests.support.databases import temporary_database
from tests.support.processes import ServerProcess

pytestmark = pytest.mark.e2e

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
WEBHOOK_SECRET = "whsec_network_" + "n" * 24


@pytest.fixture(scope="module")
def office_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, str]]:
    """The app on two workers with Redis, its own database and emulator, at most 2 live holds per network."""
    assert redis.Redis.from_url(REDIS_URL).ping(), f"Redis is needed at {REDIS_URL}"
    workdir = Path(tmp_path_factory.mktemp("shared-network"))
    app_port, emulator_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    emulator = ServerProcess(
        [sys.executable, "-m", "stripe_emulator", "--port", str(emulator_port), "--public-url", emulator_url,
         "--webhook-url", f"http://127.0.0.1:{app_port}/api/payments/webhook",
         "--state-file", str(workdir / "emulator.sqlite3"), "--test-mode", "--retry-schedule", "0.5,1,2,4"],
        cwd=PROJECT_ROOT, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT),
                               "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET},
        log_path=workdir / "emulator.log",
    )
    try:
        emulator.wait_ready(f"{emulator_url}/", timeout=30)
        with temporary_database("sqlite", workdir) as database_url:
            app = start_app(workdir, port=app_port, settings={
                "DATABASE_URL": database_url, "WORKERS": "2", "REDIS_URL": REDIS_URL,
                "PUBLIC_URL": f"http://127.0.0.1:{app_port}", "STRIPE_SECRET_KEY": "sk_test_network",
                "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": emulator_url,
                "MAIL_DIR": str(workdir / "mail"), "NOTIFICATION_INTERVAL_SECONDS": "0.5",
                "SWEEP_INTERVAL_SECONDS": "1", "MAX_HOLDS_PER_IP": "2",
                "CHECKOUT_RATE_LIMIT": "", "MAX_HOLDS_PER_EMAIL": "2",
            })
            try:
                yield app, database_url
            finally:
                app.stop()
    finally:
        emulator.stop()


def test_six_clients_on_one_network_each_book_and_pay(office_app, browser: Browser):
    app, database_url = office_app
    engine = engine_for(database_url)
    tag = uuid.uuid4().hex[:8]
    with Session(engine, expire_on_commit=False) as session:
        builder = make_builder(session, name=f"Office {tag}", slug=f"office-{tag}", time_zone="Europe/London",
                               hours=(time(0, 0), time(23, 0)), min_notice_minutes=60)
        session_type = make_session_type(session, builder, price_amount=4200, currency="gbp", name="Pairing")
        session.commit()

    for n in range(6):
        context = browser.new_context()  # another person on the same network
        page = context.new_page()
        page.goto(f"{app.url}/book/{session_type.id}")
        first_slot = page.get_by_test_id("slot").first
        expect(first_slot).to_be_visible()
        first_slot.click()
        page.get_by_label("Name").fill(f"Colleague {n}")
        page.get_by_label("Email").fill(f"colleague{n}-{tag}@example.com")
        page.get_by_role("button", name=re.compile(r"^Pay")).click()
        expect(page.get_by_label("Card number")).to_be_visible(timeout=30_000)
        page.get_by_label("Card number").fill("4242 4242 4242 4242")
        page.get_by_label("Expiry").fill("12/34")
        page.get_by_label("CVC").fill("123")
        page.get_by_label("Cardholder name").fill(f"Colleague {n}")
        page.get_by_role("button", name="Pay").click()
        expect(page.get_by_test_id("booking-confirmed")).to_be_visible(timeout=30_000)
        context.close()

    with Session(engine) as session:
        statuses = session.exec(select(Booking.status).where(Booking.session_type_id == session_type.id)).all()
    assert statuses == [BookingStatus.CONFIRMED] * 6
