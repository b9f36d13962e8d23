"""The booking lifecycle under random interleavings, through the Stripe emulator, on every database.

A hypothesis `RuleBasedStateMachine` plays clients, a builder, Stripe and the clock against the real
flows: holds are taken (sometimes replacing the same browser's earlier hold), paid with 4242 or
declined with 0002 through the emulator's control path, confirmed from the success page, renewed
("Try again") or released ("Pick another time"); Stripe's events are held back and delivered late, out
of order and twice; both clocks jump past the hold; the sweeper ticks; clients cancel and reschedule
through their manage link; the builder refunds (in full or in part) and cancels.

After every step:
- no two active bookings (pending or confirmed) of the builder overlap;
- no booking was charged twice (succeeded charges at the emulator, per booking);
- every state is one the lifecycle's table can leave a booking in, every change of (status, end cause)
  seen is in its table (`booking.lifecycle.transitions`), a booking is never confirmed again once it
  was paid, and money never goes back (paid -> unpaid).
Once the dust settles (every held event delivered, a minute passes, the sweeper ticks; a `settle` rule
and the teardown do that):
- no payment is kept for a booking that is not confirmed, except what a deliberate cancellation kept
  (the builder's "no/partial refund", the client's policy share);
- no hold outlives its expiry.
"""

from __future__ import annotations

import collections
import itertools
import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlmodel import Session, select

from booking.accounts.authz import Actor
from booking.client import manage, receipts
from booking.core.config import get_settings, load_settings
from booking.core.models import Booking, BookingStatus, EndCause, Payment, PaymentStatus, UserRole, utcnow
from booking.events.webhooks import handle_webhook
from booking.lifecycle import abuse, refunds
from booking.lifecycle import checkout as payments
from booking.lifecycle.transitions import ONLY_AFTER, TRANSITIONS, state_in_table
from booking.notifications import manage_links
from booking.payments import ledger
from booking.payments.gateway import PaymentProviderError, StripeGateway
from booking.scheduling.availability import END_OF_DAY
from stripe_emulator.core.payment_engine import SessionUnavailable
from stripe_emulator.server import EmulatorServer
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.databases import empty_all_tables

SETTINGS = load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30, MAX_HOLDS_PER_EMAIL=50)
SECRET = "stateful-test-secret-" + "s" * 40
GOOD_CARD, DECLINED_CARD = "4242424242424242", "4000000000000002"
P, C, X, E = BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.CANCELLED, BookingStatus.EXPIRED

# The lifecycle's table (booking.lifecycle.transitions.TRANSITIONS, (state, event or cause) -> state) read
# as what one step may show: a change of (status, end cause) is in the table when some trigger takes
# the old status to the new one, the new end cause is that trigger's (or none after a payment), and the
# old end cause is one the table allows that move after.
FIRST_STATES = ((P, None), (X, EndCause.PROVIDER_UNREACHABLE))  # a new booking: a hold, or Stripe was down


def in_table(old: tuple[BookingStatus, EndCause | None], new: tuple[BookingStatus, EndCause | None]) -> bool:
    for (status, trigger), target in TRANSITIONS.items():
        if status != old[0] or target != new[0]:
            continue
        if new[1] != (trigger if isinstance(trigger, EndCause) else None):
            continue
        if (status, trigger) in ONLY_AFTER and old[1] not in ONLY_AFTER[(status, trigger)]:
            continue
        return True
    return False


# Money moves one way: a refund never becomes a payment again, a payment never "unpaid". (The booking's
# payment as the ledger says: its settled attempt, else its latest; None before any attempt.)
REVIVABLE = (None, PaymentStatus.CREATING, PaymentStatus.OPEN, PaymentStatus.EXPIRED, PaymentStatus.FAILED,
             PaymentStatus.PROCESSING)
MONEY_RANK = {
    **dict.fromkeys(REVIVABLE, 0),
    PaymentStatus.PAID: 1, PaymentStatus.PARTIALLY_REFUNDED: 2, PaymentStatus.REFUNDED: 3,
}


SEEN_TRANSITIONS: collections.Counter[tuple[str, str]] = collections.Counter()  # over the run (pytest -s shows it)


@dataclass(frozen=True)
class Seen:
    status: BookingStatus
    end_cause: EndCause | None
    payment_status: PaymentStatus | None
    start_time: datetime


@pytest.fixture
def app_settings(engine, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", SECRET)  # the manage links
    monkeypatch.setenv("PUBLIC_URL", "https://book.example")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _utc(moment: datetime) -> datetime:
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=utcnow().tzinfo)


class LastMomentPayer:
    """The real gateway, except that when armed, the client pays (4242) the Checkout Session the app is
    about to expire, just before the expiry reaches Stripe: the race every "close the session first"
    path must survive."""

    def __init__(self, inner: StripeGateway, emulator: EmulatorServer) -> None:
        self.inner, self.emulator, self.armed = inner, emulator, False

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def expire_checkout_session(self, checkout_session_id: str, **kwargs):
        if self.armed:
            self.armed = False
            try:
                self.emulator.emulator.pay(checkout_session_id, number=GOOD_CARD, expiry="12/34", cvc="123",
                                           email="client@example.com", name="Client")
            except SessionUnavailable:
                pass
        return self.inner.expire_checkout_session(checkout_session_id, **kwargs)


def lifecycle_machine(*, engine, database_url: str, emulator: EmulatorServer) -> type[RuleBasedStateMachine]:
    gateway = LastMomentPayer(StripeGateway(secret_key="sk_test_stateful", webhook_secret=se.WEBHOOK_SECRET,
                                            api_base=emulator.url, max_network_retries=0), emulator)
    emu = emulator.emulator
    keys = itertools.count(1)

    class Lifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            empty_all_tables(database_url)
            emu.reset()
            gateway.armed = False
            self.offset = timedelta(0)  # the app's clock runs this far ahead of the real one (as the emulator's)
            with Session(engine) as s:
                builder = make_builder(s, time_zone="UTC", hours=(time(0, 0), END_OF_DAY), name="Ada",
                                       email="ada@builder.test")
                session_type = make_session_type(s, builder, price_amount=6000, currency="gbp", name="Consult",
                                                 duration_minutes=60)
                s.commit()
                self.builder_id, self.session_type_id = builder.id, session_type.id
            self.actor = Actor(user_id=None, email="ada@builder.test", role=UserRole.BUILDER,
                               builder_id=self.builder_id)
            day = (utcnow() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
            # Overlapping starts (a 60-minute session every 30 minutes) and one on another day.
            self.starts = [day, day + timedelta(minutes=30), day + timedelta(hours=1), day + timedelta(days=1)]
            self.booking_ids: list[str] = []
            self.sessions: dict[str, list[str]] = {}  # booking -> its Checkout Sessions, oldest first
            self.seen_events: set[str] = set()
            self.held_events: list[dict] = []  # fetched from the emulator, not delivered yet
            self.delivered: list[dict] = []  # may be delivered again
            self.kept_by_choice: dict[str, set[str]] = {}  # booking -> charges a deliberate cancel kept
            self.last: dict[str, Seen] = {}

        # --- helpers -------------------------------------------------------------------------------

        def now(self) -> datetime:
            return utcnow() + self.offset

        def pick(self, index: int) -> str:
            return self.booking_ids[index % len(self.booking_ids)]

        def booking(self, booking_id: str) -> Booking:
            with Session(engine) as s:
                return s.get(Booking, booking_id)

        def fetch_events(self) -> None:
            """Stripe's new events are held back here until a rule delivers them."""
            with emu.lock:
                events = list(reversed(emu.store.all("event")))  # oldest first
            for event in events:
                if event["id"] not in self.seen_events:
                    self.seen_events.add(event["id"])
                    self.held_events.append(event)

        def deliver_event(self, event: dict) -> None:
            payload = json.dumps(event).encode()
            result = handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload))
            assert result.status_code == 200, (event["type"], result.body)
            self.delivered.append(event)

        def charges_by_booking(self) -> dict[str, list[dict]]:
            snapshot = emu.snapshot()
            booking_of_intent = {s["payment_intent"]: (s.get("metadata") or {}).get("booking_id")
                                 for s in snapshot["checkout_sessions"] if s.get("payment_intent")}
            found: dict[str, list[dict]] = {}
            for charge in snapshot["charges"]:
                booking_id = booking_of_intent.get(charge.get("payment_intent"))
                if charge.get("status") == "succeeded" and booking_id:
                    found.setdefault(booking_id, []).append(charge)
            return found

        # --- the client ------------------------------------------------------------------------------

        @initialize(slot=st.integers(0, 3), paid=st.booleans())
        def first_hold(self, slot: int, paid: bool) -> None:
            """Every run starts with a hold, half of them paid at once (the events still held back)."""
            self.take_hold(slot=slot, client=0, browser="b0")
            if paid and self.booking_ids:
                self.pay(index=0, card=GOOD_CARD, oldest=False)

        @rule(slot=st.integers(0, 3), client=st.integers(0, 2), browser=st.sampled_from([None, "b1", "b2"]))
        def take_hold(self, slot: int, client: int, browser: str | None) -> None:
            try:
                started = payments.begin_checkout(
                    engine=engine, gateway=gateway, settings=SETTINGS, session_type_id=self.session_type_id,
                    start_time=self.starts[slot], client_name=f"Client {client}",
                    client_email=f"client{client}@example.com", browser_hold_key=browser, now=self.now())
            except (payments.SlotUnavailable, abuse.TooManyHolds):
                return
            self.booking_ids.append(started.booking_id)
            self.sessions[started.booking_id] = [started.checkout_session_id]
            self.fetch_events()

        @precondition(lambda self: self.booking_ids)
        @rule(index=st.integers(0, 50), card=st.sampled_from([GOOD_CARD, GOOD_CARD, DECLINED_CARD]),
              oldest=st.booleans())
        def pay(self, index: int, card: str, oldest: bool) -> None:
            """The client pays on the hosted page (4242) or is declined there (0002); `oldest`: on the
            booking's first Checkout Session, which "Try again" may have replaced."""
            sessions = self.sessions.get(self.pick(index)) or []
            if not sessions:
                return
            try:
                emu.pay(sessions[0] if oldest else sessions[-1], number=card, expiry="12/34", cvc="123",
                        email="client@example.com", name="Client")
            except SessionUnavailable:
                pass  # expired or already paid: the hosted page says so
            self.fetch_events()

        @rule()
        def pay_just_as_checkout_closes(self) -> None:
            """The next Checkout Session the app expires (a replaced hold, "Pick another time", the sweeper,
            "Try again", a builder's cancel) is paid a moment before the expiry lands."""
            gateway.armed = True

        @precondition(lambda self: self.booking_ids)
        @rule(index=st.integers(0, 50), oldest=st.booleans())
        def success_page(self, index: int, oldest: bool) -> None:
            sessions = self.sessions.get(self.pick(index)) or []
            if sessions:
                receipts.confirm_from_success_page(engine=engine, gateway=gateway,
                                                   checkout_session_id=sessions[0] if oldest else sessions[-1])

        @precondition(lambda self: self.booking_ids)
        @rule(index=st.integers(0, 50))
        def try_again(self, index: int) -> None:
            booking_id = self.pick(index)
            try:
                started = payments.retry_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                                  booking_id=booking_id, now=self.now())
            except (payments.HoldNotActive, PaymentProviderError):
                return
            finally:
                self.fetch_events()
            if started.checkout_session_id not in self.sessions[booking_id]:
                self.sessions[booking_id].append(started.checkout_session_id)

        @precondition(lambda self: self.booking_ids)
        @rule(index=st.integers(0, 50))
        def pick_another_time(self, index: int) -> None:
            try:
                payments.release_hold_and_expire(engine=engine, gateway=gateway, booking_id=self.pick(index))
            except PaymentProviderError:
                pass  # paid a moment before: the page says the time is still held, and the payment lands
            self.fetch_events()

        @precondition(lambda self: self.booking_ids)
        @rule(index=st.integers(0, 50))
        def client_cancels(self, index: int) -> None:
            booking_id = self.pick(index)
            before = self.booking(booking_id).status
            try:
                outcome = manage.cancel_by_client(engine=engine, gateway=gateway,
                                                  token=manage_links.derive_token(booking_id), now=self.now())
            except manage.ManageError:
                return
            finally:
                self.fetch_events()
            if outcome.code == "cancelled" and before == C:
                self.keep_by_choice(booking_id)

        @precondition(lambda self: self.booking_ids)
        @rule(index=st.integers(0, 50), slot=st.integers(0, 3))
        def client_reschedules(self, index: int, slot: int) -> None:
            try:
                manage.reschedule(engine=engine, token=manage_links.derive_token(self.pick(index)),
                                  new_start=self.starts[slot], now=self.now())
            except manage.ManageError:
                pass

        # --- the builder -----------------------------------------------------------------------------

        @precondition(lambda self: self.booking_ids)
        @rule(index=st.integers(0, 50), full=st.booleans(), cancel_too=st.booleans())
        def builder_refunds(self, index: int, full: bool, cancel_too: bool) -> None:
            """In full (asked: is the session cancelled too?) or in part."""
            booking_id = self.pick(index)
            before = self.booking(booking_id).status
            try:
                outcome = refunds.request_refund(
                    engine=engine, gateway=gateway, actor=self.actor, booking_id=booking_id,
                    amount=None if full else 1500, reason="requested_by_customer",
                    request_key=f"refund-{next(keys)}", cancel_session=cancel_too, now=self.now())
            except refunds.Refused:
                return
            if before == C and self.booking(booking_id).status == X and outcome.message:
                self.keep_by_choice(booking_id)

        @precondition(lambda self: self.booking_ids)
        @rule(index=st.integers(0, 50), refund=st.sampled_from(list(refunds.RefundChoice)))
        def builder_cancels(self, index: int, refund: refunds.RefundChoice) -> None:
            booking_id = self.pick(index)
            try:
                outcome = refunds.cancel_booking(
                    engine=engine, gateway=gateway, actor=self.actor, booking_id=booking_id, refund=refund,
                    amount=2000 if refund == refunds.RefundChoice.PARTIAL else None,
                    refund_reason="requested_by_customer",
                    request_key=f"cancel-{next(keys)}")
            except refunds.Refused:
                return
            finally:
                self.fetch_events()
            if outcome.cancelled:
                self.keep_by_choice(booking_id)

        def keep_by_choice(self, booking_id: str) -> None:
            """A deliberate cancellation may keep what was paid so far (nothing paid later)."""
            self.kept_by_choice[booking_id] = {c["id"] for c in self.charges_by_booking().get(booking_id, [])}

        # --- Stripe and the clock --------------------------------------------------------------------

        @precondition(lambda self: self.held_events or self.delivered)
        @rule(index=st.integers(0, 50),
              which=st.sampled_from(["held", "held", "held again", "delivered", "all, newest first"]))
        def deliver_events(self, index: int, which: str) -> None:
            """Any held event, out of order ("held again": it stays held, so it arrives twice), one
            delivered before, again, or every held one, newest first."""
            if which == "all, newest first":
                while self.held_events:
                    self.deliver_event(self.held_events.pop())
                return
            pool = self.delivered if which == "delivered" and self.delivered or not self.held_events \
                else self.held_events
            event = pool[index % len(pool)]
            if pool is self.held_events and which == "held":
                self.held_events.remove(event)
            self.deliver_event(event)

        @rule(minutes=st.sampled_from([1, 20, 32]))
        def time_passes(self, minutes: int) -> None:
            self.offset += timedelta(minutes=minutes)
            emu.advance(minutes * 60)  # sessions past expires_at expire; their events are held
            self.fetch_events()

        @rule()
        def sweeper_tick(self) -> None:
            payments.sweep_expired_holds(engine=engine, gateway=gateway, now=self.now())
            self.fetch_events()

        @rule()
        def settle(self) -> None:
            self.settle_and_check()

        def settle_and_check(self) -> None:
            for _round in range(4):  # every event delivered, a minute passes, the sweeper ticks
                self.fetch_events()
                while self.held_events:
                    self.deliver_event(self.held_events.pop(0))
                self.offset += timedelta(minutes=1)
                emu.advance(60)
                swept_at = self.now()
                payments.sweep_expired_holds(engine=engine, gateway=gateway, now=swept_at)
                self.fetch_events()
                if not self.held_events:
                    break
            self.check_transitions()
            charges = self.charges_by_booking()
            for booking_id in self.booking_ids:
                booking = self.booking(booking_id)
                kept = sum(c["amount"] - c["amount_refunded"] for c in charges.get(booking_id, [])
                           if c["id"] not in self.kept_by_choice.get(booking_id, set()))
                assert booking.status == C or kept == 0, (
                    f"booking {booking_id} is {booking.status} ({booking.cancellation_reason}) but "
                    f"{kept} of its payment was kept")
                if booking.status == P:
                    assert booking.hold_expires_at is not None and _utc(booking.hold_expires_at) > swept_at, \
                        f"hold {booking_id} outlived its expiry"

        def teardown(self) -> None:
            if getattr(self, "booking_ids", None) is not None:
                self.settle_and_check()


        # --- after every step ------------------------------------------------------------------------

        @invariant()
        def stripes_new_events_are_held(self) -> None:
            """Not a check: whatever a step made Stripe emit waits here until a rule delivers it."""
            self.fetch_events()

        @invariant()
        def no_slot_is_double_booked(self) -> None:
            with Session(engine) as s:
                active = s.exec(select(Booking).where(Booking.builder_id == self.builder_id,
                                                      Booking.status.in_((P, C)))).all()
            spans = sorted((_utc(b.start_time), _utc(b.end_time), b.id) for b in active)
            for (_s1, end1, id1), (start2, _e2, id2) in itertools.pairwise(spans):
                assert start2 >= end1, f"bookings {id1} and {id2} overlap"

        @invariant()
        def no_booking_is_charged_twice(self) -> None:
            for booking_id, charges in self.charges_by_booking().items():
                assert len(charges) <= 1, f"booking {booking_id} was charged {len(charges)} times"

        @invariant()
        def every_change_is_in_the_table(self) -> None:
            self.check_transitions()

        def check_transitions(self) -> None:
            with Session(engine) as s:
                rows = s.exec(sa.select(Booking.id, Booking.status, Booking.end_cause, Payment.status,
                                        Booking.start_time, Payment.amount, Payment.amount_refunded)
                              .outerjoin(Payment, Payment.id == ledger.booking_payment_id())).all()
            for booking_id, status, end_cause, payment_status, start, amount, refunded in rows:
                now = Seen(BookingStatus(status), EndCause(end_cause) if end_cause else None,
                           PaymentStatus(payment_status) if payment_status else None, _utc(start))
                state = (now.status, now.end_cause)
                assert state_in_table(*state), f"booking {booking_id} is in {state}, which the table never leaves"
                assert 0 <= (refunded or 0) <= (amount or 0), f"booking {booking_id}: {refunded} refunded of {amount}"
                before = self.last.get(booking_id)
                if before is None:
                    assert state in FIRST_STATES, f"booking {booking_id} appeared as {state}"
                else:
                    old = (before.status, before.end_cause)
                    if old != state:
                        assert in_table(old, state), f"booking {booking_id}: {old} -> {state} is not in the table"
                        if now.status == C:
                            assert before.status == P or before.payment_status in REVIVABLE, \
                                f"booking {booking_id} confirmed again after its payment was {before.payment_status}"
                        SEEN_TRANSITIONS[(before.status.value, now.status.value)] += 1
                    assert MONEY_RANK[now.payment_status] >= MONEY_RANK[before.payment_status], \
                        f"booking {booking_id}: payment went from {before.payment_status} to {now.payment_status}"
                    if now.start_time != before.start_time:
                        assert before.status == now.status == C, f"booking {booking_id} moved while {now.status}"
                self.last[booking_id] = now

    return Lifecycle


def test_random_interleavings_keep_the_lifecycle_invariants(engine, database_url, emulator, app_settings):
    SEEN_TRANSITIONS.clear()
    machine = lifecycle_machine(engine=engine, database_url=database_url, emulator=emulator)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=40, stateful_step_count=15, deadline=None, database=None,
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    ))
    print(f"\nstatus changes seen ({database_url.split(':')[0]}):", dict(SEEN_TRANSITIONS))


def test_a_decline_reported_after_try_again_does_not_break_the_old_sessions_events(engine, emulator, app_settings):
    """Found by the machine above: the payment_intent event of a card declined on the session "Try again"
    replaced names no session, so it was pinned on the new attempt; the old session's own expiry event
    then failed for ever (UNIQUE payment.payment_intent_id). Every event now applies, in Stripe's order."""
    emulator.emulator.reset()
    gateway = StripeGateway(secret_key="sk_test_stateful", webhook_secret=se.WEBHOOK_SECRET, api_base=emulator.url,
                            max_network_retries=0)
    with Session(engine) as s:
        builder = make_builder(s, time_zone="UTC", hours=(time(0, 0), END_OF_DAY))
        session_type_id = make_session_type(s, builder, price_amount=6000, currency="gbp").id
        s.commit()
    start = (utcnow() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    started = payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS,
                                      session_type_id=session_type_id, start_time=start, client_name="Ann",
                                      client_email="ann@example.com")
    emulator.emulator.pay(started.checkout_session_id, number=DECLINED_CARD, expiry="12/34", cvc="123",
                          email="ann@example.com", name="Ann")
    retried = payments.retry_checkout(engine=engine, gateway=gateway, settings=SETTINGS, booking_id=started.booking_id)
    emulator.emulator.pay(retried.checkout_session_id, number=GOOD_CARD, expiry="12/34", cvc="123",
                          email="ann@example.com", name="Ann")

    with emulator.emulator.lock:
        events = list(reversed(emulator.emulator.store.all("event")))
    for event in events:  # delivered only now, in the order Stripe made them
        payload = json.dumps(event).encode()
        result = handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload))
        assert result.status_code == 200, (event["type"], result.body)

    with Session(engine) as s:
        booking = s.get(Booking, started.booking_id)
        assert (booking.status, ledger.money_of(session=s, booking=booking).checkout_session_id) == (
            C, retried.checkout_session_id)
