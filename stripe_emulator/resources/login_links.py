"""Login Links: `POST /v1/accounts/{id}/login_links` -> a URL to the emulator's small Express
dashboard for that account (see `pages/connect.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import errors, ids, objects
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.spec import EXPAND, Endpoint, Hash

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

CREATE = Hash(expand=EXPAND)


def private_key(token: str) -> str:
    return f"login_link:{token}"


def create_login_link(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    with emu.tx():
        account = emu.get("account", id, account=None)
        if not account["details_submitted"]:
            raise errors.invalid(
                "account",
                "Cannot create a login link for an account that has not completed onboarding.",
            )
        token = ids.random_token(12)
        emu.store.put_private(private_key(token), {"account": id})
        return objects.build(
            "login_link",
            created=emu.clock.now(),
            url=f"{emu.config.base_url}/express/{id}/{token}",
        )


ENDPOINTS = [
    Endpoint("POST", "/v1/accounts/{id}/login_links", CREATE, create_login_link, platform_only=True)
]
