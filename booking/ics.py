"""Calendar invites (RFC 5545) for a booking: one VEVENT, times in UTC, a UID stable per booking."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress

PRODUCT_ID = "-//Booking//Paid sessions//EN"

# REQUEST: sent by email, calendar apps offer "add / accept".
# PUBLISH: a plain download, no RSVP machinery.
# CANCEL: removes the event the earlier REQUEST (same UID) created.
INVITE_METHODS = ("REQUEST", "PUBLISH", "CANCEL")


def booking_invite(
    *,
    uid: str,
    summary: str,
    description: str,
    start: datetime,
    end: datetime,
    organizer_email: str,
    attendee_email: str,
    url: str = "",
    method: str = "REQUEST",
    organizer_name: str = "",
    attendee_name: str = "",
    sequence: int = 0,
    stamp: datetime | None = None,
) -> bytes:
    """The .ics bytes for one booking. `uid` must stay the same for the booking's whole life
    (e.g. "<booking id>@<site domain>") so a later CANCEL replaces the original event."""
    method = method.upper()
    if method not in INVITE_METHODS:
        raise ValueError(f"method must be one of {', '.join(INVITE_METHODS)}")
    start_utc, end_utc = _as_utc(start, "start"), _as_utc(end, "end")
    if start_utc >= end_utc:
        raise ValueError("start must be before end")

    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)

    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", _as_utc(stamp, "stamp") if stamp else datetime.now(UTC))
    event.add("dtstart", start_utc)
    event.add("dtend", end_utc)
    event.add("summary", summary)
    if description:
        event.add("description", description)
    if url:
        event.add("url", url)
    # A cancellation must sort after the request it cancels.
    event.add("sequence", max(sequence, 1) if method == "CANCEL" else sequence)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("organizer", _address(organizer_email, organizer_name, role=None))
    if method != "PUBLISH":
        event.add("attendee", _address(attendee_email, attendee_name, role="REQ-PARTICIPANT"))
    calendar.add_component(event)
    return calendar.to_ical()


def _as_utc(value: datetime, name: str) -> datetime:
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def _address(email: str, name: str, *, role: str | None) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["cn"] = name
    if role:
        address.params["role"] = role
        address.params["partstat"] = "ACCEPTED"  # the booking is already agreed and paid
    return address
