"""The builder's external calendars as the workspace shows and edits them (routes.ADMIN_CALENDARS).

Every id from the browser goes through `authz.load_owned`; adding and removing are audited. Nothing here
fetches a calendar: "Sync now" only moves it to the front of the job worker's queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlmodel import Session

from booking.accounts import audit, authz
from booking.accounts.authz import Actor
from booking.core.forms import checked
from booking.core.models import Builder, CalendarKind, ExternalCalendar, utcnow
from booking.core.time import format_datetime
from booking.scheduling import CalendarInputError, add_calendar, list_calendars, remove_calendar

KIND_LABELS = {CalendarKind.ICS: "ICS feed", CalendarKind.CALDAV: "CalDAV"}


@dataclass(frozen=True)
class CalendarRow:
    id: str
    name: str
    kind: str
    url: str
    username: str
    writes_bookings: bool
    last_synced: str  # in the builder's zone; "Not yet" before the first sync
    last_error: str
    busy_count: int


def calendar_rows(*, session: Session, actor: Actor, builder_id: object) -> tuple[Builder, list[CalendarRow]]:
    builder = authz.load_owned(session=session, actor=actor, model=Builder, object_id=builder_id)
    rows = []
    for view in list_calendars(session=session, builder_id=builder.id):
        synced = (format_datetime(view.last_synced_at, zone=builder.time_zone) if view.last_synced_at
                  else "Not yet")
        rows.append(CalendarRow(id=str(view.id), name=view.name, kind=KIND_LABELS[view.kind], url=view.url,
                                username=view.username, writes_bookings=view.write_bookings, last_synced=synced,
                                last_error=view.last_error or "", busy_count=view.busy_count))
    return builder, rows


def add_builder_calendar(*, session: Session, actor: Actor, builder_id: object, form: dict) -> ExternalCalendar:
    """CalendarInputError (with the field) when the form can't be used."""
    builder = authz.load_owned(session=session, actor=actor, model=Builder, object_id=builder_id)
    text = {name: str(form.get(name) or "") for name in ("kind", "url", "name", "username", "password")}
    calendar = add_calendar(session=session, builder_id=builder.id, kind=text["kind"] or CalendarKind.ICS,
                            url=text["url"], name=text["name"], username=text["username"],
                            password=text["password"],
                            write_bookings=checked(form, "write_bookings"))
    audit.record(session=session, actor=actor, action="calendar.added", entity_type="external_calendar",
                 entity_id=calendar.id, builder_id=builder.id,
                 after={"kind": calendar.kind.value, "host": _host(calendar.url),
                        "write_bookings": calendar.write_bookings})
    return calendar


def remove_builder_calendar(*, session: Session, actor: Actor, calendar_id: object) -> str:
    calendar = authz.load_owned(session=session, actor=actor, model=ExternalCalendar, object_id=calendar_id)
    name, builder_id = calendar.name, calendar.builder_id
    remove_calendar(session=session, builder_id=builder_id, calendar_id=calendar.id)
    audit.record(session=session, actor=actor, action="calendar.removed", entity_type="external_calendar",
                 entity_id=calendar_id, builder_id=builder_id, before={"host": _host(calendar.url)})
    return name


def _host(url: str) -> str:
    """What the audit log keeps of a calendar's address: a feed's address is itself a secret."""
    return urlsplit(url).hostname or ""


def sync_soon(*, session: Session, actor: Actor, calendar_id: object) -> str:
    """Put the calendar first in the worker's queue (its next tick fetches it)."""
    calendar = authz.load_owned(session=session, actor=actor, model=ExternalCalendar, object_id=calendar_id)
    calendar.next_sync_at = utcnow()
    session.add(calendar)
    session.flush()
    return calendar.name


__all__ = ["CalendarInputError", "CalendarRow", "add_builder_calendar", "calendar_rows", "remove_builder_calendar",
           "sync_soon"]
