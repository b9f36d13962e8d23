"""Promotion codes: which code applies to which price, what it takes off, and its uses.

A code belongs to a builder (for all their session types and packages, or one session type, or one
package) or to the platform (any builder's). It takes a percentage or an amount off; it may expire, have a maximum number of uses, be for
a client's first booking only (by email), or need a minimum price. Our server is the authority for these
rules: Stripe gets the code as a Coupon + Promotion Code (`sync_code_flow`), and Checkout gets
`discounts=[{"promotion_code": ...}]` only after `check_code` accepted it.

A use is a `PromotionRedemption` row, the discount's ledger entry (price, discount, what was charged):

    reserved  (`reserve`: with the hold, in its transaction)  -> counts against max_uses
    redeemed  (`booking_confirmed`: paid, or nothing to pay) -> stays counted
    released  (`hold_ended`: the hold expired, was released, or its payment failed) -> given back

The lifecycle calls `booking_confirmed` and `hold_ended` from its one state change
(`booking.lifecycle.transitions`). A package purchase's use is keyed by the purchase instead
(`reserve_for_purchase`, then `purchase_paid` / `purchase_unpaid` from package_sales). `reserve` locks the code's row first (PostgreSQL; SQLite's write lock
already serialises), so two browsers racing for the last use get one.

Services take a session and never commit; `sync_code_flow` owns its transactions and calls Stripe
between them with idempotency keys derived from the row.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.core.db import session_scope
from booking.core.models import (
    Booking,
    BookingStatus,
    Client,
    DiscountKind,
    PromotionCode,
    PromotionRedemption,
    RedemptionStatus,
    SessionType,
    utcnow,
)
from booking.core.time import format_money
from booking.payments import price_options, pricing
from booking.payments.gateway import PaymentGateway, PaymentProviderError

log = logging.getLogger(__name__)

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,39}$")
COUNTED = (RedemptionStatus.RESERVED, RedemptionStatus.REDEEMED)


class PromotionCodeInvalid(ValueError):
    """A code the client can't use here, with the reason in words (the API's `promotion_code_invalid`)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Discount:
    """A code accepted for one price: what it takes off and what is left to pay."""

    promotion_code_id: int
    code: str
    stripe_promotion_code_id: str
    list_amount: int
    discount_amount: int
    currency: str

    @property
    def amount_due(self) -> int:
        return self.list_amount - self.discount_amount

    @property
    def label(self) -> str:
        return f"{self.code}: −{format_money(self.discount_amount, self.currency)}"


@dataclass(frozen=True)
class PriceTarget:
    """Any price a code may be checked against, besides a SessionType (same attribute names). A package's
    price has `id=None` and its `package_id`: codes for one session type don't apply to it."""

    builder_id: int
    price_amount: int
    currency: str
    id: int | None = None
    package_id: int | None = None


Priced = SessionType | PriceTarget


def price_target(*, session: Session, session_type: SessionType, currency: str | None) -> PriceTarget:
    """`session_type`'s price in the client's currency (None: its own), for checking a code against what
    the client will actually be charged. Raises price_options.CurrencyNotOffered."""
    options = price_options.options_of(session=session, session_type_id=session_type.id)
    price = price_options.price_in(session_type, options, currency)
    return PriceTarget(builder_id=session_type.builder_id, price_amount=price.amount, currency=price.currency,
                       id=session_type.id)


def normalise_code(text: object) -> str:
    return str(text if text is not None else "").strip().upper()


def discount_for(code: PromotionCode, amount: int) -> int:
    """What `code` takes off a price of `amount` (never more than it). Percentages round half up (pricing)."""
    if code.kind == DiscountKind.PERCENT:
        return min(amount, pricing.percent_of(amount, code.percent_off or 0))
    return min(amount, code.amount_off or 0)


def rule_problem(code: PromotionCode, *, session_type: Priced, now: datetime, uses: int,
                 client_has_booked: bool) -> str | None:
    """Why `code` can't be used for `session_type` now (None: it can). Pure: the caller counted the uses
    (reserved or redeemed) and whether the client has a confirmed booking already."""
    if not code.active:
        return f"The code {code.code} is no longer active."
    if code.builder_id is not None and code.builder_id != session_type.builder_id:
        return f"The code {code.code} is not valid for this builder's sessions."
    target_package = getattr(session_type, "package_id", None)
    if code.session_type_id is not None and code.session_type_id != session_type.id:
        return f"The code {code.code} is not valid for this " + ("package." if target_package else "session.")
    if code.package_id is not None and code.package_id != target_package:
        return f"The code {code.code} is only valid for one package."
    if code.expires_at is not None and _aware(code.expires_at) <= now:
        return f"The code {code.code} expired."
    if code.max_uses is not None and uses >= code.max_uses:
        return f"The code {code.code} has been used up."
    if code.kind == DiscountKind.AMOUNT and (code.currency or "").lower() != session_type.currency.lower():
        return f"The code {code.code} is in {str(code.currency).upper()}, and this " \
               f"{'package' if target_package else 'session'} is priced in " \
               f"{session_type.currency.upper()}."
    if code.minimum_amount is not None:
        minimum_currency = (code.minimum_currency or session_type.currency).lower()
        minimum = format_money(code.minimum_amount, minimum_currency)
        if minimum_currency != session_type.currency.lower():  # no exchange rate: Stripe refuses it too
            return f"The code {code.code} is for prices in {minimum_currency.upper()} (from {minimum})."
        if session_type.price_amount < code.minimum_amount:
            return f"The code {code.code} needs a price of at least {minimum}."
    if code.first_booking_only and client_has_booked:
        return f"The code {code.code} is for a first booking only."
    return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def uses_of(*, session: Session, promotion_code_id: int) -> int:
    return int(session.exec(select(sa.func.count()).select_from(PromotionRedemption).where(
        PromotionRedemption.promotion_code_id == promotion_code_id,
        PromotionRedemption.status.in_(COUNTED))).one())


def client_has_booked(*, session: Session, email: str | None) -> bool:
    """Whether this address has had a booking confirmed (now or once): "first booking only" refuses it."""
    if not email:
        return False
    email = email.strip().lower()
    confirmed = session.exec(select(Booking.id).join(Client, Client.id == Booking.client_id).where(
        Client.email == email, Booking.confirmed_at.is_not(None)).limit(1)).first()
    return confirmed is not None


def find_code(*, session: Session, code: str, lock: bool = False) -> PromotionCode | None:
    query = select(PromotionCode).where(PromotionCode.code == normalise_code(code))
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.exec(query).first()


def check_code(*, session: Session, code: str, session_type: Priced, client_email: str | None = None,
               now: datetime | None = None, lock: bool = False) -> Discount:
    """The discount `code` gives on `session_type`'s price, or PromotionCodeInvalid saying why not."""
    now = now or utcnow()
    wanted = normalise_code(code)
    if not wanted:
        raise PromotionCodeInvalid("Enter a promotion code.")
    row = find_code(session=session, code=wanted, lock=lock)
    if row is None or row.stripe_promotion_code_id is None:
        raise PromotionCodeInvalid(f"The code {wanted} does not exist.")
    problem = rule_problem(row, session_type=session_type, now=now, uses=uses_of(session=session,
                           promotion_code_id=row.id),
                           client_has_booked=row.first_booking_only and client_has_booked(
                               session=session, email=client_email))
    if problem:
        raise PromotionCodeInvalid(problem)
    return Discount(promotion_code_id=row.id, code=row.code, stripe_promotion_code_id=row.stripe_promotion_code_id,
                    list_amount=session_type.price_amount,
                    discount_amount=discount_for(row, session_type.price_amount), currency=session_type.currency)


def reserve(*, session: Session, code: str, session_type: Priced, booking_id: str, client_email: str,
            now: datetime | None = None) -> Discount:
    """Inside the hold's transaction: check the code again with its row locked and count one use
    (reserved). Raises PromotionCodeInvalid (the caller rolls the hold back)."""
    discount = check_code(session=session, code=code, session_type=session_type, client_email=client_email,
                          now=now, lock=True)
    session.add(PromotionRedemption(promotion_code_id=discount.promotion_code_id, booking_id=booking_id,
                                    client_email=client_email.strip().lower(), list_amount=discount.list_amount,
                                    discount_amount=discount.discount_amount, currency=discount.currency))
    session.flush()
    return discount


def reserve_for_purchase(*, session: Session, code: str, target: PriceTarget, package_purchase_id: int,
                         client_email: str, now: datetime | None = None) -> Discount:
    """`reserve` for a package purchase: inside the transaction that writes the purchase, check the code
    with its row locked and count one use keyed by the purchase. Raises PromotionCodeInvalid."""
    discount = check_code(session=session, code=code, session_type=target, client_email=client_email,
                          now=now, lock=True)
    session.add(PromotionRedemption(promotion_code_id=discount.promotion_code_id,
                                    package_purchase_id=package_purchase_id,
                                    client_email=client_email.strip().lower(), list_amount=discount.list_amount,
                                    discount_amount=discount.discount_amount, currency=discount.currency))
    session.flush()
    return discount


def attach_purchase_payment(*, session: Session, package_purchase_id: int, payment_id: int) -> None:
    """The Checkout attempt (Payment row) a package purchase's discount was charged with."""
    session.execute(sa.update(PromotionRedemption).where(
        PromotionRedemption.package_purchase_id == package_purchase_id)
        .values(payment_id=payment_id, updated_at=utcnow()).execution_options(synchronize_session=False))


def purchase_paid(*, session: Session, package_purchase_id: int) -> bool:
    """The package purchase was paid: its use is redeemed (a late payment takes back a released use)."""
    return _move_where(session, PromotionRedemption.package_purchase_id == package_purchase_id,
                       to=RedemptionStatus.REDEEMED, only_from=(RedemptionStatus.RESERVED, RedemptionStatus.RELEASED))


def purchase_unpaid(*, session: Session, package_purchase_id: int) -> bool:
    """The package's Checkout expired or its payment failed: the use is given back."""
    return _move_where(session, PromotionRedemption.package_purchase_id == package_purchase_id,
                       to=RedemptionStatus.RELEASED, only_from=(RedemptionStatus.RESERVED,))


def redemption_of(*, session: Session, booking_id: str) -> PromotionRedemption | None:
    return session.exec(select(PromotionRedemption).where(PromotionRedemption.booking_id == booking_id)).first()


def discount_of_booking(*, session: Session, booking_id: str) -> Discount | None:
    """The discount a booking's hold reserved (what its Checkout attempts ask Stripe for), else None."""
    found = session.exec(select(PromotionRedemption, PromotionCode)
                         .join(PromotionCode, PromotionCode.id == PromotionRedemption.promotion_code_id)
                         .where(PromotionRedemption.booking_id == booking_id,
                                PromotionRedemption.status == RedemptionStatus.RESERVED)).first()
    if found is None:
        return None
    row, code = found
    return Discount(promotion_code_id=code.id, code=code.code, stripe_promotion_code_id=code.stripe_promotion_code_id
                    or "", list_amount=row.list_amount, discount_amount=row.discount_amount, currency=row.currency)


def attach_payment(*, session: Session, booking_id: str, payment_id: int | None) -> None:
    """The Checkout attempt (Payment row) the discount was charged with."""
    row = redemption_of(session=session, booking_id=booking_id)
    if row is not None and payment_id is not None and row.payment_id != payment_id:
        row.payment_id, row.updated_at = payment_id, utcnow()
        session.add(row)
        session.flush()


def _move(*, session: Session, booking_id: str, to: RedemptionStatus, only_from: tuple[RedemptionStatus, ...]) -> bool:
    return _move_where(session, PromotionRedemption.booking_id == booking_id, to=to, only_from=only_from)


def _move_where(session: Session, which: sa.ColumnElement[bool], *, to: RedemptionStatus,
                only_from: tuple[RedemptionStatus, ...]) -> bool:
    result = session.execute(sa.update(PromotionRedemption).where(
        which, PromotionRedemption.status.in_(only_from))
        .values(status=to, updated_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount == 1


def booking_confirmed(*, session: Session, booking_id: str) -> bool:
    """The booking was confirmed: its use is redeemed (a late payment takes back a released use)."""
    return _move(session=session, booking_id=booking_id, to=RedemptionStatus.REDEEMED,
                 only_from=(RedemptionStatus.RESERVED, RedemptionStatus.RELEASED))


def hold_ended(*, session: Session, booking_id: str) -> bool:
    """The hold ended unpaid (expired, released, replaced, payment failed): the use is given back."""
    return _move(session=session, booking_id=booking_id, to=RedemptionStatus.RELEASED,
                 only_from=(RedemptionStatus.RESERVED,))


def lifecycle_moved(*, session: Session, booking_id: str, to: BookingStatus) -> None:
    """The lifecycle's hook: called after every state change of a booking."""
    if to == BookingStatus.CONFIRMED:
        booking_confirmed(session=session, booking_id=booking_id)
    elif to in (BookingStatus.EXPIRED, BookingStatus.CANCELLED):
        hold_ended(session=session, booking_id=booking_id)


# --- Stripe: a Coupon and a Promotion Code per row ---------------------------------------------------------


@dataclass(frozen=True)
class _SyncAsk:
    id: int
    code: str
    kind: DiscountKind
    percent_off: int | None
    amount_off: int | None
    currency: str | None
    coupon_id: str | None
    created_at: datetime


def _row_key(row: PromotionCode | _SyncAsk) -> str:
    # The creation time (to the microsecond) tells apart rows of a fresh database that reuse an id.
    return f"promotion-code-{row.id}-{int(_aware(row.created_at).timestamp() * 1_000_000)}"


def coupon_key(row: PromotionCode | _SyncAsk) -> str:
    return f"{_row_key(row)}-coupon"


def promotion_code_key(row: PromotionCode | _SyncAsk) -> str:
    return f"{_row_key(row)}-promotion-code"


def sync_code_flow(*, engine: Engine, gateway: PaymentGateway, promotion_code_id: int) -> PromotionCode:
    """Create the row's Coupon and Promotion Code at Stripe (whichever it lacks), with no transaction
    open, then record their ids. Stripe refuses or is down: the row keeps `sync_error` (the code can't be
    used until a later save syncs it) and PaymentProviderError is raised."""
    with session_scope(engine) as session:
        row = session.get(PromotionCode, promotion_code_id)
        if row is None:
            raise LookupError(promotion_code_id)
        if row.stripe_promotion_code_id:
            return row
        ask = _SyncAsk(id=row.id, code=row.code, kind=row.kind, percent_off=row.percent_off,
                       amount_off=row.amount_off, currency=row.currency, coupon_id=row.stripe_coupon_id,
                       created_at=row.created_at)
    metadata = {"promotion_code_id": str(ask.id)}
    try:
        coupon_id = ask.coupon_id or gateway.create_coupon(
            percent_off=ask.percent_off if ask.kind == DiscountKind.PERCENT else None,
            amount_off=ask.amount_off if ask.kind == DiscountKind.AMOUNT else None,
            currency=ask.currency if ask.kind == DiscountKind.AMOUNT else None,
            name=ask.code[:40], metadata=metadata, idempotency_key=coupon_key(ask))
        _record(engine, ask.id, stripe_coupon_id=coupon_id)
        promo_id = gateway.create_promotion_code(coupon_id=coupon_id, code=ask.code, metadata=metadata,
                                                 idempotency_key=promotion_code_key(ask))
    except PaymentProviderError as exc:
        _record(engine, ask.id, sync_error=str(exc)[:500])
        raise
    return _record(engine, ask.id, stripe_promotion_code_id=promo_id, sync_error=None)


def _record(engine: Engine, row_id: int, **values: object) -> PromotionCode:
    with session_scope(engine) as session:
        row = session.get(PromotionCode, row_id, with_for_update=True)
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = utcnow()
        session.add(row)
        session.flush()
        session.refresh(row)
        session.expunge(row)
        return row


def sync_pending_codes(*, engine: Engine, gateway: PaymentGateway) -> tuple[int, list[str]]:
    """Sync every code not at Stripe yet (the demo's WELCOME10, a save Stripe refused): (synced, failures)."""
    with session_scope(engine) as session:
        pending = list(session.exec(select(PromotionCode.id).where(
            PromotionCode.stripe_promotion_code_id.is_(None)).order_by(PromotionCode.id)).all())
    synced, failed = 0, []
    for row_id in pending:
        try:
            sync_code_flow(engine=engine, gateway=gateway, promotion_code_id=row_id)
            synced += 1
        except PaymentProviderError as exc:
            failed.append(f"promotion code {row_id}: {exc}")
    return synced, failed


def set_active_flow(*, engine: Engine, gateway: PaymentGateway, promotion_code_id: int, active: bool) -> PromotionCode:
    """Turn a code on or off, here and at Stripe (off: no new Checkout gets it; uses already counted stay)."""
    with session_scope(engine) as session:
        row = session.get(PromotionCode, promotion_code_id)
        if row is None:
            raise LookupError(promotion_code_id)
        stripe_id, revision = row.stripe_promotion_code_id, int(row.updated_at.timestamp() * 1_000_000)
    if stripe_id:
        gateway.set_promotion_code_active(stripe_id, active=active, idempotency_key=(
            f"promotion-code-{promotion_code_id}-{'activate' if active else 'deactivate'}-{revision}"))
    return _record(engine, promotion_code_id, active=active)
