"""No-show fees against the emulator over real HTTP: a no-show-fee session type books through Checkout in setup
mode (the card kept on the client's Customer, nothing charged), the builder marks a no-show within the window
and the fee is charged off-session as a destination charge with the platform fee, once however often they
click; a card that needs authentication emails the client a link to pay; a decline is reported; attended and
no-show marks only after the start, once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from booking.accounts.authz import Actor, NotFound
from booking.client import receipts
from booking.core.config import load_settings
from booking.core.models import (
    Attendance,
    Booking,
    BookingStatus,
    CardOnFile,
    Client,
    EndCause,
    MoneyMovement,
    MovementKind,
    Notification,
    Payment,
    PaymentKind,
    PaymentStatus,
    UserRole,
)
from booking.lifecycle import NoShowRefused, NoShowState, mark_attended, mark_no_show
from booking.lifecycle import checkout as payments
from booking.payments import pricing
from booking.payments.gateway import StripeGateway
from stripe_emulator.server import EmulatorServer
from tests.emulator.helpers import onboarded_account
from tests.factories import make_builder, make_session_type
from tests.support.stripe_events import WEBHOOK_SECRET

SETTINGS = load_settings(PUBLIC_URL="https://book.example", PLATFORM_FEE_PERCENT="10")
FEE = 2500


@pytest.fixture(scope="module")
def emulator():
    with EmulatorServer(webhook_url=None, webhook_secret=WEBHOOK_SECRET) as server:
        yield server


@pytest.fixture
def gateway(emulator) -> StripeGateway:
    return StripeGateway(secret_key="sk_test_integration", webhook_secret=WEBHOOK_SECRET, api_base=emulator.url)


@pytest.fixture
def setup(session: Session, emulator):
    account = onboarded_account(emulator.client())
    builder = make_builder(session, name="Ada", stripe_account_id=account.id, charges_enabled=True,
                           payouts_enabled=True, details_submitted=True)
    session_type = make_session_type(session, builder, price_amount=6000, currency="gbp", name="Pairing",
                                     no_show_fee_amount=FEE, no_show_window_hours=24)
    session.commit()
    actor = Actor(user_id=None, email="ada@builder.test", role=UserRole.BUILDER, builder_id=builder.id)
    return session_type, actor, account.id


def book(engine, gateway, emulator, session_type, card: str, email: str = "ann@example.com", hour: int = 10) -> Booking:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=hour, minute=0, second=0, microsecond=0)
    started = payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                      session_type_id=session_type.id, start_time=start, client_name="Ann",
                                      client_email=email)
    stripe_session = emulator.client().v1.checkout.sessions.retrieve(started.checkout_session_id)
    assert (stripe_session.mode, stripe_session.customer is not None) == ("setup", True)
    result = emulator.emulator.pay(started.checkout_session_id, number=card, expiry="12/34", cvc="123",
                                   email=email, name="Ann")
    assert result.status == "succeeded", result.error
    receipt = receipts.confirm_from_success_page(engine=engine, gateway=gateway,
                                                 checkout_session_id=started.checkout_session_id)
    assert receipt.state == receipts.ReceiptState.CONFIRMED
    with Session(engine) as s:
        return s.get(Booking, started.booking_id)


def start_of(booking: Booking) -> datetime:
    return booking.start_time.replace(tzinfo=UTC) if booking.start_time.utcoffset() is None else booking.start_time


def fee_rows(engine, booking_id: str) -> list[Payment]:
    with Session(engine) as s:
        return list(s.exec(select(Payment).where(Payment.booking_id == booking_id,
                                                 Payment.kind == PaymentKind.NO_SHOW_FEE)
                           .order_by(Payment.attempt)).all())


def intents_of(engine, emulator, booking: Booking) -> list:
    with Session(engine) as s:
        customer = s.get(Client, booking.client_id).stripe_customer_id
    return emulator.client().v1.payment_intents.list(params={"customer": customer}).data


def test_booking_keeps_the_card_on_the_clients_customer_and_charges_nothing(engine, gateway, emulator, setup):
    session_type, _actor, _account = setup
    booking = book(engine, gateway, emulator, session_type, "4000002500003155")
    assert booking.status == BookingStatus.CONFIRMED
    with Session(engine) as s:
        client = s.get(Client, booking.client_id)
        card = s.get(CardOnFile, booking.id)
        payment = s.exec(select(Payment).where(Payment.booking_id == booking.id)).one()
        confirmation = s.exec(select(Notification).where(Notification.booking_id == booking.id,
                                                         Notification.kind == "booking_confirmed")).all()
    assert client.stripe_customer_id.startswith("cus_") and card.stripe_customer_id == client.stripe_customer_id
    assert card.setup_intent_id.startswith("seti_")
    assert (payment.amount, payment.status, payment.payment_intent_id) == (0, PaymentStatus.PAID, None)
    assert len(confirmation) == 2 and '"no_show_fee": 2500' in confirmation[0].payload
    assert emulator.client().v1.charges.list().data == [] or all(
        c.customer != client.stripe_customer_id for c in emulator.client().v1.charges.list().data)
    # The same client's next booking reuses their Customer.
    again = book(engine, gateway, emulator, session_type, "4242424242424242", hour=13)
    with Session(engine) as s:
        assert s.get(CardOnFile, again.id).stripe_customer_id == client.stripe_customer_id


def test_an_unpaid_no_show_fee_hold_is_released_and_its_setup_session_closed(engine, gateway, emulator, setup):
    session_type, _actor, _account = setup
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    started = payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                      session_type_id=session_type.id, start_time=start, client_name="Ann",
                                      client_email="ann@example.com")

    ending = payments.end_hold(engine=engine, gateway=gateway, booking_id=started.booking_id,
                               cause=EndCause.RELEASED_BY_CLIENT)

    assert ending.ended and ending.fulfilment is None  # a card not yet saved is not a payment
    with Session(engine) as s:
        assert s.get(Booking, started.booking_id).status == BookingStatus.CANCELLED
    assert emulator.client().v1.checkout.sessions.retrieve(started.checkout_session_id).status == "expired"


def test_the_window_is_enforced_and_the_fee_is_charged_once_with_the_platform_fee(engine, gateway, emulator, setup):
    session_type, actor, account = setup
    booking = book(engine, gateway, emulator, session_type, "4000002500003155")
    start = start_of(booking)
    with pytest.raises(NoShowRefused, match="once the session has started"):
        mark_no_show(engine=engine, gateway=gateway, settings=SETTINGS, actor=actor, booking_id=booking.id,
                     now=start - timedelta(minutes=5))
    assert fee_rows(engine, booking.id) == []

    now = start + timedelta(minutes=20)
    outcomes = []
    barrier = threading.Barrier(2)

    def click() -> None:
        barrier.wait()
        outcomes.append(mark_no_show(engine=engine, gateway=gateway, settings=SETTINGS, actor=actor,
                                     booking_id=booking.id, now=now))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [o.state for o in outcomes] == [NoShowState.CHARGED, NoShowState.CHARGED]
    assert "£25.00" in outcomes[0].message
    rows = fee_rows(engine, booking.id)
    assert len(rows) == 1 and rows[0].status == PaymentStatus.PAID
    platform_fee = pricing.quote(FEE, "gbp", SETTINGS).platform_fee
    assert (rows[0].amount, rows[0].application_fee_amount, rows[0].destination_account_id) == (FEE, platform_fee,
                                                                                                account)
    intents = intents_of(engine, emulator, booking)
    assert len(intents) == 1 and intents[0].status == "succeeded"
    assert (intents[0].application_fee_amount, intents[0].transfer_data.destination) == (platform_fee, account)
    with Session(engine) as s:
        kinds = {m.kind for m in s.exec(select(MoneyMovement).where(MoneyMovement.payment_id == rows[0].id)).all()}
        assert s.get(Booking, booking.id).attendance == Attendance.NO_SHOW
    assert {MovementKind.CHARGE, MovementKind.TRANSFER, MovementKind.APPLICATION_FEE} <= kinds


def test_after_the_window_the_no_show_is_marked_without_a_fee(engine, gateway, emulator, setup):
    session_type, actor, _account = setup
    booking = book(engine, gateway, emulator, session_type, "4242424242424242")
    outcome = mark_no_show(engine=engine, gateway=gateway, settings=SETTINGS, actor=actor, booking_id=booking.id,
                           now=start_of(booking) + timedelta(hours=25))
    assert outcome.state is NoShowState.MARKED and "within 24 hours" in outcome.message
    assert fee_rows(engine, booking.id) == []


def test_a_card_that_needs_authentication_emails_the_client_a_link_to_pay(engine, gateway, emulator, setup):
    session_type, actor, _account = setup
    booking = book(engine, gateway, emulator, session_type, "4000002760003184")
    outcome = mark_no_show(engine=engine, gateway=gateway, settings=SETTINGS, actor=actor, booking_id=booking.id,
                           now=start_of(booking) + timedelta(minutes=30))
    assert outcome.state is NoShowState.AUTHENTICATION_REQUIRED and "emailed a link" in outcome.message
    first, link = fee_rows(engine, booking.id)
    assert (first.status, first.failure_code) == (PaymentStatus.FAILED, "authentication_required")
    assert link.status == PaymentStatus.OPEN and link.checkout_url
    with Session(engine) as s:
        emails = s.exec(select(Notification).where(Notification.booking_id == booking.id,
                                                   Notification.kind == "no_show_fee_due")).all()
    assert len(emails) == 1 and link.checkout_url in emails[0].payload
    again = mark_no_show(engine=engine, gateway=gateway, settings=SETTINGS, actor=actor, booking_id=booking.id,
                         now=start_of(booking) + timedelta(minutes=31))
    assert again.state is NoShowState.AUTHENTICATION_REQUIRED and len(fee_rows(engine, booking.id)) == 2

    # The client pays on the page (authenticating there): the fee row is paid.
    paid = emulator.emulator.pay(link.checkout_session_id, number="4000002760003184", expiry="12/34", cvc="123",
                                 email="ann@example.com", name="Ann")
    emulator.emulator.authenticate(link.checkout_session_id, paid.challenge_id, "complete")
    receipts.confirm_from_success_page(engine=engine, gateway=gateway, checkout_session_id=link.checkout_session_id)
    assert fee_rows(engine, booking.id)[-1].status == PaymentStatus.PAID


def test_a_declined_card_is_reported_to_the_builder(engine, gateway, emulator, setup):
    session_type, actor, _account = setup
    booking = book(engine, gateway, emulator, session_type, "4000000000009995")
    outcome = mark_no_show(engine=engine, gateway=gateway, settings=SETTINGS, actor=actor, booking_id=booking.id,
                           now=start_of(booking) + timedelta(minutes=30))
    assert outcome.state is NoShowState.DECLINED and "insufficient funds" in outcome.message
    (row,) = fee_rows(engine, booking.id)
    assert row.status == PaymentStatus.FAILED and row.payment_intent_id.startswith("pi_")


def test_attended_and_no_show_are_marked_once_after_the_start_by_the_builder_only(engine, gateway, emulator, setup):
    session_type, actor, _account = setup
    booking = book(engine, gateway, emulator, session_type, "4242424242424242")
    start = start_of(booking)
    with pytest.raises(NoShowRefused):
        mark_attended(engine=engine, actor=actor, booking_id=booking.id, now=start - timedelta(minutes=1))
    stranger = Actor(user_id=None, email="eve@builder.test", role=UserRole.BUILDER, builder_id=actor.builder_id + 999)
    with pytest.raises(NotFound):
        mark_attended(engine=engine, actor=stranger, booking_id=booking.id, now=start + timedelta(minutes=1))
    for minutes in (1, 2):  # the second click changes nothing
        marked = mark_attended(engine=engine, actor=actor, booking_id=booking.id, now=start + timedelta(minutes=minutes))
        assert marked.state is NoShowState.MARKED
    with pytest.raises(NoShowRefused, match="already marked attended"):
        mark_no_show(engine=engine, gateway=gateway, settings=SETTINGS, actor=actor, booking_id=booking.id,
                     now=start + timedelta(minutes=3))
    assert fee_rows(engine, booking.id) == []
    with Session(engine) as s:
        assert s.get(Booking, booking.id).attendance == Attendance.ATTENDED
