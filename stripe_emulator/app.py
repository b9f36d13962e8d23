"""The Starlette application: /v1 API, hosted checkout and Connect pages, dashboard, control API, and
(test mode) fault injection in front of /v1."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from stripe_emulator import api, control
from stripe_emulator.core.config import EmulatorConfig
from stripe_emulator.emulator import Emulator
from stripe_emulator.faults import Faults, with_faults
from stripe_emulator.pages import connect, dashboard, hosted_checkout, invoices, portal


def create_app(config: EmulatorConfig | None = None, *, emulator: Emulator | None = None) -> Starlette:
    """Build the ASGI app. Background work (webhooks, expiry) starts with the app's lifespan.

    Pass `emulator` to share one you created (you then own closing it); otherwise the app
    creates one from `config` and closes it at shutdown. The emulator is `app.state.emulator`.
    """
    owned = emulator is None
    emu = emulator or Emulator(config or EmulatorConfig())

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        emu.start()
        try:
            yield
        finally:
            if owned:
                emu.close()
            else:
                emu.stop()

    faults = Faults()  # armed only through the control API, so only in test mode
    control_routes = control.routes(emu, faults) if emu.config.test_mode else control.disabled_routes()
    routes = [
        Route("/healthz", health, methods=["GET"]),
        *api.routes(emu),
        *hosted_checkout.routes(emu),
        *invoices.routes(emu),
        *portal.routes(emu),
        *connect.routes(emu),
        *control_routes,
        *dashboard.routes(emu),
    ]
    app = _EmulatorApp(routes=routes, lifespan=lifespan)
    app.state.emulator = emu
    app.state.faults = faults
    return app


def local_only(path: str) -> bool:
    """The dashboard (`/`, `/objects/...`) and the control API (`/_emulator/...`): they show and change every
    object without a key, so they answer loopback clients only. The API, the hosted checkout and the
    onboarding pages answer whoever the emulator is bound to."""
    return path == "/" or path.startswith(("/objects/", "/_emulator"))


def is_loopback_client(scope: Scope) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        address = ipaddress.ip_address(str(client[0]).split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


class _EmulatorApp(Starlette):
    """The app, with fault injection and the request log in front of /v1 (stripe_emulator.faults), and the
    dashboard and control API kept to loopback clients."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        if local_only(scope["path"]) and not is_loopback_client(scope):
            await JSONResponse({"error": {"type": "invalid_request_error", "message": "Not found."}},
                               status_code=404)(scope, receive, send)
            return
        await with_faults(super().__call__, self.state.faults)(scope, receive, send)
