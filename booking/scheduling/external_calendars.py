"""A builder's external calendars: adding and removing them, and the job worker's sync that turns their
events into busy spans (`ExternalBusyInterval`, UTC) which slot search reads (booking.scheduling.busy).

Fetching happens only here, in the job worker, never on a client's request: each calendar is fetched at
most every CALENDAR_SYNC_INTERVAL_SECONDS, an ICS feed with ETag / If-Modified-Since (a 304 keeps the spans
as they are). A failure keeps the previous spans and records the error the workspace shows.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from booking.core.db import session_scope
from booking.core.models import Builder, CalendarKind, CalendarWrite, ExternalBusyInterval, ExternalCalendar, utcnow
from booking.core.secretbox import UnreadableSecret, decrypt_secret, encrypt_secret
from booking.scheduling import caldav_access, ics_busy
from booking.scheduling.safe_fetch import FetchFailed, FetchPolicy, FetchRefused, check_url, fetch

log = logging.getLogger(__name__)

MAX_CALENDARS_PER_BUILDER = 10
MAX_SPANS_PER_CALENDAR = 20_000
PAST_MARGIN = timedelta(days=1)
FUTURE_MARGIN = timedelta(days=3)
# The events we write back ourselves (booking.notifications.calendar_writeback): their bookings already
# block their times, and a cancelled one must free its slot at once, not at the next sync.
OWN_UID = re.compile(r"^inv-[0-9a-f]{32}@")
_ERROR_LENGTH = 500


class CalendarInputError(ValueError):
    """What the builder typed can't be used; `field` names the input, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CalendarView:
    """One calendar as the workspace lists it (never the password)."""

    id: int
    kind: CalendarKind
    name: str
    url: str
    username: str
    write_bookings: bool
    last_synced_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    busy_count: int


def policy_from_settings(settings) -> FetchPolicy:
    return FetchPolicy(timeout_seconds=settings.calendar_fetch_timeout_seconds,
                       max_bytes=settings.calendar_max_bytes,
                       allow_private_networks=settings.calendar_allow_private_networks)


# --- the builder's list (services: a session, no commit) -------------------------------------------------


def add_calendar(*, session: Session, builder_id: int, kind: CalendarKind | str, url: str, name: str = "",
                 username: str = "", password: str = "", write_bookings: bool = False) -> ExternalCalendar:
    """Add a calendar; it is fetched by the worker's next sync tick (not now: no fetch on a request)."""
    try:
        kind = CalendarKind(kind)
    except ValueError:
        raise CalendarInputError("kind", "choose an ICS feed or a CalDAV account") from None
    url, name, username = (url or "").strip(), (name or "").strip(), (username or "").strip()
    if not url or len(url) > 2000:
        raise CalendarInputError("url", "enter the calendar's address (up to 2,000 characters)")
    try:  # the scheme and host now; the address itself is checked at every fetch (DNS answers change)
        check_url(url, FetchPolicy(allow_private_networks=True))
    except FetchRefused as exc:
        raise CalendarInputError("url", str(exc)) from None
    if len(name) > 120:
        raise CalendarInputError("name", "the name can be up to 120 characters")
    if kind == CalendarKind.CALDAV:
        if not username or len(username) > 254:
            raise CalendarInputError("username", "enter the CalDAV user name")
        if not password or len(password) > 500:
            raise CalendarInputError("password", "enter the CalDAV app password")
    elif write_bookings:
        raise CalendarInputError("write_bookings", "bookings can be written only to a CalDAV calendar")
    count = session.exec(select(sa.func.count()).select_from(ExternalCalendar)
                         .where(ExternalCalendar.builder_id == builder_id)).one()
    if count >= MAX_CALENDARS_PER_BUILDER:
        raise CalendarInputError("url", f"at most {MAX_CALENDARS_PER_BUILDER} calendars")
    if write_bookings:
        _stop_writing_elsewhere(session, builder_id)
    calendar = ExternalCalendar(builder_id=builder_id, kind=kind, name=name or _default_name(url), url=url,
                                username=username if kind == CalendarKind.CALDAV else "",
                                password_encrypted=encrypt_secret(password) if kind == CalendarKind.CALDAV else "",
                                write_bookings=write_bookings, next_sync_at=utcnow())
    session.add(calendar)
    session.flush()
    return calendar


def _default_name(url: str) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "Calendar")[:120]


def _stop_writing_elsewhere(session: Session, builder_id: int) -> None:
    session.execute(sa.update(ExternalCalendar).where(ExternalCalendar.builder_id == builder_id)
                    .values(write_bookings=False))


def remove_calendar(*, session: Session, builder_id: int, calendar_id: int) -> bool:
    """Remove one of the builder's calendars and its busy spans (False: not theirs, or gone)."""
    calendar = session.get(ExternalCalendar, calendar_id)
    if calendar is None or calendar.builder_id != builder_id:
        return False
    session.execute(sa.delete(ExternalBusyInterval).where(ExternalBusyInterval.calendar_id == calendar_id))
    session.execute(sa.delete(CalendarWrite).where(CalendarWrite.calendar_id == calendar_id))
    session.delete(calendar)
    session.flush()
    return True


def list_calendars(*, session: Session, builder_id: int) -> list[CalendarView]:
    counts = dict(session.execute(
        sa.select(ExternalBusyInterval.calendar_id, sa.func.count())
        .where(ExternalBusyInterval.builder_id == builder_id).group_by(ExternalBusyInterval.calendar_id)).all())
    rows = session.exec(select(ExternalCalendar).where(ExternalCalendar.builder_id == builder_id)
                        .order_by(ExternalCalendar.id)).all()
    return [CalendarView(id=row.id, kind=row.kind, name=row.name, url=row.url, username=row.username,
                         write_bookings=row.write_bookings, last_synced_at=row.last_synced_at,
                         last_error=row.last_error, last_error_at=row.last_error_at,
                         busy_count=counts.get(row.id, 0)) for row in rows]


def writeback_calendar(*, session: Session, builder_id: int) -> ExternalCalendar | None:
    """The CalDAV calendar the builder chose for their bookings, if any."""
    return session.exec(select(ExternalCalendar).where(ExternalCalendar.builder_id == builder_id,
                                                       ExternalCalendar.kind == CalendarKind.CALDAV,
                                                       ExternalCalendar.write_bookings.is_(True))).first()


def caldav_password(calendar: ExternalCalendar) -> str:
    return decrypt_secret(calendar.password_encrypted)


# --- the sync (a flow: owns its transactions; fetches with none open) --------------------------------------


@dataclass(frozen=True)
class _Job:
    id: int
    builder_id: int
    kind: CalendarKind
    url: str
    username: str
    password_encrypted: str
    etag: str | None
    last_modified: str | None
    time_zone: str
    horizon_days: int


def sync_due_calendars(*, engine: Engine, policy: FetchPolicy, interval: timedelta,
                       now: datetime | None = None, limit: int = 20) -> int:
    """One tick: fetch the calendars whose turn it is; returns how many were synced without error."""
    now = now or utcnow()
    with session_scope(engine) as session:
        rows = session.exec(select(ExternalCalendar, Builder).join(Builder, Builder.id == ExternalCalendar.builder_id)
                            .where(ExternalCalendar.next_sync_at <= now)
                            .order_by(ExternalCalendar.next_sync_at).limit(limit)).all()
        jobs = [_Job(id=c.id, builder_id=c.builder_id, kind=c.kind, url=c.url, username=c.username,
                     password_encrypted=c.password_encrypted, etag=c.etag, last_modified=c.last_modified,
                     time_zone=b.time_zone, horizon_days=b.horizon_days) for c, b in rows]
        # Claimed for one interval: another worker's tick skips them; a crash retries them next interval.
        if jobs:
            session.execute(sa.update(ExternalCalendar).where(ExternalCalendar.id.in_([j.id for j in jobs]))
                            .values(next_sync_at=now + interval))
    synced = 0
    for job in jobs:
        synced += sync_one(engine=engine, job=job, policy=policy, now=now)
    return synced


def sync_calendar_now(*, engine: Engine, calendar_id: int, policy: FetchPolicy, now: datetime | None = None) -> bool:
    """Sync one calendar at once (the worker's job for it, e.g. from a test or the CLI)."""
    now = now or utcnow()
    with session_scope(engine) as session:
        found = session.exec(select(ExternalCalendar, Builder).join(Builder, Builder.id == ExternalCalendar.builder_id)
                             .where(ExternalCalendar.id == calendar_id)).first()
        if found is None:
            return False
        c, b = found
        job = _Job(id=c.id, builder_id=c.builder_id, kind=c.kind, url=c.url, username=c.username,
                   password_encrypted=c.password_encrypted, etag=c.etag, last_modified=c.last_modified,
                   time_zone=b.time_zone, horizon_days=b.horizon_days)
    return bool(sync_one(engine=engine, job=job, policy=policy, now=now))


def sync_one(*, engine: Engine, job: _Job, policy: FetchPolicy, now: datetime) -> int:
    start, end = now - PAST_MARGIN, now + timedelta(days=job.horizon_days) + FUTURE_MARGIN
    etag, last_modified = job.etag, job.last_modified
    spans: list[tuple[datetime, datetime]] | None = None  # None: keep the stored ones (304)
    try:
        if job.kind == CalendarKind.ICS:
            fetched = fetch(job.url, policy=policy, etag=job.etag, last_modified=job.last_modified)
            etag, last_modified = fetched.etag, fetched.last_modified
            if fetched.status == 200:
                spans = ics_busy.busy_spans_from_ics(fetched.body, time_zone=job.time_zone, start=start, end=end,
                                                     skip_uid=_own_uid)
        else:
            documents = caldav_access.read_events(url=job.url, username=job.username,
                                                  password=decrypt_secret(job.password_encrypted),
                                                  start=start, end=end, policy=policy)
            spans = ics_busy.busy_spans_from_calendars(documents, time_zone=job.time_zone, start=start, end=end,
                                                       skip_uid=_own_uid)
        if spans is not None and len(spans) > MAX_SPANS_PER_CALENDAR:
            raise ics_busy.InvalidCalendar(f"more than {MAX_SPANS_PER_CALENDAR:,} events in the next "
                                           f"{job.horizon_days} days")
    except (FetchRefused, FetchFailed, ics_busy.InvalidCalendar, caldav_access.CalDavError,
            UnreadableSecret) as exc:
        _record_error(engine, job.id, str(exc), now)
        log.info("calendar %s: sync failed (%s)", job.id, type(exc).__name__)
        return 0
    with session_scope(engine) as session:
        calendar = session.get(ExternalCalendar, job.id)
        if calendar is None:  # removed while we fetched
            return 0
        if spans is not None:
            session.execute(sa.delete(ExternalBusyInterval).where(ExternalBusyInterval.calendar_id == job.id))
            # Random, not counted: a calendar added later under a freed id never meets its old version.
            calendar.spans_version = secrets.randbits(31)
            if spans:
                session.execute(sa.insert(ExternalBusyInterval), [
                    {"calendar_id": job.id, "builder_id": job.builder_id, "start_time": s, "end_time": e}
                    for s, e in spans])
        calendar.etag, calendar.last_modified = (etag or None), (last_modified or None)
        calendar.last_synced_at = now
        calendar.last_error = calendar.last_error_at = None
        session.add(calendar)
    log.info("calendar %s: synced (%s)", job.id, "unchanged" if spans is None else f"{len(spans)} busy spans")
    return 1


def _own_uid(uid: str) -> bool:
    return bool(OWN_UID.match(uid))


def _record_error(engine: Engine, calendar_id: int, message: str, now: datetime) -> None:
    with session_scope(engine) as session:
        session.execute(sa.update(ExternalCalendar).where(ExternalCalendar.id == calendar_id)
                        .values(last_error=message[:_ERROR_LENGTH], last_error_at=now))
