"""Connect accounts through the official SDK, unchanged: create/retrieve/update/list/delete,
account links and the hosted onboarding page's two choices, login links, the Stripe-Account
header, and `account.updated` events carrying `account`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.emulator.helpers import (
    AUTH,
    FAILING_BANK,
    WebhookReceiver,
    create_express_account,
    onboarding_link,
    pay,
    submit_onboarding,
)


def test_create_an_express_account_as_the_app_does(client: stripe.StripeClient) -> None:
    account = create_express_account(client, email="ada@example.com")
    assert account.object == "account" and account.id.startswith("acct_")
    assert (account.type, account.country, account.default_currency) == ("express", "US", "usd")
    assert account.email == "ada@example.com" and account.metadata.to_dict() == {"builder_id": "7"}
    assert (account.charges_enabled, account.payouts_enabled, account.details_submitted) == (False, False, False)
    assert account.capabilities.to_dict() == {"card_payments": "inactive", "transfers": "inactive"}
    assert "external_account" in account.requirements.currently_due
    assert account.requirements.disabled_reason == "requirements.past_due"
    assert account.controller.stripe_dashboard.type == "express"
    assert account.external_accounts.data == []


def test_retrieve_update_list_delete(client: stripe.StripeClient, receiver: WebhookReceiver) -> None:
    first = create_express_account(client, email="a@example.com")
    second = create_express_account(client, email="b@example.com")
    assert client.v1.accounts.retrieve(first.id).email == "a@example.com"
    updated = client.v1.accounts.update(
        first.id, params={"email": "ada@example.org", "metadata": {"builder_id": "", "x": "1"},
                          "business_profile": {"name": "Ada's studio"}}
    )
    assert updated.email == "ada@example.org" and updated.metadata.to_dict() == {"x": "1"}
    assert updated.business_profile.name == "Ada's studio"
    event = receiver.wait_for("account.updated")[0]
    assert event["account"] == first.id and event["data"]["object"]["id"] == first.id
    assert event["data"]["previous_attributes"]["email"] == "a@example.com"
    assert [a.id for a in client.v1.accounts.list().data] == [second.id, first.id]
    deleted = client.v1.accounts.delete(second.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (second.id, True, "account")
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.accounts.retrieve(second.id)
    assert info.value.code == "resource_missing"


def test_external_account_with_a_test_bank_number(client: stripe.StripeClient) -> None:
    account = create_express_account(
        client,
        external_account={"object": "bank_account", "country": "US", "currency": "usd",
                           "routing_number": "110000000", "account_number": FAILING_BANK},
    )
    bank = account.external_accounts.data[0]
    assert (bank.object, bank.last4, bank.status, bank.account) == ("bank_account", "1116", "new", account.id)
    assert "external_account" not in account.requirements.currently_due
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.accounts.update(
            account.id,
            params={"external_account": {"object": "bank_account", "country": "US", "currency": "usd",
                                         "account_number": "123456789012"}},
        )
    assert info.value.param == "external_account[account_number]" and info.value.code == "account_number_invalid"


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"type": "standard"}, "type", None),
        ({"type": "express", "capabilities": {"transfers": {"requested": True}, "klarna_payments": {"requested": True}}},
         "capabilities[klarna_payments]", "parameter_unknown"),
        ({"type": "express", "capabilities": {"card_payments": {"requested": True}}}, "capabilities", None),
        ({"type": "express", "individual": {"first_name": "Ada"}, "capabilities": {"transfers": {"requested": True}}},
         "individual", "parameter_unknown"),
        ({"controller": {"stripe_dashboard": {"type": "full"}}, "capabilities": {"transfers": {"requested": True}}},
         "controller[stripe_dashboard][type]", None),
        ({"type": "express", "country": "ZZ", "capabilities": {"transfers": {"requested": True}}}, "country", None),
    ],
)
def test_account_create_refusals(client: stripe.StripeClient, params: dict[str, Any], param: str, code: str | None) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.accounts.create(params=params)  # type: ignore[arg-type]
    assert (info.value.param, info.value.code) == (param, code)


def test_controller_properties_make_an_express_account(client: stripe.StripeClient) -> None:
    account = client.v1.accounts.create(
        params={
            "controller": {"stripe_dashboard": {"type": "express"}, "fees": {"payer": "application"},
                           "losses": {"payments": "application"}, "requirement_collection": "stripe"},
            "capabilities": {"transfers": {"requested": True}},
        }
    )
    assert account.type == "express" and account.capabilities.to_dict() == {"transfers": "inactive"}


# --- hosted onboarding ------------------------------------------------------------------------


def test_onboarding_page_complete(client: stripe.StripeClient, receiver: WebhookReceiver, emulator: EmulatorServer) -> None:
    account = create_express_account(client)
    link = onboarding_link(client, account.id)
    assert link.object == "account_link"
    assert link.url == f"{emulator.url}/setup/s/{account.id}/{link.url.rsplit('/', 1)[1]}"
    assert link.expires_at == link.created + 300
    page = httpx.get(link.url)
    assert page.status_code == 200
    assert "Complete onboarding" in page.text and "Leave incomplete" in page.text
    assert 'data-testid="onboarding-complete"' in page.text and "Stripe emulator" in page.text
    done = submit_onboarding(link.url, "complete")
    assert (done.status_code, done.headers["location"]) == (303, "http://app.test/admin/payouts/return")
    account = client.v1.accounts.retrieve(account.id)
    assert (account.charges_enabled, account.payouts_enabled, account.details_submitted) == (True, True, True)
    assert account.capabilities.to_dict() == {"card_payments": "active", "transfers": "active"}
    assert account.requirements.currently_due == [] and account.requirements.disabled_reason is None
    assert account.external_accounts.data[0].last4 == "6789"
    assert account.tos_acceptance.date is not None
    event = receiver.wait_for("account.updated")[0]
    assert event["account"] == account.id
    assert event["data"]["object"]["charges_enabled"] is True
    assert event["data"]["previous_attributes"]["charges_enabled"] is False
    used = httpx.get(link.url)
    assert (used.status_code, used.headers["location"]) == (303, "http://app.test/admin/payouts/refresh")


def test_onboarding_page_leave_incomplete(client: stripe.StripeClient, receiver: WebhookReceiver) -> None:
    account = create_express_account(client)
    link = onboarding_link(client, account.id)
    left = submit_onboarding(link.url, "incomplete")
    assert (left.status_code, left.headers["location"]) == (303, "http://app.test/admin/payouts/return")
    account = client.v1.accounts.retrieve(account.id)
    assert (account.charges_enabled, account.payouts_enabled) == (False, False)
    assert account.requirements.currently_due == ["external_account", "individual.verification.document"]
    event = receiver.wait_for("account.updated")[0]
    assert event["account"] == account.id
    assert event["data"]["object"]["requirements"]["currently_due"] == account.requirements.currently_due


def test_an_expired_link_goes_to_refresh_url(client: stripe.StripeClient, emulator: EmulatorServer) -> None:
    account = create_express_account(client)
    link = onboarding_link(client, account.id)
    emulator.emulator.advance_clock(301)
    expired = httpx.get(link.url)
    assert (expired.status_code, expired.headers["location"]) == (303, "http://app.test/admin/payouts/refresh")
    assert submit_onboarding(link.url, "complete").headers["location"].endswith("/refresh")
    assert client.v1.accounts.retrieve(account.id).charges_enabled is False
    assert httpx.get(link.url.rsplit("/", 1)[0] + "/not-a-token").status_code == 404


def test_account_link_errors(client: stripe.StripeClient) -> None:
    account = create_express_account(client)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.account_links.create(params={"account": "acct_nope", "type": "account_onboarding",
                                               "refresh_url": "http://a.test/r", "return_url": "http://a.test/d"})
    assert (info.value.code, info.value.param) == ("resource_missing", "account")
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.account_links.create(params={"account": account.id, "type": "account_onboarding",
                                               "return_url": "http://a.test/d"})
    assert (info.value.code, info.value.param) == ("parameter_missing", "refresh_url")
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.account_links.create(params={"account": account.id, "type": "account_onboarding",
                                               "refresh_url": "http://a.test/r", "return_url": "http://a.test/d",
                                               "collect": "eventually_due"})
    assert (info.value.code, info.value.param) == ("parameter_unknown", "collect")


def test_login_link_opens_the_express_dashboard(client: stripe.StripeClient, emulator: EmulatorServer) -> None:
    account = create_express_account(client)
    with pytest.raises(stripe.InvalidRequestError, match="not completed onboarding"):
        client.v1.accounts.login_links.create(account.id)
    submit_onboarding(onboarding_link(client, account.id).url, "complete")
    login = client.v1.accounts.login_links.create(account.id)
    assert login.object == "login_link" and login.url.startswith(f"{emulator.url}/express/{account.id}/")
    page = httpx.get(login.url)
    assert page.status_code == 200 and "Express dashboard" in page.text and "6789" in page.text


# --- the Stripe-Account header ----------------------------------------------------------------


def test_objects_created_under_stripe_account_belong_to_it(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver
) -> None:
    account = create_express_account(client)
    submit_onboarding(onboarding_link(client, account.id).url, "complete")
    on_behalf = {"stripe_account": account.id}
    product = client.v1.products.create(params={"name": "Direct"}, options=on_behalf)
    assert client.v1.products.retrieve(product.id, options=on_behalf).id == product.id
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.products.retrieve(product.id)
    assert info.value.code == "resource_missing" and info.value.http_status == 404
    assert [p.id for p in client.v1.products.list().data] == []
    session = client.v1.checkout.sessions.create(
        params={"mode": "payment", "success_url": receiver.base_url + "/s",
                "line_items": [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 2000, "product": product.id}}]},
        options=on_behalf,
    )
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.retrieve(session.id)
    result = pay(http, session.id)
    charge = client.v1.charges.retrieve(result["charge"]["id"], options=on_behalf)
    assert charge.amount == 2000
    assert client.v1.balance.retrieve(options=on_behalf).pending[0].amount == 2000 - (58 + 30)  # less Stripe's fee
    completed = receiver.wait_for("checkout.session.completed")[0]
    assert completed["account"] == account.id
    assert client.v1.events.retrieve(completed["id"], options=on_behalf).id == completed["id"]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.events.retrieve(completed["id"])


def test_stripe_account_must_be_a_connected_account(http: httpx.Client, client: stripe.StripeClient) -> None:
    response = http.get("/v1/balance", auth=AUTH, headers={"Stripe-Account": "acct_nobody"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "account_invalid"
    account = create_express_account(client)
    refused = http.post("/v1/accounts", auth=AUTH, headers={"Stripe-Account": account.id},
                        data={"type": "express"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "platform_account_required"
    own = client.v1.accounts.retrieve_current(options={"stripe_account": account.id})
    assert own.id == account.id
    platform = client.v1.accounts.retrieve_current()
    assert platform.id != account.id and platform.business_profile.name == "Stripe emulator"


def test_idempotency_keys_are_scoped_per_account(client: stripe.StripeClient) -> None:
    account = create_express_account(client)
    mine = client.v1.products.create(params={"name": "A"}, options={"idempotency_key": "same"})
    theirs = client.v1.products.create(
        params={"name": "A"}, options={"idempotency_key": "same", "stripe_account": account.id}
    )
    assert mine.id != theirs.id
