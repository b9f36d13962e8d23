"""start_checkout, retry, release, the sweeper and success-page fulfilment on a real database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from booking.client import receipts
from booking.core.config import load_settings
from booking.core.models import Booking, BookingStatus, EndCause, Payment, PaymentStatus
from booking.lifecycle import checkout as payments
from booking.payments.gateway import PaymentProviderError
from tests.factories import make_builder, make_session_type
from tests.support.fake_gateway import FakeGateway
from tests.support.ledger import money

NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)
SETTINGS = load_settings(PUBLIC_URL="https://book.example", HOLD_MINUTES=30)


def next_ten_am() -> datetime:
    return (NOW + timedelta(days=2)).replace(hour=10, minute=0)


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def session_type(session: Session):
    builder = make_builder(session, time_zone="UTC")
    st = make_session_type(session, builder, price_amount=5000, currency="jpy", name="Quick consult")
    session.commit()
    return st


def begin(engine, gateway, session_type, start=None, email="ann@example.com", **kw):
    return payments.begin_checkout(
        engine=engine, gateway=gateway, settings=SETTINGS, session_type_id=session_type.id,
        start_time=start or next_ten_am(), client_name="Ann", client_email=email, **kw,
    )


def all_bookings(engine) -> list[Booking]:
    with Session(engine) as s:
        return list(s.exec(select(Booking)).all())


def test_checkout_holds_the_slot_and_asks_stripe_for_the_server_side_price(engine, gateway, session_type):
    started = begin(engine, gateway, session_type, client_time_zone="Asia/Tokyo")

    [booking] = all_bookings(engine)
    assert booking.status == BookingStatus.PENDING
    held = money(engine, booking.id)
    assert held.checkout_session_id == started.checkout_session_id
    assert (held.amount, held.currency, booking.client_time_zone) == (5000, "jpy", "Asia/Tokyo")
    request, key = gateway.created[0]
    assert (request.amount, request.currency, request.price_id) == (5000, "jpy", None)
    assert key == f"booking-{booking.id}-checkout-1"
    assert request.expires_at == booking.hold_expires_at
    assert timedelta(minutes=30) < booking.hold_expires_at - datetime.now(timezone.utc) <= timedelta(minutes=31)
    assert request.success_url == "https://book.example/payment/success?session_id={CHECKOUT_SESSION_ID}"
    assert request.cancel_url == "https://book.example/payment/cancel"  # no booking id: found by the hold key
    assert request.metadata == {"booking_id": booking.id, "builder_id": str(booking.builder_id),
                                "client_id": str(booking.client_id)}
    assert request.client_reference_id == booking.id


def test_a_stripe_price_is_used_when_the_session_type_has_one(engine, gateway, session, session_type):
    session_type.stripe_price_id = "price_abc"
    session.add(session_type)
    session.commit()

    begin(engine, gateway, session_type)

    assert gateway.created[0][0].price_id == "price_abc"


def test_second_client_for_the_same_slot_is_refused(engine, gateway, session_type):
    begin(engine, gateway, session_type)

    with pytest.raises(payments.SlotUnavailable):
        begin(engine, gateway, session_type, email="bob@example.com")

    assert len(all_bookings(engine)) == 1
    assert len(gateway.created) == 1


def test_an_overlapping_start_is_refused(engine, gateway, session_type):
    begin(engine, gateway, session_type)

    with pytest.raises(payments.SlotUnavailable):
        begin(engine, gateway, session_type, start=next_ten_am() + timedelta(minutes=30), email="bob@example.com")


def test_fifty_concurrent_checkouts_for_one_slot_hold_it_exactly_once(engine, gateway, session_type):
    def attempt(n: int) -> str:
        try:
            begin(engine, gateway, session_type, email=f"client{n}@example.com")
            return "held"
        except payments.SlotUnavailable:
            return "refused"

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, range(50)))

    assert outcomes.count("held") == 1
    assert outcomes.count("refused") == 49
    assert len([b for b in all_bookings(engine) if b.status == BookingStatus.PENDING]) == 1
    assert len(gateway.created) == 1


def test_stripe_down_releases_the_hold(engine, gateway, session_type):
    gateway.down = True

    with pytest.raises(PaymentProviderError):
        begin(engine, gateway, session_type)

    # The hold was written before Stripe was asked (no transaction open during the call), then released.
    [released] = all_bookings(engine)
    assert (released.status, released.end_cause) == (BookingStatus.CANCELLED, EndCause.PROVIDER_UNREACHABLE)
    with Session(engine) as s:
        [attempt] = s.exec(select(Payment)).all()
    assert (attempt.status, attempt.checkout_session_id) == (PaymentStatus.EXPIRED, None)
    gateway.down = False
    begin(engine, gateway, session_type)  # the slot is still free


def test_a_commit_failing_after_stripe_succeeded_expires_the_orphan_session(engine, gateway, session_type, monkeypatch):
    real_scope = payments.session_scope

    @contextmanager
    def failing_commit(engine_):
        with real_scope(engine_) as s:
            yield s
            raise RuntimeError("commit failed")

    monkeypatch.setattr(payments, "session_scope", failing_commit)

    with pytest.raises(RuntimeError):
        begin(engine, gateway, session_type)

    assert gateway.expired == [cs.id for cs in gateway.sessions.values()]
    assert all_bookings(engine) == []


@pytest.mark.parametrize("field,kwargs", [
    ("client_name", {"client_name": "  "}),
    ("client_email", {"client_email": "not-an-email"}),
])
def test_bad_client_details_are_refused_with_the_field_named(engine, gateway, session_type, field, kwargs):
    with pytest.raises(payments.InvalidRequest) as caught:
        payments.begin_checkout(engine=engine, gateway=gateway, settings=SETTINGS, session_type_id=session_type.id,
                                start_time=next_ten_am(), **{"client_name": "Ann", "client_email": "a@b.co", **kwargs})
    assert caught.value.field == field
    assert all_bookings(engine) == []


def test_a_time_outside_the_builders_hours_is_refused(engine, gateway, session_type):
    with pytest.raises(payments.SlotUnavailable):
        begin(engine, gateway, session_type, start=next_ten_am().replace(hour=3))


def test_try_again_creates_a_new_session_for_the_same_hold(engine, gateway, session_type):
    first = begin(engine, gateway, session_type)

    second = payments.retry_checkout(engine=engine, gateway=gateway, settings=SETTINGS, booking_id=first.booking_id)

    assert second.booking_id == first.booking_id
    assert second.checkout_session_id != first.checkout_session_id
    assert gateway.expired == [first.checkout_session_id]
    assert gateway.created[1][1] == f"booking-{first.booking_id}-checkout-2"
    [booking] = all_bookings(engine)
    assert money(engine, booking.id).checkout_session_id == second.checkout_session_id


def test_try_again_after_the_hold_ended_is_refused(engine, gateway, session_type):
    first = begin(engine, gateway, session_type)
    payments.release_hold_and_expire(engine=engine, gateway=gateway, booking_id=first.booking_id)

    with pytest.raises(payments.HoldNotActive):
        payments.retry_checkout(engine=engine, gateway=gateway, settings=SETTINGS, booking_id=first.booking_id)


def test_pick_another_time_expires_the_session_and_frees_the_slot(engine, gateway, session_type):
    first = begin(engine, gateway, session_type)

    assert payments.release_hold_and_expire(engine=engine, gateway=gateway, booking_id=first.booking_id)

    assert gateway.expired == [first.checkout_session_id]
    assert all_bookings(engine)[0].status == BookingStatus.CANCELLED
    begin(engine, gateway, session_type, email="bob@example.com")  # someone else can take it


def test_sweeper_releases_lapsed_holds_and_expires_their_sessions(engine, gateway, session_type):
    first = begin(engine, gateway, session_type)

    released = payments.sweep_expired_holds(engine=engine, gateway=gateway,
                                            now=datetime.now(timezone.utc) + timedelta(minutes=32))

    assert released == 1
    assert all_bookings(engine)[0].status == BookingStatus.EXPIRED
    assert gateway.expired == [first.checkout_session_id]


def test_sweeper_confirms_a_hold_whose_payment_landed_without_a_webhook(engine, gateway, session_type):
    first = begin(engine, gateway, session_type)
    gateway.pay(first.checkout_session_id)

    payments.sweep_expired_holds(engine=engine, gateway=gateway, now=datetime.now(timezone.utc) + timedelta(minutes=32))

    assert all_bookings(engine)[0].status == BookingStatus.CONFIRMED


def test_sweeper_leaves_live_holds_alone(engine, gateway, session_type):
    begin(engine, gateway, session_type)

    assert payments.sweep_expired_holds(engine=engine, gateway=gateway) == 0
    assert all_bookings(engine)[0].status == BookingStatus.PENDING


def test_success_page_confirms_a_paid_session_when_the_webhook_is_withheld(engine, gateway, session_type):
    started = begin(engine, gateway, session_type, client_time_zone="America/New_York")
    gateway.pay(started.checkout_session_id)

    receipt = receipts.confirm_from_success_page(engine=engine, gateway=gateway,
                                                 checkout_session_id=started.checkout_session_id)

    assert receipt.state == "confirmed"
    assert receipt.summary.amount == "¥5,000"
    assert receipt.summary.when.endswith(("EST", "EDT"))
    [booking] = all_bookings(engine)
    assert (booking.status, money(engine, booking.id).status) == (BookingStatus.CONFIRMED, PaymentStatus.PAID)
    again = receipts.confirm_from_success_page(engine=engine, gateway=gateway,
                                               checkout_session_id=started.checkout_session_id)
    assert again.state == "confirmed"


def test_success_page_with_an_unpaid_session_does_not_confirm(engine, gateway, session_type):
    started = begin(engine, gateway, session_type)

    receipt = receipts.confirm_from_success_page(engine=engine, gateway=gateway,
                                                 checkout_session_id=started.checkout_session_id)

    assert receipt.state == "unpaid"
    assert all_bookings(engine)[0].status == BookingStatus.PENDING


@pytest.mark.parametrize("session_id", ["cs_test_unknown", "nonsense", ""])
def test_success_page_with_an_unknown_session_says_so(engine, gateway, session_id):
    assert receipts.confirm_from_success_page(engine=engine, gateway=gateway,
                                              checkout_session_id=session_id).state == "unknown"


def test_sweepers_in_several_workers_release_each_hold_once(engine, gateway, session_type):
    first = begin(engine, gateway, session_type)
    later = datetime.now(timezone.utc) + timedelta(minutes=32)

    with ThreadPoolExecutor(max_workers=4) as pool:
        released = list(pool.map(lambda _: payments.sweep_expired_holds(engine=engine, gateway=gateway, now=later),
                                 range(4)))

    assert sum(released) == 1
    assert all_bookings(engine)[0].status == BookingStatus.EXPIRED
    assert set(gateway.expired) == {first.checkout_session_id}


def test_processing_payment_is_reported_until_the_async_result_lands(engine, gateway, session_type):
    from booking.events.webhooks import handle_webhook
    from booking.payments.gateway import CheckoutSession, CheckoutStatus
    from tests.support import stripe_events as se

    started = begin(engine, gateway, session_type)
    current = gateway.sessions[started.checkout_session_id]
    gateway.sessions[current.id] = CheckoutSession(**{**current.__dict__, "status": CheckoutStatus.COMPLETE,
                                                      "payment_intent_id": "pi_slow"})

    receipt = receipts.confirm_from_success_page(engine=engine, gateway=gateway, checkout_session_id=current.id)
    assert receipt.state == "processing"
    assert receipts.booking_receipt(engine=engine, booking_id=started.booking_id).state == "processing"
    assert payments.sweep_expired_holds(engine=engine, gateway=gateway,
                                        now=datetime.now(timezone.utc) + timedelta(hours=2)) == 0

    obj = se.checkout_session(started.booking_id, current.id, payment_intent="pi_slow", currency="jpy")
    payload = se.encode(se.event("checkout.session.async_payment_succeeded", obj))
    handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload))

    assert receipts.booking_receipt(engine=engine, booking_id=started.booking_id).state == "confirmed"


def test_pick_another_time_wins_over_the_expiry_webhook_that_it_triggers(engine, gateway, session_type):
    from booking.lifecycle.transitions import end_hold_now

    first = begin(engine, gateway, session_type)
    real_expire = gateway.expire_checkout_session

    def expire_and_deliver_webhook(session_id, *, idempotency_key):
        result = real_expire(session_id, idempotency_key=idempotency_key)
        with Session(engine) as s:  # Stripe's checkout.session.expired lands before we continue
            end_hold_now(session=s, booking_id=first.booking_id, cause=EndCause.EXPIRED, checkout_session_id=session_id)
            s.commit()
        return result

    gateway.expire_checkout_session = expire_and_deliver_webhook

    assert payments.release_hold_and_expire(engine=engine, gateway=gateway, booking_id=first.booking_id)
    [booking] = all_bookings(engine)
    assert (booking.status, booking.end_cause) == (BookingStatus.CANCELLED, EndCause.RELEASED_BY_CLIENT)


def test_try_again_is_not_undone_by_the_expiry_webhook_of_the_replaced_session(engine, gateway, session_type):
    import contextlib
    from concurrent.futures import ThreadPoolExecutor as Pool
    from concurrent.futures import TimeoutError as FuturesTimeout

    from booking.lifecycle.transitions import end_hold_now

    first = begin(engine, gateway, session_type)
    real_expire = gateway.expire_checkout_session
    webhook = Pool(max_workers=1)
    delivered = []

    def deliver_expiry(session_id: str) -> bool:
        with Session(engine) as s:
            changed = end_hold_now(session=s, booking_id=first.booking_id, cause=EndCause.EXPIRED,
                                   checkout_session_id=session_id)
            s.commit()
            return changed

    def expire_and_send_webhook(session_id, *, idempotency_key):
        result = real_expire(session_id, idempotency_key=idempotency_key)
        future = webhook.submit(deliver_expiry, session_id)  # arrives while we are mid-transaction
        delivered.append(future)
        with contextlib.suppress(FuturesTimeout):  # it either lands now, or waits for our row lock
            future.result(timeout=1)
        return result

    gateway.expire_checkout_session = expire_and_send_webhook

    second = payments.retry_checkout(engine=engine, gateway=gateway, settings=SETTINGS, booking_id=first.booking_id)

    assert delivered[0].result(timeout=30) is False
    webhook.shutdown()
    [booking] = all_bookings(engine)
    assert (booking.status, money(engine, booking.id).checkout_session_id) == (
        BookingStatus.PENDING, second.checkout_session_id)
