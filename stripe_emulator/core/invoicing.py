"""Invoices Checkout makes after payment (`invoice_creation[enabled]=true`), and what the payer typed
on the hosted page for them: a business name (`custom_fields`, or the business purchase toggle of
`tax_id_collection`) and a tax id (`tax_id_collection[enabled]=true`).

The hosted page records the payer's answers (`record_answers`) before it pays; when the payment
succeeds the payment engine calls `complete_session`, which fills `customer_details` and
`custom_fields` of the session and, when asked for, creates a paid Invoice (number, hosted page,
PDF) named by the session's `invoice`. Stripe documents these as: the invoice is finalized and
paid at once (`invoice.created`, `invoice.finalized`, `invoice.paid`, `invoice.payment_succeeded`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from stripe_emulator.core import ids, objects

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

# Tax id types the hosted page offers (Stripe accepts many more; these cover the demo's countries).
TAX_ID_TYPES: dict[str, str] = {
    "eu_vat": "EU VAT number",
    "gb_vat": "UK VAT number",
    "us_ein": "US EIN",
    "au_abn": "Australian Business Number",
    "ca_bn": "Canadian BN",
    "jp_cn": "Japanese Corporate Number",
    "ch_vat": "Swiss VAT number",
    "no_vat": "Norwegian VAT number",
}
TAX_ID_MAX = 64
BUSINESS_NAME_MAX = 255


def _answers_key(session_id: str) -> str:
    return f"checkout_answers:{session_id}"


def wants_tax_id(session: dict[str, Any]) -> bool:
    return bool((session.get("tax_id_collection") or {}).get("enabled"))


def wants_invoice(session: dict[str, Any]) -> bool:
    return bool((session.get("invoice_creation") or {}).get("enabled"))


def check_answers(session: dict[str, Any], form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The payer's answers from the hosted page's form, and field -> message for each problem."""
    problems: dict[str, str] = {}
    answers: dict[str, Any] = {"business_name": "", "tax_id": None, "custom_fields": {}}
    if wants_tax_id(session):
        business = (form.get("business_name") or "").strip()
        tax_type = (form.get("tax_id_type") or "").strip()
        tax_value = re.sub(r"\s", "", form.get("tax_id") or "").upper()
        if len(business) > BUSINESS_NAME_MAX:
            problems["business_name"] = "Your business name is too long."
        if tax_value:
            if tax_type not in TAX_ID_TYPES:
                problems["tax_id"] = "Choose the type of your tax ID."
            elif len(tax_value) > TAX_ID_MAX or not re.fullmatch(r"[A-Z0-9.\-/]+", tax_value):
                problems["tax_id"] = "Your tax ID is invalid."
            else:
                answers["tax_id"] = {"type": tax_type, "value": tax_value}
        answers["business_name"] = business
    for field in session.get("custom_fields") or []:
        key = field["key"]
        value = (form.get(f"custom_{key}") or "").strip()
        limit = ((field.get("text") or {}).get("maximum_length")) or 255
        if not value and not field.get("optional"):
            problems[f"custom_{key}"] = "This field is incomplete."
        elif len(value) > limit:
            problems[f"custom_{key}"] = f"At most {limit} characters."
        answers["custom_fields"][key] = value
    return answers, problems


def record_answers(emu: Engine, session_id: str, answers: dict[str, Any]) -> None:
    emu.store.put_private(_answers_key(session_id), answers)


def complete_session(
    emu: Engine, session: dict[str, Any], charge: dict[str, Any], pi: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """On a paid session: the payer's answers onto the session and, when asked for, its Invoice.
    Returns the events to send (after `checkout.session.completed`)."""
    answers = emu.store.get_private(_answers_key(session["id"])) or {}
    details = session.get("customer_details") or {}
    business = answers.get("business_name") or None
    custom_values = answers.get("custom_fields") or {}
    fields = []
    for field in session.get("custom_fields") or []:
        value = custom_values.get(field["key"]) or None
        fields.append({**field, "text": {**(field.get("text") or {}), "value": value}})
        if field["key"] == "business_name" and value and not business:
            business = value
    if fields:
        session["custom_fields"] = fields
    tax_id = answers.get("tax_id")
    details["business_name"] = business
    details["tax_ids"] = [tax_id] if tax_id else []
    session["customer_details"] = details
    if not wants_invoice(session):
        return []
    invoice = _paid_invoice(emu, session, charge, pi)
    session["invoice"] = invoice["id"]
    return [
        ("invoice.created", {**invoice, "status": "draft"}),
        ("invoice.finalized", {**invoice, "status": "open"}),
        ("invoice.paid", invoice),
        ("invoice.payment_succeeded", invoice),
    ]


def _next_number(emu: Engine, account: str | None) -> str:
    prefix_key = f"invoice_prefix:{account or 'platform'}"
    prefix = emu.store.get_meta(prefix_key)
    if not prefix:
        prefix = ids.random_token(8).upper()
        emu.store.set_meta(prefix_key, prefix)
    count_key = f"invoice_count:{account or 'platform'}"
    count = int(emu.store.get_meta(count_key, "0") or 0) + 1
    emu.store.set_meta(count_key, str(count))
    return f"{prefix}-{count:04d}"


def _paid_invoice(
    emu: Engine, session: dict[str, Any], charge: dict[str, Any], pi: dict[str, Any]
) -> dict[str, Any]:
    now = emu.clock.now()
    owner = emu.store.owner(session["id"])
    invoice_id = "in_" + ids.random_token(24)
    data = (session.get("invoice_creation") or {}).get("invoice_data") or {}
    details = session.get("customer_details") or {}
    items = (emu.store.get_private(f"session:{session['id']}") or {}).get("line_items") or []
    lines = [
        {
            "id": "il_" + ids.random_token(24),
            "object": "line_item",
            "amount": item["amount_total"],
            "currency": item["currency"],
            "description": item.get("description"),
            "discount_amounts": [],
            "discountable": True,
            "discounts": [],
            "invoice": invoice_id,
            "livemode": False,
            "metadata": item.get("metadata") or {},
            "parent": None,
            "period": {"end": now, "start": now},
            "pretax_credit_amounts": [],
            "pricing": {
                "price_details": {
                    "price": item["price"]["id"],
                    "product": item["price"]["product"],
                },
                "type": "price_details",
                "unit_amount_decimal": str(item["price"].get("unit_amount") or 0),
            },
            "quantity": item["quantity"],
            "subtotal": item["amount_subtotal"],
            "taxes": [],
        }
        for item in items
    ]
    total = session["amount_total"]
    base = emu.config.base_url
    invoice = objects.build(
        "invoice",
        id=invoice_id,
        account_name=emu.config.business_name,
        amount_due=total,
        amount_paid=total,
        amount_remaining=0,
        attempt_count=1,
        attempted=True,
        billing_reason="manual",
        created=now,
        currency=session["currency"],
        custom_fields=data.get("custom_fields") or None,
        customer_address=details.get("address"),
        customer_email=details.get("email"),
        customer_name=details.get("business_name") or details.get("name"),
        customer_tax_ids=[{"type": t["type"], "value": t["value"]} for t in details.get("tax_ids") or []],
        description=data.get("description"),
        effective_at=now,
        footer=data.get("footer"),
        hosted_invoice_url=f"{base}/i/{invoice_id}",
        invoice_pdf=f"{base}/i/{invoice_id}/pdf",
        lines=objects.list_object(lines, f"/v1/invoices/{invoice_id}/lines"),
        metadata=dict(data.get("metadata") or {}),
        number=_next_number(emu, owner),
        period_end=now,
        period_start=now,
        status="paid",
        status_transitions={"finalized_at": now, "marked_uncollectible_at": None, "paid_at": now, "voided_at": None},
        subtotal=session["amount_subtotal"],
        subtotal_excluding_tax=session["amount_subtotal"],
        total=total,
        total_excluding_tax=total,
    )
    emu.store.put(invoice, account=owner)
    # For the hosted page and the PDF: the payment that paid it and its receipt.
    emu.store.put_private(
        f"invoice_payment:{invoice_id}",
        {"charge": charge["id"], "payment_intent": pi["id"], "session": session["id"]},
    )
    return invoice


# --- subscription invoices (core/billing.py) ------------------------------------------------------


def subscription_invoice(
    emu: Engine,
    subscription: dict[str, Any],
    items: list[dict[str, Any]],
    *,
    start: int,
    end: int,
    reason: str,
    owner: str | None,
    customer_email: str | None,
    customer_name: str | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A finalized (open) invoice for one period of `subscription`, and its default invoice
    payment. `reason`: `subscription_create` (paid by Checkout) or `subscription_cycle`."""
    now = emu.clock.now()
    invoice_id = "in_" + ids.random_token(24)
    lines = [
        {
            "id": "il_" + ids.random_token(24),
            "object": "line_item",
            "amount": item["amount_total"],
            "currency": item["currency"],
            "description": f"{item['quantity']} × {item.get('description') or 'Subscription'}",
            "discount_amounts": [],
            "discountable": True,
            "discounts": [],
            "invoice": invoice_id,
            "livemode": False,
            "metadata": dict(subscription.get("metadata") or {}),
            "parent": {
                "invoice_item_details": None,
                "subscription_item_details": {
                    "invoice_item": None,
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": subscription["id"],
                    "subscription_item": None,
                },
                "type": "subscription_item_details",
            },
            "period": {"end": end, "start": start},
            "pretax_credit_amounts": [],
            "pricing": {
                "price_details": {"price": item["price"]["id"], "product": item["price"]["product"]},
                "type": "price_details",
                "unit_amount_decimal": str(item["price"].get("unit_amount") or 0),
            },
            "quantity": item["quantity"],
            "subtotal": item["amount_subtotal"],
            "taxes": [],
        }
        for item in items
    ]
    total = sum(item["amount_total"] for item in items)
    base = emu.config.base_url
    invoice = objects.build(
        "invoice",
        id=invoice_id,
        account_name=emu.config.business_name,
        amount_due=total,
        amount_remaining=total,
        auto_advance=True,
        billing_reason=reason,
        created=now,
        currency=subscription["currency"],
        customer=subscription["customer"],
        customer_email=customer_email,
        customer_name=customer_name,
        default_payment_method=None,
        effective_at=now,
        hosted_invoice_url=f"{base}/i/{invoice_id}",
        invoice_pdf=f"{base}/i/{invoice_id}/pdf",
        lines=objects.list_object(lines, f"/v1/invoices/{invoice_id}/lines"),
        number=_next_number(emu, owner),
        parent={
            "quote_details": None,
            "subscription_details": {
                "metadata": dict(subscription.get("metadata") or {}),
                "subscription": subscription["id"],
            },
            "type": "subscription_details",
        },
        period_end=end if reason == "subscription_create" else start,
        period_start=start,
        status="open",
        status_transitions={"finalized_at": now, "marked_uncollectible_at": None, "paid_at": None,
                            "voided_at": None},
        subtotal=total,
        subtotal_excluding_tax=total,
        total=total,
        total_excluding_tax=total,
    )
    emu.store.put(invoice, account=owner)
    payment = objects.build(
        "invoice_payment",
        id="inpay_" + ids.random_token(24),
        amount_requested=total,
        created=now,
        currency=invoice["currency"],
        invoice=invoice_id,
    )
    emu.store.put(payment, account=owner)
    return invoice, payment


def mark_paid(
    emu: Engine, invoice: dict[str, Any], payment: dict[str, Any], charge: dict[str, Any], pi: dict[str, Any]
) -> None:
    now = emu.clock.now()
    invoice.update(amount_paid=invoice["amount_due"], amount_remaining=0, attempt_count=invoice["attempt_count"] + 1,
                   attempted=True, status="paid")
    invoice["status_transitions"]["paid_at"] = now
    emu.store.put(invoice)
    payment.update(amount_paid=invoice["amount_due"], status="paid",
                   payment={"type": "payment_intent", "payment_intent": pi["id"]})
    payment["status_transitions"]["paid_at"] = now
    emu.store.put(payment)
    emu.store.put_private(
        f"invoice_payment:{invoice['id']}",
        {"charge": charge["id"], "payment_intent": pi["id"], "session": None},
    )


def mark_failed(emu: Engine, invoice: dict[str, Any], payment: dict[str, Any], pi: dict[str, Any]) -> None:
    invoice.update(attempt_count=invoice["attempt_count"] + 1, attempted=True, next_payment_attempt=None)
    emu.store.put(invoice)
    payment["payment"] = {"type": "payment_intent", "payment_intent": pi["id"]}
    emu.store.put(payment)


def payments_of(emu: Engine, invoice: dict[str, Any]) -> dict[str, Any]:
    """An invoice's `payments` (expandable): its invoice payments."""
    found = emu.store.where("invoice_payment", "invoice", invoice["id"])
    return objects.list_object(found, f"/v1/invoices/{invoice['id']}/payments")
