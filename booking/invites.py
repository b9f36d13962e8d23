"""The "Add to calendar" download for a confirmed booking."""

from __future__ import annotations

from sqlmodel import Session

from booking.ics import booking_invite
from booking.models import Booking, BookingStatus, Builder, Client, SessionType


def invite_for_booking(*, session: Session, booking_id: str) -> bytes | None:
    booking = session.get(Booking, booking_id)
    if booking is None or booking.status != BookingStatus.CONFIRMED:
        return None
    builder = session.get(Builder, booking.builder_id)
    client = session.get(Client, booking.client_id)
    session_type = session.get(SessionType, booking.session_type_id)
    return booking_invite(
        uid=booking.id,
        summary=f"{session_type.name} with {builder.name}",
        description=session_type.description,
        start=booking.start_time,
        end=booking.end_time,
        organizer_email=builder.email,
        attendee_email=client.email,
        method="PUBLISH",  # a download to import, not an invitation to answer
        organizer_name=builder.name,
        attendee_name=client.name,
    )
