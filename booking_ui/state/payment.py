"""/payment/success and /payment/cancel: thin over booking.receipts and booking.payments.

Both pages know the browser by the hold key the booking page keeps in it (`BookState.hold_key`): the
success page shows the booking (its summary, location, the address the confirmation went to, "Manage
booking" and the invite) only to the browser that paid; anyone else with the URL is told the payment went
through and nothing more. The cancel page finds its hold by that key (its URL carries no booking id, and
its state never holds a manage path)."""

from __future__ import annotations

import asyncio

import reflex as rx

from booking.client import (
    BookingSummary,
    ReceiptState,
    booking_receipt,
    browser_receipt,
    confirm_from_success_page,
    continue_checkout,
    manage_path_of,
    without_manage_path,
)
from booking.core import get_settings
from booking.lifecycle import HoldNotActive, release_hold_and_expire, retry_checkout
from booking.payments import PaymentProviderError
from booking_ui import deps, routes
from booking_ui.state.book import BookState

PROCESSING_POLL_SECONDS = 2
PROCESSING_POLL_LIMIT = 90  # three minutes, then the page says an email will follow


SUCCESS_TITLES = {
    "loading": "Checking your payment",
    "confirmed": "Booking confirmed",
    "processing": "Payment processing",
    "refunded": "Payment refunded",
    "unpaid": "Payment not completed",
}
CANCEL_TITLES = {"loading": "Checking your booking", "held": "Payment cancelled", "confirmed": "Already paid",
                 "unknown": "Nothing to cancel"}
SITE = "Book a builder"


async def _hold_key(state: rx.State) -> str:
    """This browser's hold key (call inside `async with state`)."""
    return (await state.get_state(BookState)).hold_key or ""


class SuccessState(rx.State):
    state: str = "loading"  # loading | confirmed | processing | unpaid | refunded | unknown
    summary: BookingSummary | None = None  # only for the browser that paid
    own: bool = False  # this browser paid (its hold key); a stranger's page says only that the payment went through
    working: bool = False
    message: str = ""

    @rx.var
    def page_title(self) -> str:
        """The tab says what the page says (never "Booking confirmed" over a payment that wasn't found)."""
        if self.state == ReceiptState.CONFIRMED and not self.own:
            return f"Payment received · {SITE}"
        return f"{SUCCESS_TITLES.get(self.state, 'Payment not found')} · {SITE}"

    @rx.var
    def still_held(self) -> bool:
        return self.summary is not None and self.summary.still_held

    @rx.var(cache=False)
    def manage_path(self) -> str:
        """Computed when the page is sent, never stored with the state (a raw manage token in Redis could be
        replayed); only the browser that paid gets it."""
        return manage_path_of(self.summary) if self.own and self.summary is not None else ""

    @rx.event(background=True)
    async def continue_payment(self):
        """"Payment not completed": back to the same Checkout page while it is open, else a new one."""
        async with self:
            if self.working or self.summary is None:
                return None
            self.working, self.message = True, ""
            booking_id = self.summary.id
            locale = deps.browser_language(self)
            key = await _hold_key(self)
        try:
            continued = await asyncio.to_thread(continue_checkout, engine=deps.engine(), gateway=deps.gateway(),
                                                settings=get_settings(), booking_id=booking_id)
        except (HoldNotActive, PaymentProviderError) as exc:
            receipt = await asyncio.to_thread(booking_receipt, engine=deps.engine(), booking_id=booking_id,
                                              locale=locale, browser_hold_key=key)
            async with self:
                self.working = False
                self.summary = without_manage_path(receipt.visible_summary)
                self.message = ("We could not reach the payment provider; please try again in a moment."
                                if isinstance(exc, PaymentProviderError) else
                                "This hold has ended, so nothing was charged. Please pick a time again.")
            return None
        if continued.paid:
            return rx.redirect(f"{routes.PAYMENT_SUCCESS}?session_id={continued.checkout_session_id}")
        return rx.redirect(continued.checkout_url)

    @rx.event(background=True)
    async def pick_another_time(self):
        async with self:
            if self.working or self.summary is None:
                return None
            self.working, self.message = True, ""
            booking_id, session_type_id, held = self.summary.id, self.summary.session_type_id, self.still_held
            book_path = self.summary.book_path
            locale = deps.browser_language(self)
            key = await _hold_key(self)
        if held:
            try:
                released = await asyncio.to_thread(release_hold_and_expire, engine=deps.engine(),
                                                   gateway=deps.gateway(), booking_id=booking_id)
            except PaymentProviderError:
                async with self:
                    self.working = False
                    self.message = "We could not reach the payment provider; your time is still held. Please retry."
                return None
            if not released:  # paid meanwhile: show it
                receipt = await asyncio.to_thread(booking_receipt, engine=deps.engine(),
                                                  booking_id=booking_id, locale=locale, browser_hold_key=key)
                async with self:
                    self.working = False
                    if receipt.state == ReceiptState.CONFIRMED:
                        self.state, self.summary = str(receipt.state), without_manage_path(receipt.visible_summary)
                        return None
        return rx.redirect(book_path or routes.book_page(session_type_id))

    @rx.event(background=True)
    async def load(self):
        async with self:
            session_id = self.router.url.query_parameters.get("session_id", "")
            locale = deps.browser_language(self)
            self.state, self.summary, self.own = "loading", None, False
            self.working, self.message = False, ""
            key = await _hold_key(self)
        receipt = await asyncio.to_thread(confirm_from_success_page, engine=deps.engine(),
                                          gateway=deps.gateway(), checkout_session_id=session_id, locale=locale,
                                          browser_hold_key=key)
        async with self:
            self.state, self.summary, self.own = str(receipt.state), without_manage_path(receipt.visible_summary), receipt.own
        if receipt.state != ReceiptState.PROCESSING or receipt.summary is None:
            return
        for _ in range(PROCESSING_POLL_LIMIT):  # the webhook will land; show it when it does
            await asyncio.sleep(PROCESSING_POLL_SECONDS)
            update = await asyncio.to_thread(booking_receipt, engine=deps.engine(),
                                             booking_id=receipt.summary.id, locale=locale, browser_hold_key=key)
            if update.state != ReceiptState.PROCESSING:
                async with self:
                    self.state, self.summary = str(update.state), without_manage_path(update.visible_summary)
                return


class CancelState(rx.State):
    state: str = "loading"  # loading | held | confirmed | ended | unknown | ...
    summary: BookingSummary | None = None
    working: bool = False
    message: str = ""
    _booking_id: str = ""  # backend only: the booking this browser's hold key found

    @rx.var
    def page_title(self) -> str:
        return f"{CANCEL_TITLES.get(self.state, 'This hold has ended')} · {SITE}"

    @rx.event(background=True)
    async def load(self):
        """The browser's own latest booking, found by its hold key (a `?booking=` in the URL is ignored)."""
        async with self:
            self.working, self.message = False, ""
            key = await _hold_key(self)
            locale = deps.browser_language(self)
        receipt = await asyncio.to_thread(browser_receipt, engine=deps.engine(), browser_hold_key=key, locale=locale)
        async with self:
            self.state, self.summary = str(receipt.state), receipt.summary
            self._booking_id = receipt.summary.id if receipt.summary is not None else ""

    @rx.event(background=True)
    async def try_again(self):
        async with self:
            if self.working:
                return None
            booking_id = self._booking_id
            if not booking_id:  # this browser holds nothing
                return None
            self.working, self.message = True, ""
            locale = deps.browser_language(self)
        try:
            started = await asyncio.to_thread(retry_checkout, engine=deps.engine(), gateway=deps.gateway(),
                                              settings=get_settings(), booking_id=booking_id)
        except (HoldNotActive, PaymentProviderError) as exc:
            receipt = await asyncio.to_thread(booking_receipt, engine=deps.engine(), booking_id=booking_id,
                                              locale=locale)
            async with self:
                self.working = False
                self.state, self.summary = str(receipt.state), receipt.summary
                self.message = ("We could not reach the payment provider; please try again in a moment."
                                if isinstance(exc, PaymentProviderError) else "This hold has ended.")
            return None
        return rx.redirect(started.checkout_url)

    @rx.event(background=True)
    async def pick_another_time(self):
        async with self:
            if self.working:
                return None
            booking_id = self._booking_id
            if not booking_id:  # this browser holds nothing
                return None
            self.working = True
            locale = deps.browser_language(self)
            session_type_id = self.summary.session_type_id if self.summary else ""
            book_path = self.summary.book_path if self.summary else ""
        try:
            released = await asyncio.to_thread(release_hold_and_expire, engine=deps.engine(),
                                               gateway=deps.gateway(), booking_id=booking_id)
        except PaymentProviderError:
            async with self:
                self.working = False
                self.message = "We could not reach the payment provider; your time is still held. Please retry."
            return None
        if not released:  # paid meanwhile, or already ended: show what it is now
            receipt = await asyncio.to_thread(booking_receipt, engine=deps.engine(), booking_id=booking_id,
                                              locale=locale)
            async with self:
                self.working = False
                self.state, self.summary = str(receipt.state), receipt.summary
            if receipt.state == ReceiptState.CONFIRMED:
                return None
        return rx.redirect(book_path or (routes.book_page(session_type_id) if session_type_id else routes.HOME))
