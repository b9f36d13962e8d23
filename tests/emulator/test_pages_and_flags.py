"""The merchant name on hosted pages (--business-name), the onboarding page in Chromium, the
Connect control endpoints, and a state file from before Connect."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import stripe
from playwright.sync_api import Page, expect

from stripe_emulator.core.config import build_parser, config_from_args
from stripe_emulator.core.store import Store
from stripe_emulator.testing import EmulatorServer
from tests.emulator.helpers import WebhookReceiver, create_express_account, onboarding_link

LINE_ITEMS = [{"quantity": 1, "price_data": {"currency": "gbp", "unit_amount": 5000, "product_data": {"name": "Room"}}}]


def test_hosted_checkout_shows_the_business_name() -> None:
    with EmulatorServer(business_name="Ada's Workshop") as server:
        session = server.client().v1.checkout.sessions.create(
            params={"mode": "payment", "success_url": "http://localhost:3300/s", "line_items": LINE_ITEMS}
        )
        page = httpx.get(f"{server.url}/c/pay/{session.id}").text
    assert "Pay Ada&#x27;s Workshop" in page and "localhost:3300" not in page


def test_default_business_name_and_flag() -> None:
    assert config_from_args(build_parser().parse_args([])).business_name == "Stripe emulator"
    args = build_parser().parse_args(["--business-name", "Builders Co"])
    assert config_from_args(args).business_name == "Builders Co"


def test_onboarding_page_in_chromium(page: Page, client: stripe.StripeClient, receiver: WebhookReceiver) -> None:
    account = create_express_account(client)
    link = onboarding_link(client, account.id, base=receiver.base_url)
    page.goto(link.url)
    expect(page.get_by_role("heading", name="Set up payouts with Stripe emulator")).to_be_visible()
    page.get_by_label("Test bank account 000111111116 (payouts fail: no_account)").check()
    page.get_by_role("button", name="Complete onboarding").click()
    expect(page).to_have_url(receiver.base_url + "/admin/payouts/return")
    account = client.v1.accounts.retrieve(account.id)
    assert account.payouts_enabled and account.external_accounts.data[0].last4 == "1116"
    page.goto(onboarding_link(client, account.id, base=receiver.base_url).url)
    page.get_by_role("button", name="Leave incomplete").click()
    expect(page).to_have_url(receiver.base_url + "/admin/payouts/return")
    assert client.v1.accounts.retrieve(account.id).charges_enabled is False


def test_control_api_onboarding_and_clock(client: stripe.StripeClient, http: httpx.Client) -> None:
    account = create_express_account(client)
    response = http.post(f"/_emulator/accounts/{account.id}/onboarding", json={"choice": "complete"})
    assert response.status_code == 200 and response.json()["payouts_enabled"] is True
    response = http.post(f"/_emulator/accounts/{account.id}/onboarding", json={"choice": "incomplete"})
    assert response.json()["requirements"]["currently_due"] == ["individual.verification.document"]
    assert http.post("/_emulator/accounts/acct_nope/onboarding", json={}).status_code == 404
    advanced = http.post("/_emulator/clock/advance", json={"seconds": 60}).json()
    assert advanced["expired_sessions"] == [] and advanced["payouts"] == []
    state = http.get("/_emulator/state").json()
    assert [a["id"] for a in state["accounts"]] == [account.id]
    assert "Connected accounts" in http.get("/").text


def test_a_state_file_from_before_connect_gets_the_account_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE objects (id TEXT PRIMARY KEY, type TEXT NOT NULL, created INTEGER NOT NULL, data TEXT NOT NULL)")
        conn.execute("""INSERT INTO objects VALUES ('prod_1', 'product', 1, '{"id": "prod_1", "object": "product"}')""")
    store = Store(str(path))
    assert store.get("product", "prod_1", None) == {"id": "prod_1", "object": "product"}
    store.close()


def test_events_of_connected_accounts_are_signed_and_delivered(
    client: stripe.StripeClient, receiver: WebhookReceiver, http: httpx.Client
) -> None:
    account = create_express_account(client)
    http.post(f"/_emulator/accounts/{account.id}/onboarding", json={"choice": "complete"})
    event: dict[str, Any] = receiver.wait_for("account.updated")[0]  # verified by construct_event
    assert event["account"] == account.id
    request = next(r for r in receiver.requests if b"account.updated" in r["body"])
    assert request["signature"].startswith("t=") and request["status"] == 200
