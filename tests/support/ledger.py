"""What the ledger (Payment and Refund rows) says of a booking's money: the tests' one way to read it."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from booking.payments import ledger as payment_records
from booking.payments.ledger import BookingMoney


def money(source: Engine | Session, booking_id: str) -> BookingMoney:
    """The booking's money as its Payment rows say (a fresh read when given an engine)."""
    if isinstance(source, Session):
        return payment_records.money_of(session=source, booking=booking_id)
    with Session(source) as session:
        return payment_records.money_of(session=session, booking=booking_id)
