"""The app the benchmarks serve with granian: the production ASGI stack (Reflex app, its CORS, our
hardening middleware, the API routes), without the compiled frontend, plus one bare endpoint.

    granian --interface asgi --factory benchmarks._asgi:create_app

`BENCH_FAKE_GATEWAY=1` puts the in-memory fake gateway (tests/support/fake_gateway.py) in place of
Stripe: the figures are then ours alone, not the Stripe emulator's.
"""

from __future__ import annotations

import os

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BARE_WEBHOOK = "/api/bench/bare-webhook"


async def bare_webhook(request: Request) -> JSONResponse:
    """The ceiling: verify the signature, insert the event id (as the real route's first step), answer."""
    import sqlalchemy as sa

    from booking.core.config import get_settings
    from booking.core.models import EventStatus, StripeEvent, utcnow
    from booking.payments.gateway import InvalidWebhook, verify_webhook
    from booking_ui import deps

    payload = await request.body()
    try:
        event = verify_webhook(payload, request.headers.get("stripe-signature"), get_settings().webhook_secrets)
    except InvalidWebhook as exc:
        return JSONResponse({"error": {"code": "invalid_signature", "message": str(exc)}}, status_code=400)

    def insert() -> None:
        # One plain INSERT and the commit (Core, no ORM unit of work): the cheapest way to keep the event.
        # Marked done: the stored-event worker (WEBHOOK_PROCESSING=worker) must not pick these up.
        with deps.engine().begin() as connection:
            connection.execute(sa.insert(StripeEvent.__table__).values(
                id=event["id"], type=event["type"], payload=payload.decode(), received_at=utcnow(),
                status=EventStatus.IGNORED, attempts=0, source="webhook"))

    await run_in_threadpool(insert)
    return JSONResponse({"received": True})


def create_app():
    import sys
    if float(os.environ.get("BENCH_SWITCH_INTERVAL", "0") or 0):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
    from booking.core.migrations import PROJECT_ROOT

    os.chdir(PROJECT_ROOT)  # Reflex finds rxconfig.py through the working directory
    from reflex_base.environment import environment

    environment.REFLEX_SKIP_COMPILE.set(True)
    if os.environ.get("BENCH_FAKE_GATEWAY") == "1":
        import itertools

        from booking_ui import deps
        from tests.support import fake_gateway
        from tests.support.fake_gateway import FakeGateway

        # Session ids unique across workers and runs (the fake numbers them from 1 in each process).
        fake_gateway._ids = itertools.count(os.getpid() * 10_000_000)
        fake = FakeGateway(webhook_secret=os.environ["STRIPE_WEBHOOK_SECRET"])
        deps.gateway = lambda: fake
    if os.environ.get("BENCH_SLOT_SEARCH_BEFORE"):  # benchmarks/slot_search.py: the "before" server
        from benchmarks import slot_search

        slot_search.use_before_in_app()
    from booking_ui.booking_ui import app

    app.api_transformer.router.routes.insert(0, Route(BARE_WEBHOOK, bare_webhook, methods=["POST"]))
    return app()
