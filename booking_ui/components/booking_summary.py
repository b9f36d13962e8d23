import reflex as rx


def _location(summary) -> rx.Component:
    # The summary carries a location only once the booking is paid; a video call is a link.
    return rx.cond(
        summary.location,  # "" and a missing summary are both falsy
        rx.data_list.item(
            rx.data_list.label("Where"),
            rx.data_list.value(
                rx.cond(
                    summary.location_is_link,
                    rx.link(summary.location, href=summary.location, is_external=True,
                            rel="noopener noreferrer"),
                    rx.text(summary.location),
                ),
                data_testid="location",
            ),
        ),
        rx.fragment(),
    )


def booking_summary(summary) -> rx.Component:
    return rx.data_list.root(
        rx.data_list.item(rx.data_list.label("Session"), rx.data_list.value(summary.session_type_name)),
        rx.data_list.item(rx.data_list.label("Builder"), rx.data_list.value(summary.builder_name)),
        rx.data_list.item(rx.data_list.label("When"),
                          rx.data_list.value(summary.when, data_testid="booking-when")),
        rx.cond(summary.zone_label,
                rx.data_list.item(rx.data_list.label("Time zone"),
                                  rx.data_list.value(summary.zone_label, data_testid="booking-zone")),
                rx.fragment()),
        _location(summary),
        rx.data_list.item(rx.data_list.label("Amount"),
                          rx.data_list.value(summary.amount, data_testid="booking-amount")),
        data_testid="booking-summary",
    )


def manage_link(path) -> rx.Component:
    """The client's "Manage booking" page (cancel, reschedule), once the booking is confirmed."""
    return rx.cond(
        path,
        rx.link(rx.button("Manage booking", variant="outline"), href=path,
                data_testid="manage-booking-link"),
        rx.fragment(),
    )


def calendar_links(ics_href, google_href, outlook_href) -> rx.Component:
    """The .ics download with "Add to Google Calendar" and "Add to Outlook" beside it (each shown when set)."""
    def external(label: str, href, test_id: str) -> rx.Component:
        return rx.cond(href, rx.link(rx.button(label, variant="soft"), href=href, is_external=True,
                                     rel="noopener noreferrer", data_testid=test_id), rx.fragment())

    return rx.flex(
        rx.cond(ics_href, rx.el.a(rx.button("Add to calendar (.ics)", variant="soft"), href=ics_href,
                                  download="booking.ics", data_testid="add-to-calendar"), rx.fragment()),
        external("Add to Google Calendar", google_href, "add-to-google"),
        external("Add to Outlook", outlook_href, "add-to-outlook"),
        wrap="wrap",
        style={"gap": "0.5em"},
        data_testid="calendar-links",
    )


def document_links(summary) -> rx.Component:
    """Receipts and invoices: the invoice the client asked for (page and PDF) and Stripe's receipt."""
    return rx.hstack(
        rx.cond(summary.invoice_url,
                rx.link("View your invoice", href=summary.invoice_url, is_external=True, rel="noopener noreferrer",
                        data_testid="invoice-link"),
                rx.fragment()),
        rx.cond(summary.invoice_pdf_url,
                rx.link("Download invoice (PDF)", href=summary.invoice_pdf_url, is_external=True,
                        rel="noopener noreferrer", data_testid="invoice-pdf-link"),
                rx.fragment()),
        rx.cond(summary.receipt_url,
                rx.link("View your receipt", href=summary.receipt_url, is_external=True, rel="noopener noreferrer",
                        data_testid="receipt-link"),
                rx.fragment()),
        spacing="4",
        wrap="wrap",
    )
