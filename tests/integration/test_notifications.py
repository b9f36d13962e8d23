"""Outbox -> worker -> a real SMTP server (aiosmtpd) against the migrated test database.

Time moves through `now=`, never by sleeping. The test's `session` is committed before the worker
runs (on SQLite an open write transaction would block it) and state is read back in fresh sessions.
"""

from __future__ import annotations

import asyncio
import email
import itertools
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import quote

import icalendar
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.core.config import get_settings, load_settings
from booking.core.db import session_scope
from booking.core.models import (
    Booking,
    BookingStatus,
    Builder,
    Client,
    EndCause,
    Notification,
    NotificationStatus,
    Payment,
    PaymentStatus,
)
from booking.notifications.mailer import FolderMailer, SmtpMailer, mailer_from_settings
from booking.notifications.outbox import (
    SKIPPED_ALREADY_PAID,
    NotificationKind,
    backoff_delay,
    notification_worker,
    queue_booking_notifications,
    send_due_notifications,
)
from tests.conftest import free_port
from tests.factories import add_payment, make_builder, make_client, make_session_type

SESSION_START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 09:00 EST in New York, 14:00 GMT in London
_day = itertools.count()


# --- a real SMTP server -----------------------------------------------------------------------------


class CollectingHandler:
    """Keeps every message it accepts; refuses the addresses in `refused` with a permanent 550."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refused: set[str] = set()
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if address in message["To"]]


class SmtpServer:
    def __init__(self, port: int | None = None, **smtp_options: object) -> None:
        self.port = port or free_port()
        self.handler = CollectingHandler()
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **smtp_options)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


# --- data -------------------------------------------------------------------------------------------


_PAYMENT_FIELDS = ("amount_refunded", "checkout_url")  # the attempt's, not the booking's


def make_booking(
    session: Session,
    *,
    status: BookingStatus = BookingStatus.CONFIRMED,
    payment_status: PaymentStatus = PaymentStatus.PAID,
    start: datetime | None = None,
    builder: Builder | None = None,
    client: Client | None = None,
    **fields: object,
) -> Booking:
    builder = builder or make_builder(session, name="Ada Lovelace", time_zone="Europe/London")
    session_type = make_session_type(session, builder, name="1:1 call", price_amount=5000, currency="gbp")
    client = client or make_client(session, name="Grace Hopper")
    start = start or SESSION_START + timedelta(days=next(_day))
    booking = Booking(
        client_id=client.id,
        builder_id=builder.id,
        session_type_id=session_type.id,
        start_time=start,
        end_time=start + timedelta(hours=1),
        status=status,
        client_time_zone=fields.pop("client_time_zone", "America/New_York"),
        confirmed_at=start - timedelta(days=7) if status == BookingStatus.CONFIRMED else None,
        hold_expires_at=fields.pop("hold_expires_at", None),
        **{name: value for name, value in fields.items() if name not in _PAYMENT_FIELDS},
    )
    session.add(booking)
    session.flush()
    add_payment(session, booking, amount=5000, currency="gbp", status=payment_status,
                **{name: value for name, value in fields.items() if name in _PAYMENT_FIELDS})
    return booking


def notifications(engine: Engine) -> list[Notification]:
    with session_scope(engine) as session:
        return list(session.exec(select(Notification).order_by(Notification.id)).all())


def confirm_payment(engine: Engine, booking_id: str) -> None:
    with session_scope(engine) as session:
        booking = session.get(Booking, booking_id)
        booking.status = BookingStatus.CONFIRMED
        booking.confirmed_at = datetime.now(UTC)
        payment = session.exec(select(Payment).where(Payment.booking_id == booking_id)).one()
        payment.status, payment.paid_at = PaymentStatus.PAID, booking.confirmed_at


def later(seconds: float = 0) -> datetime:
    """A worker clock just after everything queued so far is due."""
    return datetime.now(UTC) + timedelta(seconds=1 + seconds)


def attachment(message: EmailMessage, filename: str) -> EmailMessage | None:
    return next((part for part in message.iter_attachments() if part.get_filename() == filename), None)


# --- queueing -----------------------------------------------------------------------------------------


def test_confirmation_queues_rows_for_client_and_builder(session: Session) -> None:
    booking = make_booking(session)

    rows = queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CONFIRMED)

    assert [row.recipient for row in rows] == [
        session.get(Client, booking.client_id).email,
        session.get(Builder, booking.builder_id).email,
    ]
    assert all(row.id is not None and row.status == NotificationStatus.PENDING for row in rows)
    assert rows[0].dedupe_key == f"booking_confirmed:{booking.id}:client:"
    assert rows[1].dedupe_key == f"booking_confirmed:{booking.id}:builder:"


def test_queueing_twice_for_the_same_cause_queues_once(session: Session, engine: Engine) -> None:
    booking = make_booking(session)

    first = queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CONFIRMED)
    again_in_same_transaction = queue_booking_notifications(
        session=session, booking=booking, kind=NotificationKind.BOOKING_CONFIRMED
    )
    session.commit()
    again_later = queue_booking_notifications(session=session, booking=booking, kind="booking_confirmed")
    session.commit()

    assert len(first) == 2 and again_in_same_transaction == [] and again_later == []
    assert len(notifications(engine)) == 2


def test_each_distinct_cause_is_queued(session: Session, engine: Engine) -> None:
    booking = make_booking(session, payment_status=PaymentStatus.PARTIALLY_REFUNDED, amount_refunded=1000)

    first = queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_REFUNDED, cause="re_1")
    second = queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_REFUNDED, cause="re_2")
    repeat = queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_REFUNDED, cause="re_1")
    long_cause = queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_REFUNDED, cause="x" * 400)
    session.commit()

    assert (len(first), len(second), repeat, len(long_cause)) == (2, 2, [], 2)
    assert all(len(row.dedupe_key) <= 255 for row in notifications(engine))


def test_a_concurrent_duplicate_is_swallowed_and_the_callers_transaction_stays_usable(session: Session, engine: Engine) -> None:
    booking = make_booking(session)
    session.commit()
    outcome: dict[str, object] = {}

    def second_caller() -> None:
        try:
            with session_scope(engine) as other:
                same_booking = other.get(Booking, booking.id)
                outcome["rows"] = queue_booking_notifications(
                    session=other, booking=same_booking, kind=NotificationKind.BOOKING_CONFIRMED
                )
                same_booking.end_note = "still writable"  # the transaction goes on after the clash
        except Exception as exc:
            outcome["error"] = exc

    first_rows = queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CONFIRMED)
    thread = threading.Thread(target=second_caller)
    thread.start()
    if engine.dialect.name == "postgresql":
        _wait_until_blocked_on_a_lock(engine)  # the second insert waits on our uncommitted unique key
    session.commit()
    thread.join(timeout=60)

    assert "error" not in outcome, outcome.get("error")
    assert len(first_rows) == 2 and outcome["rows"] == []
    assert len(notifications(engine)) == 2
    with session_scope(engine) as check:
        assert check.get(Booking, booking.id).end_note == "still writable"


def _wait_until_blocked_on_a_lock(engine: Engine) -> None:
    import time

    deadline = time.monotonic() + 20
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).scalar()
            connection.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the second transaction never waited on the first one's row")


def test_payment_reminders_are_client_only_and_never_queued_once_paid(session: Session) -> None:
    pending = make_booking(
        session, status=BookingStatus.PENDING, payment_status=PaymentStatus.FAILED,
        hold_expires_at=datetime.now(UTC) + timedelta(minutes=20),
    )
    paid = make_booking(session)

    failed_rows = queue_booking_notifications(session=session, booking=pending, kind=NotificationKind.PAYMENT_FAILED, cause="pi_1:1")
    expired_rows = queue_booking_notifications(session=session, booking=pending, kind=NotificationKind.HOLD_EXPIRED)
    for_paid = queue_booking_notifications(session=session, booking=paid, kind=NotificationKind.PAYMENT_FAILED, cause="pi_2:1")

    client_email = session.get(Client, pending.client_id).email
    assert [row.recipient for row in failed_rows] == [client_email]
    assert [row.recipient for row in expired_rows] == [client_email]
    assert for_paid == []


def test_cancelling_an_unpaid_hold_tells_only_the_client(session: Session) -> None:
    hold = make_booking(session, status=BookingStatus.CANCELLED, payment_status=PaymentStatus.EXPIRED)

    rows = queue_booking_notifications(session=session, booking=hold, kind=NotificationKind.BOOKING_CANCELLED)

    assert [row.recipient for row in rows] == [session.get(Client, hold.client_id).email]


# --- sending --------------------------------------------------------------------------------------------


def test_worker_sends_confirmation_to_client_and_builder_with_the_invite(session: Session, engine: Engine, smtp: SmtpServer) -> None:
    booking = make_booking(session)
    client_email = session.get(Client, booking.client_id).email
    builder_email = session.get(Builder, booking.builder_id).email
    queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CONFIRMED)
    session.commit()
    start = booking.start_time

    report = send_due_notifications(engine=engine, mailer=SmtpMailer(smtp.url), now=later())

    assert (report.sent, report.retried, report.failed, report.skipped) == (2, 0, 0, 0)
    assert len(smtp.handler.messages) == 2
    (to_client,) = smtp.handler.to(client_email)
    (to_builder,) = smtp.handler.to(builder_email)
    assert to_client["Subject"] == f"Confirmed: 1:1 call with Ada Lovelace on {start:%a} {start.day} {start:%b}, 09:00 EST"
    assert to_builder["Subject"].endswith("14:00 GMT") and "with Grace Hopper" in to_builder["Subject"]
    assert to_client["From"] == "Booking <bookings@localhost>"
    assert to_client.get_body(("plain",)) is not None and to_client.get_body(("html",)) is not None
    assert "£50.00" in to_client.get_body(("plain",)).get_content()

    for message in (to_client, to_builder):
        invite = attachment(message, "invite.ics")
        assert invite is not None and invite.get_content_type() == "text/calendar"
        assert invite.get_param("method") == "REQUEST"
        event = icalendar.Calendar.from_ical(invite.get_payload(decode=True)).walk("VEVENT")[0]
        domain = get_settings().public_url.split("//")[1].split(":")[0].split("/")[0]
        assert str(event["UID"]) == f"{booking.invite_uid}@{domain}"  # opaque: no booking id
        assert booking.id not in invite.get_payload(decode=True).decode() and booking.id not in str(event["UID"])
        assert event.decoded("DTSTART") == start and event.decoded("DTEND") == booking.end_time

    rows = notifications(engine)
    assert all(row.status == NotificationStatus.SENT and row.sent_at and row.attempts == 1 for row in rows)
    assert send_due_notifications(engine=engine, mailer=SmtpMailer(smtp.url), now=later(3600)).total == 0
    assert len(smtp.handler.messages) == 2


def test_smtp_down_backs_off_exponentially_then_sends_when_it_is_up(session: Session, engine: Engine) -> None:
    booking = make_booking(session)
    queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CONFIRMED)
    session.commit()
    port = free_port()  # nothing listens here yet
    mailer = SmtpMailer(f"smtp://127.0.0.1:{port}", timeout=5)
    t0 = later()

    first = send_due_notifications(engine=engine, mailer=mailer, now=t0, base_delay_seconds=30)

    assert (first.sent, first.retried) == (0, 2)
    rows = notifications(engine)
    assert all(row.status == NotificationStatus.PENDING and row.attempts == 1 for row in rows)
    assert all(row.next_attempt_at == t0 + timedelta(seconds=30) for row in rows)
    assert all("ConnectionRefusedError" in row.last_error for row in rows)

    not_yet_due = send_due_notifications(engine=engine, mailer=mailer, now=t0 + timedelta(seconds=29), base_delay_seconds=30)
    assert not_yet_due.total == 0

    t1 = t0 + timedelta(seconds=30)
    second = send_due_notifications(engine=engine, mailer=mailer, now=t1, base_delay_seconds=30)
    assert second.retried == 2
    assert all(row.attempts == 2 and row.next_attempt_at == t1 + timedelta(seconds=60) for row in notifications(engine))

    server = SmtpServer(port=port).start()
    try:
        third = send_due_notifications(engine=engine, mailer=mailer, now=t1 + timedelta(seconds=60), base_delay_seconds=30)
    finally:
        server.stop()

    assert third.sent == 2 and len(server.handler.messages) == 2
    rows = notifications(engine)
    assert all(row.status == NotificationStatus.SENT and row.attempts == 3 and row.last_error is None for row in rows)


def test_gives_up_after_max_attempts(session: Session, engine: Engine) -> None:
    booking = make_booking(session, status=BookingStatus.EXPIRED, payment_status=PaymentStatus.EXPIRED)
    queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.HOLD_EXPIRED)
    session.commit()
    mailer = SmtpMailer(f"smtp://127.0.0.1:{free_port()}", timeout=5)
    now = later()

    reports = []
    for _ in range(3):
        reports.append(send_due_notifications(engine=engine, mailer=mailer, now=now, max_attempts=3, base_delay_seconds=1))
        now += timedelta(hours=2)

    assert [(r.retried, r.failed) for r in reports] == [(1, 0), (1, 0), (0, 1)]
    (row,) = notifications(engine)
    assert row.status == NotificationStatus.FAILED and row.attempts == 3 and row.last_error
    assert send_due_notifications(engine=engine, mailer=mailer, now=now + timedelta(days=1)).total == 0


def test_backoff_doubles_and_is_capped() -> None:
    base = timedelta(seconds=30)
    delays = [backoff_delay(attempts=n, base_delay=base) for n in range(1, 10)]

    assert delays[:5] == [timedelta(seconds=s) for s in (30, 60, 120, 240, 480)]
    assert max(delays) == timedelta(hours=1)


def test_a_refused_recipient_fails_at_once(session: Session, engine: Engine, smtp: SmtpServer) -> None:
    booking = make_booking(session)
    smtp.handler.refused.add(session.get(Client, booking.client_id).email)
    queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CONFIRMED)
    session.commit()

    report = send_due_notifications(engine=engine, mailer=SmtpMailer(smtp.url), now=later())

    assert (report.sent, report.failed, report.retried) == (1, 1, 0)
    failed = [row for row in notifications(engine) if row.status == NotificationStatus.FAILED]
    assert len(failed) == 1 and "550" in failed[0].last_error


def test_payment_failed_is_not_sent_once_the_booking_is_paid(session: Session, engine: Engine, smtp: SmtpServer) -> None:
    booking = make_booking(
        session, status=BookingStatus.PENDING, payment_status=PaymentStatus.FAILED,
        hold_expires_at=datetime.now(UTC) + timedelta(minutes=20),
    )
    assert len(queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.PAYMENT_FAILED, cause="pi_1")) == 1
    session.commit()
    confirm_payment(engine, booking.id)  # the retry at checkout succeeded before the worker ran

    report = send_due_notifications(engine=engine, mailer=SmtpMailer(smtp.url), now=later())

    assert (report.sent, report.skipped) == (0, 1)
    assert smtp.handler.messages == []
    (row,) = notifications(engine)
    assert row.status == NotificationStatus.SENT and row.last_error == SKIPPED_ALREADY_PAID


def test_payment_failed_is_not_sent_while_the_client_can_still_pay_at_checkout(session: Session, engine: Engine,
                                                                              smtp: SmtpServer) -> None:
    hold_until = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    booking = make_booking(
        session, status=BookingStatus.PENDING, payment_status=PaymentStatus.FAILED, hold_expires_at=hold_until,
        checkout_url="https://checkout.example.com/c/pay/cs_test_1",
    )
    queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.PAYMENT_FAILED, cause="pi_1")
    session.commit()

    report = send_due_notifications(engine=engine, mailer=SmtpMailer(smtp.url), now=later())

    assert (report.sent, report.skipped, smtp.handler.messages) == (0, 1, [])


def test_payment_failed_once_the_hold_ended_says_the_slot_was_released(session: Session, engine: Engine,
                                                                       smtp: SmtpServer) -> None:
    booking = make_booking(session, status=BookingStatus.EXPIRED, end_cause=EndCause.EXPIRED,
                           payment_status=PaymentStatus.FAILED)
    queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.PAYMENT_FAILED,
                                cause="hold ended")
    session.commit()

    assert send_due_notifications(engine=engine, mailer=SmtpMailer(smtp.url), now=later()).sent == 1

    (message,) = smtp.handler.messages
    text = message.get_body(("plain",)).get_content()
    assert str(message["Subject"]).lstrip().startswith("Payment didn't go through")  # (a folded header)
    assert "The slot has been released" in text and "Try again at checkout" not in text
    assert attachment(message, "invite.ics") is None


def test_cancellation_of_a_confirmed_booking_carries_a_cancel_invite(session: Session, engine: Engine, smtp: SmtpServer) -> None:
    booking = make_booking(session)
    booking.status, booking.end_cause, booking.end_note = (
        BookingStatus.CANCELLED, EndCause.CANCELLED_BY_BUILDER, "Builder unavailable")
    queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CANCELLED)
    session.commit()

    assert send_due_notifications(engine=engine, mailer=SmtpMailer(smtp.url), now=later()).sent == 2

    for message in smtp.handler.messages:
        cancel = attachment(message, "cancel.ics")
        assert cancel is not None and cancel.get_param("method") == "CANCEL"
        assert "Builder unavailable" in message.get_body(("plain",)).get_content()


def test_folder_mailer_writes_an_eml_file_and_logs_it(
    session: Session, engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    booking = make_booking(session)
    (client_row, _) = queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CONFIRMED)
    session.commit()
    caplog.set_level(logging.INFO, logger="booking")

    report = send_due_notifications(engine=engine, mailer=FolderMailer(tmp_path / "mail"), now=later())

    assert report.sent == 2
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2
    (client_file,) = [path for path in files if path.name.endswith(f"-booking_confirmed-{client_row.id}.eml")]
    message = email.message_from_bytes(client_file.read_bytes(), policy=default_policy)
    assert message["To"].addresses[0].addr_spec == client_row.recipient
    assert attachment(message, "invite.ics") is not None
    assert f"mail saved to {client_file}" in caplog.text
    assert client_row.recipient not in caplog.text  # where it went, never to whom (no personal data in logs)


def test_two_workers_at_once_never_send_a_message_twice(session: Session, engine: Engine, smtp: SmtpServer) -> None:
    builder = make_builder(session, name="Ada Lovelace")
    for _ in range(12):
        booking = make_booking(session, builder=builder)
        queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CONFIRMED)
    session.commit()
    now = later()
    barrier = threading.Barrier(2)
    reports = []
    errors = []

    def worker() -> None:
        try:
            barrier.wait()
            reports.append(send_due_notifications(engine=engine, mailer=SmtpMailer(smtp.url), now=now, batch_size=100))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    message_ids = [message["Message-ID"] for message in smtp.handler.messages]
    assert len(message_ids) == 24 and len(set(message_ids)) == 24
    assert sum(report.sent for report in reports) == 24
    assert all(row.status == NotificationStatus.SENT and row.attempts == 1 for row in notifications(engine))


# --- secrets and settings ----------------------------------------------------------------------------


def test_the_smtp_password_never_reaches_logs_or_rows(
    session: Session, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    password = "s3cret/p@ss:word"  # percent-encoded in the URL
    accepted = {"user": "mailer", "password": password}

    def authenticator(server, smtp_session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == accepted["user"] \
            and auth_data.password.decode() == accepted["password"]
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself

    server = SmtpServer(authenticator=authenticator, auth_require_tls=False).start()
    caplog.set_level(logging.DEBUG)
    try:
        booking = make_booking(session)
        queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CONFIRMED)
        session.commit()
        encoded = quote(password, safe="")
        wrong = SmtpMailer(f"smtp://mailer:wrong-{encoded}@127.0.0.1:{server.port}", timeout=5)
        right = SmtpMailer(f"smtp://mailer:{encoded}@127.0.0.1:{server.port}", timeout=5)
        now = later()

        refused = send_due_notifications(engine=engine, mailer=wrong, now=now)
        rows_after_refusal = notifications(engine)
        accepted_report = send_due_notifications(engine=engine, mailer=right, now=now + timedelta(hours=1))
    finally:
        server.stop()

    assert refused.retried == 2 and accepted_report.sent == 2 and len(server.handler.messages) == 2
    assert all("535" in row.last_error for row in rows_after_refusal)
    assert all(password not in (row.last_error or "") for row in rows_after_refusal)
    assert password not in caplog.text and password not in repr(right)
    assert "mailer:***@" in right.safe_url


def test_mailer_from_settings_picks_smtp_or_the_mail_folder(tmp_path: Path) -> None:
    folder = mailer_from_settings(load_settings(smtp_url=None, mail_dir=str(tmp_path / "out")))
    smtp = mailer_from_settings(load_settings(smtp_url="smtps://u:p%40ss@mail.example.com", mail_from="Desk <desk@example.com>"))
    starttls = mailer_from_settings(load_settings(smtp_url="smtp://mail.example.com?starttls=1"))

    assert isinstance(folder, FolderMailer) and folder.directory == tmp_path / "out"
    assert isinstance(smtp, SmtpMailer) and smtp.use_ssl and smtp.port == 465
    assert smtp.username == "u" and "p@ss" not in repr(smtp) and smtp.sender == "Desk <desk@example.com>"
    assert isinstance(starttls, SmtpMailer) and starttls.starttls and starttls.port == 587
    with pytest.raises(ValueError, match="SMTP_URL"):
        SmtpMailer("http://mail.example.com")


# --- the loop ---------------------------------------------------------------------------------------------


def test_worker_loop_survives_a_failing_tick_sends_and_stops_when_cancelled(
    session: Session, engine: Engine, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    booking = make_booking(session)
    queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_CONFIRMED)
    session.commit()
    mailer_calls = itertools.count()

    def mailer_factory() -> SmtpMailer:
        if next(mailer_calls) == 0:
            raise RuntimeError("settings not ready yet")
        return SmtpMailer(smtp.url)

    async def run() -> None:
        task = asyncio.create_task(
            notification_worker(engine_factory=lambda: engine, mailer_factory=mailer_factory, interval_seconds=0.01)
        )
        for _ in range(1000):
            if len(smtp.handler.messages) == 2:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())

    assert len(smtp.handler.messages) == 2
    assert "notification worker tick failed" in caplog.text
