"""A builder's availability as the workspace edits it: the form as typed, its validation, the save
service, and the check of active bookings against new hours.

The form (`ScheduleDraft`) holds strings exactly as typed, with an error slot on every row, so a
page can show each problem beside its field. `validate` turns a draft into a `Schedule` (the
types `booking.scheduling.availability` computes slots from) or into the same draft with its errors filled in.
`save_availability` replaces the builder's rows in the caller's transaction.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, delete, select

from booking.accounts import audit
from booking.accounts.authz import Actor, NotFound
from booking.core.models import (
    AvailabilityOverride,
    AvailabilityRule,
    Booking,
    BookingStatus,
    Builder,
    Client,
    PaymentStatus,
    SessionType,
)
from booking.core.time import load_zone
from booking.lifecycle.transitions import lock_builder
from booking.scheduling import availability
from booking.scheduling.availability import END_OF_DAY, BookingPolicy, DateOverride, WeeklyWindow

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_WINDOWS_PER_DAY = 12
MAX_OVERRIDE_ROWS = 200
# Overrides further ahead than this could never matter: the horizon is at most 365 days.
MAX_OVERRIDE_DAYS_AHEAD = 730
# (field, label, lowest, highest)
POLICY_FIELDS = (
    ("buffer_minutes", "Buffer (minutes)", 0, 240),
    ("min_notice_minutes", "Minimum notice (minutes)", 0, 43200),
    ("horizon_days", "Horizon (days)", 1, 365),
    ("slot_step_minutes", "Slot step (minutes)", 5, 240),
)
POLICY_FIELD_NAMES = tuple(name for name, *_ in POLICY_FIELDS)
COMMON_ZONES = (
    "UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin",
    "Europe/Madrid", "Europe/Rome", "Europe/Amsterdam", "Europe/Stockholm", "Europe/Warsaw",
    "Europe/Athens", "Europe/Istanbul", "Africa/Lagos", "Africa/Johannesburg", "Asia/Dubai",
    "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Australia/Perth",
    "Australia/Sydney", "Pacific/Auckland", "America/Sao_Paulo", "America/Halifax", "America/New_York",
    "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles", "America/Anchorage",
    "Pacific/Honolulu",
)
OUTSIDE_HOURS_LIMIT = 50  # listed after a save; the rest are counted
_SCAN_LIMIT = 5000  # future active bookings checked after a save (far more than any builder has)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --------------------------------------------------------------------------------------------------
# The schedule (what is saved) and the form (what is typed)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """Everything a builder's slots depend on apart from bookings and session types."""

    time_zone: str
    weekly: tuple[WeeklyWindow, ...]
    overrides: tuple[DateOverride, ...]
    policy: BookingPolicy


@dataclass
class WindowDraft:
    start: str = "09:00"
    end: str = "17:00"
    error: str = ""


@dataclass
class DayDraft:
    weekday: int
    name: str
    windows: list[WindowDraft] = field(default_factory=list)
    error: str = ""  # e.g. two windows overlap


@dataclass
class OverrideDraft:
    """One row of a date override: a closed date, or one window of other hours on that date."""

    day: str = ""
    closed: bool = True
    start: str = "09:00"
    end: str = "17:00"
    error: str = ""


@dataclass
class ScheduleDraft:
    time_zone: str
    days: list[DayDraft]
    overrides: list[OverrideDraft]
    policy: dict[str, str]  # POLICY_FIELD_NAMES -> text
    field_errors: dict[str, str] = field(default_factory=dict)  # "time_zone" and policy fields

    @property
    def error_count(self) -> int:
        rows = [w.error for d in self.days for w in d.windows] + [d.error for d in self.days]
        return sum(1 for e in [*rows, *(o.error for o in self.overrides), *self.field_errors.values()] if e)


@dataclass(frozen=True)
class Validation:
    draft: ScheduleDraft  # the input, with every error filled in
    schedule: Schedule | None  # None when anything is wrong

    @property
    def ok(self) -> bool:
        return self.schedule is not None


def format_clock(value: time) -> str:
    return "24:00" if value == END_OF_DAY else f"{value:%H:%M}"


def parse_clock(text: str, *, end: bool) -> time:
    """'9:00' / '09:00' -> time; '24:00' only as an end (midnight after the day). ValueError says why."""
    match = _CLOCK.match((text or "").strip())
    if not match:
        raise ValueError("Enter a time as HH:MM")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if end and (hours, minutes) == (24, 0):
        return END_OF_DAY
    if hours > 23 or minutes > 59:
        raise ValueError("Enter a time between 00:00 and 23:59" + (" (or 24:00)" if end else ""))
    value = time(hours, minutes)
    if end and value == time(0, 0):
        raise ValueError("An end of 00:00 is not after any start; use 24:00 for midnight")
    return value


def empty_draft(time_zone: str = "UTC") -> ScheduleDraft:
    return ScheduleDraft(
        time_zone=time_zone,
        days=[DayDraft(weekday=n, name=name) for n, name in enumerate(WEEKDAY_NAMES)],
        overrides=[],
        policy={name: "" for name in POLICY_FIELD_NAMES},
    )


def draft_from_schedule(schedule: Schedule, *, today: date) -> ScheduleDraft:
    """The form for a saved schedule; overrides before `today` (builder-local) are left out."""
    draft = empty_draft(schedule.time_zone)
    for window in sorted(schedule.weekly, key=lambda w: (w.weekday, w.start)):
        draft.days[window.weekday].windows.append(
            WindowDraft(start=format_clock(window.start), end=format_clock(window.end)))
    for override in sorted(schedule.overrides, key=lambda o: o.day):
        if override.day < today:
            continue
        if not override.windows:
            draft.overrides.append(OverrideDraft(day=override.day.isoformat(), closed=True))
        for start, end in sorted(override.windows):
            draft.overrides.append(OverrideDraft(day=override.day.isoformat(), closed=False,
                                                 start=format_clock(start), end=format_clock(end)))
    draft.policy = {name: str(getattr(schedule.policy, name)) for name in POLICY_FIELD_NAMES}
    return draft


def _parse_window(start_text: str, end_text: str) -> tuple[tuple[time, time] | None, str]:
    problems = []
    start = end = None
    try:
        start = parse_clock(start_text, end=False)
    except ValueError as exc:
        problems.append(f"Start: {exc}")
    try:
        end = parse_clock(end_text, end=True)
    except ValueError as exc:
        problems.append(f"End: {exc}")
    if problems:
        return None, ". ".join(problems) + "."
    if not start < end:
        return None, "The start must be before the end."
    return (start, end), ""


def _overlap_message(windows: list[tuple[time, time]]) -> str:
    """'' when the windows don't overlap (touching is fine), else which two do."""
    ordered = sorted(windows)
    for (s1, e1), (s2, e2) in zip(ordered, ordered[1:], strict=False):
        if s2 < e1:
            return (f"{format_clock(s1)}–{format_clock(e1)} and {format_clock(s2)}–{format_clock(e2)} overlap; "
                    "windows of a day must not overlap.")
    return ""


def validate(draft: ScheduleDraft, *, today: date) -> Validation:
    """Check every field; `today` is the builder-local date (past overrides are refused)."""
    days = [replace(d, error="", windows=[replace(w, error="") for w in d.windows]) for d in draft.days]
    overrides = [replace(o, error="") for o in draft.overrides]
    field_errors: dict[str, str] = {}

    time_zone = (draft.time_zone or "").strip()
    try:
        load_zone(time_zone)
    except ValueError:
        field_errors["time_zone"] = f"“{time_zone}” is not a time zone; pick one or type an IANA name such as Europe/London."

    policy_values: dict[str, int] = {}
    for name, label, lowest, highest in POLICY_FIELDS:
        text = str(draft.policy.get(name, "")).strip()
        if not re.fullmatch(r"\d{1,6}", text) or not lowest <= int(text) <= highest:
            field_errors[name] = f"{label}: enter a whole number from {lowest} to {highest}."
        else:
            policy_values[name] = int(text)

    weekly: list[WeeklyWindow] = []
    if len(days) != 7 or [d.weekday for d in days] != list(range(7)):
        raise ValueError("a schedule draft has exactly one row per weekday, Monday first")
    for day in days:
        good: list[tuple[time, time]] = []
        if len(day.windows) > MAX_WINDOWS_PER_DAY:
            day.error = f"At most {MAX_WINDOWS_PER_DAY} windows a day."
        for window in day.windows:
            parsed, window.error = _parse_window(window.start, window.end)
            if parsed:
                good.append(parsed)
        if not day.error:
            day.error = _overlap_message(good)
        weekly.extend(WeeklyWindow(weekday=day.weekday, start=s, end=e) for s, e in good)

    by_day: dict[date, list[tuple[OverrideDraft, tuple[time, time] | None]]] = {}
    if len(overrides) > MAX_OVERRIDE_ROWS:
        field_errors["overrides"] = f"At most {MAX_OVERRIDE_ROWS} override rows."
    for row in overrides:
        text = (row.day or "").strip()
        try:
            if not _DAY.match(text):
                raise ValueError
            day_value = date.fromisoformat(text)
        except ValueError:
            row.error = "Enter a date as YYYY-MM-DD."
            continue
        if day_value < today:
            row.error = "This date is in the past; remove the row."
            continue
        if day_value > today + timedelta(days=MAX_OVERRIDE_DAYS_AHEAD):
            row.error = "This date is too far ahead."
            continue
        parsed = None
        if not row.closed:
            parsed, row.error = _parse_window(row.start, row.end)
            if row.error:
                continue
        by_day.setdefault(day_value, []).append((row, parsed))

    override_values: list[DateOverride] = []
    for day_value, rows in sorted(by_day.items()):
        closed = [r for r, parsed in rows if parsed is None]
        if closed and len(rows) > 1:
            for row, _parsed in rows:
                row.error = f"{day_value} is listed more than once; a closed date has no other rows."
            continue
        windows = [parsed for _row, parsed in rows if parsed is not None]
        message = _overlap_message(windows)
        if message:
            for row, _parsed in rows:
                row.error = message
            continue
        override_values.append(DateOverride(day=day_value, windows=tuple(sorted(windows))))

    checked = ScheduleDraft(time_zone=time_zone, days=days, overrides=overrides, policy=dict(draft.policy),
                            field_errors=field_errors)
    if checked.error_count:
        return Validation(draft=checked, schedule=None)
    schedule = Schedule(time_zone=time_zone, weekly=tuple(weekly), overrides=tuple(override_values),
                        policy=BookingPolicy(**policy_values))
    return Validation(draft=checked, schedule=schedule)


def error_summary(draft: ScheduleDraft) -> list[str]:
    """Every problem of a checked draft, one line each, in the order the form shows them."""
    lines = [draft.field_errors[k] for k in ("time_zone", *POLICY_FIELD_NAMES) if k in draft.field_errors]
    for day in draft.days:
        lines += [f"{day.name}, window {n + 1}: {w.error}" for n, w in enumerate(day.windows) if w.error]
        if day.error:
            lines.append(f"{day.name}: {day.error}")
    if "overrides" in draft.field_errors:
        lines.append(draft.field_errors["overrides"])
    lines += [f"Date override {n + 1}: {o.error}" for n, o in enumerate(draft.overrides) if o.error]
    return lines


# --------------------------------------------------------------------------------------------------
# Outside hours: pure
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookedSpan:
    booking_id: str
    start: datetime  # tz-aware
    end: datetime


def outside_hours(*, spans: Sequence[BookedSpan], time_zone: str, weekly: Sequence[WeeklyWindow],
                  overrides: Sequence[DateOverride]) -> list[BookedSpan]:
    """The spans not wholly inside the open hours (windows that touch count as one).

    Hours are read in the builder's zone with `booking.scheduling.availability.working_windows`, so a DST
    change moves them exactly as it moves the slots clients see.
    """
    if not spans:
        return []
    zone = load_zone(time_zone)
    first = min(s.start for s in spans).astimezone(zone).date() - timedelta(days=1)
    last = max(s.end for s in spans).astimezone(zone).date()
    open_spans = availability.working_windows(builder_time_zone=time_zone, weekly=list(weekly),
                                              overrides=list(overrides), start_day=first, end_day=last)
    starts = [interval.start for interval in open_spans]
    result = []
    for span in spans:
        i = bisect_right(starts, span.start) - 1  # the last open span starting at or before it
        if i < 0 or open_spans[i].end < span.end:
            result.append(span)
    return result


# --------------------------------------------------------------------------------------------------
# Database: load and save (services: an explicit session, never commit)
# --------------------------------------------------------------------------------------------------


def load_availability(*, session: Session, builder_id: int) -> Schedule:
    builder = session.get(Builder, builder_id)
    if builder is None:
        raise NotFound("Builder")
    rules = session.exec(select(AvailabilityRule).where(AvailabilityRule.builder_id == builder_id)
                         .order_by(AvailabilityRule.weekday, AvailabilityRule.start_time)).all()
    rows = session.exec(select(AvailabilityOverride).where(AvailabilityOverride.builder_id == builder_id)
                        .order_by(AvailabilityOverride.day, AvailabilityOverride.start_time)).all()
    windows_by_day: dict[date, list[tuple[time, time]]] = {}
    for row in rows:
        windows = windows_by_day.setdefault(row.day, [])
        if not row.closed:
            windows.append((row.start_time, row.end_time))
    return Schedule(
        time_zone=builder.time_zone,
        weekly=tuple(WeeklyWindow(weekday=r.weekday, start=r.start_time, end=r.end_time) for r in rules),
        overrides=tuple(DateOverride(day=d, windows=tuple(w)) for d, w in sorted(windows_by_day.items())),
        policy=BookingPolicy(buffer_minutes=builder.buffer_minutes, min_notice_minutes=builder.min_notice_minutes,
                             horizon_days=builder.horizon_days, slot_step_minutes=builder.slot_step_minutes),
    )


def _audit_view(schedule: Schedule) -> dict[str, Any]:
    return {
        "time_zone": schedule.time_zone,
        "weekly": [f"{WEEKDAY_NAMES[w.weekday][:3]} {format_clock(w.start)}-{format_clock(w.end)}"
                   for w in sorted(schedule.weekly, key=lambda w: (w.weekday, w.start))],
        "overrides": [f"{o.day} " + (", ".join(f"{format_clock(s)}-{format_clock(e)}" for s, e in o.windows)
                                     or "closed") for o in sorted(schedule.overrides, key=lambda o: o.day)],
        **{name: getattr(schedule.policy, name) for name in POLICY_FIELD_NAMES},
    }


@dataclass(frozen=True)
class OutsideBooking:
    booking_id: str
    start: datetime  # UTC
    end: datetime
    status: str
    client_name: str
    session_type_name: str


@dataclass(frozen=True)
class SaveOutcome:
    schedule: Schedule
    outside_hours: list[OutsideBooking]  # the first OUTSIDE_HOURS_LIMIT
    outside_hours_total: int


def save_availability(*, session: Session, actor: Actor, builder_id: int, schedule: Schedule,
                      now: datetime) -> SaveOutcome:
    """Replace the builder's weekly rules, overrides and policy with `schedule`, with one audit entry.

    Bookings are never touched: active future ones outside the new hours are returned for a warning.
    """
    if not actor.can_manage(builder_id):
        raise NotFound("Builder")
    # Serialises with hold-taking, so the outside-hours check sees every hold taken before the change.
    lock_builder(session=session, builder_id=builder_id)
    builder = session.get(Builder, builder_id)
    if builder is None:
        raise NotFound("Builder")
    load_zone(schedule.time_zone)
    before = _audit_view(load_availability(session=session, builder_id=builder_id))

    session.exec(delete(AvailabilityRule).where(AvailabilityRule.builder_id == builder_id))
    session.exec(delete(AvailabilityOverride).where(AvailabilityOverride.builder_id == builder_id))
    for window in schedule.weekly:
        session.add(AvailabilityRule(builder_id=builder_id, weekday=window.weekday, start_time=window.start,
                                     end_time=window.end))
    for override in schedule.overrides:
        if not override.windows:
            session.add(AvailabilityOverride(builder_id=builder_id, day=override.day, closed=True))
        for start, end in override.windows:
            session.add(AvailabilityOverride(builder_id=builder_id, day=override.day, closed=False,
                                             start_time=start, end_time=end))
    builder.time_zone = schedule.time_zone
    for name in POLICY_FIELD_NAMES:
        setattr(builder, name, getattr(schedule.policy, name))
    session.add(builder)
    session.flush()
    audit.record(session=session, actor=actor, action="availability.update", entity_type="builder",
                 entity_id=builder_id, builder_id=builder_id, before=before, after=_audit_view(schedule))

    outside = _outside_new_hours(session=session, builder_id=builder_id, schedule=schedule, now=now)
    return SaveOutcome(schedule=schedule, outside_hours=outside[:OUTSIDE_HOURS_LIMIT],
                       outside_hours_total=len(outside))


def _active_future(builder_id: int, now: datetime):
    return (
        Booking.builder_id == builder_id,
        Booking.start_time > now,
        sa.or_(
            Booking.status == BookingStatus.CONFIRMED,
            sa.and_(Booking.status == BookingStatus.PENDING,
                    sa.or_(Booking.hold_expires_at > now, Booking.payment_status == PaymentStatus.PROCESSING)),
        ),
    )


def _outside_new_hours(*, session: Session, builder_id: int, schedule: Schedule,
                       now: datetime) -> list[OutsideBooking]:
    rows = session.exec(
        select(Booking.id, Booking.start_time, Booking.end_time, Booking.status,
               sa.func.coalesce(Booking.client_name, Client.name), SessionType.name)
        .join(Client, Client.id == Booking.client_id)
        .join(SessionType, SessionType.id == Booking.session_type_id)
        .where(*_active_future(builder_id, now))
        .order_by(Booking.start_time)
        .limit(_SCAN_LIMIT)
    ).all()
    details = {row[0]: row for row in rows}
    spans = [BookedSpan(booking_id=row[0], start=row[1], end=row[2]) for row in rows]
    found = outside_hours(spans=spans, time_zone=schedule.time_zone, weekly=schedule.weekly,
                          overrides=schedule.overrides)
    return [
        OutsideBooking(booking_id=span.booking_id, start=span.start, end=span.end,
                       status=BookingStatus(details[span.booking_id][3]).value,
                       client_name=details[span.booking_id][4], session_type_name=details[span.booking_id][5])
        for span in found
    ]


@dataclass(frozen=True)
class SessionTypeOption:
    id: int
    name: str


def preview_session_types(*, session: Session, builder_id: int) -> list[SessionTypeOption]:
    """The builder's active session types, oldest first (the preview's default is the first)."""
    rows = session.exec(select(SessionType.id, SessionType.name)
                        .where(SessionType.builder_id == builder_id, SessionType.active.is_(True))
                        .order_by(SessionType.id).limit(100)).all()
    return [SessionTypeOption(id=row[0], name=row[1]) for row in rows]


def builder_today(builder: Builder, now: datetime) -> date:
    return now.astimezone(load_zone(builder.time_zone)).date()
