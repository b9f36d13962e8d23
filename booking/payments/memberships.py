"""Memberships: a builder's "N sessions a month" at a recurring price, sold through Checkout in subscription mode.

- A plan is a Stripe Product with one recurring monthly Price (`create_plan`), made like a session type's: txn 1
  inserts an inactive draft, Stripe creates the Product and Price with idempotency keys derived from the draft,
  txn 2 stores their ids and activates it; if Stripe fails the draft is deleted.
- A client subscribes (`start_membership_checkout`): txn 1 inserts a pending Membership; Checkout is created with
  `subscription_data.transfer_data.destination` = the builder's account and `application_fee_percent` = the
  platform's usual fee of the price as a percentage (`pricing.membership_fee_percent`); txn 2 stores the session.
- Stripe bills every month. The webhook handlers (booking/events/membership_events.py) record each invoice
  (`ledger.record_membership_invoice_*`), grant the period's credits on `invoice.paid` and email the client when a
  renewal fails.
- The client cancels or changes the card in Stripe's customer portal (`open_portal`: a billing portal session
  created with no transaction open); a cancellation takes effect at the period's end.

Flows take an `engine` and own their transactions; the read models take a `session`.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.accounts import audit, authz
from booking.accounts.authz import Actor
from booking.core.config import get_settings
from booking.core.db import session_scope
from booking.core.models import (
    Builder,
    Membership,
    MembershipInvoice,
    MembershipPlan,
    MembershipStatus,
    SessionType,
    UnusedCredits,
    utcnow,
)
from booking.core.time import canonical_zone, format_money, known_locale_tag
from booking.payments import connect, pricing
from booking.payments.gateway import PaymentGateway, PaymentProviderError, SubscriptionCheckoutRequest

log = logging.getLogger(__name__)

MAX_SESSIONS_PER_PERIOD = 31
NAME_MAX = 120
INTERVAL = "month"
# Credits that roll over stay usable this long after the period they were granted for.
ROLLOVER_DAYS = 90
# Statuses in which a membership counts as current (shown to the builder as subscribers, offered the portal).
CURRENT = (MembershipStatus.ACTIVE, MembershipStatus.PAST_DUE, MembershipStatus.TRIALING, MembershipStatus.UNPAID)
STATUS_LABELS = {
    MembershipStatus.PENDING: "Checkout started",
    MembershipStatus.ACTIVE: "Active",
    MembershipStatus.PAST_DUE: "Payment failed",
    MembershipStatus.UNPAID: "Unpaid",
    MembershipStatus.CANCELED: "Canceled",
    MembershipStatus.INCOMPLETE: "Incomplete",
    MembershipStatus.INCOMPLETE_EXPIRED: "Expired",
    MembershipStatus.TRIALING: "Trial",
    MembershipStatus.PAUSED: "Paused",
}


class InvalidPlan(ValueError):
    """The form has problems; `errors` maps each field to its message. Nothing was saved."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


class MembershipUnavailable(ValueError):
    """The plan can't be subscribed to (unknown, inactive, or its builder can't take payments)."""


class PlanNotOffered(MembershipUnavailable):
    """No such plan, or its builder stopped offering it."""


class PlanBuilderNotPayable(MembershipUnavailable):
    """REQUIRE_PAYOUTS is on and the plan's builder can't be paid yet."""


class NoMembership(LookupError):
    """No membership the portal can be opened for."""


@dataclass(frozen=True)
class PlanInput:
    name: str
    sessions_per_period: int
    amount: int  # minor units, every month
    currency: str
    unused_credits: UnusedCredits


# --- plans ---------------------------------------------------------------------------------------------------


def _plan_key(plan: MembershipPlan, step: str) -> str:
    stamp = int(plan.created_at.timestamp() * 1_000_000)
    return f"membership-plan-{plan.id}-{stamp}-{step}"


def create_plan(*, engine: Engine, gateway: PaymentGateway, actor: Actor, data: PlanInput,
                builder_id: object = None) -> int:
    """A new plan, its Product and its recurring Price. On any failure the database is as before."""
    with session_scope(engine) as session:
        if actor.is_admin:
            owner = authz.load_owned(session=session, actor=actor, model=Builder, object_id=builder_id).id
        elif actor.builder_id is None:
            raise authz.Forbidden("This account has no builder.")
        else:
            owner = actor.builder_id
        draft = MembershipPlan(builder_id=owner, name=data.name, sessions_per_period=data.sessions_per_period,
                               amount=data.amount, currency=data.currency, unused_credits=data.unused_credits,
                               active=False)
        session.add(draft)
        session.flush()
        session.refresh(draft)
        plan = MembershipPlan.model_validate(draft)
    metadata = {"membership_plan_id": str(plan.id), "builder_id": str(plan.builder_id)}
    try:
        product = gateway.create_product(
            name=plan.name, description=f"{plan.sessions_per_period} sessions a month", active=True,
            metadata=metadata, idempotency_key=_plan_key(plan, "product"))
        price = gateway.create_recurring_price(
            product_id=product.id, unit_amount=plan.amount, currency=plan.currency, interval=INTERVAL,
            metadata=metadata, idempotency_key=_plan_key(plan, "price"))
    except Exception:
        with session_scope(engine) as session:
            session.execute(sa.delete(MembershipPlan).where(MembershipPlan.id == plan.id,
                                                            MembershipPlan.stripe_product_id.is_(None)))
        raise
    with session_scope(engine) as session:
        row = session.get(MembershipPlan, plan.id, with_for_update=True)
        row.stripe_product_id, row.stripe_price_id, row.active, row.updated_at = product.id, price.id, True, utcnow()
        session.add(row)
        session.flush()
        audit.record(session=session, actor=actor, action="membership_plan.create", entity_type="membership_plan",
                     entity_id=row.id, builder_id=row.builder_id, before=None,
                     after={"name": row.name, "sessions_per_period": row.sessions_per_period, "amount": row.amount,
                            "currency": row.currency, "unused_credits": str(row.unused_credits)})
    return int(plan.id)


def sync_plans(*, engine: Engine, gateway: PaymentGateway) -> int:
    """Give every plan made without Stripe (the demo's) its Product and monthly Price, and activate it. The keys
    derive from each row, so a rerun replays Stripe's answers. Returns how many plans were synced."""
    with Session(engine) as session:
        pending = [MembershipPlan.model_validate(row) for row in session.exec(
            select(MembershipPlan).where(MembershipPlan.stripe_price_id.is_(None))).all()]
    for plan in pending:
        metadata = {"membership_plan_id": str(plan.id), "builder_id": str(plan.builder_id)}
        product = gateway.create_product(
            name=plan.name, description=f"{plan.sessions_per_period} sessions a month", active=True,
            metadata=metadata, idempotency_key=_plan_key(plan, "product"))
        price = gateway.create_recurring_price(
            product_id=product.id, unit_amount=plan.amount, currency=plan.currency, interval=INTERVAL,
            metadata=metadata, idempotency_key=_plan_key(plan, "price"))
        with session_scope(engine) as session:
            session.execute(sa.update(MembershipPlan).where(MembershipPlan.id == plan.id,
                                                            MembershipPlan.stripe_price_id.is_(None))
                            .values(stripe_product_id=product.id, stripe_price_id=price.id, active=True,
                                    updated_at=utcnow()))
    return len(pending)


@dataclass(frozen=True)
class PlanView:
    id: int
    builder_id: int
    name: str
    sessions_per_period: int
    price: str  # "£40.00 a month"
    unused_credits: str  # in words
    active: bool
    subscribers: int = 0


def _view(plan: MembershipPlan, subscribers: int = 0) -> PlanView:
    rollover = ("Unused credits roll over" if plan.unused_credits == UnusedCredits.ROLL_OVER
                else "Unused credits lapse at the end of each month")
    return PlanView(id=int(plan.id), builder_id=plan.builder_id, name=plan.name,
                    sessions_per_period=plan.sessions_per_period,
                    price=f"{format_money(plan.amount, plan.currency)} a month", unused_credits=rollover,
                    active=plan.active, subscribers=subscribers)


def active_plans(*, session: Session, builder_id: int) -> list[MembershipPlan]:
    """A builder's plans on offer, cheapest first."""
    return list(session.exec(select(MembershipPlan).where(MembershipPlan.builder_id == builder_id,
                                                          MembershipPlan.active.is_(True))
                             .order_by(MembershipPlan.amount, MembershipPlan.id)).all())


def offered_plans(*, session: Session, builder_id: int) -> list[PlanView]:
    """A builder's active plans, as their public page offers them."""
    return [_view(row) for row in active_plans(session=session, builder_id=builder_id)]


def covered_session_types(*, session: Session, builder_id: int) -> list[SessionType]:
    """What a plan's credits can be spent on: every active session type of its builder (as of each invoice)."""
    return list(session.exec(select(SessionType).where(SessionType.builder_id == builder_id,
                                                       SessionType.active.is_(True))
                             .order_by(SessionType.id)).all())


def workspace_plans(*, session: Session, actor: Actor) -> list[PlanView]:
    """The plans the actor may see (their own; every builder's for an admin), with their current subscribers."""
    query = select(MembershipPlan).order_by(MembershipPlan.builder_id, MembershipPlan.id)
    if not actor.is_admin:
        query = query.where(MembershipPlan.builder_id == (actor.builder_id or -1))
    rows = session.exec(query).all()
    counts = dict(session.exec(select(Membership.plan_id, sa.func.count()).where(Membership.status.in_(CURRENT))
                               .group_by(Membership.plan_id)).all())
    return [_view(row, int(counts.get(row.id, 0))) for row in rows]


@dataclass(frozen=True)
class SubscriberView:
    membership_id: int
    plan_name: str
    client_name: str
    client_email: str
    status: str  # in words
    status_code: str
    renews: str  # "Renews 7 Jan 2027" / "Ends 7 Jan 2027" / ""
    since: str


def subscribers(*, session: Session, actor: Actor) -> list[SubscriberView]:
    """Who subscribed to the actor's plans (every builder's for an admin), newest first, and their status."""
    query = (select(Membership, MembershipPlan).join(MembershipPlan, MembershipPlan.id == Membership.plan_id)
             .where(Membership.status != MembershipStatus.PENDING)
             .order_by(Membership.created_at.desc(), Membership.id.desc()))
    if not actor.is_admin:
        query = query.where(Membership.builder_id == (actor.builder_id or -1))
    views = []
    for membership, plan in session.exec(query).all():
        end = membership.current_period_end
        if end is None or membership.status == MembershipStatus.CANCELED:
            renews = ""
        else:
            renews = f"{'Ends' if membership.cancel_at_period_end else 'Renews'} {end.strftime('%-d %b %Y')}"
        views.append(SubscriberView(
            membership_id=int(membership.id), plan_name=plan.name, client_name=membership.client_name,
            client_email=membership.client_email, status=STATUS_LABELS[MembershipStatus(membership.status)],
            status_code=str(membership.status), renews=renews, since=membership.created_at.strftime("%-d %b %Y")))
    return views


# --- subscribing ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MembershipCheckout:
    membership_id: int
    checkout_session_id: str
    checkout_url: str


def start_membership_checkout(*, engine: Engine, gateway: PaymentGateway, plan_id: object, client_name: str,
                              client_email: str, success_url: str, cancel_url: str,
                              client_locale: str | None = None,
                              client_time_zone: str | None = None) -> MembershipCheckout:
    """A pending membership and its Checkout Session (subscription mode), with the page's `client_locale` kept
    for the member's emails (one Babel doesn't know: none) and its `client_time_zone` (an IANA name, kept
    canonical; None: not known, the emails tell UTC). Raises PlanNotOffered, PlanBuilderNotPayable,
    lifecycle's InvalidRequest for bad client details (checked by the caller), UnknownZone for a zone the
    caller did not check (before anything is written), PaymentProviderError."""
    settings = get_settings()
    zone_name = canonical_zone(client_time_zone) if client_time_zone else None
    try:
        plan_key = int(str(plan_id))
    except (TypeError, ValueError):
        raise PlanNotOffered("No such membership.") from None
    with session_scope(engine) as session:
        plan = session.get(MembershipPlan, plan_key)
        if plan is None or not plan.active or not plan.stripe_price_id:
            raise PlanNotOffered("This membership is not offered.")
        builder = session.get(Builder, plan.builder_id)
        destination = builder.stripe_account_id if builder is not None and connect.payouts_ready(builder) else None
        if destination is None and settings.require_payouts:
            raise PlanBuilderNotPayable("This builder can't take payments yet.")
        membership = Membership(plan_id=plan.id, builder_id=plan.builder_id, client_email=client_email,
                                client_name=client_name, client_locale=known_locale_tag(client_locale),
                                client_time_zone=zone_name, status=MembershipStatus.PENDING)
        session.add(membership)
        session.flush()
        membership_id, created = int(membership.id), membership.created_at
        percent = pricing.membership_fee_percent(plan.amount, plan.currency, settings) if destination else None
        request = SubscriptionCheckoutRequest(
            membership_id=membership_id, price_id=plan.stripe_price_id, client_email=client_email,
            success_url=success_url, cancel_url=cancel_url,
            expires_at=utcnow() + timedelta(minutes=settings.hold_minutes),
            destination_account_id=destination, application_fee_percent=percent,
            metadata={"membership_id": str(membership_id), "membership_plan_id": str(plan.id),
                      "builder_id": str(plan.builder_id)})
    key = f"membership-{membership_id}-{int(created.timestamp() * 1_000_000)}-checkout"
    try:
        checkout = gateway.create_subscription_checkout(request, idempotency_key=key)
    except Exception:
        with session_scope(engine) as session:
            session.execute(sa.delete(Membership).where(Membership.id == membership_id,
                                                        Membership.status == MembershipStatus.PENDING))
        raise
    with session_scope(engine) as session:
        session.execute(sa.update(Membership).where(Membership.id == membership_id)
                        .values(checkout_session_id=checkout.id, updated_at=utcnow()))
    return MembershipCheckout(membership_id=membership_id, checkout_session_id=checkout.id,
                              checkout_url=checkout.url or "")


# --- the customer portal -------------------------------------------------------------------------------------


def open_portal(*, engine: Engine, gateway: PaymentGateway, return_url: str, membership_id: int | None = None,
                client_email: str | None = None, builder_id: int | None = None) -> str:
    """The address of Stripe's customer portal for one membership (by the portal link's id) or the client's
    latest current one (by email, from the wallet). Read, then Stripe, with no transaction open."""
    with Session(engine) as session:
        query = select(Membership).where(Membership.stripe_customer_id.is_not(None))
        if membership_id is not None:
            query = query.where(Membership.id == membership_id)
        elif client_email:
            query = query.where(Membership.client_email == client_email.strip().lower(),
                                Membership.status.in_(CURRENT))
        else:
            raise NoMembership("No membership.")
        if builder_id is not None:
            query = query.where(Membership.builder_id == builder_id)
        row = session.exec(query.order_by(Membership.created_at.desc())).first()
        if row is None:
            raise NoMembership("There is no membership to manage.")
        customer_id, key_id = row.stripe_customer_id, row.id
    # A fresh session every time (one replayed from a minute ago may have expired): a portal session changes
    # nothing by being created, so a retry of this request is the only duplicate the key needs to absorb.
    try:
        return gateway.create_portal_session(customer_id=customer_id, return_url=return_url,
                                             idempotency_key=f"membership-{key_id}-portal-{secrets.token_hex(12)}")
    except PaymentProviderError:
        log.warning("customer portal for membership %s not opened", key_id)
        raise


def has_current_membership(*, session: Session, client_email: str, builder_id: int) -> bool:
    """Whether the client has a membership with the builder that the customer portal can manage."""
    return session.exec(select(Membership.id).where(
        Membership.client_email == client_email.strip().lower(), Membership.builder_id == builder_id,
        Membership.status.in_(CURRENT), Membership.stripe_customer_id.is_not(None))).first() is not None


def membership_credit_expiry(*, plan: MembershipPlan, period_end: datetime) -> datetime:
    """When a period's credits expire: at the period's end (lapse), or ROLLOVER_DAYS later (roll over)."""
    if plan.unused_credits == UnusedCredits.ROLL_OVER:
        return period_end + timedelta(days=ROLLOVER_DAYS)
    return period_end


def invoices_of(*, session: Session, membership_id: int) -> list[MembershipInvoice]:
    return list(session.exec(select(MembershipInvoice).where(MembershipInvoice.membership_id == membership_id)
                             .order_by(MembershipInvoice.created_at)).all())
