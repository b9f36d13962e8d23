"""Recurring billing on the emulator's clock: subscriptions started by Checkout (`mode=subscription`),
their invoices and invoice payments, renewals when the clock passes a period's end, and what the
customer portal changes (cancel at period end, the card used for renewals).

Checkout in subscription mode charges the first invoice on the hosted page (the payment engine calls
`start_from_checkout`). Each clock tick (`renew_due`) then, for every subscription whose period has
ended: ends it if it was set to cancel at the period end (`customer.subscription.deleted`), else opens
the next period's invoice and charges the default card off-session:

    paid:   invoice.created, invoice.finalized, charge.succeeded, payment_intent.succeeded,
            invoice.paid, invoice.payment_succeeded, customer.subscription.updated
    failed: invoice.created, invoice.finalized, charge.failed, payment_intent.payment_failed,
            invoice.payment_failed, customer.subscription.updated (status past_due)

A failed invoice stays open (`next_payment_attempt` null: Smart Retries are not modelled); the next
period is billed at its own end. Destination charges follow `subscription_data`: the transfer goes to
`transfer_data.destination` and the platform keeps `application_fee_percent` of each invoice
(rounded half up), as Stripe does for subscriptions.
"""

from __future__ import annotations

import calendar
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from stripe_emulator.core import cards, connect_money, customers, ids, invoicing, objects
from stripe_emulator.core.cards import Card
from stripe_emulator.core.context import AUTOMATIC, RequestContext
from stripe_emulator.core.errors import doc_url

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

Events = list[tuple[str, dict[str, Any]]]
LIVE_STATUSES = ("active", "past_due", "trialing")


# --- time ------------------------------------------------------------------------------------


def add_months(timestamp: int, months: int) -> int:
    """The same day and time `months` later (the 31st becomes the month's last day), as Stripe bills."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def period_end(start: int, recurring: dict[str, Any]) -> int:
    count = int(recurring.get("interval_count") or 1)
    interval = recurring["interval"]
    if interval == "month":
        return add_months(start, count)
    if interval == "year":
        return add_months(start, 12 * count)
    return start + count * (7 if interval == "week" else 1) * 24 * 3600


def fee_from_percent(amount: int, percent: float | None) -> int | None:
    """`application_fee_percent` of an invoice, rounded half up (exact decimal arithmetic)."""
    if percent is None:
        return None
    share = Decimal(amount) * Decimal(str(percent)) / 100
    return int(share.to_integral_value(rounding=ROUND_HALF_UP))


# --- customers and their cards --------------------------------------------------------------


def ensure_customer(emu: Engine, *, email: str, name: str, owner: str | None) -> tuple[str, Events]:
    """The Customer Checkout creates for a subscription (core/customers.py; `customer.created`)."""
    ctx = RequestContext(account=owner) if owner else AUTOMATIC
    customer = customers.create(emu, ctx, {"email": email or None, "name": name or None})
    return customer["id"], []


def plan_of(price: dict[str, Any]) -> dict[str, Any]:
    """The legacy Plan view of a recurring Price (a subscription item's `plan`)."""
    recurring = price["recurring"] or {}
    return {
        "id": price["id"], "object": "plan", "active": price["active"], "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"], "billing_scheme": price["billing_scheme"],
        "created": price["created"], "currency": price["currency"], "interval": recurring.get("interval"),
        "interval_count": recurring.get("interval_count") or 1, "livemode": False,
        "metadata": price["metadata"], "meter": None, "nickname": price["nickname"],
        "product": price["product"], "tiers_mode": None, "transform_usage": None,
        "trial_period_days": None, "usage_type": recurring.get("usage_type") or "licensed",
    }


def remember_card(emu: Engine, payment_method_id: str, card: Card) -> None:
    """What the test card number decides at a later off-session charge."""
    emu.store.put_private(f"pm_card:{payment_method_id}", asdict(card))


def card_of(emu: Engine, payment_method_id: str | None) -> Card | None:
    data = emu.store.get_private(f"pm_card:{payment_method_id}") if payment_method_id else None
    return Card(**data) if data else None


def attach(emu: Engine, pm: dict[str, Any], customer_id: str) -> None:
    """The card paid with becomes the customer's, and their default for invoices."""
    customers.attach(emu, pm, customer_id, AUTOMATIC)
    customer = emu.store.get("customer", customer_id)
    if customer is not None and not customer["invoice_settings"].get("default_payment_method"):
        customer["invoice_settings"]["default_payment_method"] = pm["id"]
        emu.store.put(customer)


# --- starting from Checkout -----------------------------------------------------------------


def subscription_data(emu: Engine, session_id: str) -> dict[str, Any]:
    data = emu.store.get_private(f"session:{session_id}") or {}
    return data.get("subscription_data") or {}


def start_from_checkout(
    emu: Engine,
    session: dict[str, Any],
    pi: dict[str, Any],
    charge: dict[str, Any],
    pm: dict[str, Any],
    card: Card,
) -> tuple[Events, Events]:
    """A paid subscription-mode session: its Customer, Subscription and paid first Invoice.
    Returns (events before `checkout.session.completed`, events after it)."""
    owner = emu.store.owner(session["id"])
    now = emu.clock.now()
    details = session.get("customer_details") or {}
    before: Events = []
    customer_id = session.get("customer")
    if not customer_id:
        customer_id, created = ensure_customer(
            emu, email=details.get("email") or "", name=details.get("name") or "", owner=owner
        )
        before += created
    attach(emu, pm, customer_id)
    remember_card(emu, pm["id"], card)
    data = subscription_data(emu, session["id"])
    items = (emu.store.get_private(f"session:{session['id']}") or {}).get("line_items") or []
    sub_id = ids.new_id("sub")
    recurring = next(item["price"]["recurring"] for item in items if item["price"].get("recurring"))
    end = period_end(now, recurring)
    transfer = data.get("transfer_data")
    subscription = objects.build(
        "subscription",
        id=sub_id,
        application=connect_money.APPLICATION_ID if transfer else None,
        application_fee_percent=data.get("application_fee_percent"),
        billing_cycle_anchor=now,
        created=now,
        currency=session["currency"],
        customer=customer_id,
        default_payment_method=pm["id"],
        description=data.get("description"),
        items=objects.list_object(
            [_subscription_item(item, sub_id, now, end) for item in items],
            f"/v1/subscription_items?subscription={sub_id}",
        ),
        metadata=dict(data.get("metadata") or {}),
        start_date=now,
        status="active",
        transfer_data={"amount_percent": None, "destination": transfer["destination"]} if transfer else None,
    )
    invoice, payment = invoicing.subscription_invoice(
        emu, subscription, items, start=now, end=end, reason="subscription_create", owner=owner,
        customer_email=details.get("email"), customer_name=details.get("name"),
    )
    invoicing.mark_paid(emu, invoice, payment, charge, pi)
    subscription["latest_invoice"] = invoice["id"]
    emu.store.put(subscription, account=owner)
    pi["customer"] = customer_id
    pi["setup_future_usage"] = "off_session"
    emu.store.put(pi)
    charge["customer"] = customer_id
    emu.store.put(charge)
    session.update(customer=customer_id, subscription=sub_id, invoice=invoice["id"])
    draft = {**invoice, "status": "draft", "status_transitions": {**invoice["status_transitions"], "paid_at": None}}
    before += [("invoice.created", draft), ("invoice.finalized", {**draft, "status": "open"}),
               ("customer.subscription.created", subscription)]
    after: Events = [("invoice.paid", invoice), ("invoice.payment_succeeded", invoice)]
    return before, after


def _subscription_item(line: dict[str, Any], sub_id: str, start: int, end: int) -> dict[str, Any]:
    price = line["price"]
    return objects.build(
        "subscription_item",
        id=ids.new_id("si"),
        created=start,
        current_period_end=end,
        current_period_start=start,
        plan=plan_of(price),
        price=price,
        quantity=line["quantity"],
        subscription=sub_id,
    )


def current_period(subscription: dict[str, Any]) -> tuple[int, int]:
    item = subscription["items"]["data"][0]
    return item["current_period_start"], item["current_period_end"]


# --- renewals on the clock ------------------------------------------------------------------


def renew_due(emu: Engine) -> list[str]:
    """Bill (or end) every subscription whose period ended; returns the invoices made."""
    made: list[str] = []
    now = emu.clock.now()
    for subscription in emu.store.all("subscription"):
        while subscription["status"] in LIVE_STATUSES and current_period(subscription)[1] <= now:
            invoice_id = _roll_over(emu, subscription)
            if invoice_id:
                made.append(invoice_id)
    return made


def _roll_over(emu: Engine, subscription: dict[str, Any]) -> str | None:
    owner = emu.store.owner(subscription["id"])
    previous = {"items": subscription["items"], "status": subscription["status"],
                "latest_invoice": subscription["latest_invoice"]}
    _, ended_at = current_period(subscription)
    key = subscription["id"]
    if subscription["cancel_at_period_end"]:
        subscription.update(status="canceled", ended_at=ended_at, canceled_at=subscription["canceled_at"] or ended_at)
        subscription["cancellation_details"]["reason"] = "cancellation_requested"
        emu.store.put(subscription)
        emu.emit("customer.subscription.deleted", subscription, AUTOMATIC, key)
        return None
    recurring = subscription["items"]["data"][0]["price"]["recurring"]
    end = period_end(ended_at, recurring)
    for item in subscription["items"]["data"]:
        item.update(current_period_start=ended_at, current_period_end=end)
    lines = [{"price": item["price"], "quantity": item["quantity"],
              "amount_total": int(item["price"]["unit_amount"] or 0) * item["quantity"],
              "amount_subtotal": int(item["price"]["unit_amount"] or 0) * item["quantity"],
              "currency": item["price"]["currency"], "description": None, "metadata": {}}
             for item in subscription["items"]["data"]]
    customer = emu.store.get("customer", subscription["customer"]) or {}
    invoice, payment = invoicing.subscription_invoice(
        emu, subscription, lines, start=ended_at, end=end, reason="subscription_cycle", owner=owner,
        customer_email=customer.get("email"), customer_name=customer.get("name"),
    )
    subscription["latest_invoice"] = invoice["id"]
    draft = {**invoice, "status": "draft"}
    emu.emit("invoice.created", draft, AUTOMATIC, key)
    emu.emit("invoice.finalized", invoice, AUTOMATIC, key)
    pi, charge, events = charge_off_session(emu, subscription, invoice, owner)
    for event_type, obj in events:
        emu.emit(event_type, obj, AUTOMATIC, key)
    if charge is not None and charge["status"] == "succeeded":
        invoicing.mark_paid(emu, invoice, payment, charge, pi)
        subscription["status"] = "active"
        emu.emit("invoice.paid", invoice, AUTOMATIC, key)
        emu.emit("invoice.payment_succeeded", invoice, AUTOMATIC, key)
    else:
        invoicing.mark_failed(emu, invoice, payment, pi)
        subscription["status"] = "past_due"
        emu.emit("invoice.payment_failed", invoice, AUTOMATIC, key)
    emu.store.put(subscription)
    emu.emit("customer.subscription.updated", subscription, AUTOMATIC, key,
             previous_attributes={k: v for k, v in previous.items() if subscription[k] != v})
    return str(invoice["id"])


def charge_off_session(
    emu: Engine, subscription: dict[str, Any], invoice: dict[str, Any], owner: str | None
) -> tuple[dict[str, Any], dict[str, Any] | None, Events]:
    """Charge the invoice to the subscription's default card, without the payer present."""
    now = emu.clock.now()
    amount = invoice["amount_due"]
    transfer = subscription.get("transfer_data")
    pm_id = subscription.get("default_payment_method")
    pi = objects.payment_intent(
        id=ids.new_id("pi"),
        amount=amount,
        currency=invoice["currency"],
        created=now,
        application_fee_amount=fee_from_percent(amount, subscription.get("application_fee_percent")),
        customer=subscription["customer"],
        description="Subscription update",
        payment_method=pm_id,
        payment_method_types=["card"],
        transfer_data={"destination": transfer["destination"]} if transfer else None,
        transfer_group=f"group_{invoice['id']}" if transfer else None,
    )
    emu.store.put(pi, account=owner)
    events: Events = [("payment_intent.created", pi)]
    card = card_of(emu, pm_id)
    pm = emu.store.get("payment_method", pm_id) if pm_id else None
    if card is None or pm is None:
        error = {"code": "payment_intent_payment_attempt_failed", "type": "invalid_request_error",
                 "message": "The customer has no default payment method.", "doc_url": None}
        pi.update(status="requires_payment_method", last_payment_error=error)
        emu.store.put(pi)
        events.append(("payment_intent.payment_failed", pi))
        return pi, None, events
    outcome = cards.outcome_for(card)
    if outcome.kind == "requires_action":  # off-session: nobody is there to authenticate
        outcome = cards.Outcome("declined", code="authentication_required",
                                decline_code="authentication_required",
                                message="Your card was declined. This transaction requires authentication.")
    charge_id = ids.new_id("ch")
    charge = objects.build(
        "charge",
        id=charge_id,
        amount=amount,
        billing_details=pm["billing_details"],
        created=now,
        currency=pi["currency"],
        customer=subscription["customer"],
        description=pi["description"],
        payment_intent=pi["id"],
        payment_method=pm["id"],
        payment_method_details=objects.charge_payment_method_details(card, False),
        refunds=objects.list_object([], f"/v1/charges/{charge_id}/refunds"),
    )
    pi["latest_charge"] = charge_id
    if outcome.succeeded:
        charge.update(status="succeeded", paid=True, captured=True, amount_captured=amount,
                      receipt_url=f"{emu.config.base_url}/receipts/{charge_id}")
        events += connect_money.settle(emu, pi, charge, owner)
        pi.update(status="succeeded", amount_received=amount)
        emu.store.put(charge, account=owner)
        emu.store.put(pi)
        return pi, charge, [*events[:1], ("charge.succeeded", charge), ("payment_intent.succeeded", pi), *events[1:]]
    charge.update(status="failed", paid=False, failure_code=outcome.code, failure_message=outcome.message)
    error = {
        "charge": charge_id,
        "code": outcome.code,
        "decline_code": outcome.decline_code,
        "doc_url": doc_url(outcome.code or "card_declined"),
        "message": outcome.message,
        "payment_method": pm,
        "payment_method_type": "card",
        "type": "card_error",
    }
    pi.update(status="requires_payment_method", last_payment_error=error)
    emu.store.put(charge, account=owner)
    emu.store.put(pi)
    return pi, charge, [*events, ("charge.failed", charge), ("payment_intent.payment_failed", pi)]


# --- what the customer (portal) or the merchant (API) changes --------------------------------


def set_cancel_at_period_end(
    emu: Engine, subscription: dict[str, Any], cancel: bool, ctx: RequestContext,
    feedback: str | None = None,
) -> dict[str, Any]:
    if subscription["cancel_at_period_end"] == cancel:
        return subscription
    previous = {"cancel_at_period_end": not cancel, "cancel_at": subscription["cancel_at"],
                "canceled_at": subscription["canceled_at"]}
    subscription["cancel_at_period_end"] = cancel
    subscription["cancel_at"] = current_period(subscription)[1] if cancel else None
    subscription["canceled_at"] = emu.clock.now() if cancel else None
    subscription["cancellation_details"] = {
        "comment": None, "feedback": feedback if cancel else None,
        "reason": "cancellation_requested" if cancel else None,
    }
    emu.store.put(subscription)
    emu.emit("customer.subscription.updated", subscription, ctx, subscription["id"],
             previous_attributes=previous)
    return subscription


def cancel_now(emu: Engine, subscription: dict[str, Any], ctx: RequestContext,
               details: dict[str, Any] | None = None) -> dict[str, Any]:
    now = emu.clock.now()
    subscription.update(status="canceled", canceled_at=subscription["canceled_at"] or now, ended_at=now)
    subscription["cancellation_details"] = {
        "comment": (details or {}).get("comment"),
        "feedback": (details or {}).get("feedback"),
        "reason": "cancellation_requested",
    }
    emu.store.put(subscription)
    emu.emit("customer.subscription.deleted", subscription, ctx, subscription["id"])
    return subscription


def replace_card(
    emu: Engine, customer_id: str, card: Card, *, email: str | None, name: str, ctx: RequestContext
) -> dict[str, Any]:
    """The portal's "Update payment method": a new card, attached and used for every live
    subscription of the customer from the next invoice on (the card is not charged now)."""
    owner = emu.store.owner(customer_id)
    pm = objects.payment_method(card=card, created=emu.clock.now(), email=email, name=name)
    emu.store.put(pm, account=owner)
    remember_card(emu, pm["id"], card)
    customers.attach(emu, pm, customer_id, ctx)
    customer = emu.store.get("customer", customer_id)
    if customer is not None:
        customer["invoice_settings"]["default_payment_method"] = pm["id"]
        emu.store.put(customer)
    for subscription in emu.store.where("subscription", "customer", customer_id):
        if subscription["status"] not in LIVE_STATUSES:
            continue
        previous = {"default_payment_method": subscription["default_payment_method"]}
        subscription["default_payment_method"] = pm["id"]
        emu.store.put(subscription)
        emu.emit("customer.subscription.updated", subscription, ctx, subscription["id"],
                 previous_attributes=previous)
    return pm
