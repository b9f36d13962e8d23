"""The job worker the benchmarks run beside the app (`python -m benchmarks._worker`): `booking.worker`
itself, with the in-memory fake gateway in place of Stripe when `BENCH_FAKE_GATEWAY=1` (as benchmarks/_asgi.py)."""

from __future__ import annotations

import os

from booking.ops import worker


def main() -> int:
    factory = None
    if os.environ.get("BENCH_FAKE_GATEWAY") == "1":
        from tests.support.fake_gateway import FakeGateway

        fake = FakeGateway(webhook_secret=os.environ["STRIPE_WEBHOOK_SECRET"])
        factory = lambda _settings: fake  # noqa: E731
    return worker.main(["--log-level", "WARNING"], gateway_factory=factory)


if __name__ == "__main__":
    raise SystemExit(main())
