"""Disputes through the SDK: Stripe's dispute test cards open one after the payment, with the
withdrawal and Stripe's dispute fee on the platform's balance; evidence is staged or submitted; the
emulator's clock decides with Stripe's test evidence (winning_evidence wins, anything else loses);
close accepts the dispute. Each step sends its event."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.emulator.helpers import AUTH, WebhookReceiver, balance_of, destination_session, onboarded_account, pay

WEEK = 7 * 24 * 3600
FRAUD_CARD, INQUIRY_CARD, NOT_RECEIVED_CARD = "4000000000000259", "4000000000002685", "4000000000001976"


def disputed(http: httpx.Client, make_session: Any, card: str = FRAUD_CARD) -> dict[str, Any]:
    result = pay(http, make_session().id, card=card)
    assert result["status"] == "succeeded"
    return result


def test_the_fraud_card_opens_a_dispute_that_withdraws_the_amount_and_the_fee(
    client: stripe.StripeClient, http: httpx.Client, make_session: Any, receiver: WebhookReceiver
) -> None:
    paid = disputed(http, make_session)
    [created] = receiver.wait_for("charge.dispute.created")
    [withdrawn] = receiver.wait_for("charge.dispute.funds_withdrawn")
    dispute = client.v1.disputes.retrieve(created["data"]["object"]["id"])
    assert (dispute.amount, dispute.currency, dispute.reason, dispute.status) == (5000, "gbp", "fraudulent", "needs_response")
    assert (dispute.charge, dispute.payment_intent) == (paid["charge"]["id"], paid["payment_intent"]["id"])
    assert dispute.evidence_details.due_by == dispute.created + WEEK
    [txn] = dispute.balance_transactions
    assert (txn.amount, txn.fee, txn.net, txn.type, txn.reporting_category) == (-5000, 2000, -7000, "adjustment", "dispute")
    assert txn.fee_details[0].description == "Dispute fee"
    assert withdrawn["data"]["object"]["balance_transactions"][0]["id"] == txn.id
    assert client.v1.charges.retrieve(paid["charge"]["id"]).disputed is True
    assert receiver.types().index("checkout.session.completed") < receiver.types().index("charge.dispute.created")
    # Listing by charge finds it; another charge has none.
    assert [d.id for d in client.v1.disputes.list(params={"charge": paid["charge"]["id"]}).data] == [dispute.id]
    assert client.v1.disputes.list(params={"charge": "ch_other"}).data == []


@pytest.mark.parametrize(("card", "reason", "status"), [
    (NOT_RECEIVED_CARD, "product_not_received", "needs_response"),
    (INQUIRY_CARD, "product_not_received", "warning_needs_response"),
])
def test_the_other_dispute_cards(client: stripe.StripeClient, http: httpx.Client, make_session: Any,
                                 card: str, reason: str, status: str) -> None:
    disputed(http, make_session, card)
    [dispute] = client.v1.disputes.list().data
    assert (dispute.reason, dispute.status) == (reason, status)
    # An inquiry withdraws nothing.
    assert len(dispute.balance_transactions) == (0 if status.startswith("warning") else 1)


def test_an_ordinary_card_opens_no_dispute(client: stripe.StripeClient, http: httpx.Client, make_session: Any) -> None:
    disputed(http, make_session, "4242424242424242")
    assert client.v1.disputes.list().data == []


def test_winning_evidence_wins_when_the_deadline_passes(
    client: stripe.StripeClient, http: httpx.Client, make_session: Any, receiver: WebhookReceiver,
    emulator: EmulatorServer,
) -> None:
    disputed(http, make_session)
    [dispute] = client.v1.disputes.list().data
    staged = client.v1.disputes.update(dispute.id, params={
        "evidence": {"uncategorized_text": "winning_evidence", "service_date": "2026-12-01"}, "submit": False,
        "metadata": {"booking_id": "42"}})
    assert (staged.status, staged.evidence.service_date, staged.evidence_details.has_evidence) == (
        "needs_response", "2026-12-01", True)
    submitted = client.v1.disputes.update(dispute.id, params={"submit": True})
    assert (submitted.status, submitted.evidence_details.submission_count) == ("under_review", 1)
    receiver.wait_for("charge.dispute.updated", 2)
    # Submitted evidence can't change any more.
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.disputes.update(dispute.id, params={"evidence": {"uncategorized_text": "losing_evidence"}})
    assert info.value.param == "evidence"

    emulator.emulator.advance(WEEK - 60)
    assert client.v1.disputes.retrieve(dispute.id).status == "under_review"  # not before the deadline
    emulator.emulator.advance(120)
    won = client.v1.disputes.retrieve(dispute.id)
    assert won.status == "won"
    assert [(t.amount, t.fee) for t in won.balance_transactions] == [(-5000, 2000), (5000, 0)]
    receiver.wait_for("charge.dispute.closed")
    # Other events (the week's `balance.available`) may arrive between them: only the dispute's own are ordered.
    dispute_events = [kind for kind in receiver.types() if kind.startswith("charge.dispute.")]
    assert dispute_events[-2:] == ["charge.dispute.funds_reinstated", "charge.dispute.closed"]
    # The platform keeps the charge less Stripe's processing fee and the dispute fee (not given back: Stripe's
    # pricing).
    charge = client.v1.charges.retrieve(dispute.charge, params={"expand": ["balance_transaction"]})
    processing_fee = charge.balance_transaction.fee
    emulator.emulator.advance(3 * 24 * 3600)
    assert processing_fee > 0
    assert balance_of(client, None, "gbp")["available"] == 5000 - processing_fee - 2000


@pytest.mark.parametrize("evidence", [{"uncategorized_text": "losing_evidence"}, None])
def test_losing_or_no_evidence_loses(client: stripe.StripeClient, http: httpx.Client, make_session: Any,
                                     receiver: WebhookReceiver, emulator: EmulatorServer,
                                     evidence: dict[str, str] | None) -> None:
    disputed(http, make_session)
    [dispute] = client.v1.disputes.list().data
    if evidence:
        client.v1.disputes.update(dispute.id, params={"evidence": evidence})
    emulator.emulator.advance(WEEK + 1)
    lost = client.v1.disputes.retrieve(dispute.id)
    assert (lost.status, len(lost.balance_transactions)) == ("lost", 1)
    assert lost.evidence_details.past_due is (evidence is None)
    receiver.wait_for("charge.dispute.closed")
    assert "charge.dispute.funds_reinstated" not in receiver.types()


def test_close_accepts_the_dispute(client: stripe.StripeClient, http: httpx.Client, make_session: Any,
                                   receiver: WebhookReceiver) -> None:
    disputed(http, make_session)
    [dispute] = client.v1.disputes.list().data
    closed = client.v1.disputes.close(dispute.id, options={"idempotency_key": "close-1"})
    assert closed.status == "lost"
    receiver.wait_for("charge.dispute.closed")
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.close(dispute.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.update(dispute.id, params={"submit": True})


def test_a_destination_charges_dispute_comes_out_of_the_platforms_balance(
    client: stripe.StripeClient, http: httpx.Client, receiver: WebhookReceiver,
) -> None:
    account = onboarded_account(client)
    session = destination_session(client, receiver, account.id)
    paid = pay(http, session.id, card=FRAUD_CARD)
    [dispute] = client.v1.disputes.list().data
    assert dispute.charge == paid["charge"]["id"]
    # The platform pays it (the charge's funds went to the builder); the builder's balance is untouched.
    assert balance_of(client, account.id)["pending"] == 10000 - 1000
    assert client.v1.disputes.list(options={"stripe_account": account.id}).data == []


def test_bad_requests_are_refused(http: httpx.Client, client: stripe.StripeClient, make_session: Any) -> None:
    disputed(http, make_session)
    [dispute] = client.v1.disputes.list().data
    unknown = http.post(f"/v1/disputes/{dispute.id}", data={"evidence[receipt]": "file_1"}, auth=AUTH)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "parameter_unknown")
    assert unknown.json()["error"]["param"] == "evidence[receipt]"
    missing = http.get("/v1/disputes/dp_nope", auth=AUTH)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "resource_missing")
    wrong = http.post(f"/v1/disputes/{dispute.id}", data={"submit": "perhaps"}, auth=AUTH)
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "submit"
    assert client.v1.disputes.retrieve(dispute.id).status == "needs_response"
