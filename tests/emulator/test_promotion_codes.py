"""Coupons and promotion codes: the resources, their refusals, and what they take off a Checkout Session
(amounts, `total_details`, the PaymentIntent and its fee, a free order, the hosted page's code field)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.emulator.helpers import AUTH, WebhookReceiver, destination_session, onboarded_account, pay


def coupon(client: stripe.StripeClient, **params: Any) -> Any:
    return client.v1.coupons.create(params={"percent_off": 10, **params})


def promotion_code(client: stripe.StripeClient, coupon_id: str, **params: Any) -> Any:
    return client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon_id}, **params})


def test_coupon_and_code_lifecycle(client: stripe.StripeClient, receiver: WebhookReceiver) -> None:
    ten = coupon(client, name="Ten off", max_redemptions=5, metadata={"builder_id": "7"})
    assert (ten.percent_off, ten.valid, ten.times_redeemed, ten.duration) == (10, True, 0, "once")
    code = promotion_code(client, ten.id, code="WELCOME10", restrictions={"minimum_amount": 1000,
                                                                           "minimum_amount_currency": "gbp"})
    assert code.id.startswith("promo_") and code.code == "WELCOME10" and code.promotion.coupon == ten.id
    assert code.restrictions.minimum_amount == 1000
    assert client.v1.coupons.retrieve(ten.id).name == "Ten off"
    assert [c.id for c in client.v1.promotion_codes.list(params={"code": "WELCOME10"}).data] == [code.id]
    updated = client.v1.promotion_codes.update(code.id, params={"active": False})
    assert updated.active is False
    assert client.v1.coupons.update(ten.id, params={"name": "Ten percent"}).name == "Ten percent"
    receiver.wait_for("promotion_code.updated")
    receiver.wait_for("coupon.updated")
    assert {"coupon.created", "coupon.updated", "promotion_code.created"} <= {e["type"] for e in receiver.events}


@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        ({"percent_off": 0}, "percent_off", "must be greater than 0"),
        ({"percent_off": 101}, "percent_off", "at most 100"),
        ({"percent_off": None, "amount_off": 500}, "currency", "Missing required param"),
        ({"amount_off": 500, "currency": "gbp"}, "percent_off", "exactly one"),
        ({"duration": "repeating"}, "duration_in_months", "Missing required param"),
        ({"applies_to": {"products": ["prod_1"]}}, "applies_to", "Received unknown parameter"),
    ],
)
def test_coupon_refusals(client: stripe.StripeClient, params: dict[str, Any], param: str, message: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.coupons.create(params={k: v for k, v in {"percent_off": 10, **params}.items() if v is not None})
    assert info.value.param == param and message in str(info.value.user_message)


def test_an_active_code_is_unique_and_a_missing_coupon_is_named(client: stripe.StripeClient) -> None:
    ten = coupon(client)
    promotion_code(client, ten.id, code="SPRING")
    with pytest.raises(stripe.InvalidRequestError) as taken:
        promotion_code(client, ten.id, code="spring")
    assert (taken.value.code, taken.value.param) == ("resource_already_exists", "code")
    with pytest.raises(stripe.InvalidRequestError) as missing:
        promotion_code(client, "NOPE")
    assert (missing.value.code, missing.value.param) == ("resource_missing", "promotion[coupon]")


def test_a_code_discounts_the_session_the_intent_and_counts_once_paid(
    client: stripe.StripeClient, http: httpx.Client, make_session: Any
) -> None:
    code = promotion_code(client, coupon(client, percent_off=25).id, max_redemptions=1)
    session = make_session(discounts=[{"promotion_code": code.id}])
    assert (session.amount_subtotal, session.amount_total) == (5000, 3750)
    assert session.total_details.amount_discount == 1250
    assert session.discounts[0].promotion_code == code.id
    items = http.get(f"/v1/checkout/sessions/{session.id}/line_items", auth=AUTH).json()["data"]
    assert (items[0]["amount_discount"], items[0]["amount_total"]) == (1250, 3750)
    result = pay(http, session.id)
    assert result["payment_intent"]["amount"] == 3750 and result["charge"]["amount"] == 3750
    assert client.v1.promotion_codes.retrieve(code.id).times_redeemed == 1
    with pytest.raises(stripe.InvalidRequestError) as used_up:
        make_session(discounts=[{"promotion_code": code.id}])
    assert used_up.value.param == "discounts[0][promotion_code]"
    assert "maximum number of times" in str(used_up.value.user_message)


def test_restrictions_are_refused_with_the_reason(client: stripe.StripeClient, make_session: Any,
                                                  emulator: EmulatorServer) -> None:
    ten = coupon(client)
    minimum = promotion_code(client, ten.id, restrictions={"minimum_amount": 9000, "minimum_amount_currency": "gbp"})
    with pytest.raises(stripe.InvalidRequestError) as low:
        make_session(discounts=[{"promotion_code": minimum.id}])
    assert "minimum" in str(low.value.user_message)
    soon = promotion_code(client, ten.id, expires_at=emulator.emulator.clock.now() + 60)
    emulator.emulator.advance(120)
    with pytest.raises(stripe.InvalidRequestError) as expired:
        make_session(discounts=[{"promotion_code": soon.id}])
    assert expired.value.code == "coupon_expired"
    with pytest.raises(stripe.InvalidRequestError) as both:
        make_session(discounts=[{"coupon": ten.id}], allow_promotion_codes=True)
    assert both.value.param == "allow_promotion_codes"
    euros = coupon(client, percent_off=None, amount_off=500, currency="eur")
    with pytest.raises(stripe.InvalidRequestError) as currency:
        make_session(discounts=[{"coupon": euros.id}])
    assert "EUR" in str(currency.value.user_message)


def test_a_destination_charge_fee_must_fit_the_discounted_total(client: stripe.StripeClient,
                                                               receiver: WebhookReceiver, http: httpx.Client) -> None:
    account = onboarded_account(client)
    half = promotion_code(client, coupon(client, percent_off=50).id)
    session = destination_session(client, receiver, account.id, amount=10000, fee=500,
                                  discounts=[{"promotion_code": half.id}])
    paid = pay(http, session.id)
    assert paid["payment_intent"]["amount"] == 5000 and paid["payment_intent"]["application_fee_amount"] == 500
    with pytest.raises(stripe.InvalidRequestError) as too_big:
        destination_session(client, receiver, account.id, amount=10000, fee=6000,
                            discounts=[{"promotion_code": half.id}])
    assert too_big.value.param == "payment_intent_data[application_fee_amount]"


def test_a_free_order_completes_without_payment(client: stripe.StripeClient, http: httpx.Client,
                                                make_session: Any, receiver: WebhookReceiver) -> None:
    free = promotion_code(client, coupon(client, percent_off=100).id)
    session = make_session(discounts=[{"promotion_code": free.id}])
    assert session.amount_total == 0
    page = http.get(f"/c/pay/{session.id}")
    assert "Complete order" in page.text and "Card number" not in page.text
    response = http.post(f"/c/pay/{session.id}", data={"email": "guest@example.com"})
    assert response.status_code == 303
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status, done.payment_intent) == ("complete", "no_payment_required", None)
    (event,) = receiver.wait_for("checkout.session.completed")
    assert event["data"]["object"]["payment_status"] == "no_payment_required"
    assert not [e for e in receiver.events if e["type"].startswith("payment_intent.")]


def test_the_hosted_page_takes_a_code_when_allowed(client: stripe.StripeClient, http: httpx.Client,
                                                   make_session: Any) -> None:
    promotion_code(client, coupon(client, percent_off=None, amount_off=1000, currency="gbp").id, code="TENOFF")
    plain = make_session()
    assert "Promotion code" not in http.get(f"/c/pay/{plain.id}").text
    session = make_session(allow_promotion_codes=True)
    assert client.v1.checkout.sessions.retrieve(session.id).allow_promotion_codes is True
    wrong = http.post(f"/c/pay/{session.id}/promotion-code", data={"code": "NOPE"})
    assert wrong.status_code == 400 and "This code is invalid." in wrong.text
    applied = http.post(f"/c/pay/{session.id}/promotion-code", data={"code": "tenoff"})
    assert applied.status_code == 303
    after = client.v1.checkout.sessions.retrieve(session.id)
    assert (after.amount_total, after.total_details.amount_discount) == (4000, 1000)
    assert "£40.00" in http.get(f"/c/pay/{session.id}").text
    assert pay(http, session.id)["charge"]["amount"] == 4000
