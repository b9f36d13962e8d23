"""A promotion code on the booking page: checked on the server before Checkout, and the price it leaves.

The page shows "Price £50.00 · WELCOME10 −£5.00 · Total £45.00" from `preview_code`; the hold then
reserves the code's use (`booking.lifecycle.checkout.write_hold`) and Checkout gets the discount.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from booking.core.models import SessionType
from booking.core.time import LocaleLike, format_money
from booking.payments import price_options, promotions


@dataclass(frozen=True)
class CodePreview:
    code: str
    price: str  # "£50.00"
    discount: str  # "−£5.00"
    total: str  # "£45.00" ("Free" when nothing is left to pay)
    free: bool


def preview_code(*, session: Session, session_type_id: int, code: str, client_email: str | None = None,
                 locale: LocaleLike = None, currency: str | None = None) -> CodePreview:
    """The price in `currency` (None: the type's own) with `code` taken off, or promotions.PromotionCodeInvalid
    saying why the code can't be used."""
    session_type = session.get(SessionType, session_type_id)
    if session_type is None or not session_type.active:
        raise promotions.PromotionCodeInvalid("This session can no longer be booked.")
    try:
        target = promotions.price_target(session=session, session_type=session_type, currency=currency)
    except price_options.CurrencyNotOffered as exc:
        raise promotions.PromotionCodeInvalid(str(exc)) from None
    discount = promotions.check_code(session=session, code=code, session_type=target,
                                     client_email=client_email or None)
    currency = discount.currency
    return CodePreview(code=discount.code, price=format_money(discount.list_amount, currency, locale=locale),
                       discount="−" + format_money(discount.discount_amount, currency, locale=locale),
                       total="Free" if discount.amount_due == 0 else format_money(discount.amount_due, currency,
                                                                                  locale=locale),
                       free=discount.amount_due == 0)
