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

from datetime import date

import reflex as rx

from booking.client import ManageView, load_view, reschedule_month
from booking.core import ZoneChoice, utcnow, zone_choices
from booking.notifications import csrf_token, looks_like_token, token_hash
from booking.scheduling import load_zone
from booking_ui import deps, routes
from booking_ui.offloop import db_event
from booking_ui.state.month_picker import MonthPickerState

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


class ManageState(MonthPickerState, rx.State):  # the reschedule's month picker: the booking page's own
    loaded: bool = False
    view: ManageView | None = None
    policy_lines: list[str] = []
    zone: str = "UTC"
    locale: str = ""  # the browser's language (its Accept-Language)
    hour12: bool = False  # the clock the client chose on the booking page (kept with the booking)
    notice: str = ""
    notice_tone: str = "green"
    cancel_csrf: str = ""
    reschedule_csrf: str = ""

    def _token(self) -> str:
        query = self.router.url.query_parameters
        token = str(query.get("manage_token", "") or "") or _token_from_path(str(self.router.url.path))
        return token if looks_like_token(token) else ""

    @rx.var(cache=False)
    def zone_options(self) -> list[ZoneChoice]:
        """The booking page's zone menu: friendly names ("Eastern Time (New York) — 5:42 PM")."""
        return zone_choices(self.zone or "UTC", now=utcnow(), hour12=self.hour12, locale=self.locale)

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

    @db_event
    def load(self):
        token = self._token()
        self.notice, self.zone = "", ""  # the zone the client booked in, to start with
        self.view_year = self.view_month = 0
        self.selected_day = ""
        self.locale = deps.browser_language(self)  # none sent: the booking's own (the view says which)
        self._refresh(token)
        self.loaded = True
        if self.view is None:
            return
        digest = token_hash(token)
        self.cancel_csrf = csrf_token(digest, "cancel")
        self.reschedule_csrf = csrf_token(digest, "reschedule")
        code = str(self.router.url.query_parameters.get("done", "") or "")
        self.notice, self.notice_tone = OUTCOMES.get(code, ("", "green"))

    def _refresh(self, token: str, year: int | None = None, month: int | None = None) -> None:
        self.view = (load_view(engine=deps.engine(), token=token, time_zone=self.zone or None, locale=self.locale)
                     if token else None)
        if self.view is None:
            self.policy_lines, self.times, self.weeks = [], [], []
            return
        self.zone = self.view.time_zone
        self.hour12 = self.view.hour12
        self.locale = self.view.locale
        self.policy_lines = list(self.view.policy_lines)
        month_view = (reschedule_month(engine=deps.engine(), token=token, time_zone=self.zone, locale=self.locale,
                                       year=year or self.view_year or None, month=month or self.view_month or None)
                      if self.view.can_reschedule else None)
        self._show_month(month_view, locale=self.locale)

    @db_event
    def set_zone(self, value: str):
        try:
            self.zone = load_zone(value).key
        except ValueError:
            return
        self.selected_day = ""
        self._refresh(self._token())

    @db_event
    def previous_month(self):
        self._refresh(self._token(), *self._month_before())

    @db_event
    def next_month(self):
        self._refresh(self._token(), *self._month_after())

    @db_event
    def show_next_available(self):
        if not self.next_available_day:
            return
        day = date.fromisoformat(self.next_available_day)
        self.selected_day = day.isoformat()
        self._refresh(self._token(), day.year, day.month)

    @rx.event
    def choose_day(self, value: str):
        self._show_day(str(value)[:10])
