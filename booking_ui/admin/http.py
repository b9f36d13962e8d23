"""Admin HTTP routes. Each resolves the signed-in account from the session cookie on the server and
answers 401 (signed out) or 404 (not theirs) like the JSON API does."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from booking.accounts import Actor, NotFound, load_owned
from booking.core import StripeEvent, session_scope
from booking.workspace import InvalidExport, csv_chunks, export_rows, parse_kind, parse_range, viewer_zone
from booking_ui import deps, routes
from booking_ui.admin.base import SESSION_COOKIE, resolve_actor


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def actor_from_request(request: Request) -> Actor | None:
    return await run_in_threadpool(resolve_actor, request.cookies.get(SESSION_COOKIE, ""))


async def event_payload(request: Request) -> Response:
    """The raw payload of one stored webhook event, as Stripe signed it."""
    actor = await actor_from_request(request)
    if actor is None:
        return _error(401, "not_signed_in", "Sign in to the workspace first.")
    event_id = request.path_params["event_id"]

    def load() -> str | None:
        with session_scope(deps.engine()) as session:
            try:
                return load_owned(session=session, actor=actor, model=StripeEvent, object_id=event_id).payload
            except NotFound:
                return None

    payload = await run_in_threadpool(load)
    if payload is None:
        return _error(404, "event_not_found", "No such event.")
    # Private to the signed-in account: never kept by a shared cache or the browser's back button.
    return Response(payload, media_type="application/json",
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


async def export_csv(request: Request) -> Response:
    """Exports: bookings, payments or payouts as CSV for a date range in the viewer's zone, scoped as the
    pages are (a builder only their own rows; an admin everyone's or one builder's). Streamed off the loop."""
    # The HttpOnly session cookie the sign-in endpoint set (plain HTTP: the raw token, checked by its hash).
    token = request.cookies.get(SESSION_COOKIE, "")

    def who() -> tuple[Actor | None, str]:
        actor = resolve_actor(token)
        if actor is None:
            return None, "UTC"
        with session_scope(deps.engine()) as session:  # the viewer's zone: a builder's own, an admin's UTC
            return actor, getattr(viewer_zone(session=session, actor=actor), "key", "UTC")

    actor, zone_name = await run_in_threadpool(who)
    if actor is None:
        return _error(401, "not_signed_in", "Sign in to the workspace first.")
    query = request.query_params
    builder = query.get("builder") or None
    try:
        kind = parse_kind(request.path_params["kind"])
        span = parse_range(from_text=query.get("from") or None, to_text=query.get("to") or None,
                           time_zone=query.get("tz") or zone_name)
        if builder not in (None, "all") and not builder.isdigit():
            raise InvalidExport("builder", "builder must be a builder's id, or all.")
    except InvalidExport as exc:
        return JSONResponse({"error": {"code": "invalid_request", "field": exc.field, "message": exc.message}},
                            status_code=400)

    def chunks():  # iterated in a worker thread by Starlette; the session lives as long as the download
        with session_scope(deps.engine()) as session:
            yield from csv_chunks(export_rows(session=session, actor=actor, kind=kind, span=span, builder=builder))

    return StreamingResponse(chunks(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{span.filename(kind)}"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def admin_routes() -> list[Route]:
    return [Route(routes.API_ADMIN_EVENT_PAYLOAD, event_payload, methods=["GET"]),
            Route(routes.API_ADMIN_EXPORT, export_csv, methods=["GET"])]
