"""Memberships on the emulator: Checkout in subscription mode (a destination charge with the platform's
percentage), renewals when the clock advances a month, a card that attaches but fails on charge, the
customer portal (cancel at period end, change the card), and the refusals Stripe gives."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from stripe_emulator.core.billing import add_months
from tests.emulator.helpers import AUTH, WebhookReceiver, onboarded_account, pay


@pytest.fixture
def monthly_price(client: stripe.StripeClient) -> Any:
    return client.v1.prices.create(params={
        "currency": "gbp", "unit_amount": 4000, "recurring": {"interval": "month"},
        "product_data": {"name": "4 sessions a month"},
    })


def subscribe(client: stripe.StripeClient, receiver: WebhookReceiver, price_id: str, **extra: Any) -> Any:
    return client.v1.checkout.sessions.create(params={
        "mode": "subscription",
        "line_items": [{"price": price_id, "quantity": 1}],
        "success_url": receiver.base_url + "/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": receiver.base_url + "/cancel",
        "customer_email": "client@example.com",
        "metadata": {"plan_id": "7"},
        **extra,
    })


def advance_month(http: httpx.Client) -> dict[str, Any]:
    response = http.post("/_emulator/clock/advance", json={"months": 1})
    assert response.status_code == 200, response.text
    return response.json()


def test_checkout_starts_a_subscription_with_the_platform_share_and_a_paid_first_invoice(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, monthly_price: Any
) -> None:
    account = onboarded_account(client)
    session = subscribe(client, receiver, monthly_price.id, subscription_data={
        "application_fee_percent": 12.5, "transfer_data": {"destination": account.id},
        "metadata": {"plan_id": "7"},
    })
    page = http.get(f"/c/pay/{session.id}")
    assert "Subscribe" in page.text and "per month" in page.text
    result = pay(http, session.id)
    assert result["ok"], result
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert done.mode == "subscription" and done.status == "complete"
    assert done.subscription.startswith("sub_") and done.customer.startswith("cus_")
    subscription = client.v1.subscriptions.retrieve(done.subscription)
    assert subscription.status == "active" and subscription.application_fee_percent == 12.5
    assert subscription.transfer_data.destination == account.id
    assert subscription.metadata["plan_id"] == "7"
    item = subscription["items"].data[0]
    assert item.current_period_end == add_months(item.current_period_start, 1)
    invoice = client.v1.invoices.retrieve(done.invoice, params={"expand": ["payments"]})
    assert invoice.status == "paid" and invoice.amount_paid == 4000
    assert invoice.billing_reason == "subscription_create"
    assert invoice.parent.subscription_details.subscription == subscription.id
    payment = invoice.payments.data[0]
    charge = client.v1.charges.list(params={"payment_intent": payment.payment.payment_intent}).data[0]
    assert charge.application_fee_amount == 500  # 12.5 % of £40
    assert charge.transfer_data.destination == account.id
    receiver.wait_for("checkout.session.completed")
    receiver.wait_for("invoice.paid")
    types = receiver.types()
    assert types.index("customer.subscription.created") < types.index("checkout.session.completed")


def test_a_month_later_the_subscription_renews_and_a_failing_card_leaves_the_invoice_open(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, monthly_price: Any
) -> None:
    session = subscribe(client, receiver, monthly_price.id)
    pay(http, session.id)
    sub_id = client.v1.checkout.sessions.retrieve(session.id).subscription
    first_end = client.v1.subscriptions.retrieve(sub_id)["items"].data[0].current_period_end
    renewed = advance_month(http)
    assert len(renewed["renewed_invoices"]) == 1
    invoice = client.v1.invoices.retrieve(renewed["renewed_invoices"][0])
    assert invoice.status == "paid" and invoice.billing_reason == "subscription_cycle"
    subscription = client.v1.subscriptions.retrieve(sub_id)
    assert subscription["items"].data[0].current_period_start == first_end
    assert subscription.latest_invoice == invoice.id
    receiver.wait_for("invoice.paid", count=2)

    portal = client.v1.billing_portal.sessions.create(params={
        "customer": subscription.customer, "return_url": receiver.base_url + "/wallet"})
    changed = http.post(f"/p/session/{portal.id}/payment-method", data={
        "number": "4000 0000 0000 0341", "expiry": "12/34", "cvc": "123", "name": "Client"})
    assert changed.status_code == 303
    assert "ending in 0341" in http.get(f"/p/session/{portal.id}").text
    failed = advance_month(http)
    invoice = client.v1.invoices.retrieve(failed["renewed_invoices"][0])
    assert invoice.status == "open" and invoice.attempt_count == 1 and invoice.amount_paid == 0
    assert client.v1.subscriptions.retrieve(sub_id).status == "past_due"
    event = receiver.wait_for("invoice.payment_failed")[0]
    assert event["data"]["object"]["id"] == invoice.id


def test_the_portal_cancels_at_the_period_end(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, monthly_price: Any
) -> None:
    session = subscribe(client, receiver, monthly_price.id)
    pay(http, session.id)
    sub_id = client.v1.checkout.sessions.retrieve(session.id).subscription
    customer = client.v1.subscriptions.retrieve(sub_id).customer
    portal = client.v1.billing_portal.sessions.create(params={"customer": customer})
    page = http.get(portal.url.replace(str(http.base_url).rstrip("/"), ""))
    assert "Cancel plan" in page.text and "Renews" in page.text
    response = http.post(f"/p/session/{portal.id}/cancel", data={"subscription": sub_id})
    assert response.status_code == 303
    subscription = client.v1.subscriptions.retrieve(sub_id)
    assert subscription.status == "active" and subscription.cancel_at_period_end
    assert "Cancels" in http.get(f"/p/session/{portal.id}").text
    updated = receiver.wait_for("customer.subscription.updated")[-1]
    assert updated["data"]["previous_attributes"]["cancel_at_period_end"] is False
    assert advance_month(http)["renewed_invoices"] == []
    assert client.v1.subscriptions.retrieve(sub_id).status == "canceled"
    receiver.wait_for("customer.subscription.deleted")
    assert client.v1.subscriptions.list(params={"customer": customer}).data == []
    assert len(client.v1.subscriptions.list(params={"customer": customer, "status": "all"}).data) == 1


def test_update_and_cancel_through_the_api(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, monthly_price: Any
) -> None:
    session = subscribe(client, receiver, monthly_price.id)
    pay(http, session.id)
    sub_id = client.v1.checkout.sessions.retrieve(session.id).subscription
    updated = client.v1.subscriptions.update(sub_id, params={"cancel_at_period_end": True})
    assert updated.cancel_at_period_end and updated.cancel_at
    canceled = client.v1.subscriptions.cancel(sub_id)
    assert canceled.status == "canceled" and canceled.ended_at
    again = http.delete(f"/v1/subscriptions/{sub_id}", auth=AUTH)
    assert again.status_code == 400


@pytest.mark.parametrize(
    ("extra", "param", "code"),
    [
        ({"payment_intent_data[application_fee_amount]": "100"}, "payment_intent_data", None),
        ({"subscription_data[trial_period_days]": "7"}, "subscription_data[trial_period_days]",
         "parameter_unknown"),
        ({"subscription_data[application_fee_percent]": "120"},
         "subscription_data[application_fee_percent]", None),
        ({"subscription_data[application_fee_percent]": "10"},
         "subscription_data[application_fee_percent]", None),
        ({"subscription_data[transfer_data][destination]": "acct_nope"},
         "subscription_data[transfer_data][destination]", "resource_missing"),
    ],
)
def test_subscription_mode_refusals(
    http: httpx.Client, receiver: WebhookReceiver, monthly_price: Any,
    extra: dict[str, str], param: str, code: str | None,
) -> None:
    data = {"mode": "subscription", "line_items[0][price]": monthly_price.id, "line_items[0][quantity]": "1",
            "success_url": receiver.base_url + "/success", **extra}
    response = http.post("/v1/checkout/sessions", data=data, auth=AUTH)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and error.get("code") == code


def test_a_one_time_price_is_refused_in_subscription_mode_and_a_recurring_one_in_payment_mode(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, monthly_price: Any
) -> None:
    one_time = client.v1.prices.create(params={"currency": "gbp", "unit_amount": 900,
                                               "product_data": {"name": "Once"}})
    for mode, price in (("subscription", one_time.id), ("payment", monthly_price.id)):
        response = http.post("/v1/checkout/sessions", auth=AUTH, data={
            "mode": mode, "line_items[0][price]": price, "line_items[0][quantity]": "1",
            "success_url": receiver.base_url + "/success"})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "line_items[0][price]"
    response = http.post("/v1/checkout/sessions", auth=AUTH, data={
        "mode": "payment", "subscription_data[metadata][a]": "b", "line_items[0][price]": one_time.id,
        "line_items[0][quantity]": "1", "success_url": receiver.base_url + "/success"})
    assert response.json()["error"]["param"] == "subscription_data"


def test_portal_session_refusals(http: httpx.Client) -> None:
    missing = http.post("/v1/billing_portal/sessions", auth=AUTH, data={"customer": "cus_nope"})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "resource_missing"
    flow = http.post("/v1/billing_portal/sessions", auth=AUTH,
                     data={"customer": "cus_nope", "flow_data[type]": "payment_method_update"})
    assert flow.json()["error"]["code"] == "parameter_unknown"
    assert http.get("/p/session/bps_unknown").status_code == 404


def test_advance_refuses_a_bad_month_count(http: httpx.Client) -> None:
    for months in ("one", -1, 99):
        response = http.post("/_emulator/clock/advance", json={"months": months})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "months"


def test_the_portal_refuses_a_bad_card_and_changes_nothing(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, monthly_price: Any
) -> None:
    session = subscribe(client, receiver, monthly_price.id)
    pay(http, session.id)
    sub_id = client.v1.checkout.sessions.retrieve(session.id).subscription
    before = client.v1.subscriptions.retrieve(sub_id).default_payment_method
    portal = client.v1.billing_portal.sessions.create(params={"customer": client.v1.subscriptions.retrieve(
        sub_id).customer})
    refused = http.post(f"/p/session/{portal.id}/payment-method",
                        data={"number": "4242 4242 4242 4241", "expiry": "12/34", "cvc": "123", "name": "Client"})
    assert refused.status_code == 400 and "Your card number is invalid." in refused.text
    assert client.v1.subscriptions.retrieve(sub_id).default_payment_method == before


def test_a_subscriptions_invoices_are_listed_and_have_their_hosted_page(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, monthly_price: Any
) -> None:
    session = subscribe(client, receiver, monthly_price.id)
    pay(http, session.id)
    sub_id = client.v1.checkout.sessions.retrieve(session.id).subscription
    advance_month(http)
    listed = client.v1.invoices.list(params={"subscription": sub_id}).data
    assert sorted(invoice.billing_reason for invoice in listed) == ["subscription_create", "subscription_cycle"]
    page = http.get(f"/i/{listed[0].id}")
    assert page.status_code == 200 and "£40.00" in page.text
    payments = client.v1.invoice_payments.list(params={"invoice": listed[0].id}).data
    assert [payment.status for payment in payments] == ["paid"]
