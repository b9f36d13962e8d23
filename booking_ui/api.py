"""HTTP routes (JSON API, health, webhook): parse, call one service, map the result."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from booking import availability, catalog, invites, payments, slots
from booking import calendar_feed as calendar_feeds
from booking.config import get_settings
from booking.db import database_reachable, session_scope
from booking.gateway import PaymentProviderError
from booking.models import utcnow
from booking.webhooks import handle_webhook
from booking_ui import deps, routes
from booking_ui.admin.http import admin_routes

MAX_SLOT_DAYS = 31


def error(status: int, code: str, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


def invalid(field: str, message: str) -> JSONResponse:
    return error(422, "invalid_request", message, field=field)


async def health(_request: Request) -> JSONResponse:
    if not await run_in_threadpool(database_reachable, deps.engine()):
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def session_types(_request: Request) -> JSONResponse:
    def load() -> list[dict[str, Any]]:
        with session_scope(deps.engine()) as session:
            return [asdict(view) for view in catalog.list_active_session_types(session=session)]

    return JSONResponse(await run_in_threadpool(load))


def _parse_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


async def session_type_slots(request: Request) -> JSONResponse:
    session_type_id = _parse_id(request.path_params["session_type_id"])
    if session_type_id is None:
        return error(404, "session_type_not_found", "No such session type.")
    tz = request.query_params.get("tz", "UTC")
    try:
        availability.load_zone(tz)
    except ValueError as exc:
        return invalid("tz", str(exc))
    try:
        raw_from = request.query_params.get("from")
        from_day = date.fromisoformat(raw_from) if raw_from else utcnow().astimezone(availability.load_zone(tz)).date()
    except ValueError:
        return invalid("from", "from must be a date like 2026-12-01.")
    raw_days = request.query_params.get("days", "7")
    if not raw_days.isdigit() or not 1 <= int(raw_days) <= MAX_SLOT_DAYS:
        return invalid("days", f"days must be a whole number from 1 to {MAX_SLOT_DAYS}.")

    def load() -> list[availability.Slot]:
        with session_scope(deps.engine()) as session:
            return slots.find_open_slots(session=session, session_type_id=session_type_id, from_day=from_day,
                                         days=int(raw_days), viewer_time_zone=tz, now=utcnow())

    try:
        found = await run_in_threadpool(load)
    except slots.SessionTypeNotFound:
        return error(404, "session_type_not_found", "No such session type.")
    return JSONResponse({
        "time_zone": tz,
        "slots": [{"start_time": s.start.isoformat(), "end_time": s.end.isoformat()} for s in found],
    })


async def create_checkout_session(request: Request) -> JSONResponse:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return invalid("body", "The body must be JSON.")
    if not isinstance(body, dict):
        return invalid("body", "The body must be a JSON object.")
    for field in ("session_type_id", "start_time", "client_name", "client_email"):
        if body.get(field) in (None, ""):
            return invalid(field, f"{field} is required.")
    session_type_id = _parse_id(str(body["session_type_id"]))
    if session_type_id is None:
        return error(404, "session_type_not_found", "No such session type.")
    try:
        start_time = datetime.fromisoformat(str(body["start_time"]).replace("Z", "+00:00"))
    except ValueError:
        return invalid("start_time", "start_time must be ISO 8601 with an offset.")
    client_time_zone = str(body.get("client_time_zone") or "UTC")
    try:
        availability.load_zone(client_time_zone)
    except ValueError as exc:
        return invalid("client_time_zone", str(exc))

    def start() -> payments.CheckoutStarted:
        return payments.begin_checkout(
            engine=deps.engine(), gateway=deps.gateway(), settings=get_settings(),
            session_type_id=session_type_id, start_time=start_time, client_name=str(body["client_name"]),
            client_email=str(body["client_email"]), client_time_zone=client_time_zone,
        )

    try:
        started = await run_in_threadpool(start)
    except payments.InvalidRequest as exc:
        return invalid(exc.field, exc.message)
    except slots.SessionTypeNotFound:
        return error(404, "session_type_not_found", "No such session type.")
    except payments.SlotUnavailable as exc:
        return error(409, "slot_unavailable", str(exc))
    except PaymentProviderError:
        return error(502, "payment_provider_error",
                     "We could not reach the payment provider. Nothing was charged and the slot was released.")
    return JSONResponse(
        {"booking_id": started.booking_id, "checkout_session_id": started.checkout_session_id,
         "checkout_url": started.checkout_url, "expires_at": started.expires_at.isoformat()},
        status_code=201,
    )


async def stripe_webhook(request: Request) -> JSONResponse:
    payload = await request.body()  # the raw bytes Stripe signed
    signature = request.headers.get("stripe-signature")
    result = await run_in_threadpool(
        lambda: handle_webhook(engine=deps.engine(), gateway=deps.gateway(), payload=payload, signature=signature)
    )
    return JSONResponse(result.body, status_code=result.status_code)


async def booking_invite(request: Request) -> Response:
    booking_id = request.path_params["booking_id"]

    def load() -> bytes | None:
        with session_scope(deps.engine()) as session:
            return invites.invite_for_booking(session=session, booking_id=booking_id)

    ics = await run_in_threadpool(load)
    if ics is None:
        return error(404, "booking_not_found", "No confirmed booking with that id.")
    return Response(ics, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="booking.ics"'})


async def calendar_feed(request: Request) -> Response:
    """A builder's private subscription: the token in the URL is the only credential."""
    token = request.path_params["token"]

    def load() -> bytes | None:
        with session_scope(deps.engine()) as session:
            feed = calendar_feeds.load_feed(session=session, token=token)
        return feed.to_ical() if feed is not None else None  # rendered after the transaction ends

    ics = await run_in_threadpool(load)
    if ics is None:
        return error(404, "calendar_not_found", "No calendar at this address (the link may have been replaced).")
    return Response(ics, media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=300", "Referrer-Policy": "no-referrer",
                             "Content-Disposition": 'inline; filename="bookings.ics"'})


def build_api() -> Starlette:
    return Starlette(
        routes=[
            Route(routes.API_HEALTH, health, methods=["GET"]),
            Route(routes.API_SESSION_TYPES, session_types, methods=["GET"]),
            Route(routes.API_SLOTS, session_type_slots, methods=["GET"]),
            Route(routes.API_CREATE_CHECKOUT, create_checkout_session, methods=["POST"]),
            Route(routes.API_WEBHOOK, stripe_webhook, methods=["POST"]),
            Route(routes.API_ICS, booking_invite, methods=["GET"]),
            Route(routes.CALENDAR_FEED, calendar_feed, methods=["GET"]),
            *admin_routes(),
        ]
    )
