"""Who caused a change: copied into each event's `request` hash."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str | None = None
    idempotency_key: str | None = None


# Changes nobody asked for over the API (expiry, hosted page payments, control API).
AUTOMATIC = RequestContext()
