"""Calendar data (RFC 5545): a booking's invite (one VEVENT) and a builder's subscription feed (many).

Times are written in UTC. Every calendar object about one booking carries the same UID, from
`booking_uid`, so a calendar app that sees the emailed invite, the downloaded one and the feed entry
keeps a single event (and a CANCEL removes it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Event, vCalAddress, vDuration

PRODUCT_ID = "-//Booking//Paid sessions//EN"
# How often a subscribed calendar app should fetch the feed again (a hint; apps may poll less often).
FEED_REFRESH = timedelta(hours=1)

# REQUEST: sent by email, calendar apps offer "add / accept".
# PUBLISH: a plain download, no RSVP machinery.
# CANCEL: removes the event the earlier REQUEST (same UID) created.
INVITE_METHODS = ("REQUEST", "PUBLISH", "CANCEL")


def site_domain(public_url: str) -> str:
    """The host part of the site's public URL, e.g. "book.example.com" (UIDs are scoped by it)."""
    return urlsplit(public_url).hostname or "localhost"


def booking_uid(invite_uid: str, domain: str) -> str:
    """THE calendar UID of a booking: the emailed REQUEST and CANCEL, the download and the feed all use it.

    `invite_uid` is `Booking.invite_uid` (random; never the booking id, which nothing shared may carry)."""
    return f"{invite_uid}@{domain}"


def booking_reference(invite_uid: str) -> str:
    """The short "Booking reference" emails and the feed show: derived from the opaque invite UID, so it
    names the booking to its client and builder without giving out the booking id."""
    return hashlib.sha256(invite_uid.encode()).hexdigest()[:10].upper()


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
    location: str = "",
    method: str = "REQUEST",
    organizer_name: str = "",
    attendee_name: str = "",
    sequence: int = 0,
    stamp: datetime | None = None,
) -> bytes:
    """The .ics bytes for one booking. `uid` must stay the same for the booking's whole life
    (`booking_uid`) so a later CANCEL replaces the original event."""
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
    if location.strip():
        event.add("location", one_line(location))
    # A cancellation must sort after the request it cancels.
    event.add("sequence", max(sequence, 1) if method == "CANCEL" else sequence)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("organizer", _address(organizer_email, organizer_name, role=None))
    if method != "PUBLISH":
        event.add("attendee", _address(attendee_email, attendee_name, role="REQ-PARTICIPANT"))
    calendar.add_component(event)
    return calendar.to_ical()


@dataclass(frozen=True)
class FeedEntry:
    """One confirmed booking as a builder's subscribed calendar shows it."""

    uid: str
    summary: str
    description: str
    start: datetime
    end: datetime
    location: str = ""


def publish_feed(*, name: str, entries: Iterable[FeedEntry], stamp: datetime | None = None) -> bytes:
    """A subscription calendar (METHOD:PUBLISH): one VEVENT per entry, no attendees, times in UTC."""
    stamp_utc = _as_utc(stamp, "stamp") if stamp else datetime.now(UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(FEED_REFRESH).to_ical().decode())  # Outlook's name for it
    for entry in entries:
        event = Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", stamp_utc)
        event.add("dtstart", _as_utc(entry.start, "start"))
        event.add("dtend", _as_utc(entry.end, "end"))
        event.add("summary", entry.summary)
        if entry.description:
            event.add("description", entry.description)
        if entry.location.strip():
            event.add("location", one_line(entry.location))
        event.add("status", "CONFIRMED")
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()


def one_line(text: str) -> str:
    """A multi-line address reads as one line ("1 Main St, London"); a link stays as it is."""
    return ", ".join(" ".join(line.split()) for line in str(text).splitlines() if line.strip())


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
