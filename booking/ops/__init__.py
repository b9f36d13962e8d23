"""Running the platform: the operator CLI, demo data, leader locks, and the job worker.

- `cli`    `python -m booking --help`
- `demo`   demo builders, session types and sign-ins (emulator only)
- `locks`  one leader per periodic job across processes (Redis lease or PostgreSQL advisory lock)
"""

from booking.ops.locks import TickLock, lease_seconds, run_periodically, tick_lock

__all__ = [
    "TickLock",
    "lease_seconds",
    "run_periodically",
    "tick_lock",
]
