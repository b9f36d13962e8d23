"""HTTP routes (JSON API, health, webhook): parse, call one service, map the result."""

from __future__ import annotations

from dataclasses import asdict

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from booking import catalog
from booking.db import database_reachable, session_scope
from booking_ui import routes


def error(status: int, code: str, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


async def health(_request: Request) -> JSONResponse:
    if not database_reachable():
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def session_types(_request: Request) -> JSONResponse:
    with session_scope() as session:
        views = catalog.list_active_session_types(session=session)
    return JSONResponse([asdict(view) for view in views])


def build_api() -> Starlette:
    return Starlette(
        routes=[
            Route(routes.API_HEALTH, health, methods=["GET"]),
            Route(routes.API_SESSION_TYPES, session_types, methods=["GET"]),
        ]
    )
