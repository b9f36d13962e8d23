"""Memberships for clients: the plans a builder's page offers, subscribing (Checkout in subscription mode) and
Stripe's customer portal, opened from the wallet (by the client's email) or from the "update your card" email
(by the link's token). Thin over booking.payments.memberships."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.core.config import get_settings
from booking.core.models import Builder, MembershipPlan
from booking.lifecycle.checkout import validate_client
from booking.notifications import wallet_links
from booking.notifications.membership_emails import membership_of_token
from booking.payments.gateway import PaymentGateway
from booking.payments.memberships import (
    MembershipUnavailable,
    NoMembership,
    PlanView,
    has_current_membership,
    offered_plans,
    open_portal,
    start_membership_checkout,
)

__all__ = ["MembershipUnavailable", "NoMembership", "PlanView", "membership_offers", "portal_for_client",
           "portal_for_token", "portal_for_wallet", "subscribe", "wallet_has_membership"]

SUBSCRIBED_QUERY = "subscribed=1"


def membership_offers(*, session: Session, slug: str) -> list[PlanView]:
    """The membership plans a builder's public page (by its slug) offers."""
    builder = session.exec(select(Builder).where(Builder.slug == (slug or "")[:80])).first()
    return offered_plans(session=session, builder_id=builder.id) if builder is not None else []


def subscribe(*, engine: Engine, gateway: PaymentGateway, plan_id: object, client_name: str,
              client_email: str, client_locale: str | None = None) -> str:
    """The Checkout address for a client subscribing to a plan (`client_locale`: the page's language, for the
    member's emails). Raises lifecycle's InvalidRequest (bad name or
    email, naming the field), MembershipUnavailable, PaymentProviderError."""
    name, email = validate_client(name=client_name, email=client_email)
    with Session(engine) as session:
        plan = session.get(MembershipPlan, int(plan_id)) if str(plan_id).isdigit() else None
        builder = session.get(Builder, plan.builder_id) if plan is not None else None
        if builder is None:
            raise MembershipUnavailable("This membership is not offered.")
        page = f"{get_settings().public_url.rstrip('/')}/b/{builder.slug}"
    started = start_membership_checkout(engine=engine, gateway=gateway, plan_id=plan_id, client_name=name,
                                        client_email=email, success_url=f"{page}?{SUBSCRIBED_QUERY}",
                                        cancel_url=page, client_locale=client_locale)
    return started.checkout_url


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
