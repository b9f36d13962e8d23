import reflex as rx

from booking_ui import routes
from booking_ui.components.booking_summary import booking_summary, calendar_links, document_links, manage_link
from booking_ui.components.layout import layout
from booking_ui.state.payment import CancelState, SuccessState


def _confirmed() -> rx.Component:
    """The browser that paid: the booking, where the confirmation went, the calendar, manage, book again."""
    summary = SuccessState.summary
    return rx.vstack(
        rx.heading("Booking confirmed", size="7", as_="h1", data_testid="booking-confirmed"),
        rx.text("Thank you — you're booked. We've sent the confirmation to ",
                rx.text.strong(summary.client_email), ".", data_testid="confirmation-address"),
        booking_summary(summary),
        calendar_links(summary.invite_path, summary.google_calendar_url, summary.outlook_calendar_url),
        rx.flex(
            manage_link(SuccessState.manage_path),
            document_links(summary),
            rx.link(rx.button("Book another session", variant="ghost"), href=routes.builder_page(summary.builder_slug),
                    data_testid="book-another"),
            wrap="wrap", style={"gap": "0.75em"}),
        spacing="3", align="start")


def _paid_elsewhere() -> rx.Component:
    """Anyone else holding the URL (history, a screenshot, a log): no names, time, place or address."""
    return rx.vstack(
        rx.heading("Payment received", size="7", as_="h1", data_testid="payment-received"),
        rx.text("This payment went through; details were emailed to the client.", data_testid="paid-elsewhere"),
        rx.link("Back to all builders", href="/"),
        spacing="3", align="start")


def success_page() -> rx.Component:
    return layout(
        rx.match(
            SuccessState.state,
            ("loading", rx.hstack(rx.spinner(), rx.text("Checking your payment…"))),
            ("confirmed", rx.cond(SuccessState.own, _confirmed(), _paid_elsewhere())),
            ("processing", rx.vstack(
                rx.heading("Payment processing", size="7", as_="h1", data_testid="booking-processing"),
                rx.text("Your booking is confirmed once your bank debit clears (usually 3 to 6 business "
                        "days). Your time is held for you until then; we will email you as soon as it is "
                        "confirmed.", data_testid="processing-note"),
                rx.cond(SuccessState.own, booking_summary(SuccessState.summary), rx.fragment()),
                spacing="3", align="start")),
            ("refunded", rx.vstack(
                rx.heading("Payment refunded", size="7", as_="h1"),
                rx.text("Your payment arrived after the hold ended and the time was taken by someone else, "
                        "so we refunded it in full. Please pick another time."),
                spacing="3", align="start")),
            ("unpaid", rx.vstack(
                rx.heading("Payment not completed", size="7", as_="h1", data_testid="booking-unpaid"),
                rx.text("We have not received a payment for this checkout, so nothing is booked."),
                rx.cond(SuccessState.message != "",
                        rx.callout(SuccessState.message, icon="info", color_scheme="amber", role="status"),
                        rx.fragment()),
                rx.cond(SuccessState.own, booking_summary(SuccessState.summary), rx.fragment()),
                rx.cond(SuccessState.still_held,
                        rx.text("We are still holding this time for you until ", SuccessState.summary.hold_expires, "."),
                        rx.fragment()),
                rx.flex(
                    rx.cond(SuccessState.still_held,
                            rx.button("Continue to payment", on_click=SuccessState.continue_payment,
                                      loading=SuccessState.working, size="3"),
                            rx.fragment()),
                    rx.cond(SuccessState.own,
                            rx.button("Pick another time", on_click=SuccessState.pick_another_time,
                                      variant="outline", disabled=SuccessState.working, size="3"),
                            rx.fragment()),
                    wrap="wrap", style={"gap": "0.75em"}),
                spacing="3", align="start")),
            rx.vstack(
                rx.heading("We couldn't find that payment", size="7", as_="h1", data_testid="booking-unknown"),
                rx.text("This link does not match a checkout of ours. If you paid, check your email for a "
                        "confirmation, or contact us."),
                rx.link("Back to all builders", href="/"),
                spacing="3", align="start"),
        ),
    )


def cancel_page() -> rx.Component:
    return layout(
        rx.cond(CancelState.message != "", rx.callout(CancelState.message, icon="info", color_scheme="amber")),
        rx.match(
            CancelState.state,
            ("loading", rx.spinner()),
            ("held", rx.vstack(
                rx.heading("Payment cancelled", size="7", as_="h1"),
                rx.text("Nothing was charged. We are still holding this time for you until ",
                        CancelState.summary.hold_expires, "."),
                booking_summary(CancelState.summary),
                rx.hstack(
                    rx.button("Try again", on_click=CancelState.try_again, loading=CancelState.working, size="3"),
                    rx.button("Pick another time", on_click=CancelState.pick_another_time, variant="outline",
                              disabled=CancelState.working, size="3"),
                ),
                spacing="3", align="start")),
            ("confirmed", rx.vstack(
                rx.heading("Already paid", size="7", as_="h1"),
                rx.text("This booking is paid and confirmed."),
                booking_summary(CancelState.summary),
                spacing="3", align="start")),
            ("unknown", rx.vstack(
                rx.heading("Nothing to cancel", size="7", as_="h1"),
                rx.link("Back to all builders", href="/"),
                spacing="3", align="start")),
            rx.vstack(
                rx.heading("This hold has ended", size="7", as_="h1"),
                rx.text("Nothing was charged. The time may still be free:"),
                rx.link(rx.button("Pick another time"), href=CancelState.summary.book_path),
                spacing="3", align="start"),
        ),
    )
