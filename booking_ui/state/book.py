"""The booking page: month calendar, times, details form, and the browser's own hold.

Thin over booking.booking_page (what to show), booking.holds (the browser's hold) and booking.payments.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from datetime import date, datetime

import reflex as rx

from booking.client import (
    CodePreview,
    HeldSlot,
    PageSummary,
    QuestionField,
    answers_from_form,
    continue_browser_hold,
    current_hold,
    get_session_type,
    held_slot,
    month_view,
    page_policy,
    page_questions,
    page_summary,
    preview_code,
    refund_tier,
    release_browser_hold,
    resolve_type_address,
)
from booking.core import (
    ZoneChoice,
    canonical_zone_or_utc,
    checked,
    get_settings,
    locale_tag,
    session_scope,
    utcnow,
    zone_choices,
    zone_label,
)
from booking.lifecycle import (
    CheckoutStarted,
    HoldNotActive,
    InvalidRequest,
    LimitReached,
    PromotionCodeInvalid,
    RenewalsExhausted,
    Requester,
    SlotUnavailable,
    begin_checkout,
    client_detail_errors,
    limits_for,
)
from booking.payments import PaymentProviderError
from booking.scheduling import CancellationPolicy, InvalidAnswers, SessionTypeNotFound, questions_of, validate_answers
from booking_ui import deps, routes
from booking_ui.offloop import db_event, off_loop
from booking_ui.state.month_picker import MonthPickerState
from booking_ui.state.requester import requester_of

log = logging.getLogger(__name__)

# One script, one round trip: the browser's zone, its language and whether that writes a 12-hour clock.
BROWSER_PREFERENCES_JS = (
    "({tz: Intl.DateTimeFormat().resolvedOptions().timeZone, lang: navigator.language || '', "
    "hour12: new Intl.DateTimeFormat(undefined, {hour: 'numeric'}).resolvedOptions().hour12 === true, "
    "framed: window.top !== window.self})"
)


def focus_script(element_id: str) -> str:
    """Focus an element once React has rendered it (it may appear with this very update), unless the person
    has moved focus meanwhile: someone who clicked a time and went straight on to the Email field must not
    have the rest of their typing land in Name."""
    return ("(function(){const before=document.activeElement;"
            f"(function f(n){{const el=document.getElementById({element_id!r});"
            "if(el){const now=document.activeElement;"
            "if(!now||now===before||now===document.body||!now.isConnected){el.focus();}}"
            "else if(n>0){setTimeout(function(){f(n-1);},50);}})(40);})()")


def _begin_checkout(*, requester: Requester, **request: object) -> CheckoutStarted:
    """Pay: one create-checkout attempt against this client IP's rate limit, then the hold and the session."""
    settings = get_settings()
    limits_for(settings).check_checkout_rate(requester.ip)
    return begin_checkout(engine=deps.engine(), gateway=deps.gateway(), settings=settings,
                                   requester=requester, **request)


def to_checkout(url: str):
    """Stripe's page in the whole window, for an embedded booking page (an iframe on the builder's site):
    Stripe Checkout refuses to be framed. The click on Pay lets the frame move the top window; if the
    browser still refuses, the frame itself goes (as a page that isn't embedded does)."""
    target = json.dumps(url)
    return rx.call_script(
        "(function (u) { if (window.top !== window.self) { try { window.top.location.href = u; return; }"
        " catch (e) {} } window.location.assign(u); })(" + target + ")")


class BookState(MonthPickerState, rx.State):  # MonthPickerState: the calendar (one month), the chosen day's times
    summary: PageSummary | None = None
    not_found: bool = False
    loading: bool = True
    time_zone: str = "UTC"
    hour12: bool = False
    locale: str = ""  # the browser's language ("en-US"): dates, times and prices are written its way
    chosen_currency: str = ""  # the currency picker's choice ("" = the locale's, else the type's own)
    # The chosen time and the details form.
    selected_start: str = ""
    selected_when_24: str = ""
    selected_when_12: str = ""
    refund_tier: str = ""  # "Booked 27 h ahead: a full refund if you cancel up to 24 h before, ..."
    _policy: CancellationPolicy | None = None  # the session type's CancellationPolicy (booking.client.page_policy), backend only
    client_name: str = ""
    client_email: str = ""
    wants_invoice: bool = False  # "I need an invoice": Checkout makes one after payment
    # The builder's booking questions, and what is wrong with each answer (question key -> message).
    questions: list[QuestionField] = []
    answer_errors: dict[str, str] = {}
    _answers: dict[str, object] = {}
    name_error: str = ""
    email_error: str = ""
    error_summary: str = ""  # read out by the form's live region
    notice: str = ""  # a slot was taken meanwhile, Stripe failed, a hold ended
    not_bookable_reason: str = ""  # REQUIRE_PAYOUTS on, the builder's payouts not set up: said before any pick
    paying: bool = False
    # A promotion code, checked on the server; the summary shows the price it leaves before Checkout.
    promo: CodePreview | None = None
    promo_error: str = ""
    # The browser's hold: a random key kept in this browser; only its hash is stored with the booking.
    hold_key: str = rx.LocalStorage("", name="booking_hold_key")
    held: HeldSlot | None = None
    hold_working: bool = False
    framed: bool = False  # the page is embedded in another site's iframe (the builder's embed snippet)

    # The session type the readable address /<builder>/<type> named (resolved on load; 0 = none).
    _address_type_id: int = 0

    def _session_type_id(self) -> int | None:
        raw = str(self.router.url.query_parameters.get("session_type_id", "") or self.session_type_id)
        if raw.isdigit():
            return int(raw)
        return self._address_type_id or None

    def _resolve_address(self):
        """On /<builder>/<type>: find the type; an old address moves the browser to the current one."""
        self._address_type_id = 0
        if str(self.session_type_id) or not str(self.type_slug):
            return None
        with session_scope(deps.engine()) as session:
            address = resolve_type_address(session=session, builder_slug=str(self.builder_slug),
                                           type_slug=str(self.type_slug))
        if address is None:
            return None
        self._address_type_id = address.session_type_id
        return rx.redirect(address.path, replace=True) if address.moved else None

    # --- derived --------------------------------------------------------------------------------

    @rx.var
    def page_title(self) -> str:
        if self.summary is None:
            return "Session not found · Book a builder" if self.not_found else "Book a session · Book a builder"
        return f"Book {self.summary.session_type_name} with {self.summary.builder_name} · Book a builder"

    @rx.var(cache=False)
    def zone_now(self) -> str:
        """'Eastern Time — 17:42' (the current time there, refreshed with every update)."""
        return zone_label(self.time_zone, now=utcnow(), hour12=self.hour12, locale=self.locale)

    @rx.var(cache=False)
    def zone_options(self) -> list[ZoneChoice]:
        return zone_choices(self.time_zone, now=utcnow(), hour12=self.hour12, locale=self.locale)

    @rx.var
    def selected_when(self) -> str:
        return self.selected_when_12 if self.hour12 else self.selected_when_24

    @rx.var
    def pay_label(self) -> str:
        """The pay button: the price to pay, with the code's discount taken off (nothing to pay: confirm); a
        session type with a no-show fee only keeps the card."""
        if self.summary is not None and self.summary.no_show_fee:
            return "Book and save card"
        if self.promo is not None:
            return "Confirm booking" if self.promo.free else f"Pay {self.promo.total}"
        return f"Pay {self.summary.price}" if self.summary is not None else "Pay"

    @rx.var
    def held_when(self) -> str:
        if self.held is None:
            return ""
        return self.held.when_12 if self.hour12 else self.held.when_24

    @rx.var
    def held_until(self) -> str:
        if self.held is None:
            return ""
        return self.held.until_12 if self.hour12 else self.held.until_24

    @rx.var
    def held_elsewhere(self) -> str:
        """The hold is of another session type: its name, to say what is held."""
        if self.held is None or self.summary is None or self.held.session_type_id == self.summary.session_type_id:
            return ""
        return f"{self.held.session_type_name} with {self.held.builder_name}"

    # --- loading --------------------------------------------------------------------------------

    @db_event
    def load(self):
        self.selected_start = self.selected_when_24 = self.selected_when_12 = self.notice = ""
        self.name_error = self.email_error = self.error_summary = ""
        self.paying = self.hold_working = False
        self.promo, self.promo_error = None, ""
        self.loading = True
        self.view_year = self.view_month = 0
        moved = self._resolve_address()
        if moved is not None:
            return moved
        type_id = self._session_type_id()
        self.locale = locale_tag(deps.browser_language(self))  # until the page itself says (navigator.language)
        with session_scope(deps.engine()) as session:
            self.summary = (page_summary(session=session, session_type_id=type_id, locale=self.locale,
                                         currency=self.chosen_currency or None)
                            if type_id else None)
            view = get_session_type(session=session, session_type_id=type_id) if self.summary else None
            self._policy = page_policy(session=session, session_type_id=type_id) if self.summary else None
            self.questions = page_questions(session=session, session_type_id=type_id) if self.summary else []
        self.answer_errors, self._answers = {}, {}
        self.not_bookable_reason = view.not_bookable_reason if view is not None else ""
        self.not_found = self.summary is None
        if self.not_found:
            self.loading = False
            return None
        return rx.call_script(BROWSER_PREFERENCES_JS, callback=BookState.set_browser_preferences)

    @db_event
    def set_browser_preferences(self, preferences: dict):
        preferences = preferences if isinstance(preferences, dict) else {}
        self.time_zone = canonical_zone_or_utc(str(preferences.get("tz") or "UTC"))
        self.hour12 = preferences.get("hour12") is True
        self.framed = preferences.get("framed") is True
        if preferences.get("lang"):
            self.locale = locale_tag(str(preferences["lang"]))
            self._reprice()  # the browser's own language may name another currency than Accept-Language
        self._refresh()
        if self.month_empty and self.next_available_day:  # open on the first month with a time, as people expect
            self._jump_to_next_available()

    @db_event
    def set_time_zone(self, value: str):
        self.time_zone = canonical_zone_or_utc(value)
        self.selected_start = ""
        self._refresh()

    @db_event
    def choose_currency(self, value: str):
        """The currency picker: the price shown, and the one Checkout charges."""
        self.chosen_currency = str(value or "").strip().lower()[:3]
        self._reprice()
        self.promo, self.promo_error = None, ""  # its discount was worked out in the other currency

    def _reprice(self) -> None:
        type_id = self._session_type_id()
        if type_id is None or self.summary is None:
            return
        with session_scope(deps.engine()) as session:
            summary = page_summary(session=session, session_type_id=type_id, locale=self.locale,
                                   currency=self.chosen_currency or None)
        if summary is not None:
            self.summary = summary

    @rx.event
    def set_clock(self, value: str | list[str]):
        self.hour12 = (value[0] if isinstance(value, list) and value else value) == "12"

    def _refresh(self, year: int | None = None, month: int | None = None) -> None:
        type_id = self._session_type_id()
        if type_id is None:
            return
        now = utcnow()
        try:
            with session_scope(deps.engine()) as session:
                self.held = current_hold(session=session, browser_hold_key=self.hold_key,
                                         viewer_time_zone=self.time_zone, now=now, locale=self.locale)
                view = month_view(session=session, session_type_id=type_id, viewer_time_zone=self.time_zone, now=now,
                                  year=year or self.view_year or None, month=month or self.view_month or None,
                                  held=held_slot(self.held, str(type_id)), locale=self.locale)
        except SessionTypeNotFound:
            self.summary, self.not_found, self.loading = None, True, False
            return
        self._show_month(view, locale=self.locale)
        self.loading = False

    # --- the calendar -----------------------------------------------------------------------------

    @db_event
    def previous_month(self):
        self._refresh(*self._month_before())

    @db_event
    def next_month(self):
        self._refresh(*self._month_after())

    @db_event
    def show_next_available(self):
        self._jump_to_next_available()

    def _jump_to_next_available(self) -> None:
        if not self.next_available_day:
            return
        day = date.fromisoformat(self.next_available_day)
        self.selected_day = day.isoformat()
        self._refresh(day.year, day.month)

    @rx.event
    def choose_day(self, value: str):
        self._show_day(value)

    @rx.event
    def choose(self, value: str):
        """A time was picked: the details form replaces the calendar, and focus moves into it."""
        option = next((t for t in self.times if t.start == value), None)
        if option is None:
            return None
        if option.held:  # the browser's own hold: carry on paying for it
            return BookState.continue_hold
        self.selected_start = option.start
        self.selected_when_24 = f"{self.selected_day_label}, {option.label_24}"
        self.selected_when_12 = f"{self.selected_day_label}, {option.label_12}"
        self.refund_tier = refund_tier(self._policy, start=datetime.fromisoformat(option.start), now=utcnow())
        self.notice = ""
        return rx.call_script(focus_script("client-name"))

    @rx.event
    def change_time(self):
        self.selected_start = ""
        self.name_error = self.email_error = self.error_summary = ""

    # --- a promotion code -------------------------------------------------------------------------

    @db_event
    def apply_code(self, form: dict):
        code = str(form.get("promotion_code", ""))[:100].strip()
        type_id = self._session_type_id()
        self.promo_error = ""
        if not code:
            self.promo, self.promo_error = None, "Enter a promotion code."
            return rx.call_script(focus_script("promotion-code"))
        if type_id is None:
            return None
        try:
            with session_scope(deps.engine()) as session:
                self.promo = preview_code(session=session, session_type_id=type_id, code=code,
                                          client_email=self.client_email or None, locale=self.locale,
                                          currency=self.summary.currency if self.summary is not None else None)
        except PromotionCodeInvalid as exc:
            self.promo, self.promo_error = None, exc.message
            return rx.call_script(focus_script("promotion-code"))
        return None

    @rx.event
    def remove_code(self):
        self.promo, self.promo_error = None, ""

    # --- paying -----------------------------------------------------------------------------------

    @db_event  # the answers are checked against the questions in the database
    def pay(self, form: dict):
        if self.paying or not self.selected_start:
            return None
        self.client_name = str(form.get("client_name", ""))[:500]
        self.client_email = str(form.get("client_email", ""))[:500]
        self.wants_invoice = checked(form, "wants_invoice")
        errors = client_detail_errors(name=self.client_name, email=self.client_email)
        self.name_error = errors.get("client_name", "")
        self.email_error = errors.get("client_email", "")
        self._answers = answers_from_form(self.questions, form)
        self.answer_errors = self._check_answers()
        if errors or self.answer_errors:
            # Announced at once; each field's own message is read when focus reaches it (aria-describedby).
            fields = [label for key, label in (("client_name", "Name"), ("client_email", "Email")) if key in errors]
            fields += [q.label for q in self.questions if q.key in self.answer_errors]
            total = len(errors) + len(self.answer_errors)
            count = "1 problem" if total == 1 else f"{total} problems"
            self.error_summary = f"Please fix {count}: {', '.join(fields)}."
            first = ("client-name" if self.name_error else "client-email" if self.email_error else
                     next(f"question-{q.key}" for q in self.questions if q.key in self.answer_errors))
            return rx.call_script(focus_script(first))
        self.error_summary = ""
        if not self.hold_key:
            self.hold_key = secrets.token_urlsafe(32)  # kept by this browser (LocalStorage)
        self.paying = True
        self.notice = ""
        return BookState.start_payment

    def _check_answers(self) -> dict[str, str]:
        """The same check the server makes when it holds the slot (booking.scheduling.validate_answers)."""
        if not self.questions:
            return {}
        type_id = self._session_type_id()
        with session_scope(deps.engine()) as session:
            asked = questions_of(session=session, session_type_id=type_id) if type_id else []
        try:
            validate_answers(asked, self._answers)
        except InvalidAnswers as exc:
            return dict(exc.errors)
        return {}

    @rx.event(background=True)
    async def start_payment(self):
        async with self:
            request = dict(
                session_type_id=self._session_type_id(),
                start_time=datetime.fromisoformat(self.selected_start),
                client_name=self.client_name,
                client_email=self.client_email,
                client_time_zone=self.time_zone,
                client_hour12=self.hour12,  # the success page, the manage page and the emails keep this clock
                client_locale=self.locale,  # and write dates and amounts in this language
                browser_hold_key=self.hold_key,
                invoice_requested=self.wants_invoice,
                currency=self.summary.currency if self.summary is not None else None,  # the price shown
                answers=dict(self._answers),
                promotion_code=self.promo.code if self.promo is not None else None,
            )
            requester = requester_of(self)
            framed = self.framed
        try:
            started = await asyncio.to_thread(_begin_checkout, requester=requester, **request)
        except LimitReached as exc:  # too many attempts or holds: say so, keep what they typed
            log.warning("checkout refused (%s) for request %s from %s", exc.code, requester.request_id, requester.ip)
            async with self:
                self.paying = False
                self.notice = exc.message
            return None
        except PromotionCodeInvalid as exc:  # used up or expired since it was applied: nothing was held
            async with self:
                self.paying, self.promo, self.promo_error = False, None, exc.message
                self.notice = f"{exc.message} Nothing was charged; pay the full price or try another code."
            return None
        except (SlotUnavailable, HoldNotActive):
            async with self:
                self.paying = False
                self.selected_start = ""
                self.notice = "Sorry — that time was just taken. Here are the times still free; nothing was charged."
                await off_loop(self._refresh)
            return None
        except InvalidAnswers as exc:  # the questions changed meanwhile: say which answer
            async with self:
                self.paying = False
                self.answer_errors = dict(exc.errors)
                self.notice = "Please check your answers to the questions."
            return None
        except Exception as exc:
            if not isinstance(exc, (PaymentProviderError, InvalidRequest, SessionTypeNotFound)):
                log.exception("checkout could not start")
            async with self:
                self.paying = False
                self.notice = (exc.message if isinstance(exc, InvalidRequest) else
                               "We could not reach the payment provider. Nothing was charged and your "
                               "time was not held — please try again in a moment.")
            return None
        # Embedded (an iframe on the builder's site): Stripe's page opens in the whole window.
        return to_checkout(started.checkout_url) if framed else rx.redirect(started.checkout_url)

    # --- the browser's own hold -------------------------------------------------------------------

    @rx.event(background=True)
    async def continue_hold(self):
        async with self:
            if self.hold_working or not self.hold_key:
                return None
            self.hold_working, self.notice = True, ""
            key = self.hold_key
        try:
            continued = await asyncio.to_thread(continue_browser_hold, engine=deps.engine(),
                                                gateway=deps.gateway(), settings=get_settings(), browser_hold_key=key)
        except (HoldNotActive, PaymentProviderError) as exc:
            async with self:
                self.hold_working = False
                self.notice = ("We could not reach the payment provider; your time is still held. Please retry."
                               if isinstance(exc, PaymentProviderError) else
                               "This hold can't be renewed again, so nothing was charged. Please pick a time "
                               "again." if isinstance(exc, RenewalsExhausted) else
                               "Your hold has ended, so nothing was charged. Please pick a time again.")
                await off_loop(self._refresh)
            return None
        if continued.paid:
            return rx.redirect(f"{routes.PAYMENT_SUCCESS}?session_id={continued.checkout_session_id}")
        return rx.redirect(continued.checkout_url)

    @rx.event(background=True)
    async def release_hold(self):
        async with self:
            if self.hold_working or not self.hold_key:
                return None
            self.hold_working, self.notice = True, ""
            key = self.hold_key
        message = ""
        try:
            released = await asyncio.to_thread(release_browser_hold, engine=deps.engine(),
                                               gateway=deps.gateway(), browser_hold_key=key)
            if not released:
                message = "That booking has just been paid, so it was kept. Check your email for the confirmation."
        except HoldNotActive:
            pass  # ended meanwhile: nothing left to release
        except PaymentProviderError:
            message = "We could not reach the payment provider; your time is still held. Please retry."
        async with self:
            self.hold_working = False
            self.notice = message
            await off_loop(self._refresh)
