""""Add to Google Calendar" and "Add to Outlook": links that open the calendar's own new-event form.

They sit beside the .ics download (the success page, the manage page, the confirmation email). They go
to a third party, so they carry only what a calendar entry needs: the session's name, the builder, the
time (UTC), the session type's public description and the location. Never the booking id, the invite
UID, the manage link or the client's address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

GOOGLE_BASE = "https://calendar.google.com/calendar/render"
OUTLOOK_BASE = "https://outlook.live.com/calendar/0/deeplink/compose"
DETAILS_MAX = 1000  # characters: a long description is cut, so the URL stays short enough to open


@dataclass(frozen=True)
class CalendarEvent:
    title: str
    start: datetime  # aware
    end: datetime
    details: str = ""
    location: str = ""


@dataclass(frozen=True)
class CalendarLinks:
    google: str
    outlook: str


def _utc(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError("calendar link times must be timezone-aware")
    return moment.astimezone(UTC)


def _clean(text: str, limit: int) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _query(params: dict[str, str]) -> str:
    return urlencode({key: value for key, value in params.items() if value}, quote_via=quote)


def google_calendar_url(event: CalendarEvent) -> str:
    """`.../render?action=TEMPLATE&text=..&dates=20270105T140000Z/20270105T150000Z&details=..&location=..`"""
    dates = f"{_utc(event.start):%Y%m%dT%H%M%SZ}/{_utc(event.end):%Y%m%dT%H%M%SZ}"
    return GOOGLE_BASE + "?" + _query({
        "action": "TEMPLATE", "text": _clean(event.title, 200), "dates": dates,
        "details": _clean(event.details, DETAILS_MAX), "location": _clean(event.location, 500)})


def outlook_calendar_url(event: CalendarEvent) -> str:
    """`.../deeplink/compose?subject=..&startdt=2027-01-05T14:00:00Z&enddt=..&body=..&location=..`"""
    return OUTLOOK_BASE + "?" + _query({
        "path": "/calendar/action/compose", "rru": "addevent", "subject": _clean(event.title, 200),
        "startdt": f"{_utc(event.start):%Y-%m-%dT%H:%M:%SZ}", "enddt": f"{_utc(event.end):%Y-%m-%dT%H:%M:%SZ}",
        "body": _clean(event.details, DETAILS_MAX), "location": _clean(event.location, 500)})


def session_event(*, session_type_name: str, builder_name: str, start: datetime, end: datetime,
                  description: str = "", location: str = "") -> CalendarEvent:
    """The calendar entry of a booked session: '<Session> with <Builder>'."""
    return CalendarEvent(title=f"{' '.join(session_type_name.split())} with {' '.join(builder_name.split())}",
                         start=start, end=end, details=description or "", location=" ".join(location.split()))


def links_for(event: CalendarEvent) -> CalendarLinks:
    return CalendarLinks(google=google_calendar_url(event), outlook=outlook_calendar_url(event))
