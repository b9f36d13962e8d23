"""The emulator's clock: real time plus an offset that the control API can advance."""

from __future__ import annotations

import threading
import time


class Clock:
    def __init__(self, offset: float = 0.0) -> None:
        self._offset = float(offset)
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> int:
        """Current emulator time as a Unix timestamp (what Stripe puts in `created`)."""
        return int(time.time() + self._offset)

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += float(seconds)
            return self._offset

    def set_offset(self, offset: float) -> None:
        with self._lock:
            self._offset = float(offset)
