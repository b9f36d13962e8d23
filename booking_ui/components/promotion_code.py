"""The booking page's promotion code: a field with "Apply", then the price it leaves (checked on the server)."""

import reflex as rx

ERROR_ID = "promotion-code-error"


def promotion_code(state) -> rx.Component:
    """`state`: BookState (promo, promo_error, apply_code, remove_code). Its own form: never nested in the
    details form, so Enter in the code field applies the code and does not pay."""
    applied = rx.vstack(
        rx.data_list.root(
            rx.data_list.item(rx.data_list.label("Price"),
                              rx.data_list.value(state.promo.price, data_testid="promo-price")),
            rx.data_list.item(rx.data_list.label(state.promo.code),
                              rx.data_list.value(state.promo.discount, data_testid="promo-discount")),
            rx.data_list.item(rx.data_list.label("Total"),
                              rx.data_list.value(rx.text.strong(state.promo.total), data_testid="promo-total")),
            data_testid="promo-summary",
        ),
        rx.button("Remove code", type="button", variant="ghost", on_click=state.remove_code,
                  data_testid="remove-promotion-code"),
        spacing="2",
        width="100%",
    )
    entry = rx.form(
        rx.vstack(
            rx.el.label("Promotion code (optional)", html_for="promotion-code", style={"font_weight": "500"}),
            rx.hstack(
                rx.input(id="promotion-code", name="promotion_code", auto_complete="off", spell_check=False,
                         auto_capitalize="characters", placeholder="WELCOME10", size="3",
                         aria_invalid=rx.cond(state.promo_error != "", "true", "false"),
                         aria_describedby=ERROR_ID),
                rx.button("Apply", type="submit", variant="soft", size="3", data_testid="apply-promotion-code"),
                width="100%",
            ),
            rx.text(state.promo_error, id=ERROR_ID, role="alert", color_scheme="red", size="2",
                    data_testid="promotion-code-error"),
            spacing="1",
            width="100%",
        ),
        on_submit=state.apply_code,
        reset_on_submit=False,
        no_validate=True,
        width="100%",
    )
    return rx.card(rx.cond(state.promo, applied, entry), width="100%", data_testid="promotion-code")
