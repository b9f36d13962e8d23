"""`GET /v1/balance` and balance transactions, for the platform or (with `Stripe-Account`) a
connected account. The ledger itself is in `core/ledger.py`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import ledger
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.listing import list_endpoint
from stripe_emulator.core.spec import EXPAND, RETRIEVE, Endpoint, Hash, String

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine


def _balance(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    with emu.tx():
        emu.tick_quietly()
        return ledger.balance(emu, ctx.account)


def _retrieve(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("balance_transaction", id, ctx.account)


ENDPOINTS = [
    Endpoint("GET", "/v1/balance", Hash(expand=EXPAND), _balance),
    list_endpoint(
        "/v1/balance_transactions",
        "balance_transaction",
        {
            "currency": ("currency", String()),
            "source": ("source", String()),
            "type": ("type", String()),
        },
    ),
    Endpoint("GET", "/v1/balance_transactions/{id}", RETRIEVE, _retrieve),
]
