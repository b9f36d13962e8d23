"""Bank debits (SEPA, Bacs) end to end against the emulator: Checkout completes unpaid, the booking shows
"payment processing" and keeps its slot, then the debit succeeds (confirmed, emails then) or fails (released,
the client told once) on the emulator's clock; duplicates and out-of-order events change nothing more; bank
debits are offered only for sessions far enough ahead (DELAYED_PAYMENT_MIN_LEAD_HOURS)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from booking.client import receipts
from booking.core.config import load_settings
from booking.core.models import (
    Booking,
    BookingStatus,
    EndCause,
    Notification,
    Payment,
    PaymentMethodKind,
    PaymentStatus,
)
from booking.events.webhooks import handle_webhook
from booking.lifecycle import checkout as payments
from booking.workspace.bookings import BookingQuery, display_status, list_bookings
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.ledger import money

SETTINGS = load_settings(PUBLIC_URL="https://book.example")
SEPA_OK_LATER, SEPA_FAILS_LATER = "AT321904300235473204", "AT051904300235473205"


@pytest.fixture
def session_type(session: Session):
    builder = make_builder(session, time_zone="Europe/Berlin", name="Greta")
    st = make_session_type(session, builder, price_amount=4000, currency="eur", name="Review")
    session.commit()
    return st


def start(engine, gateway, session_type, *, days: int = 5, settings=SETTINGS, email="ann@example.com"):
    start_time = (datetime.now(timezone.utc) + timedelta(days=days)).replace(hour=9, minute=0, second=0,
                                                                              microsecond=0)
    return payments.begin_checkout(engine=engine, gateway=gateway, settings=settings,
                                   session_type_id=session_type.id, start_time=start_time,
                                   client_name="Ann", client_email=email)


class Deliveries:
    """The emulator's events, delivered to our webhook handler in the order Stripe created them."""

    def __init__(self, engine, gateway, emulator) -> None:
        self.engine, self.gateway, self.emulator = engine, gateway, emulator
        self.sent: list[dict] = []

    def new(self) -> list[dict]:
        listed = self.emulator.client().v1.events.list(params={"limit": 100}).data
        seen = {event["id"] for event in self.sent}
        return [event.to_dict() for event in reversed(listed) if event.id not in seen]

    def deliver(self, events: list[dict] | None = None) -> None:
        for event in self.new() if events is None else events:
            payload = se.encode(event)
            result = handle_webhook(engine=self.engine, gateway=self.gateway, payload=payload,
                                    signature=se.sign(payload))
            assert result.status_code == 200, result.body
            self.sent.append(event)


def payment_row(engine, booking_id) -> Payment:
    with Session(engine) as s:
        return s.exec(select(Payment).where(Payment.booking_id == booking_id)).one()


def notifications(engine, booking_id) -> list[str]:
    with Session(engine) as s:
        return sorted(n.kind for n in s.exec(select(Notification).where(Notification.booking_id == booking_id)))


def booking_of(engine, booking_id) -> Booking:
    with Session(engine) as s:
        return s.get(Booking, booking_id)


def pay_by_sepa(emulator, checkout_session_id: str, iban: str):
    result = emulator.emulator.pay_with(checkout_session_id, "sepa_debit", email="ann@example.com", name="Ann",
                                        iban=iban)
    assert result.status == "processing"
    return result


def advance(emulator, seconds: int) -> None:
    emulator.emulator.clock.advance(seconds)
    emulator.emulator.tick()


def test_bank_debits_are_offered_only_for_sessions_far_enough_ahead(engine, gateway, emulator, session_type):
    soon = start(engine, gateway, session_type, days=2)  # 48 h ahead < 72 h: no bank debit
    stripe_soon = emulator.client().v1.checkout.sessions.retrieve(soon.checkout_session_id)
    assert "sepa_debit" not in stripe_soon.payment_method_types
    assert {"sepa_debit", "bacs_debit"} <= set(stripe_soon.excluded_payment_method_types)

    later = start(engine, gateway, session_type, days=5, email="bo@example.com")
    stripe_later = emulator.client().v1.checkout.sessions.retrieve(later.checkout_session_id)
    assert stripe_later.payment_method_types == ["card", "sepa_debit", "paypal"]

    relaxed = load_settings(PUBLIC_URL="https://book.example", DELAYED_PAYMENT_MIN_LEAD_HOURS="24")
    soon_ok = start(engine, gateway, session_type, days=3, settings=relaxed, email="cy@example.com")
    assert "sepa_debit" in emulator.client().v1.checkout.sessions.retrieve(soon_ok.checkout_session_id) \
        .payment_method_types


def test_a_sepa_debit_that_succeeds_confirms_after_processing(engine, gateway, emulator, session_type):
    started = start(engine, gateway, session_type)
    events = Deliveries(engine, gateway, emulator)
    pay_by_sepa(emulator, started.checkout_session_id, SEPA_OK_LATER)
    events.deliver()

    booking = booking_of(engine, started.booking_id)
    assert booking.status == BookingStatus.PENDING
    assert money(engine, booking.id).status == PaymentStatus.PROCESSING
    assert notifications(engine, booking.id) == []  # no confirmation, no invite yet
    assert receipts.booking_receipt(engine=engine, booking_id=booking.id).state == "processing"
    assert payment_row(engine, booking.id).payment_method_type == PaymentMethodKind.SEPA_DEBIT
    with Session(engine) as s:
        [row] = list_bookings(session=s, query=BookingQuery(builder_id=None)).rows
        assert (row.status, row.status_label) == ("processing", "Payment processing")
        assert [r.id for r in list_bookings(session=s, query=BookingQuery(builder_id=None, status="processing"))
                .rows] == [booking.id]
        assert list_bookings(session=s, query=BookingQuery(builder_id=None, status="pending")).rows == []
    # The sweeper never releases a paying booking, even long past its hold.
    assert payments.sweep_expired_holds(engine=engine, gateway=gateway,
                                        now=datetime.now(timezone.utc) + timedelta(hours=2)) == 0
    assert booking_of(engine, booking.id).status == BookingStatus.PENDING

    advance(emulator, 3 * 60 + 1)
    events.deliver()

    assert booking_of(engine, booking.id).status == BookingStatus.CONFIRMED
    assert money(engine, booking.id).status == PaymentStatus.PAID
    assert notifications(engine, booking.id) == ["booking_confirmed", "booking_confirmed"]  # client + builder
    events.deliver(list(events.sent))  # every event again: nothing more
    assert notifications(engine, booking.id) == ["booking_confirmed", "booking_confirmed"]


def test_a_sepa_debit_that_fails_releases_the_time_and_tells_the_client_once(engine, gateway, emulator,
                                                                          session_type):
    started = start(engine, gateway, session_type)
    events = Deliveries(engine, gateway, emulator)
    pay_by_sepa(emulator, started.checkout_session_id, SEPA_FAILS_LATER)
    events.deliver()
    assert money(engine, started.booking_id).status == PaymentStatus.PROCESSING

    advance(emulator, 3 * 60 + 1)
    events.deliver()
    events.deliver(list(events.sent))

    booking = booking_of(engine, started.booking_id)
    assert (booking.status, booking.end_cause) == (BookingStatus.CANCELLED, EndCause.PAYMENT_FAILED)
    assert money(engine, booking.id).status == PaymentStatus.FAILED
    assert notifications(engine, booking.id) == ["debit_failed"]
    # The time is free again: someone else can hold it.
    with Session(engine) as s:
        taken = s.get(Booking, booking.id).start_time
    emulator.emulator.clock.set_offset(0)  # Stripe's clock and ours agree again for the next Checkout
    other = payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                    session_type_id=session_type.id, start_time=taken.replace(tzinfo=timezone.utc),
                                    client_name="Bo", client_email="bo@example.com")
    assert booking_of(engine, other.booking_id).status == BookingStatus.PENDING


def test_a_failure_overtaking_the_completion_is_not_undone_by_it(engine, gateway, emulator, session_type):
    started = start(engine, gateway, session_type)
    events = Deliveries(engine, gateway, emulator)
    pay_by_sepa(emulator, started.checkout_session_id, SEPA_FAILS_LATER)
    advance(emulator, 3 * 60 + 1)
    everything = events.new()
    completed = [e for e in everything if e["type"] == "checkout.session.completed"]
    events.deliver([e for e in everything if e["type"] != "checkout.session.completed"])
    events.deliver(completed)  # late

    booking = booking_of(engine, started.booking_id)
    assert (booking.status, booking.end_cause) == (BookingStatus.CANCELLED, EndCause.PAYMENT_FAILED)
    assert money(engine, booking.id).status == PaymentStatus.FAILED
    assert receipts.booking_receipt(engine=engine, booking_id=booking.id).state != "processing"
    assert notifications(engine, booking.id) == ["debit_failed"]
    assert display_status(booking.status, money(engine, booking.id).status) == "cancelled"


def test_success_events_out_of_order_confirm_once(engine, gateway, emulator, session_type):
    started = start(engine, gateway, session_type)
    events = Deliveries(engine, gateway, emulator)
    pay_by_sepa(emulator, started.checkout_session_id, SEPA_OK_LATER)
    advance(emulator, 3 * 60 + 1)
    everything = events.new()
    events.deliver(list(reversed(everything)))  # async_payment_succeeded first, the completion last
    events.deliver(everything)

    assert booking_of(engine, started.booking_id).status == BookingStatus.CONFIRMED
    assert money(engine, started.booking_id).status == PaymentStatus.PAID
    assert notifications(engine, started.booking_id) == ["booking_confirmed", "booking_confirmed"]


def test_reconcile_finds_a_processing_session_and_keeps_its_slot(engine, gateway, emulator, session_type):
    from booking.events.reconcile import reconcile

    started = start(engine, gateway, session_type)
    pay_by_sepa(emulator, started.checkout_session_id, SEPA_OK_LATER)  # no webhook delivered

    reconcile(engine=engine, gateway=gateway, since=timedelta(hours=1))

    assert booking_of(engine, started.booking_id).status == BookingStatus.PENDING
    assert money(engine, started.booking_id).status == PaymentStatus.PROCESSING
    assert notifications(engine, started.booking_id) == []
    advance(emulator, 3 * 60 + 1)
    reconcile(engine=engine, gateway=gateway, since=timedelta(hours=1))
    assert booking_of(engine, started.booking_id).status == BookingStatus.CONFIRMED


@pytest.mark.parametrize(("method", "form", "kind", "label"), [
    ("apple_pay", {"name": "Ann"}, PaymentMethodKind.APPLE_PAY, "Apple Pay"),
    ("google_pay", {"name": "Ann"}, PaymentMethodKind.GOOGLE_PAY, "Google Pay"),
    ("paypal", {}, PaymentMethodKind.PAYPAL, "PayPal"),
])
def test_how_the_client_paid_is_recorded_and_shown(engine, gateway, emulator, session_type, method, form, kind,
                                                   label):
    from booking.accounts.authz import Actor
    from booking.core.models import UserRole
    from booking.workspace.bookings import booking_detail

    started = start(engine, gateway, session_type, days=1)
    result = emulator.emulator.pay_with(started.checkout_session_id, method, email="ann@example.com", **form)
    if method == "paypal":
        result = emulator.emulator.resolve_paypal(started.checkout_session_id, result.challenge_id, "authorize")
    assert result.status == "succeeded"
    Deliveries(engine, gateway, emulator).deliver()

    assert booking_of(engine, started.booking_id).status == BookingStatus.CONFIRMED
    assert payment_row(engine, started.booking_id).payment_method_type == kind
    with Session(engine) as s:
        detail = booking_detail(session=s, actor=Actor(user_id=0, email="admin@example.com", role=UserRole.ADMIN, builder_id=None),
                                booking_id=started.booking_id)
    assert [line.method for line in detail.payments] == [label]
