"""Memberships for clients: the plans a builder's page (and the JSON API) offers, subscribing (Checkout in
subscription mode; the page and the API's create-checkout-session both call `subscribe`) and Stripe's customer
portal, opened from the wallet (by the client's email) or from the "update your card" email (by the link's
token). Thin over booking.payments.memberships."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from booking.core.builder_slugs import builder_by_slug
from booking.core.config import get_settings
from booking.core.forms import database_id
from booking.core.models import Builder, MembershipPlan, UnusedCredits
from booking.core.time import UnknownZone, canonical_zone, format_money
from booking.lifecycle.checkout import InvalidRequest, validate_client
from booking.notifications import wallet_links
from booking.notifications.membership_emails import membership_of_token
from booking.payments.gateway import PaymentGateway
from booking.payments.memberships import (
    MembershipCheckout,
    MembershipUnavailable,
    NoMembership,
    PlanBuilderNotPayable,
    PlanNotOffered,
    PlanView,
    active_plans,
    covered_session_types,
    has_current_membership,
    offered_plans,
    open_portal,
    start_membership_checkout,
)

__all__ = ["MembershipCheckout", "MembershipUnavailable", "NoMembership", "PlanBuilderNotPayable", "PlanNotOffered",
           "PlanView", "PublicPlan", "builder_plans", "membership_offers", "portal_for_client", "portal_for_token",
           "portal_for_wallet", "subscribe", "wallet_has_membership"]

SUBSCRIBED_QUERY = "subscribed=1"


def _builder_of(session: Session, slug: str) -> Builder | None:
    """The builder at /b/<slug>, found by an old slug too (their page redirects; the plans API answers)."""
    return builder_by_slug(session=session, slug=slug)[0]


def membership_offers(*, session: Session, slug: str) -> list[PlanView]:
    """The membership plans a builder's public page (by its slug) offers."""
    builder = _builder_of(session, slug)
    return offered_plans(session=session, builder_id=builder.id) if builder is not None else []


@dataclass(frozen=True)
class SessionTypeCovered:
    id: int
    name: str


@dataclass(frozen=True)
class PublicPlan:
    """A plan as anyone may see it: what it costs and what its credits buy."""

    id: int
    name: str
    sessions_per_month: int
    amount: int  # minor units, every month
    currency: str  # lower case
    price_display: str  # "£40.00"
    unused_credits: UnusedCredits
    session_types: list[SessionTypeCovered]


def builder_plans(*, session: Session, slug: str) -> list[PublicPlan] | None:
    """A builder's active plans (cheapest first) for the JSON API; None when no builder has this slug."""
    builder = _builder_of(session, slug)
    if builder is None:
        return None
    covered = [SessionTypeCovered(id=int(row.id), name=row.name)
               for row in covered_session_types(session=session, builder_id=builder.id)]
    plans = active_plans(session=session, builder_id=builder.id)
    return [PublicPlan(id=int(plan.id), name=plan.name, sessions_per_month=plan.sessions_per_period,
                       amount=plan.amount, currency=plan.currency.lower(),
                       price_display=format_money(plan.amount, plan.currency),
                       unused_credits=UnusedCredits(plan.unused_credits), session_types=covered)
            for plan in plans]


def subscribe(*, engine: Engine, gateway: PaymentGateway, plan_id: object, client_name: str, client_email: str,
              currency: str | None = None, client_locale: str | None = None,
              client_time_zone: str | None = None) -> MembershipCheckout:
    """The Checkout Session for a client subscribing to a plan (`currency`, if given, must be the plan's: a
    plan has one price; `client_locale`: the page's language, for the member's emails; `client_time_zone`: the
    browser's IANA zone, the emails' clock, None when not known: UTC). Raises lifecycle's InvalidRequest (bad
    name, email, currency or time zone, naming the field), PlanNotOffered, PlanBuilderNotPayable,
    PaymentProviderError."""
    name, email = validate_client(name=client_name, email=client_email)
    try:
        zone_name = canonical_zone(client_time_zone) if client_time_zone else None
    except UnknownZone as exc:
        raise InvalidRequest("client_time_zone", str(exc)) from None
    key = database_id(plan_id)
    with Session(engine) as session:
        plan = session.get(MembershipPlan, key) if key is not None else None
        builder = session.get(Builder, plan.builder_id) if plan is not None and plan.active else None
        if builder is None:
            raise PlanNotOffered("This membership is not offered.")
        if currency is not None and currency.lower() != plan.currency.lower():
            raise InvalidRequest("currency", f"This membership is priced in {plan.currency.upper()} only.")
        page = f"{get_settings().public_url.rstrip('/')}/b/{builder.slug}"
    return start_membership_checkout(engine=engine, gateway=gateway, plan_id=key, client_name=name,
                                     client_email=email, success_url=f"{page}?{SUBSCRIBED_QUERY}",
                                     cancel_url=page, client_locale=client_locale,
                                     client_time_zone=zone_name)


def portal_for_token(*, engine: Engine, gateway: PaymentGateway, token: str, return_url: str) -> str:
    """Stripe's customer portal for the membership an emailed link names. Raises NoMembership."""
    membership_id = membership_of_token(token)
    if membership_id is None:
        raise NoMembership("This link is not valid.")
    return open_portal(engine=engine, gateway=gateway, return_url=return_url, membership_id=membership_id)


def portal_for_client(*, engine: Engine, gateway: PaymentGateway, client_email: str, return_url: str) -> str:
    """Stripe's customer portal for the client's current membership."""
    return open_portal(engine=engine, gateway=gateway, return_url=return_url, client_email=client_email)


def wallet_has_membership(*, session: Session, token: str) -> bool:
    """Whether the wallet's client has a membership with its builder (the wallet shows "Manage membership")."""
    wallet = wallet_links.find_wallet(session=session, token=token) if token else None
    return wallet is not None and has_current_membership(session=session, client_email=wallet.client_email,
                                                         builder_id=wallet.builder_id)


def portal_for_wallet(*, engine: Engine, gateway: PaymentGateway, token: str, return_url: str) -> str:
    """The wallet's "Manage membership": Stripe's customer portal for the client's membership with the wallet's
    builder. Read first, then Stripe, with no transaction open. Raises NoMembership, PaymentProviderError."""
    with Session(engine) as session:
        wallet = wallet_links.find_wallet(session=session, token=token) if token else None
        if wallet is None:
            raise NoMembership("This wallet link is not valid.")
        client_email, builder_id = wallet.client_email, wallet.builder_id
    return open_portal(engine=engine, gateway=gateway, return_url=return_url, client_email=client_email,
                       builder_id=builder_id)
