"""The "Add to calendar" download for a confirmed booking (same UID as the emailed invite)."""

from __future__ import annotations

from sqlmodel import Session

from booking.core.models import Booking, BookingStatus, Builder, Client, SessionType
from booking.notifications.ics import booking_invite, booking_uid, site_domain

BOOKING_ID_MAX_LENGTH = 36  # Booking.id's column


def looks_like_booking_id(value: object) -> bool:
    return (isinstance(value, str) and 0 < len(value) <= BOOKING_ID_MAX_LENGTH and value.isascii()
            and value.isprintable())


def invite_for_booking(*, session: Session, booking_id: str, public_url: str | None = None) -> bytes | None:
    """The .ics of a confirmed booking, or None. `public_url` defaults to the configured one."""
    if not looks_like_booking_id(booking_id):  # e.g. a NUL byte, which PostgreSQL refuses in a query
        return None
    booking = session.get(Booking, booking_id)
    if booking is None or booking.status != BookingStatus.CONFIRMED:
        return None
    if public_url is None:
        from booking.core.config import get_settings  # read when called, never at import

        public_url = get_settings().public_url
    builder = session.get(Builder, booking.builder_id)
    client = session.get(Client, booking.client_id)
    session_type = session.get(SessionType, booking.session_type_id)
    return booking_invite(
        uid=booking_uid(booking.invite_uid, site_domain(public_url)),
        summary=f"{session_type.name} with {builder.name}",
        description=session_type.description,
        start=booking.start_time,
        end=booking.end_time,
        organizer_email=builder.email,
        attendee_email=client.email,
        location=session_type.location or "",  # confirmed, so paid: the client may see it
        method="PUBLISH",  # a download to import, not an invitation to answer
        sequence=booking.invite_sequence,  # a rescheduled booking replaces the earlier import
        organizer_name=builder.name,
        attendee_name=booking.client_name or client.name,
    )
