import reflex as rx


def booking_summary(summary) -> rx.Component:
    return rx.data_list.root(
        rx.data_list.item(rx.data_list.label("Session"), rx.data_list.value(summary.session_type_name)),
        rx.data_list.item(rx.data_list.label("Builder"), rx.data_list.value(summary.builder_name)),
        rx.data_list.item(rx.data_list.label("When"),
                          rx.data_list.value(summary.when, data_testid="booking-when")),
        rx.data_list.item(rx.data_list.label("Amount"),
                          rx.data_list.value(summary.amount, data_testid="booking-amount")),
        data_testid="booking-summary",
    )
