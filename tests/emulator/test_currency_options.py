"""Prices in several currencies: `currency_options` on prices (create, retrieve with `expand[]`, refusals),
Checkout's `currency` charging the option's amount, the hosted page showing it, Stripe's minimum charge
(`amount_too_small`) and three-decimal amounts that must end in 0."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from tests.emulator.helpers import WebhookReceiver, pay


@pytest.fixture
def product(client: stripe.StripeClient) -> Any:
    return client.v1.products.create(params={"name": "Consult"})


def priced(client: stripe.StripeClient, product: Any, **options: int) -> Any:
    return client.v1.prices.create(params={
        "product": product.id, "currency": "gbp", "unit_amount": 5000,
        "currency_options": {code: {"unit_amount": amount} for code, amount in options.items()}})


def session_in(client: stripe.StripeClient, receiver: WebhookReceiver, price: Any, **extra: Any) -> Any:
    return client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": receiver.base_url + "/ok", "cancel_url": receiver.base_url + "/cancel",
        "line_items": [{"price": price.id, "quantity": 1}], **extra})


def test_options_come_back_only_when_expanded_with_the_prices_own_currency(client, product):
    price = priced(client, product, eur=4500, jpy=7000)
    assert "currency_options" not in price.to_dict()
    expanded = client.v1.prices.retrieve(price.id, params={"expand": ["currency_options"]}).to_dict()
    assert {code: option["unit_amount"] for code, option in expanded["currency_options"].items()} == \
        {"gbp": 5000, "eur": 4500, "jpy": 7000}
    assert expanded["currency_options"]["eur"] == {"custom_unit_amount": None, "tax_behavior": "unspecified",
                                                   "tiers": None, "unit_amount": 4500, "unit_amount_decimal": "4500"}


@pytest.mark.parametrize(("options", "param", "code"), [
    ({"uds": {"unit_amount": 100}}, "currency_options[uds]", None),
    ({"eur": {"unit_amount": 100, "colour": "red"}}, "currency_options[eur][colour]", "parameter_unknown"),
    ({"eur": {"unit_amount": -1}}, "currency_options[eur][unit_amount]", "parameter_invalid_integer"),
    ({"bhd": {"unit_amount": 12345}}, "currency_options[bhd][unit_amount]", "invalid_charge_amount"),
    ({"gbp": {"unit_amount": 4000}}, "currency_options[gbp][unit_amount]", None),
])
def test_bad_options_are_refused_naming_the_parameter(client, product, options, param, code):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.prices.create(params={"product": product.id, "currency": "gbp", "unit_amount": 5000,
                                        "currency_options": options})
    assert (info.value.param, info.value.code) == (param, code)


def test_a_three_decimal_price_must_end_in_zero(client, product):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.prices.create(params={"product": product.id, "currency": "kwd", "unit_amount": 1005})
    assert (info.value.param, info.value.code) == ("unit_amount", "invalid_charge_amount")
    assert client.v1.prices.create(params={"product": product.id, "currency": "kwd", "unit_amount": 1010}).unit_amount \
        == 1010


def test_checkout_in_an_option_charges_its_amount_and_the_page_shows_it(client, http: httpx.Client, receiver,
                                                                        product):
    price = priced(client, product, eur=4500, jpy=7000)
    session = session_in(client, receiver, price, currency="jpy")
    assert (session.amount_total, session.currency) == (7000, "jpy")
    (item,) = client.v1.checkout.sessions.line_items.list(session.id).data
    assert (item.amount_total, item.currency) == (7000, "jpy")
    page = http.get(f"/c/pay/{session.id}").text
    assert "¥7,000" in page and "£50.00" not in page

    pay(http, session.id)
    paid = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert (paid.payment_status, paid.payment_intent.amount, paid.payment_intent.currency) == ("paid", 7000, "jpy")
    refund = client.v1.refunds.create(params={"payment_intent": paid.payment_intent.id, "amount": 1000})
    assert (refund.amount, refund.currency) == (1000, "jpy")


def test_the_prices_own_currency_and_no_currency_stay_as_before(client, receiver, product):
    price = priced(client, product, eur=4500)
    assert (session_in(client, receiver, price, currency="gbp").amount_total,
            session_in(client, receiver, price).currency) == (5000, "gbp")


def test_a_currency_without_an_option_is_refused(client, receiver, product):
    price = priced(client, product, eur=4500)
    with pytest.raises(stripe.InvalidRequestError) as info:
        session_in(client, receiver, price, currency="usd")
    assert info.value.param == "currency" and "no currency option for usd" in str(info.value)


@pytest.mark.parametrize(("currency", "amount", "minimum"), [("jpy", 49, "¥50"), ("gbp", 29, "£0.30"),
                                                             ("usd", 49, "$0.50")])
def test_a_charge_below_stripes_minimum_is_amount_too_small(client, receiver, product, currency, amount, minimum):
    price = client.v1.prices.create(params={"product": product.id, "currency": currency, "unit_amount": amount})
    with pytest.raises(stripe.InvalidRequestError) as info:
        session_in(client, receiver, price)
    assert info.value.code == "amount_too_small" and minimum in str(info.value)
