"""Products and prices: create, retrieve, deactivate, list by `active`, use in checkout."""

from __future__ import annotations

import httpx
import pytest
import stripe

from tests.emulator.helpers import WebhookReceiver, pay


def test_products_and_prices(client: stripe.StripeClient, receiver: WebhookReceiver) -> None:
    product = client.v1.products.create(params={"name": "Deluxe room", "description": "King bed", "metadata": {"sku": "DLX"}})
    assert product.id.startswith("prod_") and product.active is True and product.name == "Deluxe room"
    price = client.v1.prices.create(params={"product": product.id, "currency": "gbp", "unit_amount": 12000})
    assert (price.type, price.unit_amount, str(price.unit_amount_decimal), price.active) == ("one_time", 12000, "12000", True)
    assert client.v1.prices.retrieve(price.id, params={"expand": ["product"]}).product.name == "Deluxe room"

    old = client.v1.products.create(params={"name": "Old room"})
    archived = client.v1.products.update(old.id, params={"active": False})
    assert archived.active is False and archived.updated >= old.updated
    active = client.v1.products.list(params={"active": True})
    assert [p.id for p in active.data] == [product.id]
    inactive = client.v1.products.list(params={"active": False})
    assert [p.id for p in inactive.data] == [old.id]

    client.v1.prices.update(price.id, params={"active": False})
    assert client.v1.prices.retrieve(price.id).active is False
    assert client.v1.prices.list(params={"active": True}).data == []
    assert [p.id for p in client.v1.prices.list(params={"product": product.id}).data] == [price.id]

    updated = receiver.wait_for("product.updated")[0]
    assert updated["data"]["previous_attributes"]["active"] is True
    assert receiver.wait_for("price.updated")[0]["data"]["previous_attributes"] == {"active": True}
    assert receiver.wait_for("product.created", count=2)
    assert receiver.wait_for("price.created")


def test_product_with_default_price_and_price_with_product_data(client: stripe.StripeClient) -> None:
    product = client.v1.products.create(
        params={"name": "Suite", "default_price_data": {"currency": "jpy", "unit_amount": 30000}}
    )
    default = client.v1.prices.retrieve(product.default_price)
    assert (default.currency, default.unit_amount, default.product) == ("jpy", 30000, product.id)
    inline = client.v1.prices.create(params={"currency": "usd", "unit_amount": 500, "product_data": {"name": "Towel"}})
    assert client.v1.products.retrieve(inline.product).name == "Towel"
    recurring = client.v1.prices.create(
        params={"currency": "usd", "unit_amount": 500, "product": product.id, "recurring": {"interval": "month"}}
    )
    assert recurring.type == "recurring" and recurring.recurring.interval == "month"


def test_checkout_with_price_id(client: stripe.StripeClient, receiver: WebhookReceiver, http: httpx.Client) -> None:
    product = client.v1.products.create(params={"name": "Cabin"})
    price = client.v1.prices.create(params={"product": product.id, "currency": "eur", "unit_amount": 7500})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": receiver.base_url + "/success",
            "line_items": [{"price": price.id, "quantity": 2}],
        }
    )
    assert session.amount_total == 15000 and session.currency == "eur"
    line = client.v1.checkout.sessions.line_items.list(session.id).data[0]
    assert (line.price.id, line.description, line.quantity) == (price.id, "Cabin", 2)
    assert pay(http, session.id)["payment_intent"]["amount"] == 15000

    client.v1.prices.update(price.id, params={"active": False})
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.checkout.sessions.create(
            params={"mode": "payment", "success_url": receiver.base_url, "line_items": [{"price": price.id, "quantity": 1}]}
        )
    assert info.value.param == "line_items[0][price]" and "inactive" in str(info.value)


def test_catalog_validation(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.products.create(params={})
    assert info.value.param == "name"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.prices.create(params={"currency": "gbp", "unit_amount": 5})
    assert info.value.param == "product"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.prices.create(params={"currency": "gbp", "unit_amount": 5, "product": "prod_nope"})
    assert info.value.code == "resource_missing" and info.value.param == "product"
