"""Buying a package from the builder's public page: the offers shown, the Checkout that sells one, and the
page Stripe sends the client back to.

`begin_package_purchase` is a flow (it owns its transactions): txn 1 writes the purchase, reserves a
promotion code's use (keyed by the purchase) and writes its payment row (`creating`); Stripe makes the Checkout Session (mode=payment, a destination charge with the platform
fee, idempotency key `package-purchase-<id>-checkout-1`) with no transaction open; txn 2 records it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.core.config import Settings
from booking.core.db import session_scope
from booking.core.models import Builder, CreditPackage, PackagePurchase, Payment, SessionType, utcnow
from booking.core.money import MoneyError
from booking.core.time import LocaleLike, format_money, known_locale_tag
from booking.lifecycle.checkout import InvalidRequest, stripe_customer_email, validate_client
from booking.payments import connect, package_sales, price_options, pricing, promotions
from booking.payments import ledger as payment_records
from booking.payments.gateway import CheckoutRequest, PaymentGateway, PaymentProviderError

log = logging.getLogger(__name__)

PURCHASE_WINDOW = timedelta(minutes=30)  # how long the package's Checkout page stays open


@dataclass(frozen=True)
class PackageOffer:
    id: str
    name: str
    description: str
    session_count: int
    price_display: str
    validity_days: int
    session_type_names: tuple[str, ...]
    currencies: tuple[str, ...] = ()  # every currency it is sold in, its own first
    currency: str = ""  # the one its price is shown (and charged) in

    @property
    def summary(self) -> str:
        return (f"{self.session_count} sessions of {', '.join(self.session_type_names)} · "
                f"valid {self.validity_days} days")


def package_offers(*, session: Session, builder_id: int, settings: Settings, currency: str | None = None,
                   locale: LocaleLike = None) -> list[PackageOffer]:
    """The builder's active packages, as the public page shows them: in the viewer's picked `currency` or
    their locale's where a package is sold in it (price_options.preferred_currency), else in its own."""
    rows = session.exec(select(CreditPackage).where(CreditPackage.builder_id == builder_id,
                                                    CreditPackage.active.is_(True))
                        .order_by(CreditPackage.id)).all()
    offers = []
    for row in rows:
        type_ids = package_sales.package_session_type_ids(session=session, package_id=row.id)
        names = tuple(name for name in session.exec(select(SessionType.name).where(
            SessionType.id.in_(type_ids), SessionType.active.is_(True)).order_by(SessionType.id)).all())
        if not names:
            continue  # nothing left to spend its credits on
        prices = price_options.all_prices(row, price_options.package_options_of(session=session, package_id=row.id))
        shown = price_options.preferred_currency(prices, chosen=currency, locale=locale) or row.currency
        quote = pricing.quote(prices[shown], shown, settings)
        offers.append(PackageOffer(id=str(row.id), name=row.name, description=row.description,
                                   session_count=row.session_count,
                                   price_display=format_money(quote.client_pays, quote.currency),
                                   validity_days=row.validity_days, session_type_names=names,
                                   currencies=tuple(prices), currency=shown))
    return offers


def package_price_with_code(*, session: Session, package_id: object, code: str, settings: Settings,
                            currency: str | None = None, client_email: str | None = None) -> str:
    """What the client will pay for the package with `code`, in words ("£108.00 (PACK20: −£27.00)"), shown
    before Checkout. Nothing is reserved. Raises promotions.PromotionCodeInvalid or InvalidRequest."""
    package = _active_package(session, package_id)
    try:
        price = price_options.price_in(package, price_options.package_options_of(session=session,
                                                                                 package_id=package.id), currency)
    except (price_options.CurrencyNotOffered, MoneyError) as exc:
        raise InvalidRequest("currency", str(exc)) from None
    discount = promotions.check_code(session=session, code=code, client_email=client_email,
                                     session_type=promotions.PriceTarget(
                                         builder_id=package.builder_id, price_amount=price.amount,
                                         currency=price.currency, package_id=package.id))
    quote = pricing.quote(price.amount, price.currency, settings, discount=discount.discount_amount)
    return f"{format_money(quote.client_pays, quote.currency)} ({discount.label})"


@dataclass(frozen=True)
class PurchaseStarted:
    purchase_id: int
    checkout_url: str


def begin_package_purchase(*, engine: Engine, gateway: PaymentGateway, settings: Settings, package_id: object,
                           client_name: str, client_email: str, client_time_zone: str = "UTC",
                           client_locale: str | None = None, currency: str | None = None,
                           promotion_code: str | None = None) -> PurchaseStarted:
    """Open the package's Checkout, in `currency` (None: the package's own; else one of its other prices)
    with `promotion_code` taken off (one use reserved with the purchase, released if it is left unpaid).
    `client_locale`: the shop page's language, kept for the buyer's emails (one Babel doesn't know: none).
    Raises InvalidRequest (names the field), promotions.PromotionCodeInvalid (nothing written) or
    PaymentProviderError (nothing is left to pay for)."""
    name, email = validate_client(name=client_name, email=client_email)
    with session_scope(engine) as session:
        package = _active_package(session, package_id)
        builder = session.get(Builder, package.builder_id)
        options = price_options.package_options_of(session=session, package_id=package.id)
        try:
            price = price_options.price_in(package, options, currency)
        except (price_options.CurrencyNotOffered, MoneyError) as exc:
            raise InvalidRequest("currency", str(exc)) from None
        purchase = PackagePurchase(package_id=package.id, builder_id=builder.id, client_email=email,
                                   client_name=name, client_time_zone=client_time_zone or "UTC",
                                   client_locale=known_locale_tag(client_locale),
                                   session_count=package.session_count, validity_days=package.validity_days,
                                   session_type_ids=json.dumps(package_sales.package_session_type_ids(
                                       session=session, package_id=package.id)))
        session.add(purchase)
        session.flush()
        discount = None
        if promotion_code and str(promotion_code).strip():  # raises PromotionCodeInvalid: all rolled back
            discount = promotions.reserve_for_purchase(
                session=session, code=str(promotion_code), package_purchase_id=purchase.id, client_email=email,
                target=promotions.PriceTarget(builder_id=builder.id, price_amount=price.amount,
                                              currency=price.currency, package_id=package.id))
        # what the client pays, and the platform fee on it
        quote = pricing.quote(price.amount, price.currency, settings,
                              discount=discount.discount_amount if discount else 0)
        try:
            plan = connect.charge_plan(builder=builder, quote=quote, settings=settings)
        except connect.PayoutsNotReady as exc:
            raise InvalidRequest("package_id", str(exc)) from None
        request = CheckoutRequest(
            booking_id="", line_item_name=f"{package.name} with {builder.name}",
            line_item_description=f"{package.session_count} sessions, valid {package.validity_days} days",
            amount=quote.client_pays, currency=quote.currency, price_id=package.stripe_price_id,
            currency_option=quote.currency != package.currency,
            list_amount=quote.amount if discount else None,
            promotion_code_id=discount.stripe_promotion_code_id if discount else None,
            customer_email=stripe_customer_email(email), client_reference_id=f"package-purchase-{purchase.id}",
            success_url=f"{settings.public_url}/packages/thanks?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{settings.public_url}/b/{builder.slug}",
            expires_at=utcnow() + PURCHASE_WINDOW,
            metadata={package_sales.PURCHASE_METADATA_KEY: str(purchase.id), "builder_id": str(builder.id)},
            destination_account_id=plan.destination_account_id, application_fee_amount=plan.application_fee_amount)
        payment = payment_records.begin_sale_attempt(session=session, package_purchase_id=purchase.id,
                                                     request=request)
        if discount:
            promotions.attach_purchase_payment(session=session, package_purchase_id=purchase.id,
                                               payment_id=payment.id)
        purchase_id, payment_id = purchase.id, payment.id
        key = package_sales.checkout_idempotency_key(purchase)
    try:
        checkout = gateway.create_checkout_session(request, idempotency_key=key)
    except PaymentProviderError as exc:
        with session_scope(engine) as session:
            payment_records.abandon_attempt(session=session, payment=session.get(Payment, payment_id),
                                            message=str(exc))
            promotions.purchase_unpaid(session=session, package_purchase_id=purchase_id)
        raise
    with session_scope(engine) as session:
        payment_records.attempt_created(session=session, payment=session.get(Payment, payment_id), checkout=checkout)
    log.info("package purchase %s started", purchase_id)
    return PurchaseStarted(purchase_id=purchase_id, checkout_url=checkout.url or "")


def _active_package(session: Session, package_id: object) -> CreditPackage:
    try:
        row = session.get(CreditPackage, int(str(package_id)))
    except ValueError:
        row = None
    if row is None or not row.active or not package_sales.package_session_type_ids(session=session,
                                                                                    package_id=row.id):
        raise InvalidRequest("package_id", "This package is not on sale.")
    return row


@dataclass(frozen=True)
class PurchaseReceipt:
    paid: bool
    package_name: str = ""
    sessions: int = 0
    email_hint: str = ""  # where the wallet link went, masked


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "your address"


def finish_package_purchase(*, engine: Engine, gateway: PaymentGateway, checkout_session_id: str) -> PurchaseReceipt:
    """The page Stripe sends the client back to: fulfil the sale if the webhook has not yet (Stripe is asked
    first, no transaction open). The wallet link is only ever emailed: a leaked success URL shows nothing."""
    if not checkout_session_id or len(checkout_session_id) > 255 or not checkout_session_id.startswith("cs_"):
        return PurchaseReceipt(paid=False)
    try:
        checkout = gateway.retrieve_checkout_session(checkout_session_id)
    except PaymentProviderError:
        return PurchaseReceipt(paid=False)
    with session_scope(engine) as session:
        payment = package_sales.sale_payment_of(session=session, obj={"id": checkout.id,
                                                                      "metadata": checkout.metadata})
        if payment is None or payment.checkout_session_id != checkout.id:
            return PurchaseReceipt(paid=False)
        package_sales.fulfil_sale(session=session, payment=payment, checkout=checkout)
        purchase = session.get(PackagePurchase, payment.package_purchase_id)
        package = session.get(CreditPackage, purchase.package_id)
        return PurchaseReceipt(paid=package_sales.is_paid(payment), package_name=package.name,
                               sessions=purchase.session_count, email_hint=_mask(purchase.client_email))
