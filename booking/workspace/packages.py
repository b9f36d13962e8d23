"""Packages in the workspace: a builder defines N sessions of some of their session types for one price and
a validity; each package is a Stripe Product and Price (as session types are). The builder sees what was
sold and refunds unused credits pro rata.

Flows here own their transactions and never call Stripe with one open: the package row is written as an
inactive draft, Stripe makes the Product and Price (idempotency keys from the draft's id), then the row is
activated. An edit reads the row and its revision n, makes what changed at Stripe (a new Price when the
price does: Prices are immutable; keys from revision n+1 and the values), then compare-and-swaps on n in
one transaction; the old Price is archived only after that commit, so the row never names an inactive one.
What was sold keeps its own terms: a grant its credits, session types and expiry; a purchase its count and
validity; a payment its amount (what a refund of unused credits is a share of). A refund of unused credits writes its credit line and its Refund row first, asks Stripe (key
`package-refund-<refund id>`), then records the answer; a refusal gives the credits back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.accounts import audit, authz
from booking.accounts.authz import Actor
from booking.core.db import session_scope
from booking.core.models import (
    Builder,
    CreditEntry,
    CreditEntryKind,
    CreditGrant,
    CreditPackage,
    CreditPackageSessionType,
    PackagePurchase,
    Payment,
    Refund,
    SessionType,
    utcnow,
)
from booking.core.time import format_date, format_money
from booking.payments import credits, package_sales, price_options, pricing, stripe_prices
from booking.payments import ledger as payment_records
from booking.payments.gateway import PaymentGateway, PaymentProviderError
from booking.workspace.session_types import (
    other_prices_input,
    parse_currency,
    parse_name,
    parse_other_prices,
    parse_price,
    price_input,
)

log = logging.getLogger(__name__)

MAX_SESSIONS = 100
MAX_VALIDITY_DAYS = 730


class InvalidPackage(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class RefundRefused(RuntimeError):
    pass


class PackageConflict(RuntimeError):
    """The package changed since it was read (another save won the compare-and-swap). Nothing was saved."""


@dataclass(frozen=True)
class PackageInput:
    name: str
    description: str
    session_count: int
    price_amount: int
    currency: str
    validity_days: int
    session_type_ids: tuple[int, ...]
    price_options: tuple[tuple[str, int], ...] = ()  # the same package in other currencies


def _whole(text: object, low: int, high: int, message: str) -> int:
    raw = str(text if text is not None else "").strip()
    if not raw.isdigit() or len(raw) > 4 or not low <= int(raw) <= high:
        raise ValueError(message)
    return int(raw)


def parse_package_form(form: Mapping[str, Any]) -> PackageInput:
    """The package form's fields, every problem at once (InvalidPackage, by field)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for field, parse in (
        ("name", lambda: parse_name(form.get("name"))),
        ("currency", lambda: parse_currency(form.get("currency") or "gbp")),
        ("session_count", lambda: _whole(form.get("session_count"), 1, MAX_SESSIONS,
                                         f"Enter a number of sessions from 1 to {MAX_SESSIONS}.")),
        ("validity_days", lambda: _whole(form.get("validity_days"), 1, MAX_VALIDITY_DAYS,
                                         f"Enter how many days the credits last, from 1 to {MAX_VALIDITY_DAYS}.")),
    ):
        try:
            values[field] = parse()
        except ValueError as exc:
            errors[field] = str(exc)
    try:
        values["price_amount"] = parse_price(form.get("price"), values.get("currency", "gbp"))
    except ValueError as exc:
        errors["price"] = str(exc)
    try:  # "EUR 45.00, USD 50": each checked against Stripe's minimum charge, as the session type form does
        values["price_options"] = parse_other_prices(form.get("other_prices"), values.get("currency"))
    except ValueError as exc:
        errors["other_prices"] = str(exc)
    raw_types = form.get("session_type_ids") or ()
    if isinstance(raw_types, str):
        raw_types = [part for part in raw_types.split(",") if part.strip()]
    try:
        type_ids = tuple(sorted({int(str(value)) for value in raw_types}))
    except ValueError:
        type_ids = ()
    if not type_ids:
        errors["session_type_ids"] = "Choose at least one session type the credits can be spent on."
    description = str(form.get("description") or "").strip()
    if len(description) > 2000:
        errors["description"] = "The description can be at most 2000 characters."
    if errors:
        raise InvalidPackage(errors)
    return PackageInput(name=values["name"], description=description, session_count=values["session_count"],
                        price_amount=values["price_amount"], currency=values["currency"],
                        validity_days=values["validity_days"], session_type_ids=type_ids,
                        price_options=values["price_options"])


@dataclass(frozen=True)
class PackageRow:
    id: str
    builder_id: str
    name: str
    sessions: int
    price: str
    validity_days: int
    session_types: str
    active: bool
    sold: int
    revision: int = 0


def list_packages(*, session: Session, actor: Actor) -> list[PackageRow]:
    query = select(CreditPackage).order_by(CreditPackage.id)
    scope = authz.builder_scope(actor)
    if scope is not None:
        query = query.where(CreditPackage.builder_id == scope)
    rows = []
    for row in session.exec(query).all():
        type_ids = package_sales.package_session_type_ids(session=session, package_id=row.id)
        names = session.exec(select(SessionType.name).where(SessionType.id.in_(type_ids))).all()
        sold = len(session.exec(select(PackagePurchase.id).join(Payment, Payment.package_purchase_id == PackagePurchase.id)
                                .where(PackagePurchase.package_id == row.id,
                                       Payment.status.in_(payment_records.SETTLED_STATES))).all())
        rows.append(PackageRow(id=str(row.id), builder_id=str(row.builder_id), name=row.name,
                               sessions=row.session_count, price=" · ".join(
                                   format_money(amount, code) for code, amount in price_options.all_prices(
                                       row, price_options.package_options_of(session=session,
                                                                             package_id=row.id)).items()),
                               validity_days=row.validity_days, session_types=", ".join(names), active=row.active,
                               sold=sold, revision=row.revision))
    return rows


def _key_prefix(package: CreditPackage, revision: int) -> str:
    return f"package-{package.id}-{package_sales.row_stamp(package.created_at)}-rev-{revision}"


def _key(package: CreditPackage, step: str) -> str:
    return f"{_key_prefix(package, package.revision)}-{step}"


def _check_session_types(session: Session, type_ids: tuple[int, ...], owner: int) -> None:
    types = session.exec(select(SessionType).where(SessionType.id.in_(type_ids))).all()
    if len(types) != len(type_ids) or any(row.builder_id != owner for row in types):
        raise InvalidPackage({"session_type_ids": "Choose session types of this builder."})


def _client_prices(data: PackageInput, settings: Any) -> tuple[int, dict[str, int]]:
    """The Price's unit amount and its other currencies, as clients pay them (Checkout's `currency` picks one)."""
    return (pricing.quote(data.price_amount, data.currency, settings).client_pays,
            {code: pricing.quote(amount, code, settings).client_pays
             for code, amount in data.price_options if code != data.currency})


def create_package(*, engine: Engine, gateway: PaymentGateway, actor: Actor, data: PackageInput,
                   builder_id: object = None, settings: Any) -> int:
    """A new package, its Stripe Product and Price. On a Stripe failure the draft stays inactive."""
    with session_scope(engine) as session:
        if actor.is_admin:
            owner = authz.load_owned(session=session, actor=actor, model=Builder, object_id=builder_id).id
        elif actor.builder_id is None:
            raise authz.Forbidden("This account has no builder.")
        else:
            owner = actor.builder_id
        _check_session_types(session, data.session_type_ids, owner)
        package = CreditPackage(builder_id=owner, name=data.name, description=data.description,
                                session_count=data.session_count, price_amount=data.price_amount,
                                currency=data.currency, validity_days=data.validity_days, active=False, revision=1)
        session.add(package)
        session.flush()
        session.add_all(CreditPackageSessionType(package_id=package.id, session_type_id=type_id)
                        for type_id in data.session_type_ids)
        session.flush()
        price_options.replace_package_options(session=session, package_id=package.id,
                                              options=dict(data.price_options))
        draft = CreditPackage(**package.model_dump())
    client_pays, currency_options = _client_prices(data, settings)
    metadata = {"package_id": str(draft.id), "builder_id": str(draft.builder_id)}
    product = gateway.create_product(name=draft.name, description=draft.description, active=True, metadata=metadata,
                                     idempotency_key=_key(draft, "product"))
    price = gateway.create_price(product_id=product.id, unit_amount=client_pays, currency=draft.currency,
                                 metadata=metadata, idempotency_key=_key(draft, "price"),
                                 currency_options=currency_options or None)
    with session_scope(engine) as session:
        row = session.get(CreditPackage, draft.id, with_for_update=True)
        row.stripe_product_id, row.stripe_price_id, row.active, row.updated_at = product.id, price.id, True, utcnow()
        session.add(row)
        session.flush()
        audit.record(session=session, actor=actor, action="package.create", entity_type="credit_package",
                     entity_id=row.id, builder_id=row.builder_id, before=None,
                     after=audit.snapshot(row, ("name", "session_count", "price_amount", "currency", "validity_days",
                                                "stripe_product_id", "stripe_price_id")))
    return draft.id


@dataclass(frozen=True)
class PackageForm:
    """A package's terms as its edit form shows them."""

    id: str
    revision: int
    values: dict[str, str]  # the form's text fields
    session_type_ids: tuple[str, ...]


def load_package_form(*, session: Session, actor: Actor, package_id: object) -> PackageForm:
    row = authz.load_owned(session=session, actor=actor, model=CreditPackage, object_id=package_id)
    options = price_options.package_options_of(session=session, package_id=row.id)
    values = {"name": row.name, "description": row.description, "session_count": str(row.session_count),
              "price": price_input(row.price_amount, row.currency), "currency": row.currency,
              "validity_days": str(row.validity_days), "other_prices": other_prices_input(options)}
    return PackageForm(id=str(row.id), revision=row.revision, values=values, session_type_ids=tuple(
        str(type_id) for type_id in package_sales.package_session_type_ids(session=session, package_id=row.id)))


@dataclass(frozen=True)
class PackageSaved:
    package_id: int
    name: str
    changed: bool = True
    warning: str = ""  # saved, but the old Price is still active at Stripe


@dataclass(frozen=True)
class _Terms:
    """A package as an edit compares it: read in one transaction, used after it closed."""

    row: CreditPackage
    session_type_ids: tuple[int, ...]
    price_options: tuple[tuple[str, int], ...]

    def same_price(self, data: PackageInput) -> bool:
        return ((self.row.price_amount, self.row.currency, self.price_options)
                == (data.price_amount, data.currency, data.price_options))

    def same_terms(self, data: PackageInput) -> bool:
        row = self.row
        return ((row.name, row.description, row.session_count, row.validity_days, self.session_type_ids)
                == (data.name, data.description, data.session_count, data.validity_days, data.session_type_ids))


_CONFLICT = "Someone else changed this package meanwhile. Open it again to see their changes, then save yours."


def update_package(*, engine: Engine, gateway: PaymentGateway, actor: Actor, package_id: object,
                   data: PackageInput, settings: Any, expected_revision: int | None = None) -> PackageSaved:
    """New terms for the clients who buy the package from now on (the shop and Checkout use them at once).
    Only its builder or the platform admin may; bad input raises InvalidPackage and a lost race
    PackageConflict, with nothing saved."""
    with session_scope(engine) as session:
        row = authz.load_owned(session=session, actor=actor, model=CreditPackage, object_id=package_id)
        if expected_revision is not None and row.revision != expected_revision:
            raise PackageConflict(_CONFLICT)
        _check_session_types(session, data.session_type_ids, row.builder_id)
        current = _Terms(row=CreditPackage(**row.model_dump()),
                         session_type_ids=tuple(package_sales.package_session_type_ids(session=session,
                                                                                       package_id=row.id)),
                         price_options=tuple(sorted(price_options.package_options_of(session=session,
                                                                                     package_id=row.id).items())))
    old = current.row
    if current.same_price(data) and current.same_terms(data) and old.stripe_price_id:
        return PackageSaved(package_id=old.id, name=old.name, changed=False)

    prefix = _key_prefix(old, old.revision + 1)
    metadata = {"package_id": str(old.id), "builder_id": str(old.builder_id)}
    product = {"name": data.name, "description": data.description, "active": old.active, "metadata": metadata}
    product_id = old.stripe_product_id
    if product_id is None:  # a draft Stripe never got: make it now
        product_id = gateway.create_product(**product, idempotency_key=stripe_prices.key(prefix, "product",
                                                                                         product)).id
    elif (data.name, data.description) != (old.name, old.description):
        gateway.update_product(product_id, **product,
                               idempotency_key=stripe_prices.key(prefix, "product-update", product))
    price_id = old.stripe_price_id
    if price_id is None or product_id != old.stripe_product_id or not current.same_price(data):
        unit_amount, currency_options = _client_prices(data, settings)
        price_id = stripe_prices.create_price(gateway, key_prefix=prefix, step="price", product_id=product_id,
                                              unit_amount=unit_amount, currency=data.currency,
                                              currency_options=currency_options, metadata=metadata)
    try:
        _save_terms(engine=engine, actor=actor, current=current, data=data, product_id=product_id,
                    price_id=price_id)
    except PackageConflict:
        _retire_unnamed_price(engine, gateway, old, prefix, product_id, price_id)
        raise
    warning = ""
    if old.stripe_price_id and old.stripe_price_id != price_id:
        try:
            stripe_prices.retire_prices(gateway, key_prefix=prefix, product_id=product_id, keep={price_id},
                                        only=old.stripe_price_id)
        except PaymentProviderError as exc:
            log.warning("package %s: old Price %s left active: %s", old.id, old.stripe_price_id, exc)
            warning = f"Saved, but the old price is still active at Stripe ({exc})."
    return PackageSaved(package_id=old.id, name=data.name, warning=warning)


def _save_terms(*, engine: Engine, actor: Actor, current: _Terms, data: PackageInput, product_id: str,
                price_id: str) -> None:
    """Compare-and-swap on the revision that was read, the new terms and Stripe's ids, audit: one transaction."""
    old = current.row
    with session_scope(engine) as session:
        result = session.execute(
            sa.update(CreditPackage)
            .where(CreditPackage.id == old.id, CreditPackage.revision == old.revision)
            .values(name=data.name, description=data.description, session_count=data.session_count,
                    price_amount=data.price_amount, currency=data.currency, validity_days=data.validity_days,
                    stripe_product_id=product_id, stripe_price_id=price_id, revision=old.revision + 1,
                    updated_at=utcnow())
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise PackageConflict(_CONFLICT)
        if data.session_type_ids != current.session_type_ids:
            session.execute(sa.delete(CreditPackageSessionType).where(CreditPackageSessionType.package_id == old.id))
            session.add_all(CreditPackageSessionType(package_id=old.id, session_type_id=type_id)
                            for type_id in data.session_type_ids)
        if data.price_options != current.price_options:
            price_options.replace_package_options(session=session, package_id=old.id,
                                                  options=dict(data.price_options))
        session.flush()
        row = session.get(CreditPackage, old.id, populate_existing=True)
        audit.record(session=session, actor=actor, action="package.update", entity_type="credit_package",
                     entity_id=row.id, builder_id=row.builder_id,
                     before={**audit.snapshot(old, _AUDITED), "session_type_ids": list(current.session_type_ids),
                             "other_prices": other_prices_input(current.price_options)},
                     after={**audit.snapshot(row, _AUDITED), "session_type_ids": list(data.session_type_ids),
                            "other_prices": other_prices_input(data.price_options)})


_AUDITED = ("name", "description", "session_count", "price_amount", "currency", "validity_days",
            "stripe_product_id", "stripe_price_id", "revision")


def _retire_unnamed_price(engine: Engine, gateway: PaymentGateway, old: CreditPackage, prefix: str,
                          product_id: str, price_id: str) -> None:
    """A save that lost the race: archive the Price it made, unless the winner (the same values, so the same
    idempotency key and Price) now names it. Best effort."""
    if price_id == old.stripe_price_id:
        return
    with session_scope(engine) as session:
        named = session.get(CreditPackage, old.id).stripe_price_id
    if named == price_id:
        return
    try:
        stripe_prices.retire_prices(gateway, key_prefix=prefix, product_id=product_id, keep=set(), only=price_id)
    except PaymentProviderError:
        log.warning("package %s: left an unused Stripe Price %s active", old.id, price_id)


def set_package_active(*, engine: Engine, gateway: PaymentGateway, actor: Actor, package_id: object,
                       active: bool) -> None:
    """Take a package off sale (its Product archived) or back on. Credits already sold are untouched."""
    with session_scope(engine) as session:
        row = authz.load_owned(session=session, actor=actor, model=CreditPackage, object_id=package_id)
        if row.active == active:
            return
        snapshot = CreditPackage(**row.model_dump())
        snapshot.revision += 1
    if snapshot.stripe_product_id:
        gateway.update_product(snapshot.stripe_product_id, name=snapshot.name, description=snapshot.description,
                               active=active, metadata={"package_id": str(snapshot.id)},
                               idempotency_key=_key(snapshot, "active" if active else "archive"))
    with session_scope(engine) as session:
        row = session.get(CreditPackage, snapshot.id, with_for_update=True)
        before = audit.snapshot(row, ("active",))
        row.active, row.revision, row.updated_at = active, snapshot.revision, utcnow()
        session.add(row)
        session.flush()
        audit.record(session=session, actor=actor, action="package.activate" if active else "package.deactivate",
                     entity_type="credit_package", entity_id=row.id, builder_id=row.builder_id, before=before,
                     after=audit.snapshot(row, ("active",)))


@dataclass(frozen=True)
class SaleRow:
    grant_id: str
    client_email: str
    package_name: str
    bought: int
    unused: int
    expires: str
    paid: str
    refundable: str  # the pro rata amount for the unused credits ("" when none)


def list_sales(*, session: Session, actor: Actor, now: datetime | None = None) -> list[SaleRow]:
    """Package credits sold, with what is unused and what refunding it would pay back."""
    now = now or utcnow()
    query = select(CreditGrant).where(CreditGrant.source_kind == credits.CreditSourceKind.PACKAGE_PURCHASE)
    scope = authz.builder_scope(actor)
    if scope is not None:
        query = query.where(CreditGrant.builder_id == scope)
    rows = []
    for grant in session.exec(query.order_by(CreditGrant.id.desc())).all():
        found = package_sales.purchase_of_grant(session=session, grant_id=grant.id)
        if found is None:
            continue
        purchase, payment = found
        numbers = credits.grant_balance(session=session, grant_id=grant.id, now=now)
        package = session.get(CreditPackage, purchase.package_id)
        back = _refund_amount(payment, numbers.available, grant.quantity)
        rows.append(SaleRow(grant_id=str(grant.id), client_email=grant.client_email, package_name=package.name,
                            bought=grant.quantity, unused=numbers.available,
                            expires=format_date(grant.expires_at, style="medium"),
                            paid=format_money(payment.amount, payment.currency),
                            refundable=format_money(back, payment.currency) if back else ""))
    return rows


def _refund_amount(payment: Payment, unused: int, bought: int) -> int:
    left = payment.amount - payment.amount_refunded
    return min(pricing.pro_rata(payment.amount, unused, bought), max(left, 0))


@dataclass(frozen=True)
class _RefundAsk:
    refund_id: int
    stamp: int
    payment_intent_id: str
    amount: int
    options: dict[str, bool]


def refund_unused_credits(*, engine: Engine, gateway: PaymentGateway, actor: Actor, grant_id: object,
                          now: datetime | None = None) -> str:
    """Refund a package's unused credits pro rata. Returns what was refunded, in words; raises RefundRefused
    (nothing changed, or the credits given back after Stripe refused)."""
    now = now or utcnow()
    with session_scope(engine) as session:
        grant = authz.load_owned(session=session, actor=actor, model=CreditGrant, object_id=grant_id)
        found = package_sales.purchase_of_grant(session=session, grant_id=grant.id)
        if found is None or not found[1].payment_intent_id:
            raise RefundRefused("This package's payment can't be refunded here.")
        _purchase, payment = found
        try:
            entry = credits.refund_unused(session=session, grant_id=grant.id, now=now,
                                          request_key=f"grant-{grant.id}-{_refund_count(session, grant.id) + 1}")
        except credits.CreditError as exc:
            raise RefundRefused(str(exc)) from None
        amount = _refund_amount(payment, entry.quantity, grant.quantity)
        if amount <= 0:
            raise RefundRefused("Nothing is left to refund of this payment.")
        row = payment_records.request_refund(session=session, payment=payment, booking_id=None, amount=amount,
                                             request_key=f"package-{entry.key}", reason="requested_by_customer",
                                             requested_by=actor.email, requested_by_user_id=actor.user_id)
        ask = _RefundAsk(refund_id=row.id, stamp=package_sales.row_stamp(row.created_at), payment_intent_id=payment.payment_intent_id, amount=amount,
                         options=payment_records.stripe_refund_options(payment))
        audit.record(session=session, actor=actor, action="package.refund_unused", entity_type="credit_grant",
                     entity_id=grant.id, builder_id=grant.builder_id, before=None,
                     after={"credits": entry.quantity, "amount": amount, "currency": payment.currency})
        currency, credits_back, entry_id = payment.currency, entry.quantity, entry.id
    try:
        answer = gateway.refund(payment_intent_id=ask.payment_intent_id, amount=ask.amount,
                                reason="requested_by_customer", idempotency_key=f"package-refund-{ask.refund_id}-{ask.stamp}",
                                metadata={"refund_id": str(ask.refund_id)}, **ask.options)
    except PaymentProviderError as exc:
        with session_scope(engine) as session:
            payment_records.refund_refused(session=session, row=session.get(Refund, ask.refund_id), message=str(exc))
            credits.undo_refund(session=session, entry_id=entry_id, now=now)
        raise RefundRefused(f"Stripe refused the refund: {exc}. The credits are still the client's.") from None
    with session_scope(engine) as session:
        payment_records.record_sale_refund(session=session, row=session.get(Refund, ask.refund_id), answer=answer)
    return f"Refunded {format_money(ask.amount, currency)} for {credits_back} unused credit(s)."


def _refund_count(session: Session, grant_id: int) -> int:
    return len(session.exec(select(CreditEntry.id).where(CreditEntry.grant_id == grant_id,
                                                         CreditEntry.kind == CreditEntryKind.REFUNDED)).all())

