"""Daily and weekly booking limits ("at most 4 sessions a day, 12 a week"), per builder and per session type.

Days and weeks (Monday to Sunday) are the builder's, in their zone. A limit counts the builder's active
bookings (confirmed, and holds still live), the way they block time: a builder's limit counts every
session type, a session type's limit only its own. Pure: `slots` loads the bookings and asks here, both in
slot search and inside the hold's transaction (under the builder's lock, so two clients can't both take
the last allowed booking).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

MAX_LIMIT = 1000  # far above any real day or week; stops typos such as 40000


class InvalidLimit(ValueError):
    """A limit the form can't take; the message says why."""


@dataclass(frozen=True)
class BookingLimits:
    builder_daily: int | None = None
    builder_weekly: int | None = None
    type_daily: int | None = None
    type_weekly: int | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.builder_daily, self.builder_weekly, self.type_daily,
                                           self.type_weekly))


def parse_limit(raw: object, what: str) -> int | None:
    """A form's limit: blank means none; otherwise a whole number from 1 to MAX_LIMIT."""
    text = str(raw if raw is not None else "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise InvalidLimit(f"{what} must be a whole number, or left empty for no limit.")
    value = int(text)
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidLimit(f"{what} must be between 1 and {MAX_LIMIT}, or left empty for no limit.")
    return value


def check_pair(daily: int | None, weekly: int | None) -> None:
    """A daily limit above the weekly one could never be reached: refused, so the form says what it means."""
    if daily is not None and weekly is not None and daily > weekly:
        raise InvalidLimit(f"The daily limit ({daily}) can't be more than the weekly limit ({weekly}).")


def local_day_and_week(start: datetime, zone: tzinfo) -> tuple[date, date]:
    """The builder-local day of `start`, and the Monday of its week."""
    day = start.astimezone(zone).date()
    return day, day - timedelta(days=day.weekday())


def count_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The bookings to count for slots in [start, end): whole weeks either side, whatever the zone."""
    return start - timedelta(days=8), end + timedelta(days=8)


class LimitCounter:
    """Answers "may one more booking start at this moment?" from the bookings already taken."""

    def __init__(self, limits: BookingLimits, zone: tzinfo, session_type_id: int,
                 taken: Iterable[tuple[int, datetime]]) -> None:
        self.limits = limits
        self.zone = zone
        self.session_type_id = session_type_id
        self.all_days: Counter[date] = Counter()
        self.all_weeks: Counter[date] = Counter()
        self.type_days: Counter[date] = Counter()
        self.type_weeks: Counter[date] = Counter()
        self._offsets: dict[date, timedelta | None] = {}  # UTC day -> the zone's offset all day (None: it changes)
        for type_id, start in taken:
            day, week = self._day_and_week(start)
            self.all_days[day] += 1
            self.all_weeks[week] += 1
            if type_id == session_type_id:
                self.type_days[day] += 1
                self.type_weeks[week] += 1

    def allows(self, start: datetime) -> bool:
        if not (self.all_days or self.type_days):  # nothing taken yet: every limit (>= 1) has room
            return True
        day, week = self._day_and_week(start)
        limits = self.limits
        return not any(limit is not None and count >= limit for limit, count in (
            (limits.builder_daily, self.all_days[day]),
            (limits.builder_weekly, self.all_weeks[week]),
            (limits.type_daily, self.type_days[day]),
            (limits.type_weekly, self.type_weeks[week]),
        ))

    def _day_and_week(self, start: datetime) -> tuple[date, date]:
        """`local_day_and_week`, with each UTC day's offset looked up once (a zone lookup per booking and per
        candidate slot would cost more than the rest of the check)."""
        utc = start.astimezone(timezone.utc)
        utc_day = utc.date()
        if utc_day not in self._offsets:
            first = datetime.combine(utc_day, time.min, timezone.utc).astimezone(self.zone).utcoffset()
            last = datetime.combine(utc_day, time.max, timezone.utc).astimezone(self.zone).utcoffset()
            self._offsets[utc_day] = first if first == last else None
        offset = self._offsets[utc_day]
        if offset is None:  # the zone's offset changes this day (DST): ask the zone
            return local_day_and_week(start, self.zone)
        day = (utc + offset).date()
        return day, day - timedelta(days=day.weekday())
