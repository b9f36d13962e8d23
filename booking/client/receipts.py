"""What the success and cancel pages show, computed from Stripe's and our records.

The "Manage booking" path is the client's credential (it cancels with a refund and reschedules), so a
receipt carries it only for the browser that paid: the one presenting the hold key whose SHA-256 the
booking keeps (`Booking.browser_hold_key`), and so do the address the confirmation went to, the signed
invite download and the calendar links (`Receipt.own`). Anyone else who opens a success URL (a paid
Checkout Session id leaks through history, logs, screenshots) is told only that the payment went through:
the success page shows them no summary at all (`Receipt.visible_summary`); the client has everything in
their emails. The cancel page finds its booking by the hold key alone: no booking id in its URL.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass, replace
from enum import StrEnum

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.client.summaries import BookingSummary, private_details, summarise
from booking.core.db import session_scope
from booking.core.models import Booking, BookingStatus, Payment, PaymentStatus, utcnow
from booking.lifecycle.checkout import fulfill_checkout, hold_key_hash, send_late_payment_refunds
from booking.notifications.invites import invite_path
from booking.payments import ledger as payment_records
from booking.payments.gateway import (
    CheckoutPaymentStatus,
    CheckoutSession,
    PaymentDocuments,
    PaymentGateway,
    PaymentProviderError,
)

log = logging.getLogger(__name__)


class ReceiptState(StrEnum):
    """What the success and cancel pages say: a fulfilment's outcome, or where a booking stands."""

    CONFIRMED = "confirmed"
    PROCESSING = "processing"
    UNPAID = "unpaid"
    REFUNDED = "refunded"
    MISMATCH = "mismatch"
    UNKNOWN = "unknown"
    HELD = "held"  # still held: the client may go back to Checkout
    ENDED = "ended"  # the hold ended unpaid


@dataclass(frozen=True)
class Receipt:
    state: ReceiptState
    summary: BookingSummary | None
    own: bool = False  # the browser asking is the one that paid (it presented the booking's hold key)

    @property
    def visible_summary(self) -> BookingSummary | None:
        """What the success page may show this browser: the booking to the one that paid, nothing to others."""
        return self.summary if self.own else None


HOLD_KEY_MAX_LENGTH = 200  # the booking page's keys are 43 characters (`secrets.token_urlsafe(32)`)


def held_by(booking: Booking, browser_hold_key: str | None) -> bool:
    """Did this browser make the booking? (It presents the hold key whose hash the booking keeps.)"""
    if (not booking.browser_hold_key or not isinstance(browser_hold_key, str) or not browser_hold_key
            or len(browser_hold_key) > HOLD_KEY_MAX_LENGTH):
        return False
    return hmac.compare_digest(hold_key_hash(browser_hold_key), booking.browser_hold_key)


def _summary_for(session: Session, booking: Booking, *, browser_hold_key: str | None,
                 locale: str | None) -> BookingSummary:
    summary = summarise(session=session, booking=booking, locale=locale)
    if not held_by(booking, browser_hold_key):
        return replace(summary, manage_path="", receipt_url="", invoice_url="", invoice_pdf_url="")
    invite = invite_path(booking.invite_uid) if booking.status == BookingStatus.CONFIRMED else ""
    return private_details(session=session, booking=booking, summary=summary, invite_path=invite)


def _receipt(session: Session, state: ReceiptState, booking: Booking, *, browser_hold_key: str | None,
             locale: str | None) -> Receipt:
    return Receipt(state, _summary_for(session, booking, browser_hold_key=browser_hold_key, locale=locale),
                   own=held_by(booking, browser_hold_key))


def confirm_from_success_page(*, engine: Engine, gateway: PaymentGateway, checkout_session_id: str,
                              locale: str | None = None, browser_hold_key: str | None = None) -> Receipt:
    """The success URL is only a hint: ask Stripe whether the session is paid, then fulfil.
    The manage path is in the receipt only for the browser holding the booking's hold key."""
    if not checkout_session_id.startswith("cs_") or len(checkout_session_id) > 255:
        return Receipt(ReceiptState.UNKNOWN, None)
    try:
        checkout = gateway.retrieve_checkout_session(checkout_session_id)
    except PaymentProviderError:
        return Receipt(ReceiptState.UNKNOWN, None)
    documents = _documents_to_record(engine, gateway, checkout)
    with session_scope(engine) as session:
        if documents is not None:  # before the confirmation is queued: its email links them
            payment_records.record_documents(session=session, documents=documents)
        fulfilment = fulfill_checkout(session=session, checkout_session=checkout)
        if fulfilment.booking is None:
            return Receipt(ReceiptState.UNKNOWN, None)
        receipt = _receipt(session, ReceiptState(fulfilment.state), fulfilment.booking,
                           browser_hold_key=browser_hold_key, locale=locale)
    if fulfilment.refund_required:  # paid after the slot was taken: the refund goes now, not at the next sweep
        try:
            send_late_payment_refunds(engine=engine, gateway=gateway, booking_ids=[fulfilment.booking.id])
        except Exception:  # the Refund row stays `requested`: the sweeper sends it
            log.exception("late-payment refund of %s not sent now; the sweeper retries", fulfilment.booking.id)
    return receipt


def _documents_to_record(engine: Engine, gateway: PaymentGateway,
                         checkout: CheckoutSession) -> PaymentDocuments | None:
    """Receipts and invoices: a paid session's receipt and invoice links, read from Stripe (no transaction
    open) when our row lacks them; the success page may confirm the booking before the webhook does."""
    if checkout.payment_status != CheckoutPaymentStatus.PAID or not checkout.payment_intent_id:
        return None
    with session_scope(engine) as session:
        known = session.exec(select(Payment.receipt_url).where(
            Payment.checkout_session_id == checkout.id)).first()
    if known:
        return None
    try:
        return gateway.payment_documents(checkout.payment_intent_id)
    except (PaymentProviderError, AttributeError):  # the links only: the page and the booking go on
        return None


def booking_receipt(*, engine: Engine, booking_id: str, locale: str | None = None,
                    browser_hold_key: str | None = None) -> Receipt:
    """Our own view of a booking (the processing page polls this until the webhook lands).
    The manage path is in it only for the browser holding the booking's hold key."""
    with session_scope(engine) as session:
        booking = session.get(Booking, booking_id)
        if booking is None:
            return Receipt(ReceiptState.UNKNOWN, None)
        return _receipt(session, _state_of(session, booking), booking, browser_hold_key=browser_hold_key,
                        locale=locale)


def browser_receipt(*, engine: Engine, browser_hold_key: str | None, locale: str | None = None) -> Receipt:
    """The cancel page: the latest booking this browser made (found by its hold key), without the manage
    path (the page never shows it). "unknown" for a browser with no key or no booking."""
    if not isinstance(browser_hold_key, str) or not browser_hold_key or len(browser_hold_key) > HOLD_KEY_MAX_LENGTH:
        return Receipt(ReceiptState.UNKNOWN, None)
    with session_scope(engine) as session:
        booking = session.exec(select(Booking).where(Booking.browser_hold_key == hold_key_hash(browser_hold_key))
                               .order_by(Booking.created_at.desc()).limit(1)).first()
        if booking is None:
            return Receipt(ReceiptState.UNKNOWN, None)
        return Receipt(_state_of(session, booking),
                       replace(summarise(session=session, booking=booking, locale=locale), manage_path=""))


def _state_of(session: Session, booking: Booking) -> ReceiptState:
    if booking.status == BookingStatus.CONFIRMED:
        return ReceiptState.CONFIRMED
    payment_status = payment_records.money_of(session=session, booking=booking).status
    if payment_status == PaymentStatus.PROCESSING:
        return ReceiptState.PROCESSING
    if payment_status == PaymentStatus.REFUNDED:
        return ReceiptState.REFUNDED
    if booking.status == BookingStatus.PENDING and booking.hold_expires_at and booking.hold_expires_at > utcnow():
        return ReceiptState.HELD
    ended = booking.status in (BookingStatus.EXPIRED, BookingStatus.CANCELLED)
    return ReceiptState.ENDED if ended else ReceiptState.UNPAID
