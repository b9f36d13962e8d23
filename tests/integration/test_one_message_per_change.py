"""What people are told follows from the lifecycle's table, one message per change (issue #13), through
the Stripe emulator, as the outbox worker would send it: a builder's full refund asks whether the session
is cancelled too, and either answer leaves both calendars right; a declined card is not emailed while the
client is on Checkout, and a hold that ends unpaid gets one email; a cancellation with a refund is one
email each side, carrying the refund and the CANCEL invite; emails offer only what the booking allows."""

from __future__ import annotations

import json
from datetime import time, timedelta
from email.message import EmailMessage

import pytest
from sqlmodel import Session, select

from booking.accounts.authz import Actor
from booking.client import manage
from booking.core.config import get_settings, load_settings
from booking.core.models import Booking, BookingStatus, EndCause, Notification, PaymentStatus, UserRole, utcnow
from booking.events.webhooks import handle_webhook
from booking.lifecycle import checkout as payments
from booking.lifecycle import refunds
from booking.notifications import manage_links
from booking.notifications.mailer import KIND_HEADER
from booking.notifications.outbox import send_due_notifications
from booking.scheduling.availability import END_OF_DAY
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.ledger import money

SETTINGS = load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30)
CLIENT, BUILDER = "ann@example.com", "ada@builder.test"


@pytest.fixture(autouse=True)
def app_settings(engine, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "messages-test-secret-" + "s" * 40)
    monkeypatch.setenv("PUBLIC_URL", "https://book.example")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def shop(session: Session, **policy: int):
    builder = make_builder(session, time_zone="UTC", hours=(time(0, 0), END_OF_DAY), name="Ada", email=BUILDER,
                           **policy)
    session_type = make_session_type(session, builder, price_amount=5000, currency="gbp", name="Consult")
    session.commit()
    return session_type, Actor(user_id=None, email=BUILDER, role=UserRole.BUILDER, builder_id=builder.id)


@pytest.fixture
def session_type(session: Session):
    return shop(session)


class Collected:
    """The mailer: what the outbox worker would send, as the messages themselves."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        self.messages.append(message)


def sent_mail(engine) -> dict[str, list[EmailMessage]]:
    """Run the outbox worker (past every grace period); the emails it sends, by recipient."""
    mailer = Collected()
    send_due_notifications(engine=engine, mailer=mailer, now=utcnow() + timedelta(minutes=5))
    found: dict[str, list[EmailMessage]] = {}
    for message in mailer.messages:
        found.setdefault(message["To"].addresses[0].addr_spec, []).append(message)
    return found


def kinds(messages: list[EmailMessage]) -> list[str]:
    return [m[KIND_HEADER] for m in messages]


def text(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def invite_method(message: EmailMessage) -> str | None:
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    if not parts:
        return None
    content = parts[0].get_content()
    content = content if isinstance(content, str) else content.decode()
    return next(line.split(":", 1)[1].strip() for line in content.splitlines() if line.startswith("METHOD:"))


class Stripe:
    """The emulator's events, delivered to our webhook as we choose (none of them automatically)."""

    def __init__(self, engine, gateway, emulator) -> None:
        self.engine, self.gateway, self.emulator, self.seen = engine, gateway, emulator, set()

    def deliver_new(self) -> list[str]:
        with self.emulator.emulator.lock:
            events = list(reversed(self.emulator.emulator.store.all("event")))
        delivered = []
        for event in events:
            if event["id"] not in self.seen:
                self.seen.add(event["id"])
                payload = json.dumps(event).encode()
                result = handle_webhook(engine=self.engine, gateway=self.gateway, payload=payload,
                                        signature=se.sign(payload))
                assert result.status_code == 200, result.body
                delivered.append(event["type"])
        return delivered

    def pay(self, checkout_session_id: str, card: str = "4242424242424242") -> str:
        return self.emulator.emulator.pay(checkout_session_id, number=card, expiry="12/34", cvc="123",
                                          email=CLIENT, name="Ann").status


def hold(engine, gateway, session_type, *, days: int = 3) -> payments.CheckoutStarted:
    start = (utcnow() + timedelta(days=days)).replace(hour=10, minute=0, second=0, microsecond=0)
    return payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                   session_type_id=session_type.id, start_time=start, client_name="Ann",
                                   client_email=CLIENT)


def paid_booking(engine, gateway, emulator, session_type) -> tuple[str, Stripe]:
    stripe = Stripe(engine, gateway, emulator)
    started = hold(engine, gateway, session_type)
    assert stripe.pay(started.checkout_session_id) == "succeeded"
    stripe.deliver_new()
    assert booking_of(engine, started.booking_id).status == BookingStatus.CONFIRMED
    return started.booking_id, stripe


def booking_of(engine, booking_id) -> Booking:
    with Session(engine) as s:
        return s.get(Booking, booking_id)


def outbox_kinds(engine, booking_id) -> list[tuple[str, str]]:
    with Session(engine) as s:
        rows = s.exec(select(Notification).where(Notification.booking_id == booking_id)
                      .order_by(Notification.id)).all()
        return [(n.recipient, n.kind) for n in rows if not (n.last_error or "").startswith("skipped")]


# --- 1. a builder's full refund of an upcoming booking asks whether the session is cancelled too -------


def test_a_full_refund_asks_first_and_changes_nothing_until_answered(engine, gateway, emulator, session_type):
    st, actor = session_type
    booking_id, _stripe = paid_booking(engine, gateway, emulator, st)
    sent_mail(engine)  # the confirmations

    with pytest.raises(refunds.Refused) as asked:
        refunds.request_refund(engine=engine, gateway=gateway, actor=actor, booking_id=booking_id, amount=None,
                               reason="requested_by_customer", request_key="full-1")

    assert asked.value.message == refunds.ASK_CANCEL_SESSION
    assert emulator.emulator.snapshot()["refunds"] == []
    assert booking_of(engine, booking_id).status == BookingStatus.CONFIRMED
    assert sent_mail(engine) == {}


def test_a_full_refund_that_cancels_the_session_sends_one_cancellation_each_with_the_refund_and_cancel_ics(
        engine, gateway, emulator, session_type):
    st, actor = session_type
    booking_id, stripe = paid_booking(engine, gateway, emulator, st)
    sent_mail(engine)

    outcome = refunds.request_refund(engine=engine, gateway=gateway, actor=actor, booking_id=booking_id, amount=None,
                                     reason="requested_by_customer", request_key="full-1", cancel_session=True)
    stripe.deliver_new()  # charge.refunded, refund.created: nothing more to say

    assert outcome.ok
    booking = booking_of(engine, booking_id)
    assert (booking.status, booking.end_cause, money(engine, booking_id).status) == (
        BookingStatus.CANCELLED, EndCause.CANCELLED_BY_BUILDER, PaymentStatus.REFUNDED)
    mail = sent_mail(engine)
    assert {who: kinds(messages) for who, messages in mail.items()} == {
        CLIENT: ["booking_cancelled"], BUILDER: ["booking_cancelled"]}
    for who in (CLIENT, BUILDER):
        [message] = mail[who]
        assert "£50.00" in text(message) and "refund" in text(message).lower()
        assert invite_method(message) == "CANCEL"
        assert "Manage booking" not in text(message)


def test_a_full_refund_that_keeps_the_session_sends_the_refund_only_and_the_booking_stays(
        engine, gateway, emulator, session_type):
    st, actor = session_type
    booking_id, stripe = paid_booking(engine, gateway, emulator, st)
    sent_mail(engine)

    outcome = refunds.request_refund(engine=engine, gateway=gateway, actor=actor, booking_id=booking_id, amount=None,
                                     reason="requested_by_customer", request_key="full-1", cancel_session=False)
    stripe.deliver_new()

    assert (outcome.ok, outcome.message) == (True, "Refunded £50.00.")
    booking = booking_of(engine, booking_id)
    assert (booking.status, money(engine, booking_id).status, money(engine, booking_id).amount_refunded) == (
        BookingStatus.CONFIRMED, PaymentStatus.REFUNDED, 5000)
    mail = sent_mail(engine)
    assert {who: kinds(messages) for who, messages in mail.items()} == {
        CLIENT: ["booking_refunded"], BUILDER: ["booking_refunded"]}
    assert all(invite_method(m) is None for messages in mail.values() for m in messages)  # the event stays
    assert "The booking is cancelled." not in text(mail[CLIENT][0])


# --- 2. a declined card is not emailed while the client is on Checkout; an unpaid ending, once ---------------


def test_a_decline_then_a_payment_sends_only_the_confirmation(engine, gateway, emulator, session_type):
    st, _actor = session_type
    stripe = Stripe(engine, gateway, emulator)
    started = hold(engine, gateway, st)

    assert stripe.pay(started.checkout_session_id, card="4000000000000002") == "failed"
    assert "payment_intent.payment_failed" in stripe.deliver_new()
    assert sent_mail(engine) == {}  # they see the decline on the Checkout page

    assert stripe.pay(started.checkout_session_id) == "succeeded"
    stripe.deliver_new()

    mail = sent_mail(engine)
    assert kinds(mail[CLIENT]) == ["booking_confirmed"]


def test_a_declined_hold_that_runs_out_gets_one_email(engine, gateway, emulator, session_type):
    st, _actor = session_type
    stripe = Stripe(engine, gateway, emulator)
    started = hold(engine, gateway, st)
    assert stripe.pay(started.checkout_session_id, card="4000000000000002") == "failed"
    stripe.deliver_new()

    emulator.emulator.advance(32 * 60)  # the session (and the hold) run out
    assert "checkout.session.expired" in stripe.deliver_new()
    payments.sweep_expired_holds(engine=engine, gateway=gateway, now=utcnow() + timedelta(minutes=32))

    assert booking_of(engine, started.booking_id).status == BookingStatus.EXPIRED
    mail = sent_mail(engine)
    assert list(mail) == [CLIENT]
    [message] = mail[CLIENT]
    assert message["Subject"].startswith("Payment didn't go through")
    assert "The slot has been released" in text(message)


# --- 3. a cancellation with a refund: one email each side, with the refund and the CANCEL invite ------------


def test_the_clients_cancellation_with_its_refund_is_one_email_each(engine, gateway, emulator, session_type):
    st, _actor = session_type
    booking_id, stripe = paid_booking(engine, gateway, emulator, st)
    sent_mail(engine)

    outcome = manage.cancel_by_client(engine=engine, gateway=gateway, token=manage_links.derive_token(booking_id))
    stripe.deliver_new()

    assert outcome.code == "cancelled"
    mail = sent_mail(engine)
    assert {who: kinds(messages) for who, messages in mail.items()} == {
        CLIENT: ["booking_cancelled"], BUILDER: ["booking_cancelled"]}
    assert "£50.00 has been refunded." in text(mail[CLIENT][0])
    assert "£50.00 has been refunded to the client." in text(mail[BUILDER][0])
    assert invite_method(mail[CLIENT][0]) == invite_method(mail[BUILDER][0]) == "CANCEL"


def test_the_builders_cancellation_with_a_partial_refund_is_one_email_each(engine, gateway, emulator, session_type):
    st, actor = session_type
    booking_id, stripe = paid_booking(engine, gateway, emulator, st)
    sent_mail(engine)

    outcome = refunds.cancel_booking(engine=engine, gateway=gateway, actor=actor, booking_id=booking_id,
                                     refund=refunds.RefundChoice.PARTIAL, amount=1500,
                                     refund_reason="requested_by_customer", request_key="cancel-1",
                                     reason="Builder is ill")
    stripe.deliver_new()

    assert outcome.cancelled and outcome.refund.ok
    mail = sent_mail(engine)
    assert {who: kinds(messages) for who, messages in mail.items()} == {
        CLIENT: ["booking_cancelled"], BUILDER: ["booking_cancelled"]}
    for who in (CLIENT, BUILDER):
        assert "£15.00" in text(mail[who][0]) and invite_method(mail[who][0]) == "CANCEL"


# --- 4. emails offer only what the booking still allows ---------------------------------------------------


def test_the_confirmation_offers_cancel_and_reschedule_and_the_cancellation_offers_nothing(
        engine, gateway, emulator, session_type):
    st, actor = session_type
    booking_id, _stripe = paid_booking(engine, gateway, emulator, st)

    [confirmation] = sent_mail(engine)[CLIENT]
    assert "Manage booking (cancel or reschedule): https://book.example/manage/" in text(confirmation)

    refunds.cancel_booking(engine=engine, gateway=gateway, actor=actor, booking_id=booking_id,
                           refund=refunds.RefundChoice.NONE, amount=None, refund_reason="", request_key="", reason="")

    [cancellation] = sent_mail(engine)[CLIENT]
    assert cancellation[KIND_HEADER] == "booking_cancelled"
    assert "Manage booking" not in text(cancellation) and "/manage/" not in text(cancellation)


def test_no_reschedule_is_offered_where_the_policy_allows_none(engine, gateway, emulator, session: Session):
    st, _actor = shop(session, policy_max_reschedules=0)
    _booking_id, _stripe = paid_booking(engine, gateway, emulator, st)

    [confirmation] = sent_mail(engine)[CLIENT]

    assert "Manage booking (cancel): https://book.example/manage/" in text(confirmation)
    assert "reschedule" not in text(confirmation).split("Manage booking")[1].lower()

