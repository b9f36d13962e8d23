"""The job worker (`python -m booking.worker`, booking/ops/worker.py): a process apart from the web server that
applies stored webhook events and sends the outbox, stops cleanly on SIGTERM, and, with several job
workers, runs each job in the one that leads (booking/ops/locks.py)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlmodel import Session

from booking.core.config import load_settings
from booking.core.models import Booking, BookingStatus, EventStatus, StripeEvent
from booking.events.processor import accept_webhook
from booking.ops import worker as job_worker
from tests.factories import hold_session_id, make_client, make_hold
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
