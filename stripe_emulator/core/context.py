"""Who caused a change and on whose behalf: copied into each event's `request` hash."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str | None = None
    idempotency_key: str | None = None
    # The connected account named by the `Stripe-Account` header; None means the platform.
    account: str | None = None


# Changes nobody asked for over the API (expiry, hosted page payments, control API).
AUTOMATIC = RequestContext()
