"""Home and builder pages: load read models from booking.catalog."""

import reflex as rx

from booking.client import BuilderView, get_builder, list_builders
from booking.core import session_scope
from booking_ui import deps, routes
from booking_ui.offloop import db_event


class HomeState(rx.State):
    builders: list[BuilderView] = []

    @db_event
    def load(self) -> None:
        with session_scope() as session:
            self.builders = list_builders(session=session, locale=deps.browser_language(self))


class BuilderState(rx.State):
    builder: BuilderView | None = None
    not_found: bool = False

    @rx.var
    def page_title(self) -> str:
        if self.builder is None:
            return "Builder not found · Book a builder" if self.not_found else "Builder · Book a builder"
        return f"{self.builder.name} · Book a builder"

    @db_event
    def load(self):
        slug = self.router.url.query_parameters.get("builder_slug", "") or self.builder_slug
        with session_scope() as session:
            self.builder = get_builder(session=session, slug=slug, locale=deps.browser_language(self))
        self.not_found = self.builder is None
        if self.builder is not None and self.builder.slug != slug:  # an old address: go to the current one
            return rx.redirect(routes.builder_page(self.builder.slug), replace=True)
        return None
