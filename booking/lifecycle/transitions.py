"""The booking lifecycle: every change of a booking's state happens here, and nowhere else.

A booking's state is its `status` and, once it has ended, its `end_cause` (a typed `EndCause`). A
move is triggered by an event (`Event`) or, for an ending, by its cause. `TRANSITIONS` is the whole
table; every change goes through `_change_state`, which takes its from-states from the table (asking for a
move outside it raises `IllegalTransition`) and is a compare-and-swap, so each happens once however
often and however concurrently it is asked for. `messages_for` is the one place that decides
which messages a change sends (one per change; `_announce` queues them).

    state                      event / cause              -> state
    -------------------------  -------------------------  ----------
    pending                    pay                        confirmed
    pending                    payment_processing         pending
    pending                    expired                    expired
    pending                    replaced                   cancelled
    pending                    released_by_client         cancelled
    pending                    payment_failed             cancelled
    pending                    provider_unreachable       cancelled
    pending                    repaired_by_reconcile      cancelled
    pending                    cancelled_by_builder       cancelled
    pending                    refunded                   cancelled
    confirmed                  reschedule                 confirmed
    confirmed                  cancelled_by_builder       cancelled
    confirmed                  cancelled_by_client        cancelled
    confirmed                  refunded                   cancelled
    expired                    released_by_client         cancelled
    expired                    pay_late                   confirmed
    cancelled (a hold ending)  pay_late                   confirmed
    cancelled (refunded)       cancelled_by_client        cancelled
    pending                    pay_with_credit            confirmed

("cancelled (...)": only after an ending with that cause; "a hold ending": replaced, released_by_client,
payment_failed, provider_unreachable or repaired_by_reconcile. `pay_late`: the money arrived after the
hold ended and the slot is still free; otherwise the payment is refunded and the state stays.
`payment_processing`: Checkout completed with a bank debit (SEPA, Bacs), paid or failed days later: the
booking stays pending, its hold no longer lapses (the sweeper leaves a paying booking alone) and nobody
is emailed yet; `pay` confirms it, `payment_failed` releases it. `pay_with_credit`: the hold's reserved
package credit is spent (booking.payments.credits): confirmed at once, no Checkout. Every ending of a
booking paid by credit settles its credit (`_settle_credit`): a hold's ending or the builder's
cancellation gives it back, the client's cancellation gives it back inside the policy's full-refund window.)

  payment_processing
       +--+        pay / pay_late                        reschedule
       v  |
      pending ----------------------------> confirmed <-------------+
       |  |                                   |   |                 |
       |  +-- expired --> expired             |   +-----------------+
       |                    |                 |
       |     released_by_client               | cancelled_by_builder, cancelled_by_client, refunded
       v                    v                 v
      cancelled <------------------------------
         (replaced, released_by_client, payment_failed, provider_unreachable,
          repaired_by_reconcile, cancelled_by_builder, refunded)

A hold is ended by the flow `checkout.end_hold` (it settles or expires the Checkout Session first);
the session-level `end_hold_now` is what it, the webhooks (the event carries the session) and the slot
checks inside a transaction (`end_lapsed_holds`: holds whose session already lapsed at Stripe) use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, select

from booking.core.models import (
    Booking,
    BookingStatus,
    Builder,
    CreditEntryKind,
    EndCause,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    SessionType,
    utcnow,
)
from booking.notifications.outbox import NotificationKind, queue_booking_notifications
from booking.payments import credits
from booking.payments import ledger as payment_records
from booking.scheduling import policy
from booking.scheduling.busy import busy_bookings

# The "hold expired" email waits this long, so a release or late payment racing the expiry wins.
HOLD_EXPIRED_GRACE = timedelta(minutes=2)


class BookingNotFound(LookupError):
    pass


class IllegalTransition(RuntimeError):
    """A move the lifecycle's table does not have: a bug in the caller."""


class Event(StrEnum):
    """What moves a booking other than an ending (an ending's event is its `EndCause`)."""

    PAY = "pay"  # Stripe says the hold's payment succeeded
    PAY_LATE = "pay_late"  # ...after the hold had ended, and the slot is still free
    RESCHEDULE = "reschedule"  # the client moved a confirmed booking
    PAYMENT_PROCESSING = "payment_processing"  # Checkout completed with a bank debit: paid or failed later
    PAY_WITH_CREDIT = "pay_with_credit"  # the hold's reserved package credit is spent: no Checkout


Trigger = Event | EndCause

_P, _C, _X, _E = BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.CANCELLED, BookingStatus.EXPIRED

# The table: (state, event or cause) -> state. Nothing changes a booking's state except along it.
TRANSITIONS: dict[tuple[BookingStatus, Trigger], BookingStatus] = {
    (_P, Event.PAY): _C,
    (_P, Event.PAYMENT_PROCESSING): _P,
    (_P, EndCause.EXPIRED): _E,
    (_P, EndCause.REPLACED): _X,
    (_P, EndCause.RELEASED_BY_CLIENT): _X,
    (_P, EndCause.PAYMENT_FAILED): _X,
    (_P, EndCause.PROVIDER_UNREACHABLE): _X,
    (_P, EndCause.REPAIRED_BY_RECONCILE): _X,
    (_P, EndCause.CANCELLED_BY_BUILDER): _X,
    (_P, EndCause.REFUNDED): _X,
    (_C, Event.RESCHEDULE): _C,
    (_C, EndCause.CANCELLED_BY_BUILDER): _X,
    (_C, EndCause.CANCELLED_BY_CLIENT): _X,
    (_C, EndCause.REFUNDED): _X,
    # "Pick another time" expires the session first; its expiry may have ended the hold just before.
    (_E, EndCause.RELEASED_BY_CLIENT): _X,
    (_E, Event.PAY_LATE): _C,
    (_X, Event.PAY_LATE): _C,
    # A full refund the client asked for cancelled it as it landed: the cancellation was the client's.
    (_X, EndCause.CANCELLED_BY_CLIENT): _X,
    (_P, Event.PAY_WITH_CREDIT): _C,
}

# Hold endings that leave nobody's decision behind them: a payment arriving after one may revive it
# (a hold the builder cancelled is refunded instead; an expired one is in its own state).
REVIVABLE_ENDINGS = frozenset({EndCause.REPLACED, EndCause.RELEASED_BY_CLIENT, EndCause.PAYMENT_FAILED,
                               EndCause.PROVIDER_UNREACHABLE, EndCause.REPAIRED_BY_RECONCILE})
# Moves out of an ended state start only from an ending with one of these causes.
ONLY_AFTER: dict[tuple[BookingStatus, Trigger], frozenset[EndCause]] = {
    (_X, Event.PAY_LATE): REVIVABLE_ENDINGS,
    (_X, EndCause.CANCELLED_BY_CLIENT): frozenset({EndCause.REFUNDED}),
}
# The causes that end a hold (`end_hold_now`; `checkout.end_hold` is the flow). A full refund of a hold
# ends it too, but as money lands (`record_refund`).
HOLD_CAUSES = frozenset(cause for (status, cause) in TRANSITIONS
                        if status == _P and isinstance(cause, EndCause) and cause != EndCause.REFUNDED)


def next_status(status: BookingStatus, trigger: Trigger, end_cause: EndCause | None = None) -> BookingStatus:
    """The state `trigger` moves a booking in `status` (ended for `end_cause`) to; IllegalTransition if none."""
    key = (BookingStatus(status), trigger)
    if key not in TRANSITIONS:
        raise IllegalTransition(f"{status} --{trigger}--> is not in the lifecycle's table")
    if key in ONLY_AFTER and end_cause not in ONLY_AFTER[key]:
        raise IllegalTransition(f"{status} ({end_cause}) --{trigger}--> is not in the lifecycle's table")
    return TRANSITIONS[key]


def state_in_table(status: BookingStatus, end_cause: EndCause | None) -> bool:
    """Whether the table can leave a booking in this state: an active one has no end cause, an ended one
    the cause that ended it (for checks such as a stateful test's invariant)."""
    if status in (BookingStatus.PENDING, BookingStatus.CONFIRMED):
        return end_cause is None
    return end_cause is not None and any(to == status for (_from, event), to in TRANSITIONS.items() if event == end_cause)


def sources(trigger: Trigger) -> tuple[BookingStatus, ...]:
    """The states the table lets `trigger` move a booking out of."""
    return tuple(status for (status, event) in TRANSITIONS if event == trigger)


@dataclass(frozen=True)
class ConfirmOutcome:
    booking: Booking
    newly_confirmed: bool
    refund_required: bool = False  # paid, but the slot went to someone else meanwhile


def lock_builder(*, session: Session, builder_id: int) -> None:
    """Serialise hold-taking per builder. SQLite already holds the write lock (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(Builder.id).where(Builder.id == builder_id).with_for_update()).one()


def get_booking(*, session: Session, booking_id: str) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise BookingNotFound(booking_id)
    return booking


_STATE_COLUMNS = frozenset({"status", "end_cause", "end_note"})


def _change_state(*, session: Session, booking_id: str, trigger: Trigger, values: dict[str, object] | None = None,
                  extra_where: tuple = (), from_statuses: tuple[BookingStatus, ...] | None = None,
                  note: str | None = None, now: datetime | None = None,
                  previous: tuple[datetime, datetime] | None = None) -> bool:
    """THE state change: a compare-and-swap from the states the table allows for `trigger` (or the given
    subset of them) to the one it leads to; then the messages it sends. False: the booking was not in
    such a state (moved on meanwhile). Asking for a move the table does not have raises."""
    allowed = sources(trigger)
    if not allowed:
        raise IllegalTransition(f"no state moves on {trigger}")
    for status in from_statuses or ():
        if status not in allowed:
            raise IllegalTransition(f"{status} --{trigger}--> is not in the lifecycle's table")
    if _STATE_COLUMNS & set(values or {}):
        raise IllegalTransition("the status and the end cause follow from the table, not from the caller")
    chosen = from_statuses or allowed
    (target,) = {TRANSITIONS[(status, trigger)] for status in chosen}
    states = [sa.and_(Booking.status == status, Booking.end_cause.in_(ONLY_AFTER[(status, trigger)]))
              if (status, trigger) in ONLY_AFTER else Booking.status == status for status in chosen]
    now = now or utcnow()
    changes: dict[str, object] = {"status": target, **(values or {})}
    if isinstance(trigger, EndCause):
        changes.update(end_cause=trigger, end_note=note)
        if target == BookingStatus.CANCELLED:
            changes["hold_expires_at"] = None
    elif trigger in (Event.PAY, Event.PAY_LATE, Event.PAY_WITH_CREDIT):
        changes.update(end_cause=None, end_note=None)
    result = session.execute(
        sa.update(Booking)
        .where(Booking.id == booking_id, sa.or_(*states), *extra_where)
        .values(updated_at=utcnow(), **changes)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    if result.rowcount != 1:
        return False
    if isinstance(trigger, EndCause):
        _settle_credit(session=session, booking_id=booking_id, cause=trigger, now=now)
    _announce(session=session, booking=get_booking(session=session, booking_id=booking_id), trigger=trigger,
              now=now, previous=previous)
    return True


@dataclass(frozen=True)
class Message:
    """One message a change sends: an outbox kind, the dedupe cause, and how long it waits first."""

    kind: NotificationKind
    cause: str = ""
    delay: timedelta = timedelta(0)


def messages_for(trigger: Trigger, *, booking: Booking, payment_status: PaymentStatus | None = None) -> list[Message]:
    """What people are told about one change (the booking as the change left it, and its payment's status
    as the ledger says): one message per change.

    - paid (or paid late): the confirmation with the invite; moved: the updated invite.
    - the hold ran out: ONE email, after a short grace (a release or a late payment racing the expiry
      wins; the worker checks again when it sends): "payment didn't go through" when the last card was
      declined, else "your hold expired". A decline itself sends nothing: the client sees it on the
      Checkout page and may still pay there.
    - a bank debit submitted (payment processing): nothing yet (the client saw it on the success page).
    - a delayed payment (bank debit) that failed: ONE email to the client, "your bank debit failed, the
      time was released, book again" (the builder was never told of the booking).
    - cancelled by the builder or the client, or a full refund that cancelled a confirmed booking: the
      cancellation (with the CANCEL invite once it was confirmed, and whatever was refunded; the outbox
      folds a refund's own email into it).
    - replaced, released by the client, provider unreachable, repaired by reconcile: the client is on the
      page (or nobody was ever sent to it): nothing. A refund without a cancellation: its own email
      (`record_refund`).
    """
    if trigger in (Event.PAY, Event.PAY_LATE, Event.PAY_WITH_CREDIT):
        return [Message(NotificationKind.BOOKING_CONFIRMED)]
    if trigger == Event.RESCHEDULE:
        return [Message(NotificationKind.BOOKING_RESCHEDULED, f"sequence-{booking.invite_sequence}")]
    if trigger == EndCause.EXPIRED:
        if payment_status == PaymentStatus.FAILED:
            return [Message(NotificationKind.PAYMENT_FAILED, "hold ended", HOLD_EXPIRED_GRACE)]
        return [Message(NotificationKind.HOLD_EXPIRED, "", HOLD_EXPIRED_GRACE)]
    if trigger == Event.PAYMENT_PROCESSING:
        return []  # the success page says it; the confirmation (and the invite) wait for the money
    if trigger == EndCause.PAYMENT_FAILED:
        return [Message(NotificationKind.DEBIT_FAILED, "payment failed")]
    if trigger == EndCause.CANCELLED_BY_BUILDER:
        return [Message(NotificationKind.BOOKING_CANCELLED, "cancelled-by-builder")]
    if trigger == EndCause.CANCELLED_BY_CLIENT:
        return [Message(NotificationKind.BOOKING_CANCELLED, "cancelled-by-client")]
    if trigger == EndCause.REFUNDED and booking.confirmed_at is not None:
        return [Message(NotificationKind.BOOKING_CANCELLED, "refunded")]
    return []


def _announce(*, session: Session, booking: Booking, trigger: Trigger, now: datetime,
              previous: tuple[datetime, datetime] | None) -> None:
    """What people are told about a change: `messages_for` decides, the outbox sends."""
    paid_as = payment_records.money_of(session=session, booking=booking).status
    for message in messages_for(trigger, booking=booking, payment_status=paid_as):
        for row in queue_booking_notifications(session=session, booking=booking, kind=message.kind,
                                               cause=message.cause, previous=previous):
            if message.delay:
                row.next_attempt_at = now + message.delay
                session.add(row)


def _settle_credit(*, session: Session, booking_id: str, cause: EndCause, now: datetime) -> None:
    """A booking paid (or held) with a package credit ended: its credit comes back, or stays spent when the
    client cancelled after the policy's full-refund window (a late cancellation uses it up)."""
    state = credits.booking_credit_state(session=session, booking_id=booking_id)
    if state is None or state == CreditEntryKind.RETURNED:
        return
    if state == CreditEntryKind.RESERVED:
        credits.release_reservation(session=session, booking_id=booking_id, now=now)
        return
    if cause == EndCause.CANCELLED_BY_CLIENT:
        booking = get_booking(session=session, booking_id=booking_id)
        rules = policy.effective_policy(session.get(Builder, booking.builder_id),
                                        session.get(SessionType, booking.session_type_id))
        start = booking.start_time if booking.start_time.tzinfo else booking.start_time.replace(tzinfo=UTC)
        if now > policy.full_refund_until(rules, start):
            return  # late: the credit is used up
    credits.return_credit(session=session, booking_id=booking_id, now=now)


# --- paying --------------------------------------------------------------------------------------------


def confirm_with_credit(*, session: Session, booking_id: str, now: datetime | None = None) -> bool:
    """A hold whose credit is reserved is confirmed at once, and the credit spent (no Checkout, no money)."""
    now = now or utcnow()
    if not _change_state(session=session, booking_id=booking_id, trigger=Event.PAY_WITH_CREDIT, now=now,
                         values={"confirmed_at": now, "hold_expires_at": None}):
        return False
    credits.redeem(session=session, booking_id=booking_id, now=now)
    return True


def confirm_paid(*, session: Session, booking_id: str, payment_intent_id: str | None,
                 now: datetime | None = None) -> ConfirmOutcome:
    """Record a successful payment and confirm the booking, exactly once."""
    now = now or utcnow()
    booking = get_booking(session=session, booking_id=booking_id)
    values: dict[str, object] = {
        "confirmed_at": now,
        "hold_expires_at": None,
    }
    if _change_state(session=session, booking_id=booking_id, trigger=Event.PAY, values=values, now=now):
        return ConfirmOutcome(booking=get_booking(session=session, booking_id=booking_id), newly_confirmed=True)

    booking = get_booking(session=session, booking_id=booking_id)
    # A paid booking that lost its hold can be revived only if it was never paid or refunded before: the
    # ledger has no settled attempt of it yet (the caller records this payment after this call).
    if booking.status == BookingStatus.CONFIRMED or payment_records.money_of(session=session, booking=booking).paid:
        return ConfirmOutcome(booking=booking, newly_confirmed=False)
    return _revive_late_payment(session=session, booking=booking, values=values, now=now)


def _revive_late_payment(*, session: Session, booking: Booking, values: dict[str, object],
                         now: datetime) -> ConfirmOutcome:
    """The hold lapsed (or was released) but the money arrived: keep the slot if it is still free (and
    nobody cancelled it on purpose), else the money goes back."""
    lock_builder(session=session, builder_id=booking.builder_id)
    others = [
        b for b in busy_bookings(session=session, builder_id=booking.builder_id,
                                 start=booking.start_time, end=booking.end_time, now=now)
        if b.id != booking.id
    ]
    if not others:
        try:
            with session.begin_nested():
                revived = _change_state(session=session, booking_id=booking.id, trigger=Event.PAY_LATE, values=values,
                                now=now)
        except sa.exc.IntegrityError:
            revived = False
        if revived:
            return ConfirmOutcome(booking=get_booking(session=session, booking_id=booking.id), newly_confirmed=True)
    booking = get_booking(session=session, booking_id=booking.id)
    return ConfirmOutcome(booking=booking, newly_confirmed=False, refund_required=True)


def mark_payment_processing(*, session: Session, booking_id: str, payment: Payment | None) -> bool:
    """Checkout finished with a delayed payment method (a bank debit): the booking stays pending, its slot
    taken, until Stripe says paid (`confirm_paid`) or failed (`end_hold_now`, PAYMENT_FAILED). The attempt's
    Payment row says `processing` (payment_records.mark_processing), which keeps the sweeper away. Once only:
    a repeated event, or one after the payment was settled, moves nothing (False)."""
    moved = _change_state(session=session, booking_id=booking_id, trigger=Event.PAYMENT_PROCESSING,
                          extra_where=(payment_records.awaits_payment(),))
    if moved:  # never for a hold that ended meanwhile (a failed debit's events can overtake this one)
        payment_records.mark_processing(session=session, payment=payment)
    return moved


def record_payment_failure(*, session: Session, booking_id: str, payment_intent_id: str | None,
                           cause: str) -> bool:
    """A card was declined inside Checkout: the hold stays while the session is open."""
    booking = get_booking(session=session, booking_id=booking_id)
    money = payment_records.money_of(session=session, booking=booking)
    # Already paid (events arrive out of order): nothing to record. Otherwise no email either: the client
    # sees the decline on the Checkout page and may pay there. If the hold then ends unpaid, its ending
    # says so, once (`messages_for`). (The attempt's row says `failed`: ledger.mark_failed.)
    return booking.status == BookingStatus.PENDING and not money.paid and not money.processing


# --- ending a hold -------------------------------------------------------------------------------------


def end_hold_now(*, session: Session, booking_id: str, cause: EndCause, checkout_session_id: str | None = None,
                 only_if_lapsed: bool = False, now: datetime | None = None, note: str | None = None) -> bool:
    """The session-level end of a hold, for `cause` (never a paid or paying one; a failed delayed payment
    ends the hold it was paying). No Stripe here: the flow `checkout.end_hold` settles or expires the
    Checkout Session first; a webhook passes the session its event carries (`checkout_session_id`: only
    the booking's current session ends it, "Try again" expires the previous one)."""
    if cause not in HOLD_CAUSES:
        raise IllegalTransition(f"{cause} does not end a hold")
    now = now or utcnow()
    # Asked of the ledger: no attempt paid, none paying (a failed delayed payment may still show as paying).
    where: tuple = (~payment_records.is_paid(),) if cause == EndCause.PAYMENT_FAILED \
        else (payment_records.awaits_payment(),)
    if checkout_session_id is not None:
        where += (payment_records.current_session_is(checkout_session_id),)
    if only_if_lapsed:
        where += (Booking.hold_expires_at <= now,)
    holds = tuple(status for status in sources(cause) if status in (BookingStatus.PENDING, BookingStatus.EXPIRED))
    return _change_state(session=session, booking_id=booking_id, trigger=cause, from_statuses=holds,
                         extra_where=where, now=now, note=note)


def end_lapsed_holds(*, session: Session, builder_id: int, start: datetime, end: datetime,
                     now: datetime) -> None:
    """Inside a slot check (a new hold, a move): holds of the builder overlapping [start, end) past their
    expiry still count for the database constraint until they end. Their Checkout Sessions lapsed at
    Stripe with them (`expires_at` is the hold's), so there is nothing to expire; a payment that beat
    the expiry is a late payment (kept while the slot is free, else refunded)."""
    lapsed = session.exec(select(Booking.id).where(
        Booking.builder_id == builder_id, Booking.status == BookingStatus.PENDING,
        Booking.hold_expires_at <= now, Booking.start_time < end, Booking.end_time > start)).all()
    for booking_id in lapsed:
        end_hold_now(session=session, booking_id=booking_id, cause=EndCause.EXPIRED, only_if_lapsed=True, now=now)


def stale_holds(*, session: Session, now: datetime, limit: int = 100) -> list[Booking]:
    return list(
        session.exec(
            select(Booking)
            .where(
                Booking.status == BookingStatus.PENDING,
                Booking.hold_expires_at <= now,
                payment_records.awaits_payment(),
            )
            .order_by(Booking.hold_expires_at)
            .limit(limit)
        ).all()
    )


# --- ending a confirmed booking, moving it -------------------------------------------------------------


def cancel_by_builder(*, session: Session, booking_id: str, note: str | None = None) -> bool:
    """The builder (or the platform) cancels a confirmed booking: the slot is free again and the client is
    told. Money is not touched here: a refund goes through its own flow. (A hold: `checkout.end_hold`.)"""
    return _change_state(session=session, booking_id=booking_id, trigger=EndCause.CANCELLED_BY_BUILDER,
                 from_statuses=(BookingStatus.CONFIRMED,), note=note)


def cancel_by_client(*, session: Session, booking_id: str, now: datetime | None = None) -> bool:
    """The client cancels their confirmed booking (its refund, if any, was asked for first). If that
    full refund already cancelled it as it landed, the cancellation is recorded as the client's."""
    return _change_state(session=session, booking_id=booking_id, trigger=EndCause.CANCELLED_BY_CLIENT, now=now)


def reschedule(*, session: Session, booking_id: str, from_start: datetime, new_start: datetime,
               new_end: datetime, now: datetime | None = None) -> bool:
    """Move a confirmed booking (still at `from_start`) to [new_start, new_end); the invite's SEQUENCE goes
    up. The database's no-overlap constraint may refuse it (IntegrityError: the caller's savepoint)."""
    booking = get_booking(session=session, booking_id=booking_id)
    previous = (booking.start_time, booking.end_time)
    return _change_state(session=session, booking_id=booking_id, trigger=Event.RESCHEDULE, now=now, previous=previous,
                 values={"start_time": new_start, "end_time": new_end,
                         "reschedule_count": Booking.reschedule_count + 1,
                         "invite_sequence": Booking.invite_sequence + 1},
                 extra_where=(Booking.start_time == from_start,))


def record_refund(*, session: Session, booking_id: str, amount_refunded: int, fully_refunded: bool) -> Booking:
    """A refund landed at Stripe and moved the payment's total (the ledger holds the amounts). A full
    refund made outside the app cancels the booking and frees the slot."""
    booking = get_booking(session=session, booking_id=booking_id)
    full = fully_refunded
    cause = "full" if full else f"partial-{amount_refunded}"
    # A full refund made outside the app (the Stripe dashboard) cancels the booking. One asked for here
    # carries its own decision: the builder chose whether the session is cancelled too (that cancels it
    # explicitly), the client's cancellation cancels it after its refund, a late payment's had no slot.
    if full and not _only_refunds_asked_for_here(session=session, booking_id=booking_id):
        _change_state(session=session, booking_id=booking_id, trigger=EndCause.REFUNDED)
        booking = get_booking(session=session, booking_id=booking_id)
    queue_booking_notifications(session=session, booking=booking, kind=NotificationKind.BOOKING_REFUNDED, cause=cause)
    return booking


def _only_refunds_asked_for_here(*, session: Session, booking_id: str) -> bool:
    """Every refund Stripe accepted for this booking was asked for in the app (it has our request key)."""
    accepted = session.exec(select(Refund.request_key).where(
        Refund.booking_id == booking_id, Refund.status.in_((RefundStatus.PENDING, RefundStatus.SUCCEEDED)))).all()
    return bool(accepted) and all(key for key in accepted)


def refunds_settled(*, session: Session, booking_id: str, payment: Payment | None) -> None:
    """The ledger settled a payment's refunds: when its total moved (`payment` given), the booking follows
    (a full refund cancels it). An older or repeated event moves nothing, and `payment` is None."""
    if payment is None or payment.amount_refunded <= 0:
        return
    record_refund(session=session, booking_id=booking_id, amount_refunded=payment.amount_refunded,
                  fully_refunded=payment.amount_refunded >= payment.amount)
