"""Stripe's events about package sales (a Payment with no booking): routed here before the booking
handlers (`webhooks.HANDLERS`), which would find no booking behind them.

The sale's money follows the same ledger functions as a booking's (paid, failed, expired, the destination
charge's transfer and fee); paying grants the credits once (`package_sales.fulfil_sale`). Refunds of a sale
are asked for and recorded by the builder's refund flow (booking.workspace.packages), so their events only
confirm what is already there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from booking.core.models import Payment
from booking.payments import ledger as payment_records
from booking.payments import package_sales
from booking.payments.gateway import CheckoutSession, PaymentGateway

SaleHandler = Callable[[Session, PaymentGateway, dict[str, Any], Payment], str]


def _completed(session: Session, gateway: PaymentGateway, event: dict[str, Any], payment: Payment) -> str:
    checkout = CheckoutSession.from_stripe(event["data"]["object"])
    outcome = package_sales.fulfil_sale(session=session, payment=payment, checkout=checkout)
    return "package credits granted" if outcome.newly_granted else "package sale: no change"


def _intent_succeeded(session: Session, gateway: PaymentGateway, event: dict[str, Any], payment: Payment) -> str:
    intent = event["data"]["object"]
    if (intent.get("amount"), (intent.get("currency") or "").lower()) != (payment.amount, payment.currency):
        return "package sale: amount differs; nothing granted"
    outcome = package_sales.fulfil_sale(session=session, payment=payment, payment_intent_id=intent.get("id"))
    return "package credits granted" if outcome.newly_granted else "package sale: no change"


def _failed(session: Session, gateway: PaymentGateway, event: dict[str, Any], payment: Payment) -> str:
    error = event["data"]["object"].get("last_payment_error") or {}
    package_sales.mark_sale_unpaid(session=session, payment=payment, expired=False,
                                   code=error.get("decline_code") or error.get("code"), message=error.get("message"))
    return "package sale: failure recorded"


def _expired(session: Session, gateway: PaymentGateway, event: dict[str, Any], payment: Payment) -> str:
    package_sales.mark_sale_unpaid(session=session, payment=payment, expired=True)
    return "package sale: expired"


def _charge_succeeded(session: Session, gateway: PaymentGateway, event: dict[str, Any], payment: Payment) -> str:
    charge = event["data"]["object"]
    payment_records.record_payment_method(session=session, payment=payment,
                                          details=charge.get("payment_method_details"))
    destination = (charge.get("transfer_data") or {}).get("destination") or charge.get("destination")
    destination = destination.get("id") if isinstance(destination, dict) else destination
    transfer = charge.get("transfer")
    transfer = transfer.get("id") if isinstance(transfer, dict) else transfer
    recorded = payment_records.record_destination_charge(
        session=session, payment=payment, transfer_id=transfer, destination_account_id=destination,
        application_fee_amount=charge.get("application_fee_amount"))
    return "package sale: transfer recorded" if recorded else "package sale: no change"


def _acknowledged(session: Session, gateway: PaymentGateway, event: dict[str, Any], payment: Payment) -> str:
    return "package sale: recorded by its own flow"


SALE_HANDLERS: dict[str, SaleHandler] = {
    "checkout.session.completed": _completed,
    "checkout.session.async_payment_succeeded": _completed,
    "checkout.session.async_payment_failed": _failed,
    "checkout.session.expired": _expired,
    "payment_intent.succeeded": _intent_succeeded,
    "payment_intent.payment_failed": _failed,
    "charge.succeeded": _charge_succeeded,
    "charge.pending": _acknowledged,
    "charge.refunded": _acknowledged,
    "refund.created": _acknowledged,
    "refund.updated": _acknowledged,
    "refund.failed": _acknowledged,
    "charge.refund.updated": _acknowledged,
    "transfer.created": _acknowledged,
}


def sale_handler(session: Session, event: dict[str, Any]) -> Callable[[Session, PaymentGateway, dict], str] | None:
    """The handler for an event about a package sale (None: not about one; the booking handlers run)."""
    handler = SALE_HANDLERS.get(event.get("type", ""))
    obj = (event.get("data") or {}).get("object")
    if handler is None or not isinstance(obj, dict):
        return None
    payment = package_sales.sale_payment_of(session=session, obj=obj)
    if payment is None:
        return None
    return lambda s, gateway, e: handler(s, gateway, e, payment)
