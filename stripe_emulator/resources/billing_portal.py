"""Customer portal sessions: `POST /v1/billing_portal/sessions` (`customer`, `return_url`, `locale`)
returns a short-lived `url` to the hosted portal page (`pages/portal.py`), where the customer cancels a
subscription at the period end or changes the card used for renewals. Portal configurations and
`flow_data` deep links are not implemented (refused as unknown parameters)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import ids, objects
from stripe_emulator.core.context import RequestContext
from stripe_emulator.core.spec import EXPAND, Endpoint, Hash, String, Url

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

DEFAULT_CONFIGURATION = "bpc_EmulatorDefaultPortalConfig"
LOCALES = ("auto", "bg", "cs", "da", "de", "el", "en", "en-AU", "en-CA", "en-GB", "en-IE", "en-IN",
           "en-NZ", "en-SG", "es", "es-419", "et", "fi", "fil", "fr", "fr-CA", "hr", "hu", "id", "it",
           "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru", "sk", "sl",
           "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW")
CREATE = Hash(
    customer=String(required=True),
    expand=EXPAND,
    locale=String(choices=LOCALES),
    return_url=Url(),
)
# A portal link is meant to be opened right away (Stripe: it expires after a short while).
SESSION_LIFETIME = 5 * 60


def create_session(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    with emu.tx():
        emu.get("customer", args["customer"], param="customer", status=400, account=ctx.account)
        session_id = "bps_" + ids.random_token(24)
        now = emu.clock.now()
        session = objects.build(
            "billing_portal.session",
            id=session_id,
            configuration=DEFAULT_CONFIGURATION,
            created=now,
            customer=args["customer"],
            locale=args.get("locale"),
            return_url=args.get("return_url"),
            url=f"{emu.config.base_url}/p/session/{session_id}",
        )
        emu.store.put(session, account=ctx.account)
        emu.store.put_private(f"portal:{session_id}", {"expires_at": now + SESSION_LIFETIME})
        return session


def _create(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    return create_session(emu, ctx, args)


ENDPOINTS = [Endpoint("POST", "/v1/billing_portal/sessions", CREATE, _create)]
