"""Account Links: single-use URLs to the hosted onboarding page (see `pages/connect.py`).

A link expires 5 minutes after creation on the emulator clock and once used; opening an
expired or used link redirects to its `refresh_url`, as Stripe does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import ids, objects
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.spec import EXPAND, Endpoint, Hash, String, Url

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

LIFETIME = 5 * 60

CREATE = Hash(
    account=String(required=True),
    expand=EXPAND,
    refresh_url=Url(required=True),
    return_url=Url(required=True),
    type=String(
        required=True, choices=("account_onboarding", "account_update"), supported=("account_onboarding",)
    ),
)


def private_key(token: str) -> str:
    return f"account_link:{token}"


def onboarding_url(emu: Engine, account_id: str, token: str) -> str:
    return f"{emu.config.base_url}/setup/s/{account_id}/{token}"


def create_link(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    with emu.tx():
        account = emu.get("account", args["account"], param="account", status=400, account=None)
        now = emu.clock.now()
        token = ids.random_token(12)
        emu.store.put_private(
            private_key(token),
            {
                "account": account["id"],
                "refresh_url": args["refresh_url"],
                "return_url": args["return_url"],
                "expires_at": now + LIFETIME,
                "used": False,
            },
        )
        return objects.build(
            "account_link",
            created=now,
            expires_at=now + LIFETIME,
            url=onboarding_url(emu, account["id"], token),
        )


def _create(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    return create_link(emu, ctx, args)


ENDPOINTS = [Endpoint("POST", "/v1/account_links", CREATE, _create, platform_only=True)]
