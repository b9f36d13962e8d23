"""The cancellation and rescheduling policy: pure rules over plain values (no database, no clock).

A builder sets one policy; a session type may override any of its five numbers (None: the builder's
applies). For a booking starting at S:

  * cancelled at or before S − N hours: a full refund (all that is left of the payment);
  * after that, at or before S − M hours: P % of the amount paid (never more than is left);
  * after that, until S: no refund, but the client may still cancel (and free the slot);
  * rescheduling: at or before S − R hours, at most `max_reschedules` times in the booking's life.

Boundaries are inclusive ("until 14:00" includes 14:00:00). Amounts are integer minor units, rounded
down, so the refund never exceeds P % and never what is left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from booking.core.time import LocaleLike, format_date, format_time

MAX_HOURS = 8760  # a year
MAX_RESCHEDULES_LIMIT = 10

# (field, the column on Builder/SessionType, label, lowest, highest)
FIELDS: tuple[tuple[str, str, str, int, int], ...] = (
    ("full_refund_hours", "policy_full_refund_hours", "Full refund until (hours before)", 0, MAX_HOURS),
    ("partial_refund_percent", "policy_partial_refund_percent", "Partial refund (%)", 0, 100),
    ("partial_refund_hours", "policy_partial_refund_hours", "Partial refund until (hours before)", 0, MAX_HOURS),
    ("reschedule_hours", "policy_reschedule_hours", "Reschedule until (hours before)", 0, MAX_HOURS),
    ("max_reschedules", "policy_max_reschedules", "Reschedules allowed", 0, MAX_RESCHEDULES_LIMIT),
)
FIELD_NAMES = tuple(name for name, *_ in FIELDS)
COLUMNS = {name: column for name, column, *_ in FIELDS}


@dataclass(frozen=True)
class CancellationPolicy:
    full_refund_hours: int  # N
    partial_refund_percent: int  # P
    partial_refund_hours: int  # M (M <= N)
    reschedule_hours: int
    max_reschedules: int

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in FIELD_NAMES}


DEFAULT_POLICY = CancellationPolicy(full_refund_hours=24, partial_refund_percent=50, partial_refund_hours=2,
                                    reschedule_hours=24, max_reschedules=2)


def builder_policy(builder: Any) -> CancellationPolicy:
    """The builder's own policy (any object with the five `policy_*` attributes)."""
    return CancellationPolicy(**{name: int(getattr(builder, column)) for name, column in COLUMNS.items()})


def effective_policy(builder: Any, session_type: Any | None = None) -> CancellationPolicy:
    """What applies to a booking of `session_type`: each of its overrides, else the builder's number.

    An override may break M <= N against the builder's other number (the builder changed theirs
    later): M is then capped at N, so the windows stay in order.
    """
    values = builder_policy(builder).as_dict()
    if session_type is not None:
        for name, column in COLUMNS.items():
            override = getattr(session_type, column, None)
            if override is not None:
                values[name] = int(override)
    values["partial_refund_hours"] = min(values["partial_refund_hours"], values["full_refund_hours"])
    return CancellationPolicy(**values)


def overrides_of(session_type: Any) -> dict[str, int | None]:
    return {name: getattr(session_type, column, None) for name, column in COLUMNS.items()}


# --- validation (the admin form) ------------------------------------------------------------------------


class InvalidPolicy(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def parse_policy_form(form: Mapping[str, Any], *, allow_blank: bool,
                      inherited: CancellationPolicy | None = None) -> dict[str, int | None]:
    """The five numbers from a form (by field name). Blank means "use the builder's" when allowed.

    Raises InvalidPolicy with a message per field. The order rule M <= N is checked on the numbers
    that will apply (a blank override takes `inherited`'s).
    """
    values: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    for name, _column, label, lowest, highest in FIELDS:
        text = str(form.get(name) if form.get(name) is not None else "").strip()
        if text == "":
            if allow_blank:
                values[name] = None
            else:
                errors[name] = f"{label}: enter a whole number from {lowest} to {highest}."
            continue
        if not text.isascii() or not text.isdigit() or len(text) > 6:
            errors[name] = f"{label}: enter a whole number from {lowest} to {highest}."
            continue
        number = int(text)
        if not lowest <= number <= highest:
            errors[name] = f"{label}: must be from {lowest} to {highest}."
            continue
        values[name] = number
    if "full_refund_hours" not in errors and "partial_refund_hours" not in errors:
        base = inherited.as_dict() if inherited else {}
        full = values.get("full_refund_hours")
        partial = values.get("partial_refund_hours")
        full = base.get("full_refund_hours") if full is None else full
        partial = base.get("partial_refund_hours") if partial is None else partial
        if full is not None and partial is not None and partial > full:
            errors["partial_refund_hours"] = (
                f"The partial refund must end no earlier than the full refund: at most {full} hours before.")
    if errors:
        raise InvalidPolicy(errors)
    return values


# --- what a cancellation gets now -----------------------------------------------------------------------


class RefundWindow(StrEnum):
    FULL = "full"
    PARTIAL = "partial"
    NONE = "none"


@dataclass(frozen=True)
class RefundQuote:
    window: RefundWindow
    percent: int  # 100, P or 0
    amount: int  # minor units a cancellation now refunds
    until: datetime | None  # the last moment of this window (None: no refund window is left)
    next_change: RefundWindow | None = None  # what the refund becomes after `until`


def full_refund_until(policy: CancellationPolicy, start: datetime) -> datetime:
    return start - timedelta(hours=policy.full_refund_hours)


def partial_refund_until(policy: CancellationPolicy, start: datetime) -> datetime:
    return start - timedelta(hours=min(policy.partial_refund_hours, policy.full_refund_hours))


def has_partial_window(policy: CancellationPolicy) -> bool:
    return policy.partial_refund_percent > 0 and policy.partial_refund_hours < policy.full_refund_hours


def refund_quote(*, policy: CancellationPolicy, start: datetime, now: datetime, paid: int,
                 refundable: int) -> RefundQuote:
    """The refund a cancellation at `now` gets: `paid` is what the client paid, `refundable` what is
    still left of it (after earlier refunds); both minor units."""
    _require_aware(start, now)
    left = max(min(refundable, paid), 0)
    partial = has_partial_window(policy)
    if now <= full_refund_until(policy, start):
        return RefundQuote(RefundWindow.FULL, 100, left, full_refund_until(policy, start),
                           RefundWindow.PARTIAL if partial else RefundWindow.NONE)
    if partial and now <= partial_refund_until(policy, start):
        amount = min(max(paid, 0) * policy.partial_refund_percent // 100, left)
        return RefundQuote(RefundWindow.PARTIAL, policy.partial_refund_percent, amount,
                           partial_refund_until(policy, start), RefundWindow.NONE)
    return RefundQuote(RefundWindow.NONE, 0, 0, None)


def can_cancel(*, start: datetime, now: datetime) -> bool:
    """A client may cancel until the session starts (with whatever refund applies then)."""
    _require_aware(start, now)
    return now < start


@dataclass(frozen=True)
class RescheduleCheck:
    allowed: bool
    reason: str  # why not ("" when allowed)
    until: datetime
    remaining: int  # reschedules left after the ones made


def reschedule_check(*, policy: CancellationPolicy, start: datetime, now: datetime,
                     reschedule_count: int) -> RescheduleCheck:
    _require_aware(start, now)
    until = start - timedelta(hours=policy.reschedule_hours)
    remaining = max(policy.max_reschedules - reschedule_count, 0)
    if policy.max_reschedules == 0:
        return RescheduleCheck(False, "This session can't be rescheduled.", until, 0)
    if remaining == 0:
        times = "once" if policy.max_reschedules == 1 else f"{policy.max_reschedules} times"
        return RescheduleCheck(False, f"This booking has already been rescheduled {times}, the most allowed.",
                               until, 0)
    if now > until:
        return RescheduleCheck(False, "It's too late to reschedule: the policy allows it until "
                               f"{policy.reschedule_hours} hours before the start.", until, remaining)
    return RescheduleCheck(True, "", until, remaining)


# --- words -------------------------------------------------------------------------------------------


def _hours(count: int) -> str:
    if count == 0:
        return "the start"
    if count % 24 == 0 and count >= 48:
        return f"{count // 24} days before"
    return f"{count} hour{'s' if count != 1 else ''} before"


def describe(policy: CancellationPolicy) -> list[str]:
    """The policy in plain words, one rule a line (the booking page, the confirmation email)."""
    lines = [f"Free cancellation with a full refund until {_hours(policy.full_refund_hours)}."
             if policy.full_refund_hours else "Free cancellation with a full refund until the start."]
    if has_partial_window(policy):
        lines.append(f"Then a {policy.partial_refund_percent} % refund until {_hours(policy.partial_refund_hours)}.")
    if policy.full_refund_hours:
        lines.append("After that, cancelling refunds nothing.")
    if policy.max_reschedules:
        times = "once" if policy.max_reschedules == 1 else f"up to {policy.max_reschedules} times"
        lines.append(f"You can reschedule {times}, until {_hours(policy.reschedule_hours)}.")
    else:
        lines.append("Rescheduling isn't offered for this session.")
    return lines


def format_moment(moment: datetime, zone: ZoneInfo, *, locale: LocaleLike = None) -> str:
    """'14:00 on 3 Dec' in `zone` (the client's)."""
    return (f"{format_time(moment, zone=zone, locale=locale)} on "
            f"{format_date(moment, zone=zone, locale=locale, style='day_month')}")


def describe_quote(quote: RefundQuote, *, money: str, zone: ZoneInfo, locale: LocaleLike = None) -> str:
    """'Cancel now and get £25.00 back (50 %, until 14:00 on 3 Dec)'."""
    if quote.window == RefundWindow.FULL:
        until = f", until {format_moment(quote.until, zone, locale=locale)}" if quote.until else ""
        return f"Cancel now and get {money} back (a full refund{until})."
    if quote.window == RefundWindow.PARTIAL:
        until = format_moment(quote.until, zone, locale=locale)
        return f"Cancel now and get {money} back ({quote.percent} %, until {until})."
    return "Cancelling now refunds nothing: the refund window has closed. The slot is freed for someone else."


def _before(hours: int) -> str:
    return "the start" if hours == 0 else f"{hours} h before"


def booking_tier_text(policy: CancellationPolicy, *, start: datetime, now: datetime) -> str:
    """Which refund tier a booking made now for `start` falls in, in words (the booking page, once a time is
    picked): 'Booked 27 h ahead: a full refund if you cancel up to 24 h before, then 50 % back up to 2 h
    before.' / 'Booked 6 h ahead: 50 % back if you cancel up to 2 h before.' / 'Booked 1 h ahead: ...'."""
    _require_aware(start, now)
    hours = max(int((start - now).total_seconds() // 3600), 0)
    lead = f"Booked {hours} h ahead" if hours >= 1 else "Booked less than 1 h ahead"
    quote = refund_quote(policy=policy, start=start, now=now, paid=100, refundable=100)
    if quote.window == RefundWindow.FULL:
        then = (f", then {policy.partial_refund_percent} % back up to {_before(policy.partial_refund_hours)}"
                if has_partial_window(policy) else "")
        return f"{lead}: a full refund if you cancel up to {_before(policy.full_refund_hours)}{then}."
    if quote.window == RefundWindow.PARTIAL:
        return (f"{lead}: {quote.percent} % back if you cancel up to {_before(policy.partial_refund_hours)} "
                "(the full-refund window has already passed).")
    return f"{lead}: no refund if you cancel, as the refund windows have already passed."


def _require_aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.utcoffset() is None:
            raise ValueError("policy times must be timezone-aware")
