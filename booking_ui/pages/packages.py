"""The builder page's packages section (buy: name, email, then Stripe's Checkout) and /packages/thanks."""

from __future__ import annotations

import reflex as rx

from booking_ui import routes
from booking_ui.components.layout import layout
from booking_ui.state.packages import PackageShopState as S
from booking_ui.state.packages import PackageThanksState as T


def _buy_form() -> rx.Component:
    return rx.vstack(
        rx.el.label("Name", html_for="package-name"),
        rx.input(id="package-name", value=S.client_name, on_change=S.set_client_name, autocomplete="name",
                 aria_invalid=rx.cond(S.name_error != "", "true", "false")),
        rx.cond(S.name_error != "", rx.text(S.name_error, color_scheme="red", size="2")),
        rx.el.label("Email", html_for="package-email"),
        rx.input(id="package-email", type="email", value=S.client_email, on_change=S.set_client_email,
                 autocomplete="email", aria_invalid=rx.cond(S.email_error != "", "true", "false")),
        rx.cond(S.email_error != "", rx.text(S.email_error, color_scheme="red", size="2")),
        rx.el.label("Promotion code (optional)", html_for="package-promotion-code"),
        rx.hstack(rx.input(id="package-promotion-code", value=S.promotion_code, on_change=S.set_promotion_code,
                           auto_capitalize="characters", data_testid="package-promotion-code",
                           aria_invalid=rx.cond(S.promo_error != "", "true", "false")),
                  rx.button("Apply", variant="soft", on_click=S.apply_code, data_testid="package-apply-code"),
                  spacing="2"),
        rx.cond(S.promo_error != "", rx.text(S.promo_error, color_scheme="red", size="2", role="alert")),
        rx.cond(S.promo_price != "", rx.text("You pay ", S.promo_price, size="2", data_testid="package-promo-price")),
        rx.text("We email you a wallet link to book your sessions with.", size="2", color_scheme="gray"),
        rx.button("Continue to payment", on_click=S.buy, loading=S.buying, data_testid="buy-package"),
        spacing="2", width="100%", max_width="24em", align="start")


def _offer(offer) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.heading(offer.name, size="4", as_="h3"), rx.badge(offer.price_display, size="2"),
                      align="center", spacing="3"),
            rx.text(offer.description),
            rx.text(offer.session_count, " sessions of ", offer.session_type_names.join(", "), " · valid ",
                    offer.validity_days, " days", size="2", color_scheme="gray"),
            rx.cond(S.chosen_package == offer.id, _buy_form(),
                    rx.button("Buy this package", variant="soft", on_click=S.choose(offer.id),
                              data_testid="choose-package")),
            spacing="2", align="start"),
        width="100%", data_testid="package-offer")


def packages_section() -> rx.Component:
    return rx.cond(
        S.offers.length() > 0,
        rx.vstack(
            rx.heading("Packages", size="5", as_="h2"),
            rx.text("Prepay several sessions and book each when it suits you: no payment at booking time.",
                    size="2"),
            rx.cond(S.currencies.length() > 1, rx.hstack(
                rx.el.label("Currency", html_for="package-currency-picker"),
                rx.el.select(rx.el.option("As my locale", value=""),
                             rx.foreach(S.currencies, lambda code: rx.el.option(code.upper(), value=code)),
                             id="package-currency-picker", value=S.chosen_currency, on_change=S.choose_currency,
                             data_testid="package-currency"),
                spacing="2", align="center")),
            rx.cond(S.notice != "", rx.callout(S.notice, color_scheme="red", role="alert")),
            rx.foreach(S.offers, _offer),
            spacing="3", width="100%"),
        rx.fragment())


def thanks_page() -> rx.Component:
    return layout(
        rx.cond(
            T.loaded,
            rx.cond(
                T.paid,
                rx.vstack(
                    rx.heading("Thank you: your package is paid", size="7", as_="h1"),
                    rx.text("You have ", T.sessions, " sessions of ", T.package_name,
                            " to book. We've emailed your wallet link to ", T.email_hint,
                            ": open it to book a time, with no payment.", data_testid="package-paid"),
                    spacing="3"),
                rx.vstack(
                    rx.heading("Payment not confirmed yet", size="7", as_="h1"),
                    rx.text("We couldn't confirm this payment. If you paid, your wallet link will reach you by "
                            "email shortly."),
                    rx.link("See all builders", href=routes.HOME),
                    spacing="3"),
            ),
            rx.hstack(rx.spinner(), rx.text("Checking your payment…")),
        ),
    )
