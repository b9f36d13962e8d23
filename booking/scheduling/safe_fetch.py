"""Fetching a calendar URL a builder typed, safely: http(s) only, a timeout, a size cap, every redirect
checked again, and hosts that resolve to private, loopback or link-local addresses refused (unless allowed,
for local test servers), so a feed URL can't make the server read its own network."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "booking-calendar-sync/1"


class FetchRefused(ValueError):
    """The URL may not be fetched (scheme, address); the message says why, in the builder's words."""


class FetchFailed(RuntimeError):
    """The server could not be reached, answered an error, or sent too much."""


@dataclass(frozen=True)
class FetchPolicy:
    timeout_seconds: float = 10.0
    max_bytes: int = 5_000_000
    allow_private_networks: bool = False


@dataclass(frozen=True)
class Fetched:
    status: int  # 200, or 304 when the validators matched
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, policy: FetchPolicy) -> str:
    """The URL to fetch (webcal:// read as https://), or FetchRefused naming what is wrong."""
    url = url.strip()
    if url.lower().startswith("webcal://"):
        url = "https://" + url[len("webcal://"):]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchRefused("the address must start with https:// (or http://)")
    if not parts.hostname:
        raise FetchRefused("the address has no host name")
    if parts.username or parts.password:
        raise FetchRefused("put the user name and password in their own fields, not in the address")
    if not policy.allow_private_networks:
        try:
            infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                       type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise FetchRefused(f"the host {parts.hostname} could not be found") from None
        if not infos or not all(_public(info[4][0]) for info in infos):
            raise FetchRefused(f"{parts.hostname} is on a private network: only public addresses can be fetched")
    return url


def fetch(url: str, *, policy: FetchPolicy, etag: str | None = None, last_modified: str | None = None,
          client: httpx.Client | None = None) -> Fetched:
    """GET `url` with If-None-Match / If-Modified-Since; a 304 comes back as status 304 with no body.

    (The address is checked before each request; a host that changes its answer between the check and the
    connection is the remaining gap, narrowed by refusing every redirect we have not checked.)"""
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    own = client is None
    client = client or httpx.Client(timeout=policy.timeout_seconds, follow_redirects=False)
    try:
        current = check_url(url, policy)
        for _ in range(MAX_REDIRECTS + 1):
            try:
                with client.stream("GET", current, headers=headers) as response:
                    if response.status_code == 304:
                        return Fetched(status=304, etag=response.headers.get("etag") or etag,
                                       last_modified=response.headers.get("last-modified") or last_modified)
                    if response.status_code in REDIRECTS and response.headers.get("location"):
                        current = check_url(urljoin(current, response.headers["location"]), policy)
                        continue
                    if response.status_code != 200:
                        raise FetchFailed(f"the server answered HTTP {response.status_code}")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > policy.max_bytes:
                        raise FetchFailed(f"the calendar is larger than {policy.max_bytes:,} bytes")
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > policy.max_bytes:
                            raise FetchFailed(f"the calendar is larger than {policy.max_bytes:,} bytes")
                    return Fetched(status=200, body=bytes(body), etag=response.headers.get("etag"),
                                   last_modified=response.headers.get("last-modified"))
            except httpx.TimeoutException:
                raise FetchFailed(f"no answer within {policy.timeout_seconds:g} seconds") from None
            except httpx.HTTPError as exc:
                raise FetchFailed(f"the server could not be reached ({type(exc).__name__})") from None
        raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")
    finally:
        if own:
            client.close()
