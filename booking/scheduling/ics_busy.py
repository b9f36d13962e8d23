"""An iCalendar document's busy time, as UTC spans: pure (bytes in, spans out; no database, no network).

What blocks and what doesn't (the cases calendar users report broken elsewhere):
- recurring events are expanded by `recurring-ical-events`, with their exceptions: a RECURRENCE-ID override
  moves or changes one instance, EXDATE removes one;
- `X-WR-TIMEZONE` (Google's exports): `x-wr-timezone` turns the calendar into a standard one first;
- an all-day event (DATE values) blocks the builder's whole local days, DTEND exclusive;
- a floating time (no zone, no TZID) is read in the builder's zone;
- a cancelled instance or event (STATUS:CANCELLED) and a free one (TRANSP:TRANSPARENT) do not block;
- an event of no length does not block.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import icalendar
import recurring_ical_events
import x_wr_timezone

from booking.core.time import zone

Span = tuple[datetime, datetime]


class InvalidCalendar(ValueError):
    """The document is not iCalendar data we can read."""


def _instant(value: date | datetime, local_zone: tzinfo) -> datetime:
    """A DTSTART/DTEND value as an aware UTC datetime: a date is its local midnight, a floating time local."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0, 0))
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=local_zone)
    return value.astimezone(UTC)


def _blocks(event: icalendar.Component) -> bool:
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return False
    return str(event.get("TRANSP", "OPAQUE")).upper() != "TRANSPARENT"


def _end_value(event: icalendar.Component, start: date | datetime) -> date | datetime:
    if "DTEND" in event:
        return event["DTEND"].dt
    if "DURATION" in event:
        return start + event["DURATION"].dt
    # RFC 5545: a DATE start without an end lasts one day; a DATE-TIME start ends when it starts.
    return start if isinstance(start, datetime) else start + timedelta(days=1)


def parse_calendar(data: bytes | str) -> icalendar.Calendar:
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except Exception as exc:  # the parser raises ValueError, KeyError, ... on malformed input
        raise InvalidCalendar(f"not an iCalendar document ({type(exc).__name__})") from None
    if calendar.name != "VCALENDAR":
        raise InvalidCalendar("not an iCalendar document (no VCALENDAR)")
    return calendar


def busy_spans_from_calendars(calendars: list[icalendar.Calendar], *, time_zone: str, start: datetime,
                              end: datetime, skip_uid: Callable[[str], bool] | None = None) -> list[Span]:
    """Every blocking instance overlapping [start, end) of the given calendars, as sorted UTC spans.

    `time_zone` is the builder's: floating times and all-day events are read in it. Events whose UID
    `skip_uid` accepts are left out (our own write-back)."""
    local_zone = zone(time_zone)
    spans: set[Span] = set()
    for calendar in calendars:
        try:
            standard = x_wr_timezone.to_standard(calendar)
            instances = recurring_ical_events.of(standard, skip_bad_series=True).between(start, end)
        except Exception as exc:  # a rule the expander cannot read: report it, never block on a guess
            raise InvalidCalendar(f"the calendar's events could not be expanded ({type(exc).__name__})") from None
        for event in instances:
            if "DTSTART" not in event or not _blocks(event):
                continue
            if skip_uid is not None and skip_uid(str(event.get("UID", ""))):
                continue
            raw_start = event["DTSTART"].dt
            span_start = _instant(raw_start, local_zone)
            span_end = _instant(_end_value(event, raw_start), local_zone)
            if span_end > span_start and span_start < end and span_end > start:
                spans.add((span_start, span_end))
    return sorted(spans)


def busy_spans_from_ics(data: bytes | str, *, time_zone: str, start: datetime, end: datetime,
                        skip_uid: Callable[[str], bool] | None = None) -> list[Span]:
    """The busy spans of one ICS document (a feed's body)."""
    return busy_spans_from_calendars([parse_calendar(data)], time_zone=time_zone, start=start, end=end,
                                     skip_uid=skip_uid)
