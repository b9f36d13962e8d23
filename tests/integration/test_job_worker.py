"""The job worker (`python -m booking.worker`, booking/ops/worker.py): a process apart from the web server that
applies stored webhook events and sends the outbox, stops cleanly on SIGTERM, and, with several job
workers, runs each job in the one that leads (booking/ops/locks.py)."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from booking.core.config import load_settings
from booking.core.models import Booking, BookingStatus, EventStatus, PaymentStatus, StripeEvent
from booking.events.processor import accept_webhook
from booking.ops import worker as job_worker
from tests.factories import add_payment, hold_session_id, make_client, make_hold
from tests.support import stripe_events as se
from tests.support.fake_gateway import FakeGateway
from tests.support.processes import wait_until

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def status_of(engine, booking_id: str) -> BookingStatus:
    with Session(engine) as s:
        return s.get(Booking, booking_id).status


def test_python_m_booking_worker_applies_a_stored_event_sends_the_email_and_stops_on_sigterm(
        engine, session, database_url, tmp_path: Path):
    client = make_client(session, name="Zelda Quartermaine", email="zelda.quartermaine@example.com")
    hold = make_hold(session, client=client)
    session.commit()
    event = se.event("checkout.session.completed", se.checkout_session(hold.id, hold_session_id(hold)))
    payload = se.encode(event)
    stored = accept_webhook(engine=engine, gateway=FakeGateway(), payload=payload, signature=se.sign(payload))
    assert stored.body["queued"] is True
    mail_dir, log_path = tmp_path / "mail", tmp_path / "worker.log"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "REDIS_URL", "SMTP_URL"))},
           "DATABASE_URL": database_url, "PYTHONPATH": os.pathsep.join(sys.path), "WEBHOOK_PROCESSING": "worker",
           "STRIPE_SECRET_KEY": "sk_test_job_worker", "STRIPE_WEBHOOK_SECRET": se.WEBHOOK_SECRET,
           "STRIPE_API_BASE": "http://127.0.0.1:9", "MAIL_DIR": str(mail_dir),
           "NOTIFICATION_INTERVAL_SECONDS": "0.2", "WEBHOOK_WORKER_INTERVAL_SECONDS": "0.1",
           "SWEEP_INTERVAL_SECONDS": "0.5"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "booking.worker"], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: status_of(engine, hold.id) == BookingStatus.CONFIRMED, timeout=30,
                   message="the job worker to apply the stored event")
        wait_until(lambda: any(mail_dir.glob("*.eml")), timeout=30, message="the confirmation email")
        with Session(engine) as s:
            assert s.get(StripeEvent, event["id"]).status == EventStatus.PROCESSED

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0  # stopped cleanly, after its ticks in progress
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log_path.read_text()
    assert "SIGTERM" in output and "job worker stopped" in output
    assert "Traceback" not in output
    # The log tells what ran, never who booked.
    assert "zelda" not in output.lower() and "quartermaine" not in output.lower()


@pytest.fixture
def unanswering_server() -> Iterator[tuple[str, threading.Event]]:
    """An HTTP address that takes connections and never answers (a Stripe emulator stopping at the same moment):
    its URL, and an event set once a request is waiting on it."""
    listener = socket.create_server(("127.0.0.1", 0))
    connected, held = threading.Event(), []

    def take_connections() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:  # the listener closed at the end of the test
                return
            connected.set()

    threading.Thread(target=take_connections, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", connected
    finally:
        listener.close()
        for connection in held:
            connection.close()


@pytest.fixture
def worker_stuck_on_stripe(engine, session, database_url, tmp_path: Path,
                           unanswering_server) -> Iterator[tuple[subprocess.Popen, Path]]:
    """`python -m booking.worker` with a tick waiting on Stripe (10 s timeout, retried twice), its signal handlers
    in place: the process and its log."""
    stripe_url, stripe_called = unanswering_server
    hold = make_hold(session)
    # A paid charge without its Stripe fee: the money-journal job asks Stripe for it.
    add_payment(session, hold, attempt=2, status=PaymentStatus.PAID, payment_intent_id="pi_test_fee_unknown")
    session.commit()
    log_path = tmp_path / "worker.log"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "REDIS_URL", "SMTP_URL"))},
           "DATABASE_URL": database_url, "PYTHONPATH": os.pathsep.join(sys.path), "MAIL_DIR": str(tmp_path / "mail"),
           "STRIPE_SECRET_KEY": "sk_test_job_worker", "STRIPE_API_BASE": stripe_url, "SWEEP_INTERVAL_SECONDS": "0.2"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "booking.worker"], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        assert stripe_called.wait(30), "the money-journal job never asked Stripe"
        wait_until(lambda: b"job worker started" in log_path.read_bytes(), timeout=10, message="the signal handlers")
        yield process, log_path
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_job_worker_waiting_on_an_unanswering_stripe_still_exits_0_within_seconds_of_sigterm(
        worker_stuck_on_stripe):
    """`make run` stops the emulator and the job worker together: a tick stuck on a Stripe call must not keep the
    worker alive for the call's timeout and retries; it is abandoned (the next worker asks again)."""
    process, log_path = worker_stuck_on_stripe
    process.send_signal(signal.SIGTERM)
    asked_to_stop = time.monotonic()
    assert process.wait(timeout=10) == 0
    assert time.monotonic() - asked_to_stop < job_worker.STOP_GRACE_SECONDS + 3
    assert "a tick still running after" in log_path.read_text()


def test_a_second_sigterm_stops_the_job_worker_at_once(worker_stuck_on_stripe):
    process, log_path = worker_stuck_on_stripe
    process.send_signal(signal.SIGTERM)
    wait_until(lambda: b"stopping after the ticks in progress" in log_path.read_bytes(), timeout=5, interval=0.02,
               message="the first SIGTERM to be taken")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=job_worker.STOP_GRACE_SECONDS - 2) == 0  # sooner than the grace
    assert "SIGTERM again: stopping now" in log_path.read_text()


def counting_job(name: str, ran: list[str], who: str) -> job_worker.Job:
    return job_worker.Job(name, every=lambda _s: 0.02, tick=lambda _ctx: ran.append(who))


def test_two_job_workers_run_a_job_in_the_leader_only_and_the_other_takes_over_when_it_stops(engine):
    """Two job workers share a leader lock (Redis here; PostgreSQL's advisory lock is test_locks.py's)."""
    settings = load_settings(DATABASE_URL=str(engine.url.render_as_string(hide_password=False)), REDIS_URL=REDIS_URL)
    name, ran = f"test-job-{secrets.token_hex(4)}", []
    first = job_worker.Worker(job_worker.Context(settings=settings, engine=engine), jobs=(counting_job(name, ran, "a"),))
    second = job_worker.Worker(job_worker.Context(settings=settings, engine=engine),
                               jobs=(counting_job(name, ran, "b"),))
    first.start()
    try:
        wait_until(lambda: len(ran) >= 3, timeout=10, interval=0.01, message="the first worker to lead")
        second.start()
        wait_until(lambda: len(ran) >= 15, timeout=10, interval=0.01, message="more ticks")
        assert set(ran) == {"a"}  # the second worker stands by

        first.stop()
        assert first.wait(grace_seconds=10)  # its lead released on the way out
        wait_until(lambda: "b" in ran, timeout=10, interval=0.01, message="the second worker to take over")
    finally:
        first.stop()
        second.stop()
        assert second.wait(grace_seconds=10)


def test_a_failing_tick_is_logged_and_the_job_goes_on(engine, caplog: pytest.LogCaptureFixture):
    settings = load_settings(DATABASE_URL=str(engine.url.render_as_string(hide_password=False)))
    calls: list[int] = []
    enough = threading.Event()

    def flaky(_ctx: job_worker.Context) -> None:
        calls.append(1)
        if len(calls) >= 3:
            enough.set()
        raise RuntimeError("database hiccup")

    worker = job_worker.Worker(job_worker.Context(settings=settings, engine=engine),
                               jobs=(job_worker.Job("flaky", every=lambda _s: 0.01, tick=flaky),))
    worker.start()
    try:
        assert enough.wait(10)
    finally:
        worker.stop()
        assert worker.wait(grace_seconds=10)
    assert "job flaky failed" in caplog.text


def test_the_registry_holds_every_background_job_and_the_processor_only_in_worker_mode(engine):
    url = str(engine.url.render_as_string(hide_password=False))
    inline = job_worker.Worker(job_worker.Context(settings=load_settings(DATABASE_URL=url), engine=engine))
    stored = job_worker.Worker(job_worker.Context(settings=load_settings(DATABASE_URL=url, WEBHOOK_PROCESSING="worker"),
                                                  engine=engine))

    money = ["money-journal", "held-funds", "dispute-recovery"]
    calendars = ["calendar-sync", "calendar-writeback"]
    later = [*money, *calendars, "credit-expiry"]
    # (the reminders job runs beside the outbox)
    assert [job.name for job in inline.jobs] == ["hold-sweeper", "late-refunds", "outbox", "reminders", *later]
    assert [job.name for job in stored.jobs] == ["hold-sweeper", "late-refunds", "outbox", "reminders", *later,
                                                 "webhook-events"]
