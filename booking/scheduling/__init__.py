"""When a builder can be booked: pure availability maths, busy spans, slot search, the cancellation policy.

- `availability`  weekly windows, overrides, buffers, notice and horizon -> open slots (pure, DST-safe)
- `busy`          what blocks a builder's time (confirmed bookings, live holds, any registered busy source)
- `slots`         loads a builder's schedule from the database and asks `availability`
- `policy`        the cancellation and rescheduling rules (pure)
- `seats`         workshops: which seat a hold takes, sessions with a free seat, seats left
- `questions`     booking questions: the one check of a client's answers, their storage and deletion
"""

from booking.scheduling.availability import Slot, load_zone
from booking.scheduling.busy import register_busy_source, unregister_busy_source
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
    "register_busy_source",
    "unregister_busy_source",
]
