"""Reflex reads only REFLEX_-prefixed variables: our settings are passed in here."""

import os

import reflex as rx

from booking.core import get_settings
from booking_ui.middleware import allowed_origins

settings = get_settings()
if settings.workers:  # read by Reflex when it starts granian (reflex/utils/exec.py)
    os.environ.setdefault("GRANIAN_WORKERS", str(settings.workers))

config = rx.Config(
    app_name="booking_ui",
    # The database is owned by booking.db (our engine, our Alembic migrations), not by Reflex:
    # Reflex's own schema check would open a connection before forking its workers.
    redis_url=settings.redis_url,
    # CORS on the API and the websocket's Origin check: our own pages only (Reflex's default is any origin,
    # echoed back with credentials allowed).
    cors_allowed_origins=allowed_origins(settings.public_url),
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", radius="medium")),
        rx.plugins.SitemapPlugin(),
    ],
)
