"""The workspace's promotion codes: the form (parsed with a message per field), the list, creating a code
(synced to Stripe as a Coupon + Promotion Code) and turning one off or on.

A builder makes codes for their own session types and packages (all of them, one session type, or one
package); the platform admin for any
builder, or for every builder (no builder chosen). The rules themselves live in
`booking.payments.promotions`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.accounts import audit, authz
from booking.accounts.authz import Actor
from booking.core.db import session_scope
from booking.core.forms import checked
from booking.core.models import (
    Builder,
    CreditPackage,
    DiscountKind,
    PromotionCode,
    PromotionRedemption,
    SessionType,
)
from booking.core.time import format_money, zone_or_utc
from booking.payments import promotions
from booking.payments.gateway import PaymentGateway, PaymentProviderError
from booking.workspace.session_types import SUPPORTED_CURRENCIES, parse_price

_INT = re.compile(r"^\d{1,9}$")


class InvalidPromotionCode(ValueError):
    """The form's problems, by field (nothing was saved)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class PromotionCodeInput:
    code: str
    kind: DiscountKind
    percent_off: int | None
    amount_off: int | None
    currency: str | None
    expires_on: date | None  # the last day it works, in the owner's zone
    max_uses: int | None
    first_booking_only: bool
    minimum_amount: int | None
    session_type_id: int | None
    builder_id: int | None
    package_id: int | None = None
    minimum_currency: str | None = None  # `minimum_amount`'s: a price in another currency can't use the code


def _text(form: Mapping[str, Any], key: str) -> str:
    value = form.get(key)
    return "" if value is None else str(value).strip()


def _optional_id(text: str) -> int | None:
    return int(text) if _INT.match(text) and int(text) > 0 else None


def parse_form(form: Mapping[str, Any]) -> PromotionCodeInput:
    """The admin form -> PromotionCodeInput, or InvalidPromotionCode with every problem at once."""
    errors: dict[str, str] = {}
    code = promotions.normalise_code(form.get("code"))
    if not promotions.CODE_PATTERN.match(code):
        errors["code"] = "Use 3 to 40 letters, digits or dashes, such as WELCOME10."
    kind_text = _text(form, "kind") or "percent"
    kind = DiscountKind.PERCENT if kind_text == "percent" else DiscountKind.AMOUNT if kind_text == "amount" else None
    if kind is None:
        errors["kind"] = "Choose percent off or amount off."
    percent = amount = None
    currency = None
    if kind == DiscountKind.PERCENT:
        text = _text(form, "percent_off")
        if not _INT.match(text) or not 1 <= int(text) <= 100:
            errors["percent_off"] = "Enter a whole percentage from 1 to 100."
        else:
            percent = int(text)
    elif kind == DiscountKind.AMOUNT:
        currency = _text(form, "currency").lower()
        if currency not in SUPPORTED_CURRENCIES:
            errors["currency"] = "Choose one of the listed currencies."
            currency = None
        else:
            try:
                amount = parse_price(_text(form, "amount_off"), currency)
            except ValueError as exc:
                errors["amount_off"] = str(exc).replace("price", "amount off")
    expires_on = None
    if _text(form, "expires_on"):
        try:
            expires_on = date.fromisoformat(_text(form, "expires_on"))
        except ValueError:
            errors["expires_on"] = "Enter the last day as YYYY-MM-DD."
    max_uses = None
    if _text(form, "max_uses"):
        if not _INT.match(_text(form, "max_uses")) or int(_text(form, "max_uses")) < 1:
            errors["max_uses"] = "Enter a whole number of uses, 1 or more (or leave it empty)."
        else:
            max_uses = int(_text(form, "max_uses"))
    minimum = minimum_currency = None
    if _text(form, "minimum_amount"):
        # An amount off is in its own currency, and so is its minimum; a percentage's minimum names one.
        minimum_currency = currency or _text(form, "minimum_currency").lower() or "gbp"
        if minimum_currency not in SUPPORTED_CURRENCIES:
            errors["minimum_currency"] = "Choose one of the listed currencies."
        else:
            try:
                minimum = parse_price(_text(form, "minimum_amount"), minimum_currency)
            except ValueError as exc:
                errors["minimum_amount"] = str(exc).replace("price", "minimum")
    session_type_id = _optional_id(_text(form, "session_type_id"))
    package_id = _optional_id(_text(form, "package_id"))
    if session_type_id is not None and package_id is not None:
        errors["package_id"] = "Choose a session type or a package, not both."
    if errors:
        raise InvalidPromotionCode(errors)
    assert kind is not None
    return PromotionCodeInput(code=code, kind=kind, percent_off=percent, amount_off=amount, currency=currency,
                              expires_on=expires_on, max_uses=max_uses,
                              first_booking_only=checked(form, "first_booking_only"), minimum_amount=minimum,
                              minimum_currency=minimum_currency if minimum is not None else None,
                              session_type_id=session_type_id, package_id=package_id,
                              builder_id=_optional_id(_text(form, "builder_id")))


@dataclass(frozen=True)
class PromotionCodeRow:
    id: int
    code: str
    discount: str  # "10 % off" / "£5.00 off"
    applies_to: str  # "All of Ada's sessions" / "Pairing (Ada)" / "Every builder"
    limits: str  # "expires 2026-12-31 · 3 of 10 uses · first booking only · from £20.00"
    uses: int
    active: bool
    synced: bool
    sync_error: str


def _discount_text(row: PromotionCode) -> str:
    if row.kind == DiscountKind.PERCENT:
        return f"{row.percent_off} % off"
    return f"{format_money(row.amount_off or 0, row.currency or 'gbp')} off"


def list_promotion_codes(*, session: Session, actor: Actor) -> list[PromotionCodeRow]:
    """The actor's codes (a builder's own; an admin's: all), newest first."""
    query = select(PromotionCode).order_by(PromotionCode.created_at.desc(), PromotionCode.id.desc())
    if not actor.is_admin:
        query = query.where(PromotionCode.builder_id == actor.builder_id)
    rows = session.exec(query).all()
    uses = dict(session.exec(select(PromotionRedemption.promotion_code_id, sa.func.count())
                             .where(PromotionRedemption.status.in_(promotions.COUNTED))
                             .group_by(PromotionRedemption.promotion_code_id)).all())
    builders = {b.id: b.name for b in session.exec(select(Builder)).all()}
    types = {t.id: t for t in session.exec(select(SessionType).where(
        SessionType.id.in_([r.session_type_id for r in rows if r.session_type_id] or [0]))).all()}
    result = []
    packages = {p.id: p for p in session.exec(select(CreditPackage).where(
        CreditPackage.id.in_([r.package_id for r in rows if r.package_id] or [0]))).all()}
    for row in rows:
        if row.package_id and row.package_id in packages:
            applies = f"Package {packages[row.package_id].name} ({builders.get(row.builder_id, '?')})"
        elif row.session_type_id and row.session_type_id in types:
            applies = f"{types[row.session_type_id].name} ({builders.get(row.builder_id, '?')})"
        elif row.builder_id:
            applies = f"All of {builders.get(row.builder_id, '?')}'s sessions and packages"
        else:
            applies = "Every builder"
        used = int(uses.get(row.id, 0))
        limits = [f"{used} of {row.max_uses} uses" if row.max_uses else f"{used} uses"]
        if row.expires_at:
            limits.append(f"until {row.expires_at:%Y-%m-%d %H:%M} UTC")
        if row.first_booking_only:
            limits.append("first booking only")
        if row.minimum_amount:
            limits.append(f"from {format_money(row.minimum_amount, row.minimum_currency or row.currency or 'gbp')}")
        result.append(PromotionCodeRow(id=row.id, code=row.code, discount=_discount_text(row), applies_to=applies,
                                       limits=" · ".join(limits), uses=used, active=row.active,
                                       synced=bool(row.stripe_promotion_code_id), sync_error=row.sync_error or ""))
    return result


def _owner(session: Session, actor: Actor, data: PromotionCodeInput) -> tuple[int | None, int | None, str]:
    """(builder id, session type id, the zone its expiry day ends in), checked against what the actor owns."""
    if data.package_id is not None:
        package = authz.load_owned(session=session, actor=actor, model=CreditPackage, object_id=data.package_id)
        builder = session.get(Builder, package.builder_id)
        return package.builder_id, None, builder.time_zone if builder else "UTC"
    if data.session_type_id is not None:
        chosen = authz.load_owned(session=session, actor=actor, model=SessionType, object_id=data.session_type_id)
        builder = session.get(Builder, chosen.builder_id)
        return chosen.builder_id, chosen.id, builder.time_zone if builder else "UTC"
    if not actor.is_admin:
        if actor.builder_id is None:
            raise authz.Forbidden("This account has no builder.")
        builder = session.get(Builder, actor.builder_id)
        return actor.builder_id, None, builder.time_zone if builder else "UTC"
    if data.builder_id is not None:
        builder = authz.load_owned(session=session, actor=actor, model=Builder, object_id=data.builder_id)
        return builder.id, None, builder.time_zone
    return None, None, "UTC"  # the platform's: any builder's sessions


def create_promotion_code(*, engine: Engine, gateway: PaymentGateway, actor: Actor,
                          data: PromotionCodeInput) -> PromotionCodeRow:
    """Save the code, then create its Coupon and Promotion Code at Stripe (no transaction open). A code
    taken already, or Stripe refusing: InvalidPromotionCode, and nothing is left behind."""
    with session_scope(engine) as session:
        builder_id, session_type_id, zone = _owner(session, actor, data)
        if session.exec(select(PromotionCode.id).where(PromotionCode.code == data.code)).first() is not None:
            raise InvalidPromotionCode({"code": f"The code {data.code} is taken: choose another."})
        expires_at = None
        if data.expires_on is not None:  # the end of that day in the owner's zone
            end = datetime.combine(data.expires_on + timedelta(days=1), time(0), tzinfo=zone_or_utc(zone))
            expires_at = end.astimezone(UTC)
        row = PromotionCode(code=data.code, builder_id=builder_id, session_type_id=session_type_id,
                            package_id=data.package_id, kind=data.kind,
                            percent_off=data.percent_off, amount_off=data.amount_off, currency=data.currency,
                            expires_at=expires_at, max_uses=data.max_uses, first_booking_only=data.first_booking_only,
                            minimum_amount=data.minimum_amount, minimum_currency=data.minimum_currency, active=True)
        session.add(row)
        try:
            session.flush()
        except sa.exc.IntegrityError:
            raise InvalidPromotionCode({"code": f"The code {data.code} is taken: choose another."}) from None
        audit.record(session=session, actor=actor, action="promotion_code.create", entity_type="promotion_code",
                     entity_id=row.id, builder_id=builder_id, before=None,
                     after={"code": row.code, "kind": row.kind.value, "percent_off": row.percent_off,
                            "amount_off": row.amount_off, "max_uses": row.max_uses})
        row_id = row.id
    try:
        promotions.sync_code_flow(engine=engine, gateway=gateway, promotion_code_id=row_id)
    except PaymentProviderError as exc:
        with session_scope(engine) as session:
            session.execute(sa.delete(PromotionCode).where(PromotionCode.id == row_id))
        raise InvalidPromotionCode({"form": f"Stripe could not save the code ({exc}); nothing was saved."}) from None
    with session_scope(engine) as session:
        return next(row for row in list_promotion_codes(session=session, actor=actor) if row.id == row_id)


def set_promotion_code_active(*, engine: Engine, gateway: PaymentGateway, actor: Actor, promotion_code_id: object,
                              active: bool) -> None:
    """Turn a code the actor owns off (no new booking gets it) or back on."""
    with session_scope(engine) as session:
        row = authz.load_owned(session=session, actor=actor, model=PromotionCode, object_id=promotion_code_id)
        row_id, builder_id, before = row.id, row.builder_id, row.active
    promotions.set_active_flow(engine=engine, gateway=gateway, promotion_code_id=row_id, active=active)
    with session_scope(engine) as session:
        audit.record(session=session, actor=actor, action="promotion_code.activate" if active else
                     "promotion_code.deactivate", entity_type="promotion_code", entity_id=row_id,
                     builder_id=builder_id, before={"active": before}, after={"active": active})

