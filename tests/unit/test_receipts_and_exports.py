"""Receipts and invoices in the emails (which ones link them, to whom), and the export's cells and dates."""

from __future__ import annotations

from datetime import date

import pytest

from booking.notifications.templates import NotificationKind, RecipientRole, render_booking_email
from booking.workspace import InvalidExport, csv_chunks, parse_range
from booking.workspace.exports import safe_cell
from tests.unit.test_email_templates import _facts

RECEIPT = "https://pay.stripe.com/receipts/acct_1/ch_1"
INVOICE = "https://invoice.stripe.com/i/acct_1/in_1"


@pytest.mark.parametrize("kind", [NotificationKind.BOOKING_CONFIRMED, NotificationKind.BOOKING_REFUNDED])
def test_the_client_gets_the_invoice_and_receipt_links(kind):
    email = render_booking_email(kind=kind, role=RecipientRole.CLIENT,
                                 facts=_facts(receipt_url=RECEIPT, invoice_url=INVOICE, amount_refunded=1000))
    assert f"View your invoice: {INVOICE}" in email.text and f"View your receipt: {RECEIPT}" in email.text
    assert f'href="{INVOICE}"' in email.html and f'href="{RECEIPT}"' in email.html


def test_the_builder_and_other_emails_do_not_carry_the_clients_documents():
    facts = _facts(receipt_url=RECEIPT, invoice_url=INVOICE)
    builder = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=RecipientRole.BUILDER, facts=facts)
    cancelled = render_booking_email(kind=NotificationKind.BOOKING_CANCELLED, role=RecipientRole.CLIENT, facts=facts)
    assert RECEIPT not in builder.text and INVOICE not in builder.text
    assert RECEIPT not in cancelled.text


def test_a_link_that_is_not_a_web_address_is_left_out():
    email = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=RecipientRole.CLIENT,
                                 facts=_facts(receipt_url="javascript:alert(1)"))
    assert "receipt" not in email.text.lower()


@pytest.mark.parametrize(("value", "written"), [
    ("=1+2", "'=1+2"), ("+44 20", "'+44 20"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("Ada", "Ada"), ("", ""), (None, ""), (12, "12"),
])
def test_cells_are_never_formulas(value, written):
    assert safe_cell(value) == written


def test_the_range_is_whole_days_in_the_zone_and_capped():
    span = parse_range(from_text="2031-01-11", to_text="2031-01-11", time_zone="Pacific/Auckland")
    assert span.start.isoformat() == "2031-01-11T00:00:00+13:00" and span.end.isoformat() == "2031-01-12T00:00:00+13:00"
    default = parse_range(from_text=None, to_text=None, time_zone="UTC", today=date(2031, 3, 31))
    assert (default.first_day, default.last_day) == (date(2031, 3, 2), date(2031, 3, 31))
    assert parse_range(from_text="2031-01-01", to_text="2032-01-01", time_zone="UTC").last_day == date(2032, 1, 1)
    with pytest.raises(InvalidExport) as too_long:
        parse_range(from_text="2031-01-01", to_text="2032-01-02", time_zone="UTC")
    assert too_long.value.field == "to"


def test_csv_is_written_in_chunks_with_quoting():
    rows = iter([["a", "b"], ["x,y", 'say "hi"']] + [["1", "2"]] * 450)
    text = "".join(csv_chunks(rows, rows_per_chunk=200))
    assert text.startswith('a,b\r\n"x,y","say ""hi"""\r\n') and text.count("\r\n") == 452
