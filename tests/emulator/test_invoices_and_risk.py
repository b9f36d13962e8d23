"""Receipts and invoices (Checkout `invoice_creation`, `tax_id_collection`), and the test card Radar
blocks as highest risk."""

from __future__ import annotations

from typing import Any

import httpx
import stripe

from stripe_emulator.core.defaults import INVOICE
from tests.emulator.helpers import WebhookReceiver, fixture_resources, pay


def pay_on_hosted_page(http: httpx.Client, session: Any, **answers: str) -> httpx.Response:
    form = {"email": "guest@example.com", "cardnumber": "4242 4242 4242 4242", "expiry": "12 / 40",
            "cvc": "123", "name": "Ada Lovelace", **answers}
    return http.post(f"/c/pay/{session.id}", data=form)


def test_hosted_page_asks_for_business_details_when_tax_ids_are_collected(http: httpx.Client,
                                                                        make_session: Any) -> None:
    plain = http.get(f"/c/pay/{make_session().id}").text
    assert 'name="tax_id"' not in plain
    session = make_session(tax_id_collection={"enabled": True}, invoice_creation={"enabled": True})
    page = http.get(f"/c/pay/{session.id}").text
    assert 'name="business_name"' in page and 'name="tax_id"' in page and 'name="tax_id_type"' in page


def test_an_invoice_is_made_paid_with_the_business_name_and_tax_id(
    http: httpx.Client, client: stripe.StripeClient, make_session: Any, receiver: WebhookReceiver
) -> None:
    session = make_session(
        tax_id_collection={"enabled": True},
        invoice_creation={"enabled": True, "invoice_data": {"metadata": {"booking_id": "42"},
                                                            "footer": "Thank you"}},
    )
    answer = pay_on_hosted_page(http, session, business_name="Analytical Engines Ltd",
                                tax_id_type="eu_vat", tax_id="DE 123456789")
    assert answer.status_code == 303, answer.text
    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["invoice"]})
    details = done.customer_details
    assert details.business_name == "Analytical Engines Ltd"
    assert [(t.type, t.value) for t in details.tax_ids] == [("eu_vat", "DE123456789")]
    invoice = done.invoice
    assert invoice.status == "paid" and invoice.amount_paid == 5000 and invoice.currency == "gbp"
    assert invoice.number and invoice.hosted_invoice_url and invoice.invoice_pdf
    assert invoice.metadata["booking_id"] == "42"
    raw = invoice.to_dict()
    assert set(fixture_resources()["invoice"]) <= set(raw) and set(raw) <= set(INVOICE)
    # Its events follow the session's completion.
    receiver.wait_for("invoice.paid")
    assert receiver.types().index("checkout.session.completed") < receiver.types().index("invoice.paid")

    page = httpx.get(invoice.hosted_invoice_url)
    assert page.status_code == 200
    assert "DE123456789" in page.text and "Analytical Engines Ltd" in page.text and invoice.number in page.text
    pdf = httpx.get(invoice.invoice_pdf)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert client.v1.invoices.retrieve(invoice.id).id == invoice.id


def test_a_bad_tax_id_is_refused_on_the_page_and_nothing_is_charged(http: httpx.Client, client: stripe.StripeClient,
                                                                   make_session: Any) -> None:
    session = make_session(tax_id_collection={"enabled": True}, invoice_creation={"enabled": True})
    answer = pay_on_hosted_page(http, session, tax_id_type="eu_vat", tax_id="<script>")
    assert answer.status_code == 400 and "Your tax ID is invalid." in answer.text
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_without_invoice_creation_no_invoice_but_a_receipt(http: httpx.Client, make_session: Any) -> None:
    session = make_session()
    result = pay(http, session.id)
    assert result["session"]["invoice"] is None
    receipt = httpx.get(result["charge"]["receipt_url"])
    assert receipt.status_code == 200 and "Receipt" in receipt.text


def test_the_highest_risk_card_is_blocked_not_declined(http: httpx.Client, make_session: Any) -> None:
    session = make_session()
    response = http.post(f"/_emulator/checkout/sessions/{session.id}/complete", json={"card": "4100000000000019"})
    body = response.json()
    charge = body["charge"]
    assert charge["status"] == "failed"
    assert charge["outcome"]["type"] == "blocked"
    assert charge["outcome"]["risk_level"] == "highest"
    assert charge["outcome"]["network_status"] == "not_sent_to_network"
    assert charge["outcome"]["seller_message"] == "Stripe blocked this payment as too risky."
    assert body["error"]["decline_code"] == "fraudulent"
    assert body["error"]["message"] == "Your card was declined."
