"""Package sales: a client pays once (Checkout, mode=payment, a destination charge with the platform fee)
and gets the package's credits, and a wallet link to spend them.

The sale is a `PackagePurchase` and its `Payment` (no booking: `Payment.package_purchase_id`). Paying grants
the credits (booking.payments.credits, source PACKAGE_PURCHASE) and emails the wallet link, once however
often the webhook and the success page ask. Refunds of unused credits are pro rata (`pricing.pro_rata`).

`sale_payment_of` answers "is this Stripe object about a package sale?" for the webhook's router.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from booking.core.models import (
    Builder,
    CreditGrant,
    CreditPackage,
    CreditPackageSessionType,
    CreditSourceKind,
    Membership,
    MembershipInvoice,
    PackagePurchase,
    Payment,
    PaymentStatus,
    utcnow,
)
from booking.notifications import wallet_links
from booking.notifications.credit_emails import CreditFacts, queue_credit_email
from booking.notifications.templates import NotificationKind
from booking.payments import credits, promotions
from booking.payments import ledger as payment_records
from booking.payments.gateway import PAID_CHECKOUT, CheckoutSession

PURCHASE_METADATA_KEY = "package_purchase_id"


def row_stamp(created_at: datetime) -> int:
    """A row's creation in microseconds: part of its Stripe idempotency keys, so a key is never reused by
    another row with the same id (a restored or rebuilt database)."""
    created = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
    return (created - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def checkout_idempotency_key(purchase: PackagePurchase) -> str:
    return f"package-purchase-{purchase.id}-{row_stamp(purchase.created_at)}-checkout-1"


def package_session_type_ids(*, session: Session, package_id: int) -> list[int]:
    return sorted(session.exec(select(CreditPackageSessionType.session_type_id)
                               .where(CreditPackageSessionType.package_id == package_id)).all())


def covered_types_as_sold(purchase: PackagePurchase, *, session: Session) -> list[int]:
    """The session types the purchase's credits are for: those its package covered when the client started
    paying (the package's current ones only for a purchase from before they were kept, migration 0030)."""
    if purchase.session_type_ids is None:
        return package_session_type_ids(session=session, package_id=purchase.package_id)
    return [int(type_id) for type_id in json.loads(purchase.session_type_ids)]


def _purchase_id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def sale_payment_of(*, session: Session, obj: dict[str, Any]) -> Payment | None:
    """The package sale's Payment a Stripe object (checkout session, payment intent, charge, refund) is
    about, or None when it is not about one (a booking's, or unknown)."""
    purchase_id = _purchase_id((obj.get("metadata") or {}).get(PURCHASE_METADATA_KEY))
    if purchase_id is not None:
        return session.exec(select(Payment).where(Payment.package_purchase_id == purchase_id)
                            .order_by(Payment.attempt.desc())).first()
    ids = {obj.get("id")}
    for key in ("payment_intent", "checkout_session"):
        value = obj.get(key)
        ids.add(value.get("id") if isinstance(value, dict) else value)
    ids.discard(None)
    if not ids:
        return None
    return session.exec(select(Payment).where(
        Payment.package_purchase_id.is_not(None),
        Payment.checkout_session_id.in_(ids) | Payment.payment_intent_id.in_(ids))).first()


@dataclass(frozen=True)
class SaleFulfilment:
    purchase_id: int
    newly_granted: bool
    grant_id: int | None


def fulfil_sale(*, session: Session, payment: Payment, checkout: CheckoutSession | None = None,
                payment_intent_id: str | None = None, now: datetime | None = None) -> SaleFulfilment:
    """The sale is paid: the payment recorded (and journalled), the credits granted, the wallet link
    emailed. Exactly once, however often it is asked. A session not yet paid changes nothing."""
    now = now or utcnow()
    purchase = session.get(PackagePurchase, payment.package_purchase_id)
    if checkout is not None:
        if checkout.payment_status not in PAID_CHECKOUT:
            return SaleFulfilment(purchase.id, False, None)
        if checkout.amount_total is not None and (checkout.amount_total, (checkout.currency or "").lower()) != (
                payment.amount, payment.currency):
            return SaleFulfilment(purchase.id, False, None)  # not what we asked for: grants nothing
        payment_intent_id = checkout.payment_intent_id
    payment_records.mark_paid(session=session, payment=payment, payment_intent_id=payment_intent_id, now=now)
    promotions.purchase_paid(session=session, package_purchase_id=purchase.id)  # its code's use stays counted
    source = str(purchase.id)
    existing = session.exec(select(CreditGrant).where(
        CreditGrant.source_kind == CreditSourceKind.PACKAGE_PURCHASE,
        CreditGrant.source_id == source)).first()
    if existing is not None:
        return SaleFulfilment(purchase.id, False, existing.id)
    package = session.get(CreditPackage, purchase.package_id)
    expires_at = now + timedelta(days=purchase.validity_days)
    grant = credits.grant(
        session=session, builder_id=purchase.builder_id, client_email=purchase.client_email,
        quantity=purchase.session_count, session_type_ids=covered_types_as_sold(purchase, session=session),
        expires_at=expires_at, source_kind=CreditSourceKind.PACKAGE_PURCHASE, source_id=source, now=now)
    wallet_links.issue(session=session, builder_id=purchase.builder_id, client_email=grant.client_email)
    builder = session.get(Builder, purchase.builder_id)
    from booking.core.config import get_settings  # read when queueing, never at import

    queue_credit_email(session=session, kind=NotificationKind.PACKAGE_PURCHASED, once_key=f"purchase-{purchase.id}",
                       public_url=get_settings().public_url, facts=CreditFacts(
                           builder_id=builder.id, builder_name=builder.name, client_email=grant.client_email,
                           client_name=purchase.client_name, client_time_zone=purchase.client_time_zone,
                           package_name=package.name, credits=purchase.session_count,
                           expires_at=expires_at.isoformat(), amount=payment.amount, currency=payment.currency,
                           client_locale=purchase.client_locale))
    return SaleFulfilment(purchase.id, True, grant.id)


def mark_sale_unpaid(*, session: Session, payment: Payment, expired: bool, code: str | None = None,
                     message: str | None = None) -> None:
    """The sale's session expired, or a card was declined in it: its payment row says so, and a promotion
    code's use is released."""
    if expired:
        payment_records.mark_expired(session=session, payment=payment)
    else:
        payment_records.mark_failed(session=session, payment=payment, code=code, message=message)
    if payment.package_purchase_id is not None:  # its promotion code's use is given back
        promotions.purchase_unpaid(session=session, package_purchase_id=payment.package_purchase_id)


def purchase_of_grant(*, session: Session, grant_id: int) -> tuple[PackagePurchase, Payment] | None:
    """The purchase (and its paid payment) a package grant came from."""
    grant = session.get(CreditGrant, grant_id)
    if grant is None or grant.source_kind != CreditSourceKind.PACKAGE_PURCHASE:
        return None
    purchase_id = _purchase_id(grant.source_id)
    purchase = session.get(PackagePurchase, purchase_id) if purchase_id is not None else None
    payment = session.exec(select(Payment).where(
        Payment.package_purchase_id == purchase.id,
        Payment.status.in_(payment_records.SETTLED_STATES))).first() if purchase else None
    return (purchase, payment) if purchase and payment else None


def _member_locale(session: Session, grant: CreditGrant) -> str | None:
    """The locale a membership's credits are written in: its member's (a grant's source is the invoice)."""
    if grant.source_kind != CreditSourceKind.SUBSCRIPTION_INVOICE:
        return None
    return session.exec(select(Membership.client_locale).join(
        MembershipInvoice, MembershipInvoice.membership_id == Membership.id).where(
        MembershipInvoice.stripe_invoice_id == grant.source_id)).first()


def is_paid(payment: Payment) -> bool:
    return PaymentStatus(payment.status) in payment_records.SETTLED_STATES


# --- expiry: a reminder a week before, then the unused credits lapse ----------------------------------------

REMINDER_BEFORE = timedelta(days=7)


@dataclass(frozen=True)
class ExpiryTick:
    reminded: int = 0
    expired: int = 0  # credits

    def __bool__(self) -> bool:
        return bool(self.reminded or self.expired)


def expire_credits(*, engine: Any, now: datetime | None = None) -> ExpiryTick:
    """One tick of the credit-expiry job (a flow: it owns its transaction). Each grant with unused credits
    expiring within a week gets one reminder (the outbox's dedupe key: once across workers and ticks);
    grants past their expiry lose their unused credits (EXPIRED lines)."""
    from booking.core.config import get_settings  # read when run, never at import
    from booking.core.db import session_scope

    now = now or utcnow()
    reminded = 0
    with session_scope(engine) as session:
        soon = session.exec(select(CreditGrant).where(CreditGrant.expires_at > now,
                                                      CreditGrant.expires_at <= now + REMINDER_BEFORE)).all()
        for grant in soon:
            left = credits.grant_balance(session=session, grant_id=grant.id, now=now).available
            if left <= 0:
                continue
            builder = session.get(Builder, grant.builder_id)
            purchase_id = _purchase_id(grant.source_id) \
                if grant.source_kind == CreditSourceKind.PACKAGE_PURCHASE else None
            purchase = session.get(PackagePurchase, purchase_id) if purchase_id is not None else None
            package = session.get(CreditPackage, purchase.package_id) if purchase else None
            if queue_credit_email(
                    session=session, kind=NotificationKind.CREDITS_EXPIRING, once_key=f"grant-{grant.id}-expiring",
                    public_url=get_settings().public_url, facts=CreditFacts(
                        builder_id=builder.id, builder_name=builder.name, client_email=grant.client_email,
                        client_name=purchase.client_name if purchase else grant.client_email.split("@")[0],
                        client_time_zone=purchase.client_time_zone if purchase else "UTC",
                        package_name=package.name if package else "your sessions", credits=left,
                        expires_at=grant.expires_at.isoformat(),
                        client_locale=purchase.client_locale if purchase else _member_locale(session, grant))):
                reminded += 1
        expired = credits.expire_due(session=session, now=now)
    return ExpiryTick(reminded=reminded, expired=sum(item.quantity for item in expired))
