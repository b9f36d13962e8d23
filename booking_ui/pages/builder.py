import reflex as rx

from booking_ui import routes
from booking_ui.components.layout import layout
from booking_ui.components.session_type_card import session_type_card
from booking_ui.pages.packages import packages_section
from booking_ui.state.catalog import BuilderState
from booking_ui.state.memberships import MembershipOffersState as M


def _photo_src():
    """routes.builder_photo(slug, version), built in the browser from the page's state."""
    return ("/api/builders/" + BuilderState.builder.slug + "/photo?v=" + BuilderState.builder.photo_version)


def _plan_field(plan, key: str, label: str, input_type: str, autocomplete: str) -> rx.Component:
    field_id = "plan-" + plan.id.to_string() + "-" + key
    error_key = plan.id.to_string() + ":" + key
    return rx.vstack(
        rx.el.label(label, html_for=field_id, font_weight="500"),
        rx.input(id=field_id, name=key, type=input_type, auto_complete=autocomplete, width="100%"),
        rx.cond(M.errors.contains(error_key), rx.text(M.errors[error_key], color_scheme="red", size="2")),
        spacing="1",
        width="100%",
    )


def _plan_card(plan) -> rx.Component:
    """One membership plan: what it gives, its price, and the client's name and email to subscribe."""
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(plan.name, size="4", as_="h3"),
                rx.text(plan.sessions_per_period, " sessions a month · ", rx.text.strong(plan.price),
                        data_testid="membership-price"),
                rx.text(plan.unused_credits, size="2", color_scheme="gray"),
                rx.el.input(type="hidden", name="plan_id", value=plan.id),
                rx.hstack(_plan_field(plan, "client_name", "Your name", "text", "name"),
                          _plan_field(plan, "client_email", "Your email", "email", "email"),
                          width="100%", spacing="3"),
                rx.button("Subscribe", type="submit", loading=M.subscribing_plan == plan.id.to_string(),
                          disabled=M.subscribing_plan != "", data_testid="subscribe"),
                spacing="2",
                width="100%",
            ),
            on_submit=M.subscribe,
            reset_on_submit=False,
        ),
        width="100%",
        data_testid="membership-plan",
    )


def _memberships() -> rx.Component:
    return rx.cond(
        M.plans.length() > 0,
        rx.vstack(
            rx.heading("Memberships", size="5", as_="h2"),
            rx.text("Sessions every month at a monthly price, paid automatically. Cancel any time in the billing "
                    "portal: it ends at the end of the month.", size="2", color_scheme="gray"),
            rx.cond(M.subscribed, rx.callout("Thank you! Your membership has started; your sessions are in your "
                                             "wallet.", icon="check", color_scheme="green", role="status",
                                             data_testid="membership-started")),
            rx.cond(M.notice != "", rx.callout(M.notice, icon="triangle_alert", color_scheme="red", role="alert")),
            rx.foreach(M.plans, _plan_card),
            width="100%",
            spacing="3",
        ),
    )


def builder_page() -> rx.Component:
    return layout(
        rx.cond(
            BuilderState.not_found,
            rx.vstack(
                rx.heading("Builder not found", size="7", as_="h1"),
                rx.callout("We could not find that builder.", icon="triangle_alert", color_scheme="red"),
                rx.link("See all builders", href=routes.HOME),
                spacing="3",
            ),
            rx.cond(
                BuilderState.builder,
                rx.vstack(
                    rx.hstack(
                        rx.cond(BuilderState.builder.photo_version != "",
                                rx.image(src=_photo_src(), alt="Photo of " + BuilderState.builder.name,
                                         width="96px", height="96px", border_radius="50%", object_fit="cover",
                                         data_testid="builder-photo")),
                        rx.heading(BuilderState.builder.name, size="7", as_="h1"),
                        align="center",
                        spacing="4",
                    ),
                    rx.text(BuilderState.builder.bio, white_space="pre-line", data_testid="builder-bio"),
                    rx.text("Times are set in ", BuilderState.builder.time_zone,
                            "; you will see them in your own zone.", size="2", color_scheme="gray"),
                    rx.cond(BuilderState.builder.not_bookable_reason != "",
                            rx.callout(BuilderState.builder.not_bookable_reason, icon="info", color_scheme="amber",
                                       role="status", data_testid="not-bookable")),
                    rx.heading("Sessions", size="5", as_="h2"),
                    rx.foreach(BuilderState.builder.session_types, session_type_card),
                    _memberships(),
                    packages_section(),
                    width="100%",
                    spacing="3",
                ),
                rx.hstack(rx.spinner(), rx.text("Loading…")),
            ),
        ),
    )
