"""Who is asking, as the abuse limits see it, from a Reflex event (the booking page's Pay, the builder
page's Subscribe)."""

from __future__ import annotations

import reflex as rx

from booking.core import get_settings
from booking.lifecycle import Requester, client_ip


def requester_of(state: rx.State) -> Requester:
    """The client's IP from the socket's peer, through trusted proxies only (Reflex's own X-Forwarded-For
    handling is off: trusted_proxy_hops is 0)."""
    headers = state.router.headers.raw_headers
    peer = headers.get("asgi-scope-client") or state.router.session.client_ip
    return Requester.of(client_ip(peer, headers.get("x-forwarded-for"), get_settings().forwarded_allow_ips))
