"""The client's manage page (/manage/<token>): thin over booking.manage.

The page only reads through Reflex events (its view, the times to move to, the zone it shows them in).
Changes are plain HTML form POSTs to booking_ui.api.manage_action, carrying the CSRF tokens set here,
and come back as a 303 to this page with `?done=<outcome>`.

The manage token is the client's credential, so no field of this state holds it (nor its hash): every
handler re-reads it from the page's address, and the form actions and the invite link that carry it are
computed vars that are not cached, so they are built for the page and never stored with the state (in
Redis, with REDIS_URL). The CSRF tokens are MACs of the token's hash: useless without the token.
"""

from __future__ import annotations

from datetime import date, timedelta

import reflex as rx

from booking.client import DayChoice, ManageView, load_view, reschedule_options
from booking.core import format_date, locale_tag, utcnow
from booking.notifications import csrf_token, looks_like_token, token_hash
from booking.scheduling import load_zone
from booking_ui import deps, routes
from booking_ui.offloop import db_event

COMMON_ZONES = [
    "UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York", "America/Chicago",
    "America/Denver", "America/Los_Angeles", "America/Sao_Paulo", "Asia/Tokyo", "Asia/Kolkata",
    "Asia/Singapore", "Australia/Sydney", "Pacific/Auckland",
]
MAX_WEEKS_AHEAD = 52

# What the page says after a change came back (the page's own view adds the details).
OUTCOMES: dict[str, tuple[str, str]] = {
    "cancelled": ("Your booking is cancelled. We've emailed you and the builder.", "green"),
    "already_cancelled": ("This booking was already cancelled.", "gray"),
    "rescheduled": ("Your booking has moved. We've emailed you and the builder an updated invite.", "green"),
    "refund_failed": ("We couldn't refund your payment, so your booking is still confirmed. "
                      "Nothing was cancelled: please try again.", "red"),
    "in_progress": ("Your cancellation is already being processed. Refresh this page in a moment.", "amber"),
    "slot_taken": ("Sorry, that time was just taken by someone else. Please pick another.", "red"),
    "refund_changed": ("The refund changed since the page was shown (a refund window just closed). "
                       "Check the amount below and confirm again.", "amber"),
    "not_allowed": ("That change isn't possible under this booking's policy; the details are below.", "red"),
    "error": ("Something went wrong on our side. The page below shows your booking as it is now; "
              "please try again.", "red"),
}


def _token_from_path(path: str) -> str:
    parts = [part for part in path.split("?")[0].split("/") if part]
    return parts[1] if len(parts) >= 2 and parts[0] == "manage" else ""


class ManageState(rx.State):
    loaded: bool = False
    view: ManageView | None = None
    policy_lines: list[str] = []
    days: list[DayChoice] = []
    zone: str = "UTC"
    locale: str = ""  # the browser's language (its Accept-Language)
    week: int = 0
    notice: str = ""
    notice_tone: str = "green"
    cancel_csrf: str = ""
    reschedule_csrf: str = ""
    week_label: str = ""

    def _token(self) -> str:
        query = self.router.url.query_parameters
        token = str(query.get("manage_token", "") or "") or _token_from_path(str(self.router.url.path))
        return token if looks_like_token(token) else ""

    def _link(self, build) -> str:
        token = self._token() if self.view is not None else ""
        return build(token) if token else ""

    @rx.var(cache=False)
    def cancel_action(self) -> str:
        return self._link(lambda token: routes.manage_action(token, "cancel"))

    @rx.var(cache=False)
    def reschedule_action(self) -> str:
        return self._link(lambda token: routes.manage_action(token, "reschedule"))

    @rx.var(cache=False)
    def invite_url(self) -> str:
        return self._link(routes.manage_invite)

    @rx.var
    def zone_choices(self) -> list[str]:
        return COMMON_ZONES if self.zone in COMMON_ZONES else [self.zone, *COMMON_ZONES]

    @db_event
    def load(self):
        token = self._token()
        self.week, self.notice, self.zone = 0, "", ""  # the zone the client booked in, to start with
        self.locale = locale_tag(deps.browser_language(self))
        self._refresh(token)
        self.loaded = True
        if self.view is None:
            return
        digest = token_hash(token)
        self.cancel_csrf = csrf_token(digest, "cancel")
        self.reschedule_csrf = csrf_token(digest, "reschedule")
        code = str(self.router.url.query_parameters.get("done", "") or "")
        self.notice, self.notice_tone = OUTCOMES.get(code, ("", "green"))

    def _refresh(self, token: str) -> None:
        self.view = (load_view(engine=deps.engine(), token=token, time_zone=self.zone or None, locale=self.locale)
                     if token else None)
        if self.view is None:
            self.policy_lines, self.days = [], []
            return
        self.zone = self.view.time_zone
        self.policy_lines = list(self.view.policy_lines)
        if not self.view.can_reschedule:
            self.days = []
            return
        first: date = utcnow().astimezone(load_zone(self.zone)).date() + timedelta(days=7 * self.week)
        last = first + timedelta(days=6)
        self.week_label = (f"{format_date(first, locale=self.locale, style='day_month_long')} – "
                           f"{format_date(last, locale=self.locale, style='day_month_long')}")
        self.days = reschedule_options(engine=deps.engine(), token=token, time_zone=self.zone,
                                       from_day=first, locale=self.locale)

    @db_event
    def set_zone(self, value: str):
        try:
            self.zone = load_zone(value).key
        except ValueError:
            return
        self._refresh(self._token())

    @db_event
    def later_times(self):
        self.week = min(self.week + 1, MAX_WEEKS_AHEAD)
        self._refresh(self._token())

    @db_event
    def earlier_times(self):
        self.week = max(self.week - 1, 0)
        self._refresh(self._token())
