"""A builder's CalDAV calendar through the `caldav` library: read its events (expanded on our side, by
booking.scheduling.ics_busy) and write or remove one booking's event, named after its invite UID.

Every call checks the address first (booking.scheduling.safe_fetch) and follows no redirect."""

from __future__ import annotations

from datetime import datetime

import caldav
import icalendar

from booking.scheduling.safe_fetch import FetchFailed, FetchPolicy, check_url


class CalDavError(RuntimeError):
    """The CalDAV server refused or could not be reached; the message is safe to show the builder."""


def _client(url: str, username: str, password: str, policy: FetchPolicy) -> caldav.DAVClient:
    client = caldav.DAVClient(url=check_url(url, policy), username=username or None, password=password or None,
                              timeout=max(int(policy.timeout_seconds), 1))
    session = getattr(client, "session", None)
    if session is not None and hasattr(session, "max_redirects"):
        session.max_redirects = 0  # a redirect could lead anywhere: refused rather than followed unchecked
    return client


def _resource_url(calendar_url: str, name: str) -> str:
    return calendar_url.rstrip("/") + "/" + name + ".ics"


def read_events(*, url: str, username: str, password: str, start: datetime, end: datetime,
                policy: FetchPolicy) -> list[icalendar.Calendar]:
    """The calendar objects with an event in [start, end), unexpanded (recurrences are ours to expand)."""
    try:
        client = _client(url, username, password, policy)
        calendar = client.calendar(url=url)
        found = calendar.search(start=start, end=end, event=True, expand=False)
        documents = [icalendar.Calendar.from_ical(item.data) for item in found]
    except (FetchFailed, ValueError) as exc:
        raise CalDavError(str(exc)) from None
    except Exception as exc:  # caldav raises its own errors and the transport's: all one "unreachable" to us
        raise CalDavError(_describe(exc)) from None
    total = sum(len(doc.to_ical()) for doc in documents)
    if total > policy.max_bytes:
        raise CalDavError(f"the calendar is larger than {policy.max_bytes:,} bytes")
    return documents


def put_event(*, url: str, username: str, password: str, name: str, ical: bytes, policy: FetchPolicy) -> None:
    """Create or replace the event stored as `<calendar>/<name>.ics`."""
    _request("PUT", url=url, username=username, password=password, name=name, body=ical, policy=policy,
             ok=(200, 201, 204))


def delete_event(*, url: str, username: str, password: str, name: str, policy: FetchPolicy) -> None:
    """Remove `<calendar>/<name>.ics`; already gone counts as done."""
    _request("DELETE", url=url, username=username, password=password, name=name, body=None, policy=policy,
             ok=(200, 204, 404, 410))


def _request(method: str, *, url: str, username: str, password: str, name: str, body: bytes | None,
             policy: FetchPolicy, ok: tuple[int, ...]) -> None:
    try:
        client = _client(url, username, password, policy)
        headers = {"Content-Type": "text/calendar; charset=utf-8"} if body is not None else {}
        response = client.request(_resource_url(url, name), method, body or "", headers)
    except (FetchFailed, ValueError) as exc:
        raise CalDavError(str(exc)) from None
    except Exception as exc:
        status = getattr(exc, "status", None) or getattr(getattr(exc, "response", None), "status", None)
        if status and int(status) in ok:
            return
        raise CalDavError(_describe(exc)) from None
    if response.status not in ok:
        raise CalDavError(f"the calendar server answered HTTP {response.status} to {method}")


def _describe(exc: Exception) -> str:
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    status = getattr(exc, "status", None)
    if status:
        return f"the calendar server answered HTTP {status}"
    return f"the calendar server could not be reached ({type(exc).__name__}{': ' + text if text else ''})"
