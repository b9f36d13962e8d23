"""`python -m booking.worker`: the job worker (the hold sweeper, late refunds, the outbox, stored webhooks).
Its code and its job registry are in booking/ops/worker.py."""

from booking.ops.worker import main

if __name__ == "__main__":
    raise SystemExit(main())
