"""Receipts and invoices through the Stripe emulator (issue #15, item 5): a client who asks for an
invoice gets one with the business name and tax ID they typed on Stripe's page; every payment keeps
Stripe's receipt; the confirmation and refund emails and the manage page link them. Refunds that Stripe
keeps pending, or that fail later, show as such. And the Connect endpoint's secret (item 6): a connected
account's event signed with the platform's secret is refused, with the Connect secret accepted."""

from __future__ import annotations

import json
from datetime import time, timedelta
from email.message import EmailMessage

import httpx
import pytest
from sqlmodel import Session, select

from booking.accounts.authz import Actor
from booking.client import confirm_from_success_page, manage
from booking.core.config import get_settings, load_settings
from booking.core.models import Payment, Refund, RefundStatus, UserRole, utcnow
from booking.events.webhooks import handle_webhook
from booking.lifecycle import checkout as payments
from booking.lifecycle import refunds
from booking.notifications import manage_links
from booking.notifications.outbox import send_due_notifications
from booking.payments import movements
from booking.payments.gateway import StripeGateway, gateway_from_settings
from booking.scheduling.availability import END_OF_DAY
from stripe_emulator.core.cards import REFUND_SETTLE_SECONDS
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se

SETTINGS = load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30)
CLIENT, BUILDER = "ann@example.com", "ada@builder.test"


@pytest.fixture(autouse=True)
def app_settings(engine, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "receipts-test-secret-" + "s" * 40)
    monkeypatch.setenv("PUBLIC_URL", "https://book.example")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def shop(session: Session):
    builder = make_builder(session, time_zone="UTC", hours=(time(0, 0), END_OF_DAY), name="Ada", email=BUILDER)
    session_type = make_session_type(session, builder, price_amount=5000, currency="gbp", name="Consult")
    session.commit()
    return session_type, Actor(user_id=None, email=BUILDER, role=UserRole.BUILDER, builder_id=builder.id)


def deliver_new(engine, gateway, emulator, seen: set[str]) -> list[str]:
    with emulator.emulator.lock:
        events = list(reversed(emulator.emulator.store.all("event")))
    delivered = []
    for event in events:
        if event["id"] in seen:
            continue
        seen.add(event["id"])
        payload = json.dumps(event).encode()
        result = handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload))
        assert result.status_code == 200, result.body
        delivered.append(event["type"])
    return delivered


def book(engine, gateway, session_type, *, invoice: bool) -> payments.CheckoutStarted:
    start = (utcnow() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    return payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                   session_type_id=session_type.id, start_time=start, client_name="Ann",
                                   client_email=CLIENT, invoice_requested=invoice)


def pay_on_stripes_page(emulator, checkout_session_id: str, card: str = "4242 4242 4242 4242", **business) -> None:
    form = {"email": CLIENT, "cardnumber": card, "expiry": "12 / 40", "cvc": "123", "name": "Ann", **business}
    answer = httpx.post(f"{emulator.url}/c/pay/{checkout_session_id}", data=form)
    assert answer.status_code == 303, answer.text


def payment_of(engine, booking_id: str) -> Payment:
    with Session(engine) as s:
        return s.exec(select(Payment).where(Payment.booking_id == booking_id)).one()


def client_mail(engine) -> list[EmailMessage]:
    class Collected:
        messages: list[EmailMessage] = []

        def send(self, message: EmailMessage) -> None:
            self.messages.append(message)

    mailer = Collected()
    mailer.messages = []
    send_due_notifications(engine=engine, mailer=mailer, now=utcnow() + timedelta(minutes=5))
    return [m for m in mailer.messages if m["To"].addresses[0].addr_spec == CLIENT]


def text(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def manage_view(engine, booking_id: str):
    return manage.load_view(engine=engine, token=manage_links.derive_token(booking_id))


def test_an_invoice_with_the_business_name_and_tax_id_is_stored_and_linked(engine, gateway, emulator, shop):
    session_type, _actor = shop
    started = book(engine, gateway, session_type, invoice=True)
    checkout = emulator.emulator.retrieve("checkout.session", started.checkout_session_id)
    assert checkout["invoice_creation"]["enabled"] and checkout["tax_id_collection"]["enabled"]
    assert checkout["invoice_creation"]["invoice_data"]["metadata"] == {"booking_id": started.booking_id}

    pay_on_stripes_page(emulator, started.checkout_session_id, business_name="Lovelace Analytics GmbH",
                        tax_id_type="eu_vat", tax_id="DE811907980")
    deliver_new(engine, gateway, emulator, set())

    payment = payment_of(engine, started.booking_id)
    invoice = emulator.emulator.retrieve("invoice", payment.invoice_id)
    assert payment.invoice_requested
    assert (payment.invoice_url, payment.invoice_pdf_url) == (invoice["hosted_invoice_url"], invoice["invoice_pdf"])
    assert payment.receipt_url and payment.receipt_url.startswith(emulator.url + "/receipts/")
    page = httpx.get(payment.invoice_url).text
    assert "DE811907980" in page and "Lovelace Analytics GmbH" in page
    assert httpx.get(payment.invoice_pdf_url).content.startswith(b"%PDF")

    [confirmation] = client_mail(engine)
    assert f"View your invoice: {payment.invoice_url}" in text(confirmation)
    assert f"View your receipt: {payment.receipt_url}" in text(confirmation)
    view = manage_view(engine, started.booking_id)
    assert (view.invoice_url, view.invoice_pdf_url, view.receipt_url) == (
        payment.invoice_url, payment.invoice_pdf_url, payment.receipt_url)


def test_without_asking_there_is_no_invoice_but_a_receipt_and_the_refund_email_links_it(
        engine, gateway, emulator, shop):
    session_type, actor = shop
    started = book(engine, gateway, session_type, invoice=False)
    checkout = emulator.emulator.retrieve("checkout.session", started.checkout_session_id)
    assert not checkout["invoice_creation"]["enabled"] and "tax_id_collection" not in checkout
    pay_on_stripes_page(emulator, started.checkout_session_id)
    seen: set[str] = set()
    deliver_new(engine, gateway, emulator, seen)
    payment = payment_of(engine, started.booking_id)
    assert payment.invoice_id is None and payment.invoice_url is None and payment.receipt_url
    [confirmation] = client_mail(engine)
    assert "invoice" not in text(confirmation).lower()
    assert f"View your receipt: {payment.receipt_url}" in text(confirmation)
    assert manage_view(engine, started.booking_id).invoice_url == ""

    outcome = refunds.request_refund(engine=engine, gateway=gateway, actor=actor, booking_id=started.booking_id,
                                     amount=1000, reason="requested_by_customer", request_key="part-1")
    assert outcome.ok
    deliver_new(engine, gateway, emulator, seen)
    [refunded] = client_mail(engine)
    assert f"View your receipt: {payment.receipt_url}" in text(refunded)
    assert "£10.00" in httpx.get(payment.receipt_url).text  # the refund shows on Stripe's receipt


@pytest.mark.parametrize(("card", "first", "settled"), [
    ("4000 0000 0000 7726", RefundStatus.PENDING, RefundStatus.SUCCEEDED),
    ("4000 0000 0000 5126", RefundStatus.SUCCEEDED, RefundStatus.FAILED),
])
def test_a_refund_stripe_settles_later_shows_its_status_as_it_changes(engine, gateway, emulator, shop,
                                                                       card, first, settled):
    session_type, actor = shop
    started = book(engine, gateway, session_type, invoice=False)
    pay_on_stripes_page(emulator, started.checkout_session_id, card=card)
    seen: set[str] = set()
    deliver_new(engine, gateway, emulator, seen)
    outcome = refunds.request_refund(engine=engine, gateway=gateway, actor=actor, booking_id=started.booking_id,
                                     amount=1000, reason="requested_by_customer", request_key="later-1")
    assert outcome.ok
    deliver_new(engine, gateway, emulator, seen)

    def status() -> RefundStatus:
        with Session(engine) as s:
            return s.exec(select(Refund.status).where(Refund.booking_id == started.booking_id)).one()

    assert status() == first
    emulator.emulator.advance(REFUND_SETTLE_SECONDS + 1)
    delivered = deliver_new(engine, gateway, emulator, seen)
    assert "charge.refund.updated" in delivered and "refund.updated" in delivered
    assert status() == settled
    expected_refunded = 1000 if settled == RefundStatus.SUCCEEDED else 0
    payment = payment_of(engine, started.booking_id)
    assert payment.amount_refunded == expected_refunded
    with Session(engine) as s:  # the money journal agrees: what the client paid net is the charge less refunds
        held = movements.balances(movements.movements_of(session=s, payment_id=payment.id))
    assert held.client_paid_net == payment.amount - expected_refunded


# --- the Connect endpoint's own secret (STRIPE_CONNECT_WEBHOOK_SECRET) ----------------------------------

CONNECT_SECRET = "whsec_connect_" + "k" * 24


def connect_gateway(monkeypatch) -> StripeGateway:
    settings = load_settings(STRIPE_SECRET_KEY="sk_test_connect_path", STRIPE_WEBHOOK_SECRET=se.WEBHOOK_SECRET,
                             STRIPE_CONNECT_WEBHOOK_SECRET=CONNECT_SECRET, STRIPE_API_BASE="http://127.0.0.1:9")
    return gateway_from_settings(settings)


def account_event() -> dict:
    return {"id": "evt_connect_secret_1", "object": "event", "account": "acct_unknown_builder",
            "type": "payout.paid", "created": int(utcnow().timestamp()), "livemode": False,
            "data": {"object": {"id": "po_1", "object": "payout", "status": "paid", "amount": 100,
                                "currency": "gbp"}}}


def test_a_connected_accounts_event_signed_with_the_platform_secret_is_refused(engine, monkeypatch):
    payload = json.dumps(account_event()).encode()
    result = handle_webhook(engine=engine, gateway=connect_gateway(monkeypatch), payload=payload,
                            signature=se.sign(payload, se.WEBHOOK_SECRET))
    assert result.status_code == 400
    assert result.body["error"]["code"] == "invalid_signature"
    assert "Connect endpoint" in result.body["error"]["message"]


def test_a_connected_accounts_event_signed_with_the_connect_secret_is_accepted(engine, monkeypatch):
    payload = json.dumps(account_event()).encode()
    result = handle_webhook(engine=engine, gateway=connect_gateway(monkeypatch), payload=payload,
                            signature=se.sign(payload, CONNECT_SECRET))
    assert result.status_code == 200, result.body


def test_a_platform_event_signed_with_the_connect_secret_is_refused(engine, monkeypatch):
    event = {**account_event(), "id": "evt_platform_1", "type": "checkout.session.expired"}
    event.pop("account")
    payload = json.dumps(event).encode()
    result = handle_webhook(engine=engine, gateway=connect_gateway(monkeypatch), payload=payload,
                            signature=se.sign(payload, CONNECT_SECRET))
    assert result.status_code == 400


def test_the_success_page_confirming_first_still_links_the_invoice_in_the_email(engine, gateway, emulator, shop):
    session_type, _actor = shop
    started = book(engine, gateway, session_type, invoice=True)
    pay_on_stripes_page(emulator, started.checkout_session_id, business_name="Lovelace Analytics GmbH",
                        tax_id_type="eu_vat", tax_id="DE811907980")
    # The browser lands on the success page before any webhook: the page confirms the booking.
    receipt = confirm_from_success_page(engine=engine, gateway=gateway,
                                        checkout_session_id=started.checkout_session_id)
    assert receipt.state == "confirmed"
    payment = payment_of(engine, started.booking_id)
    assert payment.invoice_url and payment.receipt_url
    [confirmation] = client_mail(engine)
    assert f"View your invoice: {payment.invoice_url}" in text(confirmation)
    deliver_new(engine, gateway, emulator, set())  # the webhooks after it change nothing
    assert payment_of(engine, started.booking_id).invoice_url == payment.invoice_url
    assert client_mail(engine) == []
