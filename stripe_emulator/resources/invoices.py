"""Invoices: the ones Checkout makes after payment (`invoice_creation`, see `core/invoicing.py`) and a
subscription's (`core/billing.py`), with their invoice payments (`GET /v1/invoice_payments`, and
`expand[]=payments` on an invoice). Retrieve and list; each has a hosted page (`hosted_invoice_url`) and a PDF (`invoice_pdf`), served by
`pages/invoices.py`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.listing import list_endpoint
from stripe_emulator.core.spec import RETRIEVE, Endpoint, String

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine


def _retrieve(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("invoice", id, ctx.account)


def _retrieve_payment(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("invoice_payment", id, ctx.account)


ENDPOINTS = [
    list_endpoint(
        "/v1/invoices",
        "invoice",
        {
            "status": ("status", String(choices=("draft", "open", "paid", "uncollectible", "void"))),
            "customer": ("customer", String()),
            "subscription": ("parent.subscription_details.subscription", String()),
        },
    ),
    Endpoint("GET", "/v1/invoices/{id}", RETRIEVE, _retrieve),
    list_endpoint(
        "/v1/invoice_payments",
        "invoice_payment",
        {"invoice": ("invoice", String()), "status": ("status", String(choices=("canceled", "open", "paid")))},
        created=False,
    ),
    Endpoint("GET", "/v1/invoice_payments/{id}", RETRIEVE, _retrieve_payment),
]
