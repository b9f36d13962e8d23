"""What the database itself guarantees about bookings, whatever the service layer does."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, func, select

from booking.core.models import Booking, BookingStatus, Builder, Client, SessionType
from tests.factories import make_builder, make_client, make_session_type

UTC = timezone.utc
TEN_AM = datetime(2030, 3, 4, 10, 0, tzinfo=UTC)


def book(
    session: Session,
    session_type: SessionType,
    client: Client,
    *,
    start: datetime = TEN_AM,
    minutes: int = 60,
    status: BookingStatus = BookingStatus.PENDING,
    **fields: object,
) -> Booking:
    """Insert a booking and flush it, so the database's verdict comes now."""
    booking = Booking(
        client_id=client.id,
        builder_id=session_type.builder_id,
        session_type_id=session_type.id,
        start_time=start,
        end_time=start + timedelta(minutes=minutes),
        status=status,
        amount=session_type.price_amount,
        currency=session_type.currency,
        **fields,
    )
    session.add(booking)
    session.flush()
    return booking


@pytest.fixture
def builder(session: Session) -> Builder:
    return make_builder(session)


@pytest.fixture
def session_type(session: Session, builder: Builder) -> SessionType:
    return make_session_type(session, builder, duration_minutes=60)


@pytest.fixture
def client(session: Session) -> Client:
    return make_client(session)


def booking_count(engine: Engine) -> int:
    with Session(engine) as other:
        return other.exec(select(func.count()).select_from(Booking)).one()


# --- one slot, one active booking -------------------------------------------------------------


@pytest.mark.parametrize("first", [BookingStatus.PENDING, BookingStatus.CONFIRMED])
@pytest.mark.parametrize("second", [BookingStatus.PENDING, BookingStatus.CONFIRMED])
def test_same_start_cannot_be_held_twice(
    session: Session, session_type: SessionType, client: Client, first: BookingStatus, second: BookingStatus
) -> None:
    book(session, session_type, client, status=first)
    other_client = make_client(session)

    with pytest.raises(IntegrityError):
        book(session, session_type, other_client, status=second)


def test_overlapping_bookings_are_refused_by_the_database(
    engine: Engine, session: Session, session_type: SessionType, client: Client
) -> None:
    book(session, session_type, client, start=TEN_AM, minutes=60)  # 10:00-11:00

    with pytest.raises(IntegrityError, match="ex_booking_no_overlap"):
        book(session, session_type, make_client(session), start=TEN_AM + timedelta(minutes=30), minutes=60)


def test_booking_inside_another_is_refused_by_the_database(
    engine: Engine, session: Session, session_type: SessionType, client: Client
) -> None:
    book(session, session_type, client, start=TEN_AM, minutes=120, status=BookingStatus.CONFIRMED)

    with pytest.raises(IntegrityError, match="ex_booking_no_overlap"):
        book(session, session_type, make_client(session), start=TEN_AM + timedelta(minutes=15), minutes=30)


def test_back_to_back_bookings_are_allowed(
    engine: Engine, session: Session, session_type: SessionType, client: Client
) -> None:
    book(session, session_type, client, start=TEN_AM, minutes=60)  # 10:00-11:00
    book(session, session_type, make_client(session), start=TEN_AM + timedelta(hours=1), minutes=60)  # 11:00-12:00
    book(session, session_type, make_client(session), start=TEN_AM - timedelta(hours=1), minutes=60)  # 09:00-10:00
    session.commit()

    assert booking_count(engine) == 3


def test_different_builders_can_be_booked_at_the_same_time(
    engine: Engine, session: Session, session_type: SessionType, client: Client
) -> None:
    other_type = make_session_type(session, make_builder(session))

    book(session, session_type, client)
    book(session, other_type, client)
    session.commit()

    assert booking_count(engine) == 2


@pytest.mark.parametrize("released", [BookingStatus.CANCELLED, BookingStatus.EXPIRED])
def test_released_booking_frees_its_slot(
    engine: Engine, session: Session, session_type: SessionType, client: Client, released: BookingStatus
) -> None:
    book(session, session_type, client, start=TEN_AM, status=released)
    book(session, session_type, client, start=TEN_AM, status=released)  # released twice: still fine

    book(session, session_type, make_client(session), start=TEN_AM)  # same start
    if engine.dialect.name == "postgresql":
        book(session, session_type, make_client(session), start=TEN_AM - timedelta(minutes=30), minutes=30)
    session.commit()

    with Session(engine) as other:
        statuses = other.exec(select(Booking.status).where(Booking.start_time == TEN_AM)).all()
    assert sorted(statuses) == sorted([released, released, BookingStatus.PENDING])


def test_releasing_a_booking_lets_the_slot_be_taken(
    session: Session, session_type: SessionType, client: Client
) -> None:
    held = book(session, session_type, client)
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            book(session, session_type, make_client(session))

    held.status = BookingStatus.EXPIRED
    session.flush()
    retaken = book(session, session_type, make_client(session))

    assert retaken.status == BookingStatus.PENDING


def test_a_released_booking_cannot_be_revived_over_a_new_one(
    session: Session, session_type: SessionType, client: Client
) -> None:
    cancelled = book(session, session_type, client, status=BookingStatus.CANCELLED)
    book(session, session_type, make_client(session))

    cancelled.status = BookingStatus.CONFIRMED  # e.g. a late payment for an expired hold
    with pytest.raises(IntegrityError):
        session.flush()


# --- Stripe identifiers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"), [("checkout_session_id", "cs_test_123"), ("payment_intent_id", "pi_123")]
)
def test_stripe_identifiers_belong_to_one_booking(
    session: Session, session_type: SessionType, client: Client, column: str, value: str
) -> None:
    book(session, session_type, client, start=TEN_AM, **{column: value})

    with pytest.raises(IntegrityError):
        book(session, session_type, client, start=TEN_AM + timedelta(days=1), **{column: value})


def test_bookings_without_stripe_identifiers_do_not_collide(
    engine: Engine, session: Session, session_type: SessionType, client: Client
) -> None:
    book(session, session_type, client, start=TEN_AM)
    book(session, session_type, client, start=TEN_AM + timedelta(days=1))
    session.commit()

    assert booking_count(engine) == 2


# --- shape of a booking -----------------------------------------------------------------------


def test_naive_datetime_is_refused(session: Session, session_type: SessionType, client: Client) -> None:
    with pytest.raises(StatementError, match="timezone"):
        book(session, session_type, client, start=datetime(2030, 3, 4, 10, 0))


def test_times_come_back_in_utc(
    engine: Engine, session: Session, session_type: SessionType, client: Client
) -> None:
    tokyo = timezone(timedelta(hours=9))
    booking = book(session, session_type, client, start=datetime(2030, 3, 4, 19, 0, tzinfo=tokyo))
    session.commit()

    with Session(engine) as other:
        stored = other.get(Booking, booking.id)
    assert stored is not None
    assert stored.start_time == TEN_AM
    assert stored.start_time.utcoffset() == timedelta(0)


def test_unknown_status_is_refused_by_the_database(
    session: Session, session_type: SessionType, client: Client
) -> None:
    booking = book(session, session_type, client)

    with pytest.raises(IntegrityError):
        session.execute(sa.text("UPDATE booking SET status = 'held' WHERE id = :id"), {"id": booking.id})


def test_unknown_payment_status_is_refused_by_the_database(
    session: Session, session_type: SessionType, client: Client
) -> None:
    booking = book(session, session_type, client)

    with pytest.raises(IntegrityError):
        session.execute(sa.text("UPDATE booking SET payment_status = 'maybe' WHERE id = :id"), {"id": booking.id})


def test_booking_must_end_after_it_starts(session: Session, session_type: SessionType, client: Client) -> None:
    with pytest.raises(IntegrityError):
        book(session, session_type, client, minutes=0)


def test_negative_amount_is_refused(session: Session, session_type: SessionType, client: Client) -> None:
    booking = book(session, session_type, client)

    with pytest.raises(IntegrityError):
        session.execute(sa.text("UPDATE booking SET amount = -1 WHERE id = :id"), {"id": booking.id})


@pytest.mark.parametrize("missing", ["client_id", "session_type_id", "builder_id"])
def test_booking_needs_an_existing_client_session_type_and_builder(
    session: Session, session_type: SessionType, client: Client, missing: str
) -> None:
    booking = Booking(
        client_id=client.id,
        builder_id=session_type.builder_id,
        session_type_id=session_type.id,
        start_time=TEN_AM,
        end_time=TEN_AM + timedelta(hours=1),
        amount=session_type.price_amount,
        currency=session_type.currency,
    )
    setattr(booking, missing, 987_654)
    session.add(booking)

    with pytest.raises(IntegrityError):
        session.flush()


def test_new_booking_is_an_unpaid_hold(
    engine: Engine, session: Session, session_type: SessionType, client: Client
) -> None:
    booking = book(session, session_type, client)
    session.commit()

    with Session(engine) as other:
        stored = other.get(Booking, booking.id)
    assert stored is not None
    assert stored.status == BookingStatus.PENDING
    assert stored.payment_status == "unpaid"
    assert stored.amount == 5000 and stored.currency == "gbp"
