"""The client manages their own booking through the link in their emails: see it, cancel it under the
policy (with the refund it promises), or move it to another time of the same session type.

The manage token (see `booking.manage_links`) is the client's only credential: every function here
takes it, looks the booking up by the token's SHA-256, and acts on that booking alone.

Cancel (a flow: it owns its transactions, no Stripe call inside one):
  1. read the booking and the refund the policy gives now;
  2. the refund goes first, through `refunds.request_refund` with a request key derived from the
     booking (`client-cancel-<booking id>-<n>`, n = 1 + earlier failed tries), so a double click or a
     retried request never refunds twice, and a Retry after a failure asks Stripe again once;
  3. only once Stripe has accepted the refund (or none is due) the booking is cancelled, the slot
     freed and both sides emailed. A refused refund leaves the booking confirmed, with a Retry.

Reschedule: one transaction, under the builder's lock and the database's no-overlap constraint: the
booking's row moves to the new time (taking the new slot and freeing the old one together), its
reschedule count and invite sequence go up, and both sides get an updated invite. The payment is
untouched. A race for the new slot loses with SlotTaken.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.accounts import audit
from booking.accounts.authz import Actor
from booking.client.booking_page import MonthView, month_view
from booking.client.summaries import format_when
from booking.core.db import session_scope
from booking.core.models import (
    Booking,
    BookingStatus,
    Builder,
    Client,
    EndCause,
    Refund,
    RefundStatus,
    SessionType,
    UserRole,
    utcnow,
)
from booking.core.time import LocaleLike, format_date, format_money, format_time_range, locale_tag
from booking.core.zones import friendly_zone_name
from booking.lifecycle import moves, refunds
from booking.lifecycle import transitions as bookings
from booking.notifications import calendar_links, manage_links
from booking.notifications.ics import one_line
from booking.notifications.invites import invite_of
from booking.notifications.templates import is_web_link
from booking.payments import ledger as payment_records
from booking.payments.gateway import PaymentGateway
from booking.scheduling import policy, slots
from booking.scheduling.availability import load_zone

log = logging.getLogger(__name__)

CLIENT_REFUND_KEY = "client-cancel-{booking_id}-{attempt}"
RESCHEDULE_DAYS = 7  # the picker shows a week at a time
_ACCEPTED = (RefundStatus.PENDING, RefundStatus.SUCCEEDED)
_REFUSED = (RefundStatus.FAILED, RefundStatus.CANCELED)


class ManageError(Exception):
    """The request can't be done; `code` goes back to the page, `message` says why."""

    code = "not_allowed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LinkNotFound(ManageError):
    code = "not_found"


class NotAllowed(ManageError):
    code = "not_allowed"


class SlotTaken(ManageError):
    code = "slot_taken"


class RefundChanged(ManageError):
    """The refund the page showed is no longer what a cancellation gets (a window just closed)."""

    code = "refund_changed"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    code: str  # cancelled | rescheduled | refund_failed | in_progress | already_cancelled
    message: str


# --- looking a booking up -----------------------------------------------------------------------------


def find_booking(*, session: Session, token: str, for_update: bool = False) -> Booking | None:
    if not manage_links.looks_like_token(token or ""):
        return None
    query = select(Booking).where(Booking.manage_token_hash == manage_links.token_hash(token))
    if for_update:
        query = query.with_for_update()
    return session.exec(query).first()


def _require(session: Session, token: str, *, for_update: bool = False) -> Booking:
    booking = find_booking(session=session, token=token, for_update=for_update)
    if booking is None:
        raise LinkNotFound("This link doesn't match a booking. Use the latest link from your emails.")
    return booking


def _policy_of(session: Session, booking: Booking) -> policy.CancellationPolicy:
    builder = session.get(Builder, booking.builder_id)
    return policy.effective_policy(builder, session.get(SessionType, booking.session_type_id))


def _money_of(session: Session, booking: Booking) -> tuple[int, int]:
    """(what was paid, what is left to refund), minor units; (0, 0) when nothing was paid."""
    payment = payment_records.paid_payment_of(session=session, booking=booking)
    if payment is None or not payment.payment_intent_id:
        return 0, 0
    return payment.amount, payment_records.amount_left(session=session, payment=payment)


def quote_for(*, session: Session, booking: Booking, now: datetime) -> policy.RefundQuote:
    paid, left = _money_of(session, booking)
    return policy.refund_quote(policy=_policy_of(session, booking), start=booking.start_time, now=now,
                               paid=paid, refundable=left)


def _client_refunds(session: Session, booking_id: str) -> list[Refund]:
    prefix = CLIENT_REFUND_KEY.format(booking_id=booking_id, attempt="")
    return list(session.exec(select(Refund).where(Refund.booking_id == booking_id,
                                                  Refund.request_key.startswith(prefix, autoescape=True))
                             .order_by(Refund.id)).all())


def _client_actor(booking: Booking, client: Client | None) -> Actor:
    """Who the refund flow and the audit log see: the client, through their link. No user account;
    scoped to the booking's builder, so the shared flows it is passed to can reach nothing else."""
    email = client.email if client else "unknown"
    return Actor(user_id=None, email=f"client {email}"[:254], role=UserRole.BUILDER,  # type: ignore[arg-type]
                 builder_id=booking.builder_id)


# --- what the page shows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManageView:
    reference: str
    status: str  # confirmed | cancelled | ...
    status_label: str
    session_type_name: str
    builder_name: str
    when: str
    time_zone: str
    start_iso: str
    amount: str
    refunded: str  # "" when nothing was refunded
    location: str  # only once paid (a confirmed booking)
    location_is_link: bool
    policy_lines: list[str] = field(default_factory=list)
    can_cancel: bool = False
    refund_text: str = ""  # "Cancel now and get £25.00 back (50 %, until 14:00 on 3 Dec)."
    expected_refund: int = 0  # minor units; the cancel form carries it, so a changed refund is caught
    can_reschedule: bool = False
    reschedule_text: str = ""  # why not, or how many are left and until when
    refund_failure: str = ""  # the last refund Stripe refused (the page offers Retry)
    past: bool = False
    hour12: bool = False  # the clock the client chose on the booking page
    locale: str = ""  # the page's language ("fr-FR"): the browser's, else the one the booking was made in
    zone_label: str = ""  # "Eastern Time"
    google_calendar_url: str = ""  # "Add to Google Calendar / Outlook" (confirmed only; nothing secret in them)
    outlook_calendar_url: str = ""
    # Receipts and invoices: Stripe's receipt (refunds show on it), and the invoice when asked for.
    receipt_url: str = ""
    invoice_url: str = ""
    invoice_pdf_url: str = ""


def load_view(*, engine: Engine, token: str, time_zone: str | None = None,
              now: datetime | None = None, locale: LocaleLike = None) -> ManageView | None:
    now = now or utcnow()
    with session_scope(engine) as session:
        booking = find_booking(session=session, token=token)
        if booking is None or booking.confirmed_at is None and booking.status != BookingStatus.CONFIRMED:
            return None
        try:
            zone_name = load_zone(time_zone or booking.client_time_zone).key
        except ValueError:  # a zone the tz database doesn't know: UTC, labelled as such
            zone_name = "UTC"
        return _view(session=session, booking=booking, time_zone=zone_name, now=now, locale=locale)


def _view(*, session: Session, booking: Booking, time_zone: str, now: datetime,
          locale: LocaleLike = None) -> ManageView:
    builder = session.get(Builder, booking.builder_id)
    session_type = session.get(SessionType, booking.session_type_id)
    zone = load_zone(time_zone)
    locale = locale_tag(locale or booking.client_locale)  # a browser that sends no language: the one it booked in
    rules = policy.effective_policy(builder, session_type)
    confirmed = booking.status == BookingStatus.CONFIRMED
    location = one_line(session_type.location or "") if confirmed else ""
    money = payment_records.money_of(session=session, booking=booking)
    view = dict(
        reference=booking.id, status=str(booking.status), status_label=_status_label(booking),
        session_type_name=session_type.name, builder_name=builder.name,
        when=format_when(booking.start_time, booking.end_time, zone.key, locale=locale, hour12=booking.client_hour12),
        time_zone=zone.key, hour12=booking.client_hour12 is True, zone_label=friendly_zone_name(zone.key), locale=locale,
        start_iso=booking.start_time.astimezone(zone).isoformat(),
        amount=format_money(money.amount, money.currency, locale=locale),
        refunded=(format_money(money.amount_refunded, money.currency, locale=locale)
                  if money.amount_refunded else ""),
        location=location, location_is_link=is_web_link(location), policy_lines=policy.describe(rules),
        past=booking.start_time <= now,
        **_documents(session, booking),
    )
    if confirmed:
        links = calendar_links.links_for(calendar_links.session_event(
            session_type_name=session_type.name, builder_name=builder.name, start=booking.start_time,
            end=booking.end_time, description=session_type.description or "", location=session_type.location or ""))
        view.update(google_calendar_url=links.google, outlook_calendar_url=links.outlook)
    if confirmed and policy.can_cancel(start=booking.start_time, now=now):
        quote = quote_for(session=session, booking=booking, now=now)
        view.update(can_cancel=True, expected_refund=quote.amount,
                    refund_text=policy.describe_quote(
                        quote, money=format_money(quote.amount, money.currency, locale=locale), zone=zone,
                        locale=locale))
        tries = _client_refunds(session, booking.id)
        if tries and tries[-1].status in _REFUSED:
            view["refund_failure"] = tries[-1].failure_reason or "the payment provider refused it"
    if confirmed:
        check = policy.reschedule_check(policy=rules, start=booking.start_time, now=now,
                                        reschedule_count=booking.reschedule_count)
        left = "once more" if check.remaining == 1 else f"{check.remaining} more times"
        view.update(can_reschedule=check.allowed,
                    reschedule_text=(f"You can move this booking {left}, until "
                                     f"{policy.format_moment(check.until, zone, locale=locale)}."
                                     if check.allowed else check.reason))
    return ManageView(**view)


def _documents(session: Session, booking: Booking) -> dict[str, str]:
    """The booking's payment's receipt and invoice links (web links only)."""
    payment = payment_records.booking_payment(session=session, booking=booking)
    if payment is None:
        return {}
    found = {"receipt_url": payment.receipt_url, "invoice_url": payment.invoice_url,
             "invoice_pdf_url": payment.invoice_pdf_url}
    return {name: value for name, value in found.items() if value and is_web_link(value)}


def _status_label(booking: Booking) -> str:
    if booking.status == BookingStatus.CONFIRMED:
        return "Confirmed"
    if booking.status == BookingStatus.CANCELLED:
        return "Cancelled"
    return str(booking.status).capitalize()


@dataclass(frozen=True)
class SlotChoice:
    value: str  # ISO 8601 start, in the viewer's zone
    label: str  # "09:30–10:30"
    aria: str  # "Tuesday 1 December, 09:30 to 10:30, Europe/London"


@dataclass(frozen=True)
class DayChoice:
    day: str
    label: str  # "Tuesday 1 December"
    slots: list[SlotChoice] = field(default_factory=list)


def reschedule_options(*, engine: Engine, token: str, from_day: date | None, time_zone: str,
                       days: int = RESCHEDULE_DAYS, now: datetime | None = None,
                       locale: LocaleLike = None) -> list[DayChoice]:
    """Open times of the booking's session type (its own time doesn't block its neighbours)."""
    now = now or utcnow()
    zone = load_zone(time_zone)
    with session_scope(engine) as session:
        booking = find_booking(session=session, token=token)
        if booking is None or booking.status != BookingStatus.CONFIRMED:
            return []
        try:
            found = slots.find_open_slots(session=session, session_type_id=booking.session_type_id,
                                          from_day=from_day or now.astimezone(zone).date(), days=days,
                                          viewer_time_zone=zone.key, now=now, ignore_booking_id=booking.id)
        except slots.SessionTypeNotFound:
            return []
        current = booking.start_time
    grouped: dict[date, list[SlotChoice]] = {}
    for slot in found:
        if slot.start == current:
            continue
        times = format_time_range(slot.start, slot.end, zone=zone, locale=locale, date_style=None,
                                  abbreviation=False)
        spoken = format_time_range(slot.start, slot.end, zone=zone, locale=locale, date_style=None,
                                   abbreviation=False, dash=" to ")
        day = format_date(slot.start, zone=zone, locale=locale, style="weekday_day_month")
        grouped.setdefault(slot.start.date(), []).append(SlotChoice(
            value=slot.start.isoformat(), label=times, aria=f"{day}, {spoken}, {zone.key}"))
    return [DayChoice(day=d.isoformat(), label=format_date(d, locale=locale, style="weekday_day_month"),
                      slots=choices)
            for d, choices in sorted(grouped.items())]


def reschedule_month(*, engine: Engine, token: str, time_zone: str, year: int | None = None,
                     month: int | None = None, now: datetime | None = None,
                     locale: LocaleLike = None) -> MonthView | None:
    """The booking page's month picker for a reschedule: the session type's open times in one month (the
    booking's own time neither offered nor blocking its neighbours). None: no confirmed booking."""
    now = now or utcnow()
    with session_scope(engine) as session:
        booking = find_booking(session=session, token=token)
        if booking is None or booking.status != BookingStatus.CONFIRMED:
            return None
        try:
            return month_view(session=session, session_type_id=booking.session_type_id,
                              viewer_time_zone=load_zone(time_zone).key, now=now, year=year, month=month,
                              locale=locale, ignore_booking_id=booking.id, exclude=booking.start_time)
        except slots.SessionTypeNotFound:
            return None


# --- cancel -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CancelPlan:
    booking_id: str
    amount: int
    request_key: str
    refund_done: bool  # an earlier try was accepted by Stripe: only the cancellation is left
    actor: Actor
    stuck_refund_id: int | None = None


def cancel_by_client(*, engine: Engine, gateway: PaymentGateway, token: str, expected_refund: int | None = None,
                     now: datetime | None = None) -> Outcome:
    """Cancel with the refund the policy gives now. Raises ManageError (nothing changed)."""
    now = now or utcnow()
    with session_scope(engine) as session:
        plan = _plan_cancel(session=session, token=token, expected_refund=expected_refund, now=now)
    if isinstance(plan, Outcome):
        return plan
    if plan.amount > 0 and not plan.refund_done:
        outcome = _refund(engine=engine, gateway=gateway, plan=plan)
        if outcome is not None:
            return outcome
    with session_scope(engine) as session:
        return _cancel(session=session, booking_id=plan.booking_id, actor=plan.actor, now=now)


def _plan_cancel(*, session: Session, token: str, expected_refund: int | None, now: datetime) -> _CancelPlan | Outcome:
    booking = _require(session, token)
    actor = _client_actor(booking, session.get(Client, booking.client_id))
    tries = _client_refunds(session, booking.id)
    refunded_earlier = any(row.status in _ACCEPTED for row in tries)
    if booking.status == BookingStatus.CANCELLED:
        if refunded_earlier and booking.end_cause == EndCause.REFUNDED:  # the last try stopped halfway
            return _CancelPlan(booking.id, 0, "", True, actor)
        return Outcome(True, "already_cancelled", "This booking is already cancelled.")
    if booking.status != BookingStatus.CONFIRMED:
        raise NotAllowed("Only a confirmed booking can be cancelled here.")
    if not policy.can_cancel(start=booking.start_time, now=now):
        raise NotAllowed("This session has already started, so it can no longer be cancelled.")
    if refunded_earlier:  # refunded by an earlier try whose cancellation didn't finish
        return _CancelPlan(booking.id, 0, "", True, actor)
    quote = quote_for(session=session, booking=booking, now=now)
    if expected_refund is not None and expected_refund != quote.amount:
        zone = load_zone(booking.client_time_zone)
        raise RefundChanged("The refund has changed since the page was shown: "
                            + policy.describe_quote(quote, money=format_money(
                                quote.amount, payment_records.money_of(session=session, booking=booking).currency),
                                                    zone=zone) + " Please confirm again.")
    in_flight = [row for row in tries if row.status == RefundStatus.REQUESTED]
    if in_flight:  # a first click still waiting for Stripe; a stuck one is re-sent with its own key
        stuck = in_flight[-1].updated_at <= now - refunds.STUCK_AFTER
        return _CancelPlan(booking.id, in_flight[-1].amount, in_flight[-1].request_key or "", False, actor,
                           stuck_refund_id=in_flight[-1].id if stuck else None)
    attempt = 1 + sum(1 for row in tries if row.status in _REFUSED)
    return _CancelPlan(booking.id, quote.amount, CLIENT_REFUND_KEY.format(booking_id=booking.id, attempt=attempt),
                       False, actor)


def _refund(*, engine: Engine, gateway: PaymentGateway, plan: _CancelPlan) -> Outcome | None:
    """Ask for the refund; None when Stripe accepted it (the cancellation may go ahead)."""
    try:
        if plan.stuck_refund_id is not None:
            answer = refunds.retry_refund(engine=engine, gateway=gateway, actor=plan.actor,
                                          refund_id=str(plan.stuck_refund_id))
        else:
            answer = refunds.request_refund(engine=engine, gateway=gateway, actor=plan.actor,
                                            booking_id=plan.booking_id, amount=plan.amount,
                                            reason="requested_by_customer", request_key=plan.request_key,
                                            cancel_session=False)
    except refunds.Refused as exc:
        return Outcome(False, "refund_failed", f"We couldn't refund your payment: {exc.message} "
                       "Your booking is still confirmed.")
    if answer.status == RefundStatus.REQUESTED.value:
        return Outcome(False, "in_progress", "Your cancellation is already being processed. "
                       "Refresh this page in a moment.")
    if not answer.ok:
        log.warning("client refund of booking %s refused: %s", plan.booking_id, answer.message)
        return Outcome(False, "refund_failed", "We couldn't refund your payment, so your booking is still "
                       "confirmed. Please try again.")
    return None


_AUDITED_CANCEL = ("status", "end_cause")


def _audited(session: Session, booking: Booking) -> dict:
    """The booking's audited fields, and its money as the ledger says."""
    money = payment_records.money_of(session=session, booking=booking)
    return {**audit.snapshot(booking, _AUDITED_CANCEL),
            "payment_status": money.status.value if money.status else None, "amount_refunded": money.amount_refunded}


def _cancel(*, session: Session, booking_id: str, actor: Actor, now: datetime) -> Outcome:
    booking = session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    before = _audited(session, booking)
    # Confirmed -> cancelled; or a full refund that cancelled it as it landed becomes the client's doing.
    if not bookings.cancel_by_client(session=session, booking_id=booking_id, now=now):
        if booking.status == BookingStatus.CANCELLED:
            return Outcome(True, "already_cancelled", "This booking is already cancelled.")
        raise NotAllowed("Only a confirmed booking can be cancelled here.")
    booking = session.get(Booking, booking_id)
    audit.record(session=session, actor=actor, action="booking.cancel_by_client", entity_type="booking",
                 entity_id=booking.id, builder_id=booking.builder_id, before=before,
                 after=_audited(session, booking))
    money = payment_records.money_of(session=session, booking=booking)
    refunded = format_money(money.amount_refunded, money.currency) if money.amount_refunded else ""
    return Outcome(True, "cancelled", "Your booking is cancelled"
                   + (f" and {refunded} is on its way back to you." if refunded else ". No refund was due."))


# --- reschedule -----------------------------------------------------------------------------------------


OUT_OF_RANGE = "That date is outside the times you can book. Pick one of the times shown."
RESCHEDULE_YEARS_AHEAD = 10


def reschedule_year_ok(new_start: datetime, now: datetime) -> bool:
    """A cheap first check on a new start's year, before any arithmetic that could overflow on it."""
    return now.year - 1 <= new_start.year <= now.year + RESCHEDULE_YEARS_AHEAD


def reschedule(*, engine: Engine, token: str, new_start: datetime, now: datetime | None = None) -> Outcome:
    """Move the booking to `new_start` (same session type), in one transaction. Raises ManageError."""
    now = now or utcnow()
    if new_start.utcoffset() is None:
        raise NotAllowed("Pick one of the times shown.")
    if not reschedule_year_ok(new_start, now):  # year 1 or 9999 would overflow the date arithmetic below
        raise NotAllowed(OUT_OF_RANGE)
    try:
        with session_scope(engine) as session:
            return _move(session=session, token=token, new_start=new_start.astimezone(now.tzinfo), now=now)
    except sa.exc.IntegrityError:  # the commit itself lost a race (the constraint is checked there too)
        raise SlotTaken("Sorry, that time was just taken. Please pick another.") from None


def _move(*, session: Session, token: str, new_start: datetime, now: datetime) -> Outcome:
    found = _require(session, token)

    def client_policy(session: Session, booking: Booking) -> None:
        check = policy.reschedule_check(policy=_policy_of(session, booking), start=booking.start_time, now=now,
                                        reschedule_count=booking.reschedule_count)
        if not check.allowed:
            raise NotAllowed(check.reason)

    try:
        moved = moves.move_confirmed(session=session, booking_id=found.id, new_start=new_start, now=now,
                                     precheck=client_policy)
    except moves.SlotGone as exc:
        raise SlotTaken(exc.message) from None
    except moves.MoveRefused as exc:
        raise NotAllowed(exc.message) from None
    if not moved.changed:
        return Outcome(True, "rescheduled", "Your booking is already at that time.")
    booking = moved.booking
    audit.record(session=session, actor=_client_actor(booking, session.get(Client, booking.client_id)),
                 action="booking.reschedule_by_client", entity_type="booking", entity_id=booking.id,
                 builder_id=booking.builder_id, before=moved.before, after=moved.after)
    when = format_when(booking.start_time, booking.end_time, booking.client_time_zone, locale=booking.client_locale,
                       hour12=booking.client_hour12)
    return Outcome(True, "rescheduled", f"Your booking has moved to {when}. We've emailed you the updated invite.")


# --- add to calendar --------------------------------------------------------------------------------------


def invite_for_token(*, engine: Engine, token: str, public_url: str | None = None) -> bytes | None:
    """The booking's .ics (PUBLISH, the emailed invite's UID and current SEQUENCE); None if not confirmed."""
    with session_scope(engine) as session:
        booking = find_booking(session=session, token=token)
        if booking is None:
            return None
        return invite_of(session=session, booking=booking, public_url=public_url)
