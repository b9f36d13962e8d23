"""Running the platform: the operator CLI, demo data, leader locks, and the job worker.

- `cli`     `python -m booking --help`
- `demo`    demo builders, session types and sign-ins (emulator only)
- `locks`   one leader per periodic job across processes (Redis lease or PostgreSQL advisory lock)
- `worker`  `python -m booking.worker`: every background job (`JOBS`), each on its interval, under its lock
"""

from booking.ops.locks import TickLock, lease_seconds, tick_lock
from booking.ops.worker import JOBS, Context, Job, Worker

__all__ = [
    "JOBS",
    "Context",
    "Job",
    "TickLock",
    "Worker",
    "lease_seconds",
    "tick_lock",
]
