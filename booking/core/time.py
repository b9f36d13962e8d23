"""Time as people read it: the one zone loader and the display formatters.

Everything is stored as aware UTC; a viewer's zone is applied only when showing a time.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@cache  # at most the ~600 IANA names: failures raise and are not kept
def _zone(name: str) -> ZoneInfo:
    """A zone kept for the life of the process. ZoneInfo itself holds only 8 strongly, so a menu of ~30
    zones re-read the tz files from disk on every update of the booking page (on the event loop)."""
    return ZoneInfo(name)


def load_zone(name: str) -> ZoneInfo:
    """``ZoneInfo(name)``, raising ``ValueError`` for anything that isn't an IANA zone."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"Unknown time zone {name!r}: expected an IANA name such as 'Europe/London'")
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"Unknown time zone {name!r}: expected an IANA name such as 'Europe/London'") from exc


def format_when(start: datetime, end: datetime, time_zone: str) -> str:
    zone = load_zone(time_zone)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    return (f"{local_start:%A} {local_start.day} {local_start:%B %Y}, "
            f"{local_start:%H:%M}–{local_end:%H:%M} {local_end:%Z}")
