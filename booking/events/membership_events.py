"""Memberships' webhook handlers: the subscription's state and each invoice (booking/payments/memberships.py).

Stripe may send these in any order and more than once; each handler works from what it finds:
- `checkout.session.completed` (subscription mode) and `customer.subscription.*` attach the Stripe ids to the
  membership named in the metadata (`membership_id`, set on the session and on the subscription).
  A subscription event older than the state we hold (its `created`) changes nothing, so an `updated` that arrives
  after a `deleted` cannot bring a membership back.
- `invoice.paid` records the invoice and its Payment (the ledger) and grants the period's credits, once per
  invoice (the credit ledger's grant is keyed by the invoice id).
- `invoice.payment_failed` records the failed invoice, marks the membership past due (no credits are granted for
  that period) and emails the client a link to update the card, once per invoice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from booking.core.config import get_settings
from booking.core.models import (
    Builder,
    Membership,
    MembershipInvoice,
    MembershipPlan,
    MembershipStatus,
    utcnow,
)
from booking.notifications import wallet_links as wallets
from booking.notifications.membership_emails import (
    MembershipFailureFacts,
    MembershipStartedFacts,
    queue_membership_payment_failed,
    queue_membership_started,
)
from booking.payments import credits, pricing
from booking.payments import ledger as payment_records
from booking.payments.gateway import CheckoutMode, CheckoutPaymentStatus, CheckoutSession, PaymentGateway
from booking.payments.ledger import UnknownBooking
from booking.payments.memberships import covered_session_types, membership_credit_expiry

SUBSCRIPTION_EVENTS = ("customer.subscription.created", "customer.subscription.updated",
                       "customer.subscription.deleted")
INVOICE_EVENTS = ("invoice.paid", "invoice.payment_failed")


def _when(timestamp: Any) -> datetime | None:
    return datetime.fromtimestamp(int(timestamp), tz=UTC) if timestamp else None


def _id(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


def _membership(session: Session, *, subscription_id: str | None, metadata: dict[str, Any] | None,
                checkout_session_id: str | None = None) -> Membership:
    """The membership an object is about, locked: by its subscription, else by the metadata we set, else by
    the Checkout Session. Raises UnknownBooking (the event is kept, ignored) for one that is not ours."""
    conditions = []
    if subscription_id:
        conditions.append(Membership.stripe_subscription_id == subscription_id)
    membership_id = str((metadata or {}).get("membership_id") or "")
    if membership_id.isdigit():
        conditions.append(Membership.id == int(membership_id))
    if checkout_session_id:
        conditions.append(Membership.checkout_session_id == checkout_session_id)
    for condition in conditions:
        row = session.exec(select(Membership).where(condition).with_for_update()).first()
        if row is not None:
            return row
    raise UnknownBooking(f"membership of {subscription_id or checkout_session_id or 'an unknown object'}")


def _attach(session: Session, membership: Membership, *, subscription_id: str | None,
            customer_id: str | None) -> None:
    changed = False
    if subscription_id and membership.stripe_subscription_id is None:
        membership.stripe_subscription_id, changed = subscription_id, True
    if customer_id and membership.stripe_customer_id is None:
        membership.stripe_customer_id, changed = customer_id, True
    if changed:
        membership.updated_at = utcnow()
        session.add(membership)
        session.flush()


def on_subscription_checkout_completed(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    checkout = event["data"]["object"]
    membership = _membership(session, subscription_id=_id(checkout.get("subscription")),
                             metadata=checkout.get("metadata"), checkout_session_id=checkout.get("id"))
    _attach(session, membership, subscription_id=_id(checkout.get("subscription")),
            customer_id=_id(checkout.get("customer")))
    paid = CheckoutPaymentStatus.from_stripe(checkout.get("payment_status"), missing=CheckoutPaymentStatus.UNPAID)
    if membership.status == MembershipStatus.PENDING and paid == CheckoutPaymentStatus.PAID:
        membership.status, membership.updated_at = MembershipStatus.ACTIVE, utcnow()
        session.add(membership)
        return "membership active"
    return "no change"


def _status_of(subscription: dict[str, Any], event_type: str) -> MembershipStatus:
    if event_type == "customer.subscription.deleted":
        return MembershipStatus.CANCELED
    try:
        return MembershipStatus(subscription.get("status") or "active")
    except ValueError:
        return MembershipStatus.ACTIVE


def on_subscription_changed(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    """customer.subscription.created / updated / deleted: the membership's status, renewal date and whether it
    ends at the period's end; an event older than what we hold is ignored."""
    subscription = event["data"]["object"]
    membership = _membership(session, subscription_id=subscription.get("id"), metadata=subscription.get("metadata"))
    _attach(session, membership, subscription_id=subscription.get("id"), customer_id=_id(subscription.get("customer")))
    seen_at = _when(event.get("created")) or utcnow()
    status = _status_of(subscription, event["type"])
    held = membership.stripe_state_at
    if held is not None and seen_at < held:
        return "older than the state held: no change"
    if held is not None and seen_at == held and membership.status == MembershipStatus.CANCELED:
        return "canceled: no change"  # same second, e.g. an update sent with the deletion
    items = (subscription.get("items") or {}).get("data") or []
    period_end = _when(items[0].get("current_period_end")) if items else None
    membership.status = status
    membership.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    membership.current_period_end = period_end or membership.current_period_end
    membership.stripe_state_at, membership.updated_at = seen_at, utcnow()
    session.add(membership)
    return f"membership {status}"


def _invoice_context(session: Session, invoice: dict[str, Any]) -> tuple[Membership, MembershipPlan]:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    subscription_id = _id(details.get("subscription")) or _id(invoice.get("subscription"))
    membership = _membership(session, subscription_id=subscription_id, metadata=details.get("metadata"))
    _attach(session, membership, subscription_id=subscription_id, customer_id=_id(invoice.get("customer")))
    plan = session.get(MembershipPlan, membership.plan_id)
    return membership, plan


def _facts(invoice: dict[str, Any], amount_key: str, occurred_at: datetime) -> payment_records.InvoiceFacts:
    lines = (invoice.get("lines") or {}).get("data") or []
    period = (lines[0].get("period") or {}) if lines else {}
    return payment_records.InvoiceFacts(
        stripe_invoice_id=invoice["id"], amount=int(invoice.get(amount_key) or 0),
        currency=invoice.get("currency") or "", period_start=_when(period.get("start") or invoice.get("period_start")),
        period_end=_when(period.get("end") or invoice.get("period_end")), occurred_at=occurred_at)


def on_invoice_paid(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    invoice = event["data"]["object"]
    membership, plan = _invoice_context(session, invoice)
    builder = session.get(Builder, membership.builder_id)
    paid_at = _when((invoice.get("status_transitions") or {}).get("paid_at")) or _when(event.get("created")) \
        or utcnow()
    facts = _facts(invoice, "amount_paid", paid_at)
    destination = builder.stripe_account_id if builder is not None and builder.stripe_account_id else None
    percent = pricing.membership_fee_percent(plan.amount, plan.currency, get_settings())
    row = payment_records.record_membership_invoice(
        session=session, membership_id=membership.id, facts=facts, paid=True,
        application_fee_amount=pricing.membership_fee(facts.amount, percent), destination_account_id=destination)
    if row.credits_granted_at is not None:
        return "invoice recorded; credits already granted"
    session_type_ids = [int(row.id) for row in covered_session_types(session=session,
                                                                      builder_id=membership.builder_id)]
    if not session_type_ids:
        return "invoice recorded; the builder has no session type to grant credits for"
    period_end = facts.period_end or paid_at
    # The welcome goes with its first credits only (checked on our rows: a membership from before this email
    # existed never gets it at a renewal).
    granted_before = session.exec(select(MembershipInvoice.id).where(
        MembershipInvoice.membership_id == membership.id, MembershipInvoice.credits_granted_at.is_not(None))).first()
    grant = credits.grant(session=session, builder_id=membership.builder_id, client_email=membership.client_email,
                  quantity=plan.sessions_per_period, session_type_ids=session_type_ids,
                  expires_at=membership_credit_expiry(plan=plan, period_end=period_end),
                  source_kind=credits.CreditSourceKind.SUBSCRIPTION_INVOICE, source_id=invoice["id"], now=utcnow())
    row.credits_granted_at = utcnow()
    session.add(row)
    # The wallet the credits are spent from, its link in the welcome.
    wallets.issue(session=session, builder_id=membership.builder_id, client_email=grant.client_email)
    if granted_before is None:
        queue_membership_started(session=session, public_url=get_settings().public_url, facts=MembershipStartedFacts(
            membership_id=int(membership.id), builder_id=membership.builder_id,
            builder_name=builder.name if builder else "", client_email=grant.client_email,
            client_name=membership.client_name, plan_name=plan.name, sessions_per_month=plan.sessions_per_period,
            amount=plan.amount, currency=plan.currency, renews_at=period_end.isoformat(),
            client_locale=membership.client_locale, client_time_zone=membership.client_time_zone))
    if membership.status in (MembershipStatus.PENDING, MembershipStatus.PAST_DUE, MembershipStatus.UNPAID):
        # Paid: the membership is current again (the subscription event may come later, or not first).
        membership.status, membership.updated_at = MembershipStatus.ACTIVE, utcnow()
        session.add(membership)
    return f"invoice paid; {plan.sessions_per_period} credits granted"


def on_invoice_payment_failed(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
    invoice = event["data"]["object"]
    membership, plan = _invoice_context(session, invoice)
    failed_at = _when(event.get("created")) or utcnow()
    facts = _facts(invoice, "amount_due", failed_at)
    row = payment_records.record_membership_invoice(session=session, membership_id=membership.id, facts=facts,
                                                    paid=False, application_fee_amount=0, destination_account_id=None)
    if row.paid_at is not None:
        return "invoice already paid: no change"
    if membership.status in (MembershipStatus.ACTIVE, MembershipStatus.PENDING):
        membership.status, membership.updated_at = MembershipStatus.PAST_DUE, utcnow()
        session.add(membership)
    if row.failure_notice_queued_at is not None:
        return "payment failure recorded; client already told"
    builder = session.get(Builder, membership.builder_id)
    queue_membership_payment_failed(
        session=session, recipient=membership.client_email,
        facts=MembershipFailureFacts(membership_id=int(membership.id), stripe_invoice_id=invoice["id"],
                                     client_name=membership.client_name, plan_name=plan.name,
                                     builder_name=builder.name if builder else "", amount=facts.amount,
                                     currency=facts.currency, public_url=get_settings().public_url,
                                     client_locale=membership.client_locale))
    row.failure_notice_queued_at = utcnow()
    session.add(row)
    return "payment failure recorded; client emailed"


def checkout_completed(fallback: Any) -> Any:
    """checkout.session.completed: a subscription-mode session is a membership's; any other a booking's."""

    def handle(session: Session, gateway: PaymentGateway, event: dict[str, Any]) -> str:
        if CheckoutSession.from_stripe(event["data"]["object"]).mode is CheckoutMode.SUBSCRIPTION:
            return on_subscription_checkout_completed(session, gateway, event)
        return fallback(session, gateway, event)

    return handle


HANDLERS = {
    **{event_type: on_subscription_changed for event_type in SUBSCRIPTION_EVENTS},
    "invoice.paid": on_invoice_paid,
    "invoice.payment_failed": on_invoice_payment_failed,
}


def invoice_of(session: Session, stripe_invoice_id: str) -> MembershipInvoice | None:
    return session.exec(select(MembershipInvoice).where(MembershipInvoice.stripe_invoice_id == stripe_invoice_id)
                        ).first()
