"""The Reflex app: registers pages and mounts the HTTP API. Background jobs run apart, in the job worker
(`python -m booking.worker`, started beside the web server by `make run`)."""

import reflex as rx

from booking_ui import deps, routes
from booking_ui.addresses import redirect_old_addresses
from booking_ui.admin.pages import register_admin_pages
from booking_ui.api import build_api
from booking_ui.middleware import harden
from booking_ui.pages.book import book_page
from booking_ui.pages.builder import builder_page
from booking_ui.pages.home import home_page
from booking_ui.pages.manage import manage_page
from booking_ui.pages.not_found import TITLE as NOT_FOUND_TITLE
from booking_ui.pages.not_found import not_found_page
from booking_ui.pages.packages import thanks_page
from booking_ui.pages.payment import cancel_page, success_page
from booking_ui.pages.wallet import wallet_page
from booking_ui.state.book import BookState
from booking_ui.state.catalog import BuilderState, HomeState
from booking_ui.state.manage import ManageState
from booking_ui.state.memberships import MembershipOffersState
from booking_ui.state.packages import PackageShopState, PackageThanksState
from booking_ui.state.payment import CancelState, SuccessState
from booking_ui.state.wallet import WalletState


class HardenedApp(rx.App):
    """The ASGI app wrapped by booking_ui/middleware.py (security headers, body caps, no Host echo) on the
    very outside, so that even Reflex's own answers (CORS preflights) get the headers and no banner."""

    def __call__(self):
        return harden(redirect_old_addresses(super().__call__()))


# The favicon is linked explicitly (assets/favicon.ico): no console 404 on any page.
# The storage shim first: an embedded booking page whose browser denies it Web Storage still renders
# (assets/storage_shim.js; a static file, so the CSP's script-src 'self' covers it).
app = HardenedApp(api_transformer=build_api(), head_components=[rx.el.script(src="/storage_shim.js"),
                                                                rx.el.link(rel="icon", href="/favicon.ico")])
# Titles name what is on the page: the builder, the session, the payment's actual state.
app.add_page(home_page, route=routes.HOME, title="Builders · Book a builder", on_load=HomeState.load)
app.add_page(builder_page, route=routes.BUILDER, title=BuilderState.page_title,
             on_load=[BuilderState.load, PackageShopState.load, MembershipOffersState.load])
app.add_page(book_page, route=routes.BOOK, title=BookState.page_title, on_load=BookState.load)
app.add_page(book_page, route=routes.BOOK_ADDRESS, title=BookState.page_title, on_load=BookState.load)
app.add_page(success_page, route=routes.PAYMENT_SUCCESS, title=SuccessState.page_title, on_load=SuccessState.load)
app.add_page(cancel_page, route=routes.PAYMENT_CANCEL, title=CancelState.page_title, on_load=CancelState.load)
app.add_page(not_found_page, route="404", title=NOT_FOUND_TITLE)
# The token in the address is the client's credential: referrers stay on our own origin (so the
# forms' Origin header still names us), and search engines keep out.
app.add_page(manage_page, route=routes.MANAGE, title="Manage your booking", on_load=ManageState.load,
             meta=[{"name": "referrer", "content": "same-origin"}, {"name": "robots", "content": "noindex"}])
app.add_page(wallet_page, route=routes.WALLET, title="Your wallet · Book a builder", on_load=WalletState.load,
             meta=[{"name": "referrer", "content": "same-origin"}, {"name": "robots", "content": "noindex"}])
app.add_page(thanks_page, route=routes.PACKAGE_THANKS, title="Package paid · Book a builder",
             on_load=PackageThanksState.load)
register_admin_pages(app)


def reset_inherited_db_pool() -> None:
    """Forked workers must not share the parent's pooled connections (SQLAlchemy's fork recipe)."""
    deps.engine().dispose(close=False)


app.register_lifespan_task(reset_inherited_db_pool)
