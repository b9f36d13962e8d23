"""The credit ledger on a real database (SQLite and PostgreSQL): grants, reservations, redemptions,
returns, expiry and refunds, and two browsers racing for the last credit."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.core.db import session_scope
from booking.core.models import CreditEntry, CreditEntryKind, CreditSourceKind
from booking.payments import credits
from tests.support.credits import NOW, booking_for, grant_for, setup


def available(session: Session, email: str = "ann@example.com", **kwargs) -> int:
    return credits.balance(session=session, client_email=email, now=kwargs.pop("now", NOW), **kwargs).available


def test_a_grant_is_given_once_per_source_and_found_by_any_spelling_of_the_email(session: Session) -> None:
    builder, session_type, _ = setup(session)
    first = grant_for(session, builder=builder, session_type=session_type, email="ANN@example.com", quantity=3,
                      source_id="purchase-1")
    again = grant_for(session, builder=builder, session_type=session_type, email="ann@example.com", quantity=3,
                      source_id="purchase-1")
    assert again.id == first.id
    assert available(session, " Ann@Example.com") == 3
    assert available(session, builder_id=builder.id, session_type_id=session_type.id) == 3
    assert available(session, session_type_id=session_type.id + 999) == 0


def test_a_reserved_credit_is_spent_on_confirm_or_comes_back_when_the_hold_ends(session: Session) -> None:
    builder, session_type, client = setup(session)
    grant_for(session, builder=builder, session_type=session_type, email=client.email, quantity=2)
    kept, released = (booking_for(session, builder=builder, session_type=session_type, client=client, hours_ahead=h)
                      for h in (0, 2))
    for booking in (kept, released):
        credits.reserve(session=session, booking_id=booking.id, builder_id=builder.id, client_email=client.email,
                        session_type_id=session_type.id, now=NOW)
    assert available(session) == 0
    with pytest.raises(credits.NoCreditAvailable):
        third = booking_for(session, builder=builder, session_type=session_type, client=client, hours_ahead=4)
        credits.reserve(session=session, booking_id=third.id, builder_id=builder.id, client_email=client.email,
                        session_type_id=session_type.id, now=NOW)

    credits.redeem(session=session, booking_id=kept.id, now=NOW)
    credits.redeem(session=session, booking_id=kept.id, now=NOW)  # a retry changes nothing
    assert credits.release_reservation(session=session, booking_id=kept.id, now=NOW) is None  # spent stays spent
    assert credits.release_reservation(session=session, booking_id=released.id, now=NOW) is not None
    assert credits.release_reservation(session=session, booking_id=released.id, now=NOW) is None
    summary = credits.balance(session=session, client_email=client.email, now=NOW)
    assert (summary.available, summary.held, summary.spent) == (1, 0, 1)
    with pytest.raises(credits.CreditError):
        credits.redeem(session=session, booking_id=released.id, now=NOW)  # given back: cannot be confirmed


def test_a_cancellation_in_time_returns_the_credit_once(session: Session) -> None:
    builder, session_type, client = setup(session)
    grant_for(session, builder=builder, session_type=session_type, email=client.email, quantity=1)
    booking = booking_for(session, builder=builder, session_type=session_type, client=client, hours_ahead=0)
    credits.reserve(session=session, booking_id=booking.id, builder_id=builder.id, client_email=client.email,
                    session_type_id=session_type.id, now=NOW)
    credits.redeem(session=session, booking_id=booking.id, now=NOW)
    assert available(session) == 0
    assert credits.return_credit(session=session, booking_id=booking.id, now=NOW) is not None
    assert credits.return_credit(session=session, booking_id=booking.id, now=NOW) is None
    assert available(session) == 1
    assert credits.booking_credit_state(session=session, booking_id=booking.id) == CreditEntryKind.RETURNED


def test_the_credit_expiring_first_is_spent_first(session: Session) -> None:
    builder, session_type, client = setup(session)
    later = grant_for(session, builder=builder, session_type=session_type, email=client.email, quantity=1, days=60)
    sooner = grant_for(session, builder=builder, session_type=session_type, email=client.email, quantity=1, days=10)
    booking = booking_for(session, builder=builder, session_type=session_type, client=client, hours_ahead=0)
    entry = credits.reserve(session=session, booking_id=booking.id, builder_id=builder.id,
                            client_email=client.email, session_type_id=session_type.id, now=NOW)
    assert entry.grant_id == sooner.id != later.id


def test_unused_credits_expire_once_and_held_ones_stay_with_their_booking(session: Session) -> None:
    builder, session_type, client = setup(session)
    row = grant_for(session, builder=builder, session_type=session_type, email=client.email, quantity=3, days=5)
    booking = booking_for(session, builder=builder, session_type=session_type, client=client, hours_ahead=0)
    credits.reserve(session=session, booking_id=booking.id, builder_id=builder.id, client_email=client.email,
                    session_type_id=session_type.id, now=NOW)
    assert credits.expire_due(session=session, now=NOW + timedelta(days=4)) == []
    later = NOW + timedelta(days=6)
    assert credits.expire_due(session=session, now=later) == [credits.ExpiredCredits(grant_id=row.id, quantity=2)]
    assert credits.expire_due(session=session, now=later) == []
    assert available(session, now=later) == 0
    credits.redeem(session=session, booking_id=booking.id, now=later)  # the held slot still goes ahead
    # A return after expiry is not spendable, and the next run takes it.
    credits.return_credit(session=session, booking_id=booking.id, now=later)
    assert available(session, now=later) == 0
    assert credits.expire_due(session=session, now=later) == [credits.ExpiredCredits(grant_id=row.id, quantity=1)]


def test_unused_credits_are_refunded_once_per_request(session: Session) -> None:
    builder, session_type, client = setup(session)
    row = grant_for(session, builder=builder, session_type=session_type, email=client.email, quantity=5)
    booking = booking_for(session, builder=builder, session_type=session_type, client=client, hours_ahead=0)
    credits.reserve(session=session, booking_id=booking.id, builder_id=builder.id, client_email=client.email,
                    session_type_id=session_type.id, now=NOW)
    with pytest.raises(credits.CreditError):
        credits.refund_unused(session=session, grant_id=row.id, request_key="r1", quantity=5, now=NOW)
    first = credits.refund_unused(session=session, grant_id=row.id, request_key="r1", now=NOW)
    again = credits.refund_unused(session=session, grant_id=row.id, request_key="r1", now=NOW)
    assert first.id == again.id and first.quantity == 4
    with pytest.raises(credits.NothingToRefund):
        credits.refund_unused(session=session, grant_id=row.id, request_key="r2", now=NOW)
    kinds = session.exec(select(CreditEntry.kind).where(CreditEntry.grant_id == row.id)).all()
    assert sorted(kinds) == sorted([CreditEntryKind.GRANTED, CreditEntryKind.RESERVED, CreditEntryKind.REFUNDED])


def test_credits_of_a_membership_invoice_are_another_source(session: Session) -> None:
    builder, session_type, client = setup(session)
    credits.grant(session=session, builder_id=builder.id, client_email=client.email, quantity=4,
                  session_type_ids=[session_type.id], expires_at=NOW + timedelta(days=31),
                  source_kind=CreditSourceKind.SUBSCRIPTION_INVOICE, source_id="in_123", now=NOW)
    grant_for(session, builder=builder, session_type=session_type, email=client.email, quantity=1, source_id="in_123")
    assert available(session) == 5


@pytest.mark.parametrize("racers", [2, 6])
def test_two_browsers_reserving_the_last_credit_exactly_one_wins(engine: Engine, racers: int) -> None:
    with session_scope(engine) as session:
        builder, session_type, client = setup(session)
        grant_for(session, builder=builder, session_type=session_type, email=client.email, quantity=1)
        bookings = [booking_for(session, builder=builder, session_type=session_type, client=client, hours_ahead=2 * n)
                    for n in range(racers)]
        ids = dict(builder=builder.id, session_type=session_type.id, email=client.email)
        booking_ids = [booking.id for booking in bookings]
    barrier = threading.Barrier(racers)
    outcomes: list[str] = []

    def race(booking_id: str) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                credits.reserve(session=session, booking_id=booking_id, builder_id=ids["builder"],
                                client_email=ids["email"], session_type_id=ids["session_type"], now=NOW)
            outcomes.append("won")
        except credits.NoCreditAvailable:
            outcomes.append("no credit")

    threads = [threading.Thread(target=race, args=(booking_id,)) for booking_id in booking_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["no credit"] * (racers - 1) + ["won"]
    with Session(engine) as session:
        summary = credits.balance(session=session, client_email=ids["email"], now=NOW)
        assert (summary.available, summary.held) == (0, 1)
