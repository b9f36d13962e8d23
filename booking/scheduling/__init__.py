"""When a builder can be booked: pure availability maths, busy spans, slot search, the cancellation policy.

- `availability`  weekly windows, overrides, buffers, notice and horizon -> open slots (pure, DST-safe)
- `busy`          what blocks a builder's time (confirmed bookings, live holds, any registered busy source)
- `slots`         loads a builder's schedule from the database and asks `availability`
- `policy`        the cancellation and rescheduling rules (pure)
"""

from booking.scheduling.availability import Slot, load_zone
from booking.scheduling.busy import register_busy_source, unregister_busy_source
from booking.scheduling.policy import FIELD_NAMES, FIELDS, CancellationPolicy, InvalidPolicy, builder_policy
from booking.scheduling.slots import SessionTypeNotFound, find_open_slots

__all__ = [
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
