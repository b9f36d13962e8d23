"""Stripe's processing fee: each charge's balance transaction carries it (`fee`, `fee_details`) from a
schedule (Stripe's standard card pricing by the platform's country, or a JSON override), and the
platform's balance is net of it."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
import stripe

from stripe_emulator.core import fees
from stripe_emulator.testing import EmulatorServer
from tests.emulator.helpers import (
    WEBHOOK_SECRET,
    WebhookReceiver,
    balance_of,
    destination_session,
    onboarded_account,
    pay,
)


@pytest.mark.parametrize(("country", "amount", "currency", "fee"), [
    ("US", 10000, "usd", 290 + 30),  # 2.9 % + 30¢
    ("GB", 5000, "gbp", 75 + 20),  # 1.5 % + 20p
    ("FR", 4999, "eur", 75 + 25),  # 1.5 % of 49.99 = 74.985 -> 75, + €0.25
    ("GB", 10, "gbp", 10),  # never more than the charge
])
def test_standard_pricing_by_country(country: str, amount: int, currency: str, fee: int) -> None:
    assert fees.standard(country).fee(amount, currency) == fee


def test_a_json_schedule_overrides_the_standard_one() -> None:
    schedule = fees.from_environment({fees.COUNTRY_ENV: "GB", fees.SCHEDULE_ENV: '{"percent": "2.5", "fixed": {"gbp": 10}}'})
    assert (schedule.percent, schedule.fee(10000, "gbp"), schedule.fee(10000, "usd")) == (Decimal("2.5"), 260, 250)
    assert fees.from_environment({fees.SCHEDULE_ENV: '{"percent": "0", "fixed": {}}'}).fee(10000, "usd") == 0
    for bad in ('{"percent": "-1"}', "[1]", '{"fixed": {"gbp": -5}}', "not json"):
        with pytest.raises(ValueError, match="STRIPE_EMULATOR_FEES"):
            fees.parse(bad)


def test_a_charge_s_balance_transaction_reports_stripe_s_fee(
    client: stripe.StripeClient, http: httpx.Client, make_session: object
) -> None:
    session = make_session()  # type: ignore[operator]
    result = pay(http, session.id)
    charge = client.v1.charges.retrieve(result["charge"]["id"], params={"expand": ["balance_transaction"]})
    txn = charge.balance_transaction
    fee = fees.standard("US").fee(charge.amount, charge.currency)
    assert fee > 0
    assert (txn.amount, txn.fee, txn.net, txn.type, txn.source) == (charge.amount, fee, charge.amount - fee,
                                                                      "charge", charge.id)
    assert [item.to_dict() for item in txn.fee_details] == [
        {"amount": fee, "application": None, "currency": charge.currency,
         "description": "Stripe processing fees", "type": "stripe_fee"}]
    assert client.v1.balance_transactions.retrieve(txn.id).fee == fee
    listed = client.v1.balance_transactions.list(params={"source": charge.id}).data
    assert [item.id for item in listed] == [txn.id]
    assert balance_of(client, None, charge.currency) == {"available": 0, "pending": charge.amount - fee}


def test_the_platform_pays_stripe_s_fee_of_a_destination_charge(receiver: WebhookReceiver) -> None:
    with EmulatorServer(webhook_url=receiver.url, webhook_secret=WEBHOOK_SECRET,
                        fee_schedule=fees.standard("GB")) as server:
        client = server.client()
        ada = onboarded_account(client)
        session = destination_session(client, receiver, ada.id, amount=5000, fee=500, currency="gbp")
        with httpx.Client(base_url=server.url, timeout=10) as http:
            result = pay(http, session.id)
        txn = client.v1.balance_transactions.retrieve(result["charge"]["balance_transaction"])
        assert (txn.fee, txn.fee_details[0].currency) == (95, "gbp")  # 1.5 % + 20p
        # The builder receives all of it less the application fee; the platform keeps the fee less Stripe's.
        assert balance_of(client, ada.id, "gbp")["pending"] == 4500
        assert balance_of(client, None, "gbp")["pending"] == 500 - 95
