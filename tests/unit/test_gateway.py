"""Stripe request shapes and webhook verification, with no network."""

from datetime import datetime, timezone

import pytest

from booking.core.models import RefundStatus
from booking.lifecycle.checkout import checkout_settled
from booking.payments.gateway import (
    CheckoutMode,
    CheckoutPaymentStatus,
    CheckoutRequest,
    CheckoutSession,
    CheckoutStatus,
    InvalidWebhook,
    PaymentIntentRecord,
    PaymentIntentStatus,
    Refund,
    RefundState,
    checkout_params,
    verify_webhook,
)
from booking.payments.ledger import refund_status_of
from tests.support.stripe_events import WEBHOOK_SECRET, encode, event, sign


def _request(**overrides) -> CheckoutRequest:
    fields = dict(
        booking_id="b-1", line_item_name="1:1 call with Ada", line_item_description="60 min", amount=5000,
        currency="jpy", price_id=None, customer_email="c@example.com", client_reference_id="b-1",
        success_url="http://x/payment/success?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://x/payment/cancel?booking=b-1",
        expires_at=datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc), metadata={"booking_id": "b-1"},
    )
    fields.update(overrides)
    return CheckoutRequest(**fields)


def test_checkout_uses_server_price_in_minor_units_without_fixed_payment_methods():
    params = checkout_params(_request())

    item = params["line_items"][0]
    assert item["price_data"] == {"currency": "jpy", "unit_amount": 5000,
                                  "product_data": {"name": "1:1 call with Ada", "description": "60 min"}}
    assert "payment_method_types" not in params
    assert params["mode"] == "payment"
    assert params["expires_at"] == int(datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc).timestamp())
    assert params["metadata"] == params["payment_intent_data"]["metadata"] == {"booking_id": "b-1"}
    assert "{CHECKOUT_SESSION_ID}" in params["success_url"]


def test_a_setup_session_keeps_the_card_on_the_customer_and_charges_nothing():
    params = checkout_params(_request(amount=0, mode=CheckoutMode.SETUP, customer_id="cus_1"))

    assert (params["mode"], params["customer"], params["currency"]) == ("setup", "cus_1", "jpy")
    assert "line_items" not in params and "payment_intent_data" not in params


@pytest.mark.parametrize(("stripe_mode", "mode"), [("setup", CheckoutMode.SETUP), (None, CheckoutMode.PAYMENT),
                                                    ("subscription", CheckoutMode.SUBSCRIPTION)])
def test_a_checkout_sessions_mode_is_read_from_stripe_as_a_checkout_mode(stripe_mode, mode):
    assert CheckoutSession.from_stripe({"id": "cs_1", "mode": stripe_mode}).mode is mode


@pytest.mark.parametrize(("data", "status", "payment_status", "settled"), [
    ({"status": "complete", "payment_status": "paid"}, CheckoutStatus.COMPLETE, CheckoutPaymentStatus.PAID, True),
    ({"status": "expired", "payment_status": "unpaid"}, CheckoutStatus.EXPIRED, CheckoutPaymentStatus.UNPAID, False),
    ({}, CheckoutStatus.OPEN, CheckoutPaymentStatus.UNPAID, False),  # Stripe always sends them; absent: not paid
])
def test_a_checkout_sessions_statuses_are_read_from_stripe_as_enums(data, status, payment_status, settled):
    checkout = CheckoutSession.from_stripe({"id": "cs_1", **data})

    assert (checkout.status, checkout.payment_status) == (status, payment_status)
    assert type(checkout.status) is CheckoutStatus and type(checkout.payment_status) is CheckoutPaymentStatus
    assert checkout_settled(checkout) is settled


def test_a_status_stripe_added_since_is_unknown_and_never_counts_as_paid_or_settled(caplog):
    checkout = CheckoutSession.from_stripe({"id": "cs_1", "status": "archived", "payment_status": "partly_paid"})
    refund = Refund.from_stripe({"id": "re_1", "amount": 500, "status": "reversed"})
    intent = PaymentIntentRecord.from_stripe({"id": "pi_1", "status": "on_hold"})

    assert (checkout.status, checkout.payment_status) == (CheckoutStatus.UNKNOWN, CheckoutPaymentStatus.UNKNOWN)
    assert not checkout_settled(checkout)  # nothing is confirmed on it; the hold is not reused either
    assert refund.status is RefundState.UNKNOWN and refund_status_of(refund.status) is RefundStatus.PENDING
    assert intent.status is PaymentIntentStatus.UNKNOWN
    assert "'partly_paid'" in caplog.text and "'reversed'" in caplog.text and "'on_hold'" in caplog.text


def test_checkout_uses_the_stripe_price_when_the_session_type_has_one():
    params = checkout_params(_request(price_id="price_123"))

    assert params["line_items"] == [{"price": "price_123", "quantity": 1}]


def test_webhook_with_valid_signature_is_parsed():
    payload = encode(event("checkout.session.completed", {"id": "cs_1"}))

    parsed = verify_webhook(payload, sign(payload), WEBHOOK_SECRET)

    assert parsed["type"] == "checkout.session.completed"


@pytest.mark.parametrize("header", [None, "", "t=1,v1=deadbeef", "garbage"])
def test_webhook_with_bad_signature_is_refused(header):
    payload = encode(event("checkout.session.completed", {"id": "cs_1"}))

    with pytest.raises(InvalidWebhook):
        verify_webhook(payload, header, WEBHOOK_SECRET)


def test_webhook_signed_with_another_secret_is_refused():
    payload = encode(event("checkout.session.completed", {"id": "cs_1"}))

    with pytest.raises(InvalidWebhook):
        verify_webhook(payload, sign(payload, secret="whsec_other"), WEBHOOK_SECRET)


def test_stale_webhook_is_refused():
    payload = encode(event("checkout.session.completed", {"id": "cs_1"}))
    ten_minutes_ago = int(datetime.now(timezone.utc).timestamp()) - 600

    with pytest.raises(InvalidWebhook):
        verify_webhook(payload, sign(payload, timestamp=ten_minutes_ago), WEBHOOK_SECRET)


def test_tampered_body_is_refused():
    payload = encode(event("checkout.session.completed", {"id": "cs_1"}))
    header = sign(payload)

    with pytest.raises(InvalidWebhook):
        verify_webhook(payload.replace(b"cs_1", b"cs_2"), header, WEBHOOK_SECRET)


def test_bank_debits_are_excluded_only_for_sessions_starting_too_soon():
    from datetime import timedelta

    from booking.core.config import load_settings
    from booking.lifecycle.checkout import excluded_payment_methods
    from booking.payments.gateway import DELAYED_PAYMENT_METHOD_TYPES

    settings = load_settings(PUBLIC_URL="https://book.example", DELAYED_PAYMENT_MIN_LEAD_HOURS="72")
    now = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
    soon = excluded_payment_methods(start=now + timedelta(hours=71, minutes=59), now=now, settings=settings)
    assert {"sepa_debit", "bacs_debit"} <= set(soon) and soon == DELAYED_PAYMENT_METHOD_TYPES
    assert excluded_payment_methods(start=now + timedelta(hours=72), now=now, settings=settings) == ()
    assert checkout_params(_request(excluded_payment_method_types=soon))["excluded_payment_method_types"] \
        == list(soon)
    assert "excluded_payment_method_types" not in checkout_params(_request())
