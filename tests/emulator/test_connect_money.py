"""Connect money through the official SDK: destination charges (fee, transfer, net balance),
refunds that reverse the transfer and refund the fee in proportion, transfers, application
fee refunds, and payouts paid or failed on the emulator's clock."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from stripe_emulator.core.connect_money import share
from stripe_emulator.testing import EmulatorServer
from tests.emulator.helpers import (
    AUTH,
    FAILING_BANK,
    WebhookReceiver,
    balance_of,
    create_express_account,
    destination_session,
    onboarded_account,
    pay,
    wait_until,
)

DAY = 24 * 3600
STRIPE_FEE_10000 = 290 + 30  # Stripe's fee of a $100.00 charge


@pytest.fixture
def ada(client: stripe.StripeClient) -> Any:
    return onboarded_account(client)


def paid_destination_charge(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, account: str, **kwargs: Any
) -> dict[str, Any]:
    session = destination_session(client, receiver, account, **kwargs)
    result = pay(http, session.id)
    assert result["status"] == "succeeded"
    return result


def test_destination_charge_math(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, ada: Any, emulator: EmulatorServer
) -> None:
    result = paid_destination_charge(client, http, receiver, ada.id, amount=10000, fee=1250)
    pi = client.v1.payment_intents.retrieve(result["payment_intent"]["id"])
    assert pi.application_fee_amount == 1250 and pi.transfer_data.destination == ada.id
    charge = client.v1.charges.retrieve(result["charge"]["id"], params={"expand": ["transfer", "application_fee"]})
    assert charge.application_fee_amount == 1250 and charge.transfer_data.destination == ada.id
    transfer, fee = charge.transfer, charge.application_fee
    # As on Stripe: the whole charge is transferred, then the fee comes back to the platform.
    assert (transfer.amount, transfer.currency, transfer.destination) == (10000, "usd", ada.id)
    assert transfer.source_transaction == charge.id and transfer.transfer_group == charge.transfer_group
    assert (fee.amount, fee.account, fee.originating_transaction) == (1250, ada.id, charge.id)
    assert fee.charge == transfer.destination_payment
    payment = client.v1.charges.retrieve(
        transfer.destination_payment, params={"expand": ["balance_transaction"]}, options={"stripe_account": ada.id}
    )
    txn = payment.balance_transaction
    assert (txn.type, txn.amount, txn.fee, txn.net, txn.status) == ("payment", 10000, 1250, 8750, "pending")
    assert txn.fee_details[0].type == "application_fee"
    assert balance_of(client, ada.id) == {"available": 0, "pending": 8750}
    # The platform keeps the fee, less Stripe's processing fee of the charge (US pricing: 2.9 % + 30¢).
    assert balance_of(client, None) == {"available": 0, "pending": 1250 - STRIPE_FEE_10000}
    ada_txns = client.v1.balance_transactions.list(options={"stripe_account": ada.id}).data
    assert [(t.type, t.net) for t in ada_txns] == [("payment", 8750)]
    platform_txns = client.v1.balance_transactions.list(params={"limit": 100}).data
    assert sorted((t.type, t.amount) for t in platform_txns) == [
        ("application_fee", 1250), ("charge", 10000), ("transfer", -10000)
    ]
    assert client.v1.balance_transactions.retrieve(ada_txns[0].id, options={"stripe_account": ada.id}).fee == 1250
    assert [t.id for t in client.v1.transfers.list(params={"destination": ada.id}).data] == [transfer.id]
    assert [f.id for f in client.v1.application_fees.list(params={"charge": transfer.destination_payment}).data] == [fee.id]
    created = receiver.wait_for("transfer.created")[0]
    assert created["data"]["object"]["id"] == transfer.id and "account" not in created
    assert receiver.wait_for("application_fee.created")[0]["data"]["object"]["amount"] == 1250
    emulator.emulator.advance_clock(2 * DAY)
    assert balance_of(client, ada.id) == {"available": 8750, "pending": 0}


def test_zero_decimal_currency(client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, ada: Any) -> None:
    paid_destination_charge(client, http, receiver, ada.id, amount=5000, fee=500, currency="jpy")
    assert balance_of(client, ada.id, "jpy") == {"available": 0, "pending": 4500}


@pytest.mark.parametrize(
    ("intent_data", "param", "code"),
    [
        ({"transfer_data": {"destination": "acct_nobody"}}, "payment_intent_data[transfer_data][destination]",
         "resource_missing"),
        ({"transfer_data": {"destination": "NOT_ONBOARDED"}}, "payment_intent_data[transfer_data][destination]", None),
        ({"transfer_data": {"destination": "ADA"}, "application_fee_amount": 10001},
         "payment_intent_data[application_fee_amount]", None),
        ({"application_fee_amount": 100}, "payment_intent_data[application_fee_amount]", None),
    ],
)
def test_destination_errors_name_the_param(
    client: stripe.StripeClient, make_session: Any, ada: Any, intent_data: dict[str, Any], param: str, code: str | None
) -> None:
    fresh = create_express_account(client)
    for data in [intent_data, intent_data.get("transfer_data", {})]:
        if data.get("destination") == "ADA":
            data["destination"] = ada.id
        elif data.get("destination") == "NOT_ONBOARDED":
            data["destination"] = fresh.id
    with pytest.raises(stripe.InvalidRequestError) as info:
        make_session(
            line_items=[{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 10000, "product_data": {"name": "x"}}}],
            payment_intent_data=intent_data,
        )
    assert (info.value.param, info.value.code) == (param, code)


def test_full_refund_reverses_the_transfer_and_refunds_the_fee(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, ada: Any
) -> None:
    result = paid_destination_charge(client, http, receiver, ada.id, amount=10000, fee=1000)
    refund = client.v1.refunds.create(
        params={"payment_intent": result["payment_intent"]["id"], "reverse_transfer": True,
                "refund_application_fee": True, "reason": "requested_by_customer"},
        options={"idempotency_key": "refund-b1"},
    )
    assert refund.amount == 10000 and refund.transfer_reversal.startswith("trr_")
    transfer = client.v1.transfers.retrieve(result["charge"]["transfer"])
    assert (transfer.amount_reversed, transfer.reversed) == (10000, True)
    reversal = transfer.reversals.data[0]
    assert (reversal.id, reversal.amount, reversal.source_refund) == (refund.transfer_reversal, 10000, refund.id)
    assert client.v1.transfers.reversals.retrieve(transfer.id, reversal.id).amount == 10000
    fee = client.v1.application_fees.retrieve(result["charge"]["application_fee"])
    assert (fee.amount_refunded, fee.refunded, fee.refunds.data[0].amount) == (1000, True, 1000)
    assert balance_of(client, ada.id) == {"available": -10000 + 1000, "pending": 9000}  # nets to zero
    assert sum(balance_of(client, ada.id).values()) == 0
    assert sum(balance_of(client, None).values()) == -STRIPE_FEE_10000  # Stripe keeps its fee
    reversed_event = receiver.wait_for("transfer.reversed")[0]
    assert reversed_event["data"]["object"]["amount_reversed"] == 10000
    assert reversed_event["request"]["idempotency_key"] == "refund-b1"
    assert receiver.wait_for("application_fee.refunded")[0]["data"]["object"]["amount_refunded"] == 1000


def test_partial_refunds_reverse_and_refund_in_proportion(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, ada: Any
) -> None:
    result = paid_destination_charge(client, http, receiver, ada.id, amount=10000, fee=1000)
    pi = result["payment_intent"]["id"]
    fee_id, transfer_id = result["charge"]["application_fee"], result["charge"]["transfer"]
    fee_steps = []
    for amount in (3333, 3333, 3334):
        client.v1.refunds.create(
            params={"payment_intent": pi, "amount": amount, "reverse_transfer": True, "refund_application_fee": True}
        )
        fee_steps.append(client.v1.application_fees.retrieve(fee_id).amount_refunded)
        transfer = client.v1.transfers.retrieve(transfer_id)
    # 1000 * 3333/10000 = 333.3 -> 333; 1000 * 6666/10000 = 666.6 -> 667; the rest at the end.
    assert fee_steps == [333, 667, 1000]
    assert [r.amount for r in client.v1.application_fees.refunds.list(fee_id).data] == [333, 334, 333]
    assert [r.amount for r in transfer.reversals.data] == [3334, 3333, 3333]
    assert sum(balance_of(client, ada.id).values()) == 0


def test_refund_without_connect_flags_leaves_the_transfer(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, ada: Any
) -> None:
    result = paid_destination_charge(client, http, receiver, ada.id, amount=10000, fee=1000)
    refund = client.v1.refunds.create(params={"charge": result["charge"]["id"], "amount": 5000})
    assert refund.transfer_reversal is None
    assert client.v1.transfers.retrieve(result["charge"]["transfer"]).amount_reversed == 0
    assert balance_of(client, ada.id)["pending"] == 9000
    assert sum(balance_of(client, None).values()) == 1000 - 5000 - STRIPE_FEE_10000  # the platform bears it


@pytest.mark.parametrize(
    ("total", "refunded", "charge", "expected"),
    [(1000, 3333, 10000, 333), (1000, 6666, 10000, 667), (5, 1, 10, 1), (5, 10, 10, 5), (0, 5, 10, 0), (7, 3, 3, 7)],
)
def test_proportional_share_rounds_half_up(total: int, refunded: int, charge: int, expected: int) -> None:
    assert share(total, refunded, charge) == expected


def test_transfers_and_fee_refunds_through_their_own_endpoints(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, ada: Any, emulator: EmulatorServer
) -> None:
    result = paid_destination_charge(client, http, receiver, ada.id, amount=10000, fee=1000)
    transfer_id = result["charge"]["transfer"]
    reversal = client.v1.transfers.reversals.create(
        transfer_id, params={"amount": 5000, "refund_application_fee": True, "metadata": {"why": "goodwill"}}
    )
    assert (reversal.amount, reversal.metadata.to_dict()) == (5000, {"why": "goodwill"})
    fee = client.v1.application_fees.retrieve(result["charge"]["application_fee"])
    assert fee.amount_refunded == 500
    fee_refund = client.v1.application_fees.refunds.create(fee.id, params={"amount": 100})
    assert (fee_refund.object, fee_refund.amount, fee_refund.fee) == ("fee_refund", 100, fee.id)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.application_fees.refunds.create(fee.id, params={"amount": 401})
    assert info.value.code == "amount_too_large"
    # A separate transfer from the platform's available balance.
    other = onboarded_account(client, email="grace@example.com")
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.create(params={"amount": 1_000_000, "currency": "usd", "destination": other.id})
    assert info.value.code == "balance_insufficient"
    plain = client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": receiver.base_url + "/s",
        "line_items": [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 3000, "product_data": {"name": "x"}}}],
    })
    pay(http, plain.id)
    emulator.emulator.advance_clock(2 * DAY)
    transfer = client.v1.transfers.create(
        params={"amount": 700, "currency": "usd", "destination": other.id, "transfer_group": "g1"}
    )
    assert (transfer.amount, transfer.destination, transfer.transfer_group) == (700, other.id, "g1")
    assert balance_of(client, other.id)["pending"] == 700
    assert [t.id for t in client.v1.transfers.list(params={"transfer_group": "g1"}).data] == [transfer.id]


# --- payouts ----------------------------------------------------------------------------------


def test_payout_paid_on_the_clock(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, ada: Any, emulator: EmulatorServer
) -> None:
    paid_destination_charge(client, http, receiver, ada.id, amount=10000, fee=1000)
    emulator.emulator.advance_clock(DAY)
    assert client.v1.payouts.list(options={"stripe_account": ada.id}).data == []  # funds still pending
    emulator.emulator.advance_clock(2 * DAY)
    payouts = client.v1.payouts.list(options={"stripe_account": ada.id}).data
    assert len(payouts) == 1
    payout = payouts[0]
    assert (payout.amount, payout.currency, payout.automatic) == (9000, "usd", True)
    assert payout.destination == ada.external_accounts.data[0].id
    emulator.emulator.advance_clock(DAY)
    payout = client.v1.payouts.retrieve(payout.id, options={"stripe_account": ada.id})
    assert payout.status == "paid" and payout.arrival_date <= emulator.emulator.clock.now()
    assert balance_of(client, ada.id) == {"available": 0, "pending": 0}
    paid = receiver.wait_for("payout.paid")[0]
    assert paid["account"] == ada.id and paid["data"]["object"]["id"] == payout.id
    assert receiver.wait_for("payout.created")[0]["account"] == ada.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payouts.retrieve(payout.id)  # the platform has no such payout


def test_payout_to_the_failing_test_bank_account(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, emulator: EmulatorServer
) -> None:
    grace = onboarded_account(client, bank_account=FAILING_BANK, email="grace@example.com")
    assert grace.external_accounts.data[0].last4 == "1116"
    paid_destination_charge(client, http, receiver, grace.id, amount=10000, fee=1000)
    emulator.emulator.advance(5 * DAY)
    payout = client.v1.payouts.list(options={"stripe_account": grace.id}).data[0]
    assert (payout.status, payout.failure_code) == ("failed", "no_account")
    assert payout.failure_balance_transaction is not None
    assert balance_of(client, grace.id) == {"available": 9000, "pending": 0}  # the money came back
    failed = receiver.wait_for("payout.failed")[0]
    assert failed["account"] == grace.id and failed["data"]["object"]["failure_code"] == "no_account"
    grace = client.v1.accounts.retrieve(grace.id)
    assert grace.payouts_enabled is False and "external_account" in grace.requirements.currently_due
    assert grace.external_accounts.data[0].status == "errored"
    updates = wait_until(
        lambda: [e for e in receiver.events_of("account.updated") if e["data"]["object"]["payouts_enabled"] is False],
        message="account.updated with payouts disabled",
    )
    assert updates[-1]["account"] == grace.id
    emulator.emulator.advance(2 * DAY)
    assert len(client.v1.payouts.list(options={"stripe_account": grace.id}).data) == 1  # no retry loop
    client.v1.accounts.update(grace.id, params={"external_account": {
        "object": "bank_account", "country": "US", "currency": "usd", "account_number": "000123456789"}})
    assert client.v1.accounts.retrieve(grace.id).payouts_enabled is True
    emulator.emulator.advance(2 * DAY)
    statuses = [p.status for p in client.v1.payouts.list(options={"stripe_account": grace.id}).data]
    assert statuses == ["paid", "failed"]


def test_manual_payout_and_pay_out_now(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver, emulator: EmulatorServer
) -> None:
    manual = onboarded_account(client, settings={"payouts": {"schedule": {"interval": "manual", "delay_days": 7}}})
    assert manual.settings.payouts.schedule.interval == "manual"
    on_behalf = {"stripe_account": manual.id}
    paid_destination_charge(client, http, receiver, manual.id, amount=10000, fee=1000)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payouts.create(params={"amount": 100, "currency": "usd"}, options=on_behalf)
    assert info.value.code == "balance_insufficient"
    emulator.emulator.advance(8 * DAY)
    assert client.v1.payouts.list(options=on_behalf).data == []  # manual: nothing automatic
    payout = client.v1.payouts.create(
        params={"amount": 4000, "currency": "usd", "description": "Weekly", "metadata": {"k": "v"}}, options=on_behalf
    )
    assert (payout.status, payout.automatic, payout.amount) == ("in_transit", False, 4000)
    assert balance_of(client, manual.id)["available"] == 5000
    emulator.emulator.advance(DAY)
    assert client.v1.payouts.retrieve(payout.id, options=on_behalf).status == "paid"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payouts.create(params={"amount": 1, "currency": "usd", "method": "instant"}, options=on_behalf)
    assert info.value.param == "method"
    # The control API pays out the rest right away.
    response = http.post("/_emulator/payouts/run", json={"account": manual.id})
    assert response.status_code == 200
    [now_paid] = response.json()["payouts"]
    assert (now_paid["amount"], now_paid["status"]) == (5000, "paid")
    assert balance_of(client, manual.id) == {"available": 0, "pending": 0}
    listed = http.get("/v1/payouts?status=paid", auth=AUTH, headers={"Stripe-Account": manual.id}).json()
    assert [p["amount"] for p in listed["data"]] == [5000, 4000]
