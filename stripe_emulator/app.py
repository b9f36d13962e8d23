"""The Starlette application: /v1 API, hosted checkout and Connect pages, dashboard, control API."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from stripe_emulator import api, connect_pages, control, dashboard, hosted_page
from stripe_emulator.config import EmulatorConfig
from stripe_emulator.emulator import Emulator


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

    control_routes = control.routes(emu) if emu.config.test_mode else control.disabled_routes()
    routes = [
        Route("/healthz", health, methods=["GET"]),
        *api.routes(emu),
        *hosted_page.routes(emu),
        *connect_pages.routes(emu),
        *control_routes,
        *dashboard.routes(emu),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.emulator = emu
    return app
