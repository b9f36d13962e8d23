"""When a builder can be booked: pure availability maths, busy spans, slot search, the cancellation policy.

- `availability`  weekly windows, overrides, buffers, notice and horizon -> open slots (pure, DST-safe)
- `busy`          what blocks a builder's time (confirmed bookings, live holds, external calendars' spans)
- `ics_busy`      an iCalendar document's events as busy spans (recurrences, exceptions, all-day, floating)
- `safe_fetch`    fetching a URL a builder typed (http(s), size cap, timeout, no private addresses)
- `caldav_access` reading and writing a CalDAV calendar
- `external_calendars` a builder's calendars and the worker's sync of their busy spans
- `slots`         loads a builder's schedule from the database and asks `availability`
- `policy`        the cancellation and rescheduling rules (pure)
- `seats`         workshops: which seat a hold takes, sessions with a free seat, seats left
- `questions`     booking questions: the one check of a client's answers, their storage and deletion
"""

from booking.scheduling.availability import Slot, load_zone
from booking.scheduling.busy import DEFAULT_BUSY_SOURCES, BusySource, external_calendar_spans
from booking.scheduling.external_calendars import (
    CalendarInputError,
    CalendarView,
    add_calendar,
    list_calendars,
    policy_from_settings,
    remove_calendar,
    sync_due_calendars,
)
from booking.scheduling.policy import FIELD_NAMES, FIELDS, CancellationPolicy, InvalidPolicy, builder_policy
from booking.scheduling.questions import (
    CHECKED,
    KIND_LABELS,
    LABEL_MAX,
    LONG_TEXT_MAX,
    MAX_OPTIONS,
    MAX_QUESTIONS,
    OPTION_MAX,
    SHORT_TEXT_MAX,
    Answer,
    InvalidAnswers,
    Question,
    answers_of,
    questions_of,
    validate_answers,
)
from booking.scheduling.seats import MAX_SEATS
from booking.scheduling.slots import SessionTypeNotFound, find_open_slots

__all__ = [
    "DEFAULT_BUSY_SOURCES",
    "BusySource",
    "CalendarInputError",
    "CalendarView",
    "add_calendar",
    "external_calendar_spans",
    "list_calendars",
    "policy_from_settings",
    "remove_calendar",
    "sync_due_calendars",
    "Answer",
    "CHECKED",
    "InvalidAnswers",
    "KIND_LABELS",
    "LABEL_MAX",
    "LONG_TEXT_MAX",
    "MAX_OPTIONS",
    "MAX_QUESTIONS",
    "MAX_SEATS",
    "OPTION_MAX",
    "Question",
    "SHORT_TEXT_MAX",
    "answers_of",
    "questions_of",
    "validate_answers",
    "CancellationPolicy",
    "FIELDS",
    "FIELD_NAMES",
    "InvalidPolicy",
    "SessionTypeNotFound",
    "Slot",
    "builder_policy",
    "find_open_slots",
    "load_zone",
]
