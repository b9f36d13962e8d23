"""Disputes: Stripe's dispute test cards open one after the payment succeeds, evidence is staged
or submitted through the API, and the emulator's clock decides the outcome.

Opening (https://docs.stripe.com/testing#disputes): a charge paid with a card in
`cards.DISPUTE_CARDS` is disputed at once for its whole amount. A chargeback (`needs_response`)
withdraws the amount and Stripe's dispute fee (`DISPUTE_FEES`, by currency, or the configured
`EmulatorConfig.dispute_fees`) from the balance of the charge's owner (the platform for a
destination charge): one `adjustment` balance transaction, reporting category `dispute`, its fee
in `fee_details`. Events: `charge.dispute.created`, then `charge.dispute.funds_withdrawn`. An
inquiry (`warning_needs_response`) moves no money.

Evidence: `POST /v1/disputes/{id}` stages evidence (`submit=false`) or submits it (the default,
as on Stripe): the dispute goes `under_review` (`warning_under_review`). Once submitted, or
closed, evidence can't change. `POST /v1/disputes/{id}/close` accepts the dispute: lost
(`warning_closed` for an inquiry).

Decision: when the clock passes `evidence_details.due_by` (created + 7 days), Stripe's documented
test evidence decides: submitted evidence whose `uncategorized_text` is `winning_evidence` wins
(the amount is reinstated: an `adjustment`, category `dispute_reversal`, then
`charge.dispute.funds_reinstated`); anything else (`losing_evidence`, other evidence, none) loses.
Then `charge.dispute.closed`. Stripe's dispute fee is not given back on a won dispute (Stripe's
pricing since 2025: the fee for receiving a dispute is not refunded).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from stripe_emulator.core import errors, ids, ledger
from stripe_emulator.core.context import AUTOMATIC, RequestContext
from stripe_emulator.core.objects import build, merge_metadata

if TYPE_CHECKING:
    from stripe_emulator.core.cards import Card
    from stripe_emulator.core.engine import Engine

DAY = 24 * 60 * 60
EVIDENCE_DAYS = 7
# Stripe's dispute fee by currency (minor units): $15, £20, €20; others as in USD.
DISPUTE_FEES: dict[str, int] = {"usd": 1500, "gbp": 2000, "eur": 2000, "jpy": 2000}
DEFAULT_DISPUTE_FEE = 1500
WINNING_EVIDENCE = "winning_evidence"
LOSING_EVIDENCE = "losing_evidence"

OPEN = ("needs_response", "warning_needs_response")
UNDER_REVIEW = ("under_review", "warning_under_review")
CLOSED = ("won", "lost", "warning_closed")
NETWORK_REASON_CODES = {"fraudulent": "10.4", "product_not_received": "13.1"}


def dispute_fee(emu: Engine, currency: str) -> int:
    configured = getattr(emu.config, "dispute_fees", None) or {}
    table = {**DISPUTE_FEES, **configured}
    return int(table.get(currency.lower(), DEFAULT_DISPUTE_FEE))


def open_dispute(
    emu: Engine, charge: dict[str, Any], card: Card, *, reason: str, inquiry: bool
) -> list[tuple[str, dict[str, Any]]]:
    """Dispute the whole of a succeeded `charge` (inside the caller's transaction); returns the
    events to emit, in order."""
    now = emu.clock.now()
    owner = emu.store.owner(charge["id"])
    dispute_id = ids.new_id("dp")
    dispute = build(
        "dispute",
        id=dispute_id,
        amount=charge["amount"],
        charge=charge["id"],
        created=now,
        currency=charge["currency"],
        is_charge_refundable=inquiry,
        network_reason_code=NETWORK_REASON_CODES.get(reason),
        payment_intent=charge.get("payment_intent"),
        payment_method_details={
            "card": {
                "brand": card.brand,
                "case_type": "inquiry" if inquiry else "chargeback",
                "network_reason_code": NETWORK_REASON_CODES.get(reason),
            },
            "type": "card",
        },
        reason=reason,
        status="warning_needs_response" if inquiry else "needs_response",
    )
    dispute["evidence_details"]["due_by"] = now + EVIDENCE_DAYS * DAY
    events: list[tuple[str, dict[str, Any]]] = []
    charge["disputed"] = True
    emu.store.put(charge)
    if inquiry:
        emu.store.put(dispute, account=owner)
        return [("charge.dispute.created", dispute)]
    fee = dispute_fee(emu, charge["currency"])
    txn = ledger.record(
        emu,
        account=owner,
        type="adjustment",
        amount=-charge["amount"],
        currency=charge["currency"],
        source=dispute_id,
        fee=fee,
        fee_details=[
            {
                "amount": fee,
                "application": None,
                "currency": charge["currency"],
                "description": "Dispute fee",
                "type": "stripe_fee",
            }
        ],
        description=f"Chargeback withdrawal for {charge['id']}",
    )
    txn["reporting_category"] = "dispute"
    emu.store.put(txn)
    dispute["balance_transactions"] = [txn]
    emu.store.put(dispute, account=owner)
    events.append(("charge.dispute.created", dispute))
    events.append(("charge.dispute.funds_withdrawn", copy.deepcopy(dispute)))
    return events


def ordering_key(emu: Engine, dispute: dict[str, Any]) -> str:
    """Events about one payment share its session's key, so they arrive in order."""
    pi = dispute.get("payment_intent")
    if pi:
        session_id = emu.store.get_private(f"pi_session:{pi}")
        if session_id:
            return str(session_id)
        return str(pi)
    return str(dispute["charge"])


def _emit(emu: Engine, event_type: str, dispute: dict[str, Any], ctx: RequestContext,
          previous: dict[str, Any] | None = None) -> None:
    emu.emit(event_type, dispute, ctx, ordering_key(emu, dispute), previous_attributes=previous)


def update(emu: Engine, ctx: RequestContext, dispute_id: str, args: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/disputes/{id}: stage or submit evidence, change metadata."""
    with emu.tx():
        emu.tick_quietly()
        dispute = emu.get("dispute", dispute_id, account=ctx.account)
        before = copy.deepcopy(dispute)
        evidence = args.get("evidence")
        submit = args.get("submit", True)
        if evidence is not None or ("submit" in args and submit):
            if dispute["status"] not in OPEN:
                raise errors.StripeError(
                    f"This dispute is {dispute['status']}: its evidence can no longer be changed "
                    "or submitted.",
                    param="evidence" if evidence is not None else "submit",
                )
        if evidence is not None:
            for key, value in evidence.items():
                dispute["evidence"][key] = value
            dispute["evidence_details"]["has_evidence"] = any(
                value for key, value in dispute["evidence"].items() if key != "enhanced_evidence"
            )
        if "metadata" in args:
            dispute["metadata"] = merge_metadata(dispute.get("metadata") or {}, args["metadata"])
        if (evidence is not None or "submit" in args) and submit:
            dispute["status"] = "warning_under_review" if dispute["status"].startswith("warning") else "under_review"
            details = dispute["evidence_details"]
            details["submission_count"] += 1
            details["submission_method"] = "manual"
        emu.store.put(dispute)
        previous = _changed(before, dispute)
        if previous:
            _emit(emu, "charge.dispute.updated", dispute, ctx, previous)
        return dispute


def close(emu: Engine, ctx: RequestContext, dispute_id: str) -> dict[str, Any]:
    """POST /v1/disputes/{id}/close: accept the dispute (lost); an inquiry closes."""
    with emu.tx():
        emu.tick_quietly()
        dispute = emu.get("dispute", dispute_id, account=ctx.account)
        if dispute["status"] in CLOSED:
            raise errors.StripeError(f"This dispute is already closed ({dispute['status']}).", param="id")
        before = copy.deepcopy(dispute)
        dispute["status"] = "warning_closed" if dispute["status"].startswith("warning") else "lost"
        dispute["is_charge_refundable"] = False
        emu.store.put(dispute)
        _emit(emu, "charge.dispute.closed", dispute, ctx, _changed(before, dispute))
        return dispute


def decide_due(emu: Engine) -> list[str]:
    """Clock job: decide every open or submitted dispute whose evidence deadline has passed."""
    with emu.tx():
        now = emu.clock.now()
        decided = []
        due = [
            dispute
            for status in (*OPEN, *UNDER_REVIEW)
            for dispute in emu.store.due("dispute", status, "evidence_details.due_by", now)
        ]
        for dispute in sorted(due, key=lambda d: (d["evidence_details"]["due_by"], d["id"])):
            _decide(emu, dispute)
            decided.append(dispute["id"])
        return decided


def _decide(emu: Engine, dispute: dict[str, Any]) -> None:
    before = copy.deepcopy(dispute)
    submitted = dispute["status"] in UNDER_REVIEW
    text = (dispute["evidence"].get("uncategorized_text") or "").strip()
    won = submitted and text == WINNING_EVIDENCE
    inquiry = dispute["status"].startswith("warning")
    dispute["evidence_details"]["past_due"] = not submitted
    dispute["is_charge_refundable"] = False
    if inquiry:
        dispute["status"] = "warning_closed"
    elif won:
        dispute["status"] = "won"
        txn = ledger.record(
            emu,
            account=emu.store.owner(dispute["id"]),
            type="adjustment",
            amount=dispute["amount"],
            currency=dispute["currency"],
            source=dispute["id"],
            description=f"Chargeback reversal for {dispute['charge']}",
        )
        txn["reporting_category"] = "dispute_reversal"
        emu.store.put(txn)
        dispute["balance_transactions"] = [*dispute["balance_transactions"], txn]
    else:
        dispute["status"] = "lost"
    emu.store.put(dispute)
    previous = _changed(before, dispute)
    if dispute["status"] == "won":
        _emit(emu, "charge.dispute.funds_reinstated", dispute, AUTOMATIC, previous)
    _emit(emu, "charge.dispute.closed", dispute, AUTOMATIC, previous)


def _changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {key: before.get(key) for key in after if after[key] != before.get(key)}
