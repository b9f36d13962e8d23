"""Idempotency keys, as Stripe has them: scoped per account, kept 24 hours, the first result
(errors raised while executing included) replayed for a repeat of the same request, and a
repeat with other parameters or on another endpoint refused with `idempotency_error`.

The HTTP layer (`stripe_emulator.api`) calls `replay` before executing and `save` after, both
under the engine's lock.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from stripe_emulator.core import errors
from stripe_emulator.core.store import Store

TTL = 24 * 60 * 60


def scoped_key(key: str, account: str | None) -> str:
    """Keys are per account, like Stripe's."""
    return f"{account}:{key}" if account else key


def fingerprint(route: str, params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps([route, params], sort_keys=True).encode()).hexdigest()


def replay(store: Store, stored_key: str, key: str, route: str, digest: str) -> dict[str, Any] | None:
    """The saved answer to replay (`status`, `body`, `request_id`), None for a new key, or an
    `idempotency_error` if the key was used for another endpoint or other parameters."""
    saved = store.idempotent_response(stored_key)
    if saved is None:
        return None
    if saved["endpoint"] != route:
        raise errors.idempotency(
            "Keys for idempotent requests can only be used for the same endpoint "
            f"they were first used for ('{saved['endpoint']}' vs '{route}'). "
            f"Try using a key other than '{key}' if you meant to execute a "
            "different request."
        )
    if saved["fingerprint"] != digest:
        raise errors.idempotency(
            "Keys for idempotent requests can only be used with the same "
            "parameters they were first used with. Try using a key other than "
            f"'{key}' if you meant to execute a different request."
        )
    return saved


def save(
    store: Store, stored_key: str, route: str, digest: str, status: int, body: str, request_id: str, now: int
) -> None:
    """Keep the answer (and forget keys older than the TTL)."""
    store.prune_idempotency(now - TTL)
    store.save_idempotent_response(stored_key, digest, route, status, body, request_id, now)
