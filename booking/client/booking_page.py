"""Read model for the booking page: a month calendar of bookable days and the times of each day.

`month_view` asks `booking.scheduling.slots.find_open_slots` for one month at a time (in the viewer's zone),
clipped to the builder's horizon; an empty month also says when the next available day is.
The grid and the labels are pure functions (`month_grid`, `slot_option`), tested without a database.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from booking.core.forms import checked
from booking.core.models import Builder, QuestionKind, SessionType
from booking.core.time import LocaleLike, format_date, format_money, format_time, format_time_range
from booking.core.time import month_title as format_month_title
from booking.core.zones import friendly_zone_name
from booking.notifications.templates import is_web_link
from booking.payments import price_options, pricing
from booking.scheduling import policy, questions, seats, slots
from booking.scheduling.availability import MAX_RANGE_DAYS, Slot, load_zone

WEEKDAY_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class SlotOption:
    start: str  # ISO 8601 with the viewer's offset
    end: str
    label_24: str  # "09:30 – 10:30"
    label_12: str  # "9:30 AM – 10:30 AM"
    aria_24: str  # "09:30 – 10:30, Tuesday 1 December 2026, Eastern Time"
    aria_12: str
    held: bool = False  # the viewer's own hold (shown, not offered to others)
    seats_left: str = ""  # a workshop: "3 seats left" ("" for a one-to-one session)


@dataclass(frozen=True)
class CalendarDay:
    day: str  # ISO date; "" for the blank cells before the 1st and after the last day
    number: str
    bookable: bool
    aria: str  # "Tuesday 1 December 2026, 5 times available"
    today: bool = False
    first: bool = False  # the month's 1st: the grid's Tab stop while no day is chosen


@dataclass(frozen=True)
class MonthView:
    year: int
    month: int
    title: str  # "December 2026"
    weeks: list[list[CalendarDay]]
    times: dict[str, list[SlotOption]]  # ISO day -> its times, bookable days only
    first_bookable_day: str  # "" when the month has none
    has_previous: bool
    has_next: bool
    next_available_day: str = ""  # when this month has none: the first later day with times ("" = none)
    next_available_label: str = ""  # "Tuesday 5 January 2027"


@dataclass(frozen=True)
class PriceChoice:
    """One option of the booking page's currency picker: 'EUR — 45,00 €'."""

    currency: str  # lower-case ISO code, what Checkout gets
    label: str


@dataclass(frozen=True)
class PageSummary:
    """What the summary panel shows before any payment: never the location itself."""

    session_type_id: str
    session_type_name: str
    description: str
    builder_name: str
    builder_slug: str
    duration_minutes: int
    price: str
    how: str  # "Video call" | "In person" | ""
    # Prices in several currencies: the one shown (and charged), and every one to pick from.
    currency: str = ""
    price_choices: list[PriceChoice] = field(default_factory=list)
    # A no-show-fee session type: nothing is paid now, the card is kept for this fee ("" for a paid one).
    no_show_fee: str = ""


def day_label(day: date, *, locale: LocaleLike = None) -> str:
    """'Tuesday 5 January 2027' (the viewer's locale)."""
    return format_date(day, locale=locale, style="full")


def month_title(year: int, month: int, *, locale: LocaleLike = None) -> str:
    return format_month_title(year, month, locale=locale)


def how_it_happens(location: str) -> str:
    """The kind of location, safe to show before payment: the link or address itself is not."""
    if not (location or "").strip():
        return ""
    return "Video call" if is_web_link(location) else "In person"


def page_summary(*, session: Session, session_type_id: int, locale: LocaleLike = None,
                 currency: str | None = None) -> PageSummary | None:
    """The summary panel, its price in `currency` when the type is sold in it, else in the viewer's
    locale's currency when it is, else in its own."""
    session_type = session.get(SessionType, session_type_id)
    if session_type is None or not session_type.active:
        return None
    builder = session.get(Builder, session_type.builder_id)
    from booking.core.config import get_settings  # read when asked, never at import

    settings = get_settings()
    options = price_options.options_of(session=session, session_type_id=session_type.id)
    prices = {code: pricing.quote(amount, code, settings)  # what the client pays
              for code, amount in price_options.all_prices(session_type, options).items()}
    shown = price_options.preferred_currency(prices, chosen=currency, locale=locale) or session_type.currency
    price = prices[shown]
    choices = [PriceChoice(currency=code, label=f"{code.upper()} — {format_money(q.amount, code, locale=locale)}")
               for code, q in prices.items()] if len(prices) > 1 else []
    fee = format_money(session_type.no_show_fee_amount, session_type.currency, locale=locale) \
        if session_type.no_show_fee_amount else ""
    return PageSummary(
        session_type_id=str(session_type.id),
        session_type_name=session_type.name,
        description=session_type.description,
        builder_name=builder.name,
        builder_slug=builder.slug,
        duration_minutes=session_type.duration_minutes,
        price=(f"Nothing to pay now; {fee} if you miss the session" if fee
               else format_money(price.amount, price.currency, locale=locale)),
        how=how_it_happens(session_type.location),
        currency=price.currency,
        price_choices=[] if fee else choices,  # a kept card pays the fee in the type's own currency
        no_show_fee=fee,
    )


def page_policy(*, session: Session, session_type_id: int) -> policy.CancellationPolicy | None:
    """The cancellation policy a booking of this session type would get (None: no such session type)."""
    session_type = session.get(SessionType, session_type_id)
    if session_type is None:
        return None
    return policy.effective_policy(session.get(Builder, session_type.builder_id), session_type)


def refund_tier(rules: policy.CancellationPolicy | None, *, start: datetime, now: datetime) -> str:
    """'Booked 27 h ahead: a full refund if you cancel up to 24 h before, ...' ("" without a policy)."""
    return policy.booking_tier_text(rules, start=start, now=now) if rules is not None else ""


def seats_text(left: int) -> str:
    return "1 seat left" if left == 1 else f"{left} seats left"


def slot_option(slot: Slot, *, zone_name: str, held: bool = False, locale: LocaleLike = None,
                seats_left: int | None = None) -> SlotOption:
    start, end = slot.start, slot.end
    friendly = friendly_zone_name(zone_name)
    day = day_label(start.date(), locale=locale)

    def times(hour12: bool) -> str:
        return format_time_range(start, end, zone=start.tzinfo, locale=locale, date_style=None, hour12=hour12,
                                 abbreviation=False, dash=" – ")

    # The accessible name starts with the visible text (WCAG 2.5.3), then the day and the zone.
    held_note = " (your held time)" if held else ""
    seats_note = seats_text(seats_left) if seats_left is not None else ""
    if seats_note:
        held_note += f", {seats_note}"
    return SlotOption(
        start=start.isoformat(),
        end=end.isoformat(),
        label_24=times(False),
        label_12=times(True),
        aria_24=f"{times(False)}, {day}, {friendly}{held_note}",
        aria_12=f"{times(True)}, {day}, {friendly}{held_note}",
        held=held,
        seats_left=seats_note,
    )


def month_grid(*, year: int, month: int, counts: dict[date, int], today: date,
               locale: LocaleLike = None) -> list[list[CalendarDay]]:
    """Weeks Monday to Sunday; `counts` gives the number of open times of each bookable day."""
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        row = []
        for day in week:
            if day.month != month:
                row.append(CalendarDay(day="", number="", bookable=False, aria=""))
                continue
            count = counts.get(day, 0)
            availability = ("no times available" if count == 0 else
                            "1 time available" if count == 1 else f"{count} times available")
            row.append(CalendarDay(day=day.isoformat(), number=str(day.day), bookable=count > 0,
                                   aria=f"{day_label(day, locale=locale)}, {availability}", today=day == today,
                                   first=day.day == 1))
        weeks.append(row)
    return weeks


def _month_bounds(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _clamp_month(year: int, month: int, first: date, last: date) -> tuple[int, int]:
    wanted = (year, month)
    return max((first.year, first.month), min(wanted, (last.year, last.month)))


def _find(*, session: Session, session_type_id: int, viewer_time_zone: str, now: datetime, start: date,
          end: date, ignore_booking_id: str | None = None, exclude: datetime | None = None) -> list[Slot]:
    """Open slots on the viewer-local days [start, end], in spans the slot search accepts. A reschedule
    passes its booking (`ignore_booking_id`: its own time doesn't block its neighbours; `exclude`: its start)."""
    found: list[Slot] = []
    day = start
    while day <= end:
        span = min((end - day).days + 1, MAX_RANGE_DAYS)
        moving = {"ignore_booking_id": ignore_booking_id} if ignore_booking_id else {}
        found += slots.find_open_slots(session=session, session_type_id=session_type_id, from_day=day, days=span,
                                       viewer_time_zone=viewer_time_zone, now=now, **moving)
        day += timedelta(days=span)
    return [slot for slot in found if exclude is None or slot.start != exclude]


def next_available(*, session: Session, session_type_id: int, viewer_time_zone: str, now: datetime, after: date,
                   last_day: date, ignore_booking_id: str | None = None,
                   exclude: datetime | None = None) -> date | None:
    """The first viewer-local day after `after` with an open time, up to `last_day`."""
    day = after + timedelta(days=1)
    while day <= last_day:
        span = min((last_day - day).days + 1, MAX_RANGE_DAYS)
        found = _find(session=session, session_type_id=session_type_id, viewer_time_zone=viewer_time_zone, now=now,
                      start=day, end=day + timedelta(days=span - 1), ignore_booking_id=ignore_booking_id,
                      exclude=exclude)
        if found:
            return found[0].start.date()
        day += timedelta(days=span)
    return None


def bookable_range(*, session: Session, session_type_id: int, viewer_time_zone: str,
                   now: datetime) -> tuple[date, date]:
    """The viewer-local days from today to the builder's horizon (raises slots.SessionTypeNotFound)."""
    return _range_of(slots.load_schedule(session=session, session_type_id=session_type_id), viewer_time_zone, now)


def _range_of(schedule: slots.Schedule, viewer_time_zone: str, now: datetime) -> tuple[date, date]:
    zone = load_zone(viewer_time_zone)
    today = now.astimezone(zone).date()
    last = (now + timedelta(days=schedule.policy.horizon_days)).astimezone(zone).date()
    return today, max(today, last)


def _with_held(found: Iterable[Slot], held: Slot | None, first: date, last: date) -> list[tuple[Slot, bool]]:
    marked = [(slot, False) for slot in found]
    if held is not None and first <= held.start.date() <= last:
        marked = [(slot, False) for slot, _ in marked if slot.start != held.start]
        marked.append((held, True))
    return sorted(marked, key=lambda pair: pair[0].start)


def _seats_left(*, session: Session, session_type: SessionType, found: list[Slot],
                now: datetime) -> tuple[dict[datetime, int], int] | None:
    """A workshop's seats left by start (UTC), and its capacity (a start with no booking has every seat);
    None for a one-to-one session type."""
    if seats.capacity(session_type) <= 1 or not found:
        return None
    left = seats.seats_left(session=session, session_type=session_type, start=found[0].start, end=found[-1].end,
                            now=now)
    return left, seats.capacity(session_type)


@dataclass(frozen=True)
class QuestionField:
    """A booking question as the booking page asks it."""

    key: str  # the question's id: the form field is "answer-<key>"
    kind: str  # short_text | long_text | choice | checkbox
    label: str
    required: bool
    options: list[str] = field(default_factory=list)
    max_length: int = 0


def page_questions(*, session: Session, session_type_id: int) -> list[QuestionField]:
    return [QuestionField(key=q.key, kind=q.kind.value, label=q.label, required=q.required, options=list(q.options),
                          max_length=questions.LONG_TEXT_MAX if q.kind == QuestionKind.LONG_TEXT
                          else questions.SHORT_TEXT_MAX)
            for q in questions.questions_of(session=session, session_type_id=session_type_id)]


def answers_from_form(fields: list[QuestionField], form: dict) -> dict[str, object]:
    """The booking form's answers (question key -> answer), as `questions.validate_answers` takes them."""
    answers: dict[str, object] = {}
    for question in fields:
        name = f"answer-{question.key}"
        if question.kind == QuestionKind.CHECKBOX:
            answers[question.key] = checked(form, name)
        else:
            raw = form.get(name)
            answers[question.key] = str(raw)[:5000] if raw is not None else ""
    return answers


def month_view(*, session: Session, session_type_id: int, viewer_time_zone: str, now: datetime,
               year: int | None = None, month: int | None = None, held: Slot | None = None,
               locale: LocaleLike = None, ignore_booking_id: str | None = None,
               exclude: datetime | None = None) -> MonthView:
    """One month of the calendar in the viewer's zone (clamped to today .. the horizon).

    `held` is the viewer's own hold of this session type: it shows among the times, marked, though it is
    not open to anyone else. A reschedule passes `ignore_booking_id` and `exclude` (see `_find`).
    """
    schedule = slots.load_schedule(session=session, session_type_id=session_type_id)
    today, last = _range_of(schedule, viewer_time_zone, now)
    year, month = _clamp_month(year or today.year, month or today.month, today, last)
    month_first, month_last = _month_bounds(year, month)
    first, final = max(month_first, today), min(month_last, last)
    found = _find(session=session, session_type_id=session_type_id, viewer_time_zone=viewer_time_zone, now=now,
                  start=first, end=final, ignore_booking_id=ignore_booking_id, exclude=exclude)
    zone = load_zone(viewer_time_zone)
    if held is not None:
        held = Slot(start=held.start.astimezone(zone), end=held.end.astimezone(zone))
    times: dict[str, list[SlotOption]] = {}
    counts: dict[date, int] = {}
    left = _seats_left(session=session, session_type=schedule.session_type, found=found, now=now)
    for slot, is_held in _with_held(found, held, first, final):
        day = slot.start.date()
        seats_left = None if left is None or is_held else left[0].get(slot.start.astimezone(UTC), left[1])
        times.setdefault(day.isoformat(), []).append(slot_option(slot, zone_name=viewer_time_zone, held=is_held,
                                                                 locale=locale, seats_left=seats_left))
        counts[day] = counts.get(day, 0) + 1
    next_day = None
    if not times:
        next_day = next_available(session=session, session_type_id=session_type_id,
                                  viewer_time_zone=viewer_time_zone, now=now, after=final, last_day=last,
                                  ignore_booking_id=ignore_booking_id, exclude=exclude)
    return MonthView(
        year=year,
        month=month,
        title=month_title(year, month, locale=locale),
        weeks=month_grid(year=year, month=month, counts=counts, today=today, locale=locale),
        times=times,
        first_bookable_day=min(times) if times else "",
        has_previous=(year, month) > (today.year, today.month),
        has_next=(year, month) < (last.year, last.month),
        next_available_day=next_day.isoformat() if next_day else "",
        next_available_label=day_label(next_day, locale=locale) if next_day else "",
    )


@dataclass(frozen=True)
class DayTimes:
    """The times column: one day's slots."""

    day: str
    label: str
    times: list[SlotOption] = field(default_factory=list)


def day_times(view: MonthView, day: str, *, locale: LocaleLike = None) -> DayTimes:
    chosen = day if day in view.times else view.first_bookable_day
    if not chosen:
        return DayTimes(day="", label="")
    return DayTimes(day=chosen, label=day_label(date.fromisoformat(chosen), locale=locale), times=view.times[chosen])


# --- the builder's availability preview (admin): two weeks of times grouped by day -----------------


@dataclass(frozen=True)
class PreviewSlot:
    label: str  # "09:30"
    start: str  # ISO 8601 with the viewer's offset


@dataclass(frozen=True)
class DaySlots:
    label: str  # "Tuesday 1 December"
    day: str  # ISO date
    slots: list[PreviewSlot] = field(default_factory=list)


@dataclass(frozen=True)
class ListedSlot:
    """An open slot as the public API lists it."""

    start: datetime
    end: datetime
    seats_left: int  # free seats at this start: 1 for a one-to-one session


@dataclass(frozen=True)
class SlotList:
    seats: int  # the session type's seats: 1 for a one-to-one session, N for a workshop
    slots: list[ListedSlot]


def list_slots(*, session: Session, session_type_id: int, from_day: date, days: int, viewer_time_zone: str,
               now: datetime) -> SlotList:
    """Open slots on the viewer-local days [from_day, from_day + days), each with its seats left.
    Raises `slots.SessionTypeNotFound`."""
    found = slots.find_open_slots(session=session, session_type_id=session_type_id, from_day=from_day,
                                  days=days, viewer_time_zone=viewer_time_zone, now=now)
    session_type = session.get(SessionType, session_type_id)  # loaded by the search: no query
    capacity = seats.capacity(session_type)
    left = _seats_left(session=session, session_type=session_type, found=found, now=now)
    return SlotList(seats=capacity, slots=[
        ListedSlot(start=slot.start, end=slot.end,
                   seats_left=capacity if left is None else left[0].get(slot.start.astimezone(UTC), left[1]))
        for slot in found])


def slots_by_day(*, session: Session, session_type_id: int, viewer_time_zone: str, now: datetime,
                 days: int = 14, from_day: date | None = None, locale: LocaleLike = None) -> list[DaySlots]:
    zone = load_zone(viewer_time_zone)
    first_day = from_day or now.astimezone(zone).date()
    found = slots.find_open_slots(session=session, session_type_id=session_type_id, from_day=first_day,
                                  days=days, viewer_time_zone=viewer_time_zone, now=now)
    grouped: dict[date, list[PreviewSlot]] = {}
    for slot in found:
        grouped.setdefault(slot.start.date(), []).append(PreviewSlot(
            label=format_time(slot.start, zone=zone, locale=locale), start=slot.start.isoformat()))
    return [DaySlots(label=format_date(d, locale=locale, style="weekday_day_month"), day=d.isoformat(), slots=options)
            for d, options in sorted(grouped.items())]
