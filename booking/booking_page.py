"""Read model for the slot picker: open slots grouped by the viewer's local day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session

from booking import slots
from booking.availability import load_zone


@dataclass(frozen=True)
class SlotOption:
    label: str  # "09:30"
    start: str  # ISO 8601 with the viewer's offset


@dataclass(frozen=True)
class DaySlots:
    label: str  # "Tuesday 1 December"
    day: str  # ISO date
    slots: list[SlotOption] = field(default_factory=list)


def slots_by_day(*, session: Session, session_type_id: int, viewer_time_zone: str, now: datetime,
                 days: int = 14, from_day: date | None = None) -> list[DaySlots]:
    zone = load_zone(viewer_time_zone)
    first_day = from_day or now.astimezone(zone).date()
    found = slots.find_open_slots(session=session, session_type_id=session_type_id, from_day=first_day,
                                  days=days, viewer_time_zone=viewer_time_zone, now=now)
    grouped: dict[date, list[SlotOption]] = {}
    for slot in found:
        grouped.setdefault(slot.start.date(), []).append(SlotOption(label=f"{slot.start:%H:%M}",
                                                                    start=slot.start.isoformat()))
    return [DaySlots(label=f"{d:%A} {d.day} {d:%B}", day=d.isoformat(), slots=options)
            for d, options in sorted(grouped.items())]
