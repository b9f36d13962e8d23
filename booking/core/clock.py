"""The app's clock for time-driven features (reminders, the no-show window): the real UTC time, moved by
APP_CLOCK_FILE when a test sets it.

The offset lives in a file rather than in memory so that the web server and the job worker, separate
processes, read the same "now": an end-to-end test writes the file (`advance`) and both follow at their
next reading. Without the setting this is `utcnow()`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from booking.core.config import get_settings
from booking.core.models import utcnow


def offset() -> timedelta:
    path = get_settings().app_clock_file
    if not path:
        return timedelta(0)
    try:
        return timedelta(seconds=float(Path(path).read_text().strip() or 0))
    except (FileNotFoundError, ValueError):
        return timedelta(0)


def now() -> datetime:
    """Aware UTC: the real time plus the test offset (if any)."""
    return utcnow() + offset()


def advance(path: str | Path, by: timedelta) -> timedelta:
    """Tests: move the clock of every process reading `path` forward; returns the new offset."""
    file = Path(path)
    try:
        current = float(file.read_text().strip() or 0)
    except FileNotFoundError:
        current = 0.0
    total = current + by.total_seconds()
    temporary = file.with_name(f".{file.name}.tmp")
    temporary.write_text(f"{total}\n")
    temporary.replace(file)  # whole or not at all: a reader never sees half a number
    return timedelta(seconds=total)
