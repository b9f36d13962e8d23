"""Reflex reads only REFLEX_-prefixed variables: our settings are passed in here."""

import reflex as rx

from booking.config import get_settings

settings = get_settings()

config = rx.Config(
    app_name="booking_ui",
    # The database is owned by booking.db (our engine, our Alembic migrations), not by Reflex:
    # Reflex's own schema check would open a connection before forking its workers.
    redis_url=settings.redis_url,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", radius="medium")),
        rx.plugins.SitemapPlugin(),
    ],
)
