"""The hosted invoice page (`hosted_invoice_url`: <public-url>/i/<invoice id>) and its PDF
(`invoice_pdf`: /i/<invoice id>/pdf, rendered with fpdf2), as Stripe serves them to the payer."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from fpdf import FPDF
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from stripe_emulator.core.engine import Engine
from stripe_emulator.core.invoicing import TAX_ID_TYPES
from stripe_emulator.core.money import decimals, format_amount
from stripe_emulator.pages.templates import page

CSS = """
.invoice{max-width:720px;margin:40px auto;padding:0 16px}
.invoice table{width:100%;border-collapse:collapse;margin-top:16px}
.invoice th,.invoice td{text-align:left;padding:8px 4px;border-bottom:1px solid #e3e8ee}
.invoice td.num,.invoice th.num{text-align:right}
.invoice dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:16px 0}
.invoice dt{color:#697386}.invoice dd{margin:0}
.paid{display:inline-block;background:#d7f7c2;color:#05690d;border-radius:4px;padding:2px 8px;font-weight:600}
.download{display:inline-block;margin-top:20px;padding:10px 16px;border-radius:6px;background:#635bff;color:#fff;
 text-decoration:none;font-weight:600}
"""


def routes(emu: Engine) -> list[Route]:
    def load(request: Request) -> dict[str, Any] | None:
        with emu.lock:
            return emu.store.get("invoice", request.path_params["invoice_id"])

    async def hosted(request: Request) -> Response:
        invoice = load(request)
        if invoice is None:
            return _not_found()
        return HTMLResponse(invoice_html(invoice))

    async def pdf(request: Request) -> Response:
        invoice = load(request)
        if invoice is None:
            return _not_found()
        number = invoice.get("number") or invoice["id"]
        return Response(
            invoice_pdf(invoice),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="Invoice-{number}.pdf"'},
        )

    return [
        Route("/i/{invoice_id}", hosted, methods=["GET"]),
        Route("/i/{invoice_id}/pdf", pdf, methods=["GET"]),
    ]


def _not_found() -> Response:
    body = "<main class='invoice'><div class='card'><h1>Invoice not found</h1></div></main>"
    return HTMLResponse(page("Invoice not found", body, css=CSS), status_code=404)


def _date(timestamp: int | None) -> str:
    if not timestamp:
        return ""
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%d %B %Y")


def tax_id_lines(invoice: dict[str, Any]) -> list[str]:
    """'EU VAT number: DE123456789' for each of the customer's tax ids."""
    return [
        f"{TAX_ID_TYPES.get(tax['type'], tax['type'])}: {tax['value']}"
        for tax in invoice.get("customer_tax_ids") or []
    ]


def _bill_to(invoice: dict[str, Any]) -> list[str]:
    lines = [invoice.get("customer_name") or "", invoice.get("customer_email") or ""]
    lines += tax_id_lines(invoice)
    return [line for line in lines if line]


def _rows(invoice: dict[str, Any]) -> list[tuple[str, int, str]]:
    currency = invoice["currency"]
    return [
        (
            line.get("description") or "Item",
            int(line.get("quantity") or 1),
            format_amount(int(line.get("amount") or 0), currency),
        )
        for line in (invoice.get("lines") or {}).get("data", [])
    ]


def invoice_html(invoice: dict[str, Any]) -> str:
    currency = invoice["currency"]
    total = format_amount(invoice["total"], currency)
    bill_to = "".join(f"<div>{escape(line)}</div>" for line in _bill_to(invoice))
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td class='num'>{quantity}</td><td class='num'>{escape(amount)}</td></tr>"
        for name, quantity, amount in _rows(invoice)
    )
    custom = "".join(
        f"<dt>{escape(field['name'])}</dt><dd>{escape(field['value'])}</dd>"
        for field in invoice.get("custom_fields") or []
    )
    paid = _date((invoice.get("status_transitions") or {}).get("paid_at"))
    status = f"<span class='paid'>Paid {escape(paid)}</span>" if invoice["status"] == "paid" else escape(invoice["status"])
    body = f"""
<main class="invoice"><div class="card">
  <p class="muted">{escape(invoice.get('account_name') or '')}</p>
  <h1>Invoice {escape(invoice.get('number') or '')}</h1>
  <p class="amount" data-testid="invoice-total">{escape(total)}</p>
  <p>{status}</p>
  <dl>
    <dt>Invoice number</dt><dd data-testid="invoice-number">{escape(invoice.get('number') or '')}</dd>
    <dt>Date of issue</dt><dd>{escape(_date(invoice.get('created')))}</dd>
    <dt>Bill to</dt><dd data-testid="bill-to">{bill_to}</dd>
    {custom}
  </dl>
  <table><thead><tr><th>Description</th><th class="num">Qty</th><th class="num">Amount</th></tr></thead>
  <tbody>{rows}</tbody>
  <tfoot><tr><th colspan="2">Amount paid</th><th class="num">{escape(format_amount(invoice['amount_paid'], currency))}</th></tr></tfoot>
  </table>
  {f"<p class='muted'>{escape(invoice['footer'])}</p>" if invoice.get('footer') else ''}
  <a class="download" href="/i/{escape(invoice['id'])}/pdf" download>Download invoice (PDF)</a>
</div></main>"""
    return page(f"Invoice {invoice.get('number') or ''}", body, css=CSS)


def _pdf_amount(amount: int, currency: str) -> str:
    """'EUR 45.00': the core fonts have no euro or yen sign, so the PDF names the currency."""
    places = decimals(currency)
    value = f"{abs(amount) / 10**places:,.{places}f}" if places else f"{abs(amount):,}"
    return f"{'-' if amount < 0 else ''}{currency.upper()} {value}"


def _latin1(text: str) -> str:
    # The PDF's core fonts are Latin-1; anything else is shown as '?' rather than failing.
    return text.encode("latin-1", "replace").decode("latin-1")


def invoice_pdf(invoice: dict[str, Any]) -> bytes:
    """The invoice as a one-page PDF (fpdf2)."""
    currency = invoice["currency"]
    doc = FPDF(format="A4")
    doc.set_title(_latin1(f"Invoice {invoice.get('number') or ''}"))
    doc.set_creator("Stripe emulator")
    doc.add_page()
    doc.set_font("Helvetica", "B", 18)
    doc.cell(0, 10, "Invoice", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("Helvetica", "", 11)
    for label, value in (
        ("Invoice number", invoice.get("number") or ""),
        ("Date of issue", _date(invoice.get("created"))),
        ("From", invoice.get("account_name") or ""),
    ):
        doc.cell(0, 7, _latin1(f"{label}: {value}"), new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    doc.set_font("Helvetica", "B", 11)
    doc.cell(0, 7, "Bill to", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("Helvetica", "", 11)
    for line in _bill_to(invoice):
        doc.cell(0, 7, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    for field in invoice.get("custom_fields") or []:
        doc.cell(0, 7, _latin1(f"{field['name']}: {field['value']}"), new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    doc.set_font("Helvetica", "B", 11)
    doc.cell(120, 8, "Description", border="B")
    doc.cell(20, 8, "Qty", border="B", align="R")
    doc.cell(0, 8, "Amount", border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("Helvetica", "", 11)
    for line in (invoice.get("lines") or {}).get("data", []):
        doc.cell(120, 8, _latin1(line.get("description") or "Item"))
        doc.cell(20, 8, str(int(line.get("quantity") or 1)), align="R")
        doc.cell(0, 8, _pdf_amount(int(line.get("amount") or 0), currency), align="R",
                 new_x="LMARGIN", new_y="NEXT")
    doc.set_font("Helvetica", "B", 11)
    doc.cell(140, 9, "Amount paid")
    doc.cell(0, 9, _pdf_amount(invoice["amount_paid"], currency), align="R",
             new_x="LMARGIN", new_y="NEXT")
    if invoice.get("footer"):
        doc.ln(6)
        doc.set_font("Helvetica", "", 9)
        doc.multi_cell(0, 5, _latin1(invoice["footer"]))
    return bytes(doc.output())
