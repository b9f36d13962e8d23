"""Admin HTTP routes. Each resolves the signed-in account from the session cookie on the server and
answers 401 (signed out) or 404 (not theirs) like the JSON API does."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from booking.accounts import Actor, NotFound, load_owned
from booking.core import StripeEvent, session_scope
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


def admin_routes() -> list[Route]:
    return [Route(routes.API_ADMIN_EVENT_PAYLOAD, event_payload, methods=["GET"])]
