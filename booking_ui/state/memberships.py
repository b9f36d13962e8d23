"""The builder page's memberships: the plans on offer, and subscribing (Checkout in subscription mode, started
off the event loop with no transaction open; the browser then goes to Stripe's page)."""

from __future__ import annotations

import asyncio
import logging

import reflex as rx

from booking.client import SUBSCRIBED_QUERY, MembershipUnavailable, PlanView, membership_offers, subscribe
from booking.core import UnknownZone, canonical_zone, get_settings, locale_tag, session_scope
from booking.lifecycle import InvalidRequest, LimitReached, Requester, limits_for
from booking.payments import PaymentProviderError
from booking_ui import deps
from booking_ui.offloop import db_event
from booking_ui.state.book import BROWSER_PREFERENCES_JS
from booking_ui.state.requester import requester_of

log = logging.getLogger(__name__)


def _subscribe(*, requester: Requester, **request: str | None):
    """Subscribe: one checkout attempt against this client IP's rate limit, then the Checkout Session."""
    limits_for(get_settings()).check_checkout_rate(requester.ip)
    return subscribe(engine=deps.engine(), gateway=deps.gateway(), **request)


class MembershipOffersState(rx.State):
    plans: list[PlanView] = []
    subscribing_plan: str = ""
    errors: dict[str, str] = {}
    notice: str = ""
    subscribed: bool = False
    locale: str = ""  # the browser's language: kept with the membership for the member's emails
    time_zone: str = ""  # the browser's zone (canonical; "": not known or not one we load): the emails' clock

    @db_event
    def load(self):
        slug = self.router.url.query_parameters.get("builder_slug", "") or self.builder_slug
        with session_scope() as session:
            self.plans = membership_offers(session=session, slug=str(slug))
        self.subscribed = SUBSCRIBED_QUERY.split("=")[0] in self.router.url.query_parameters
        self.errors, self.notice, self.subscribing_plan = {}, "", ""
        self.locale = self.locale or locale_tag(deps.browser_language(self))  # until the page says
        if self.plans:
            return rx.call_script(BROWSER_PREFERENCES_JS, callback=MembershipOffersState.set_browser_preferences)
        return None

    @rx.event
    def set_browser_preferences(self, preferences: dict):
        if isinstance(preferences, dict) and preferences.get("lang"):
            self.locale = locale_tag(str(preferences["lang"]))
        if isinstance(preferences, dict) and preferences.get("tz"):
            try:  # a zone the server can't load is left out (the emails tell UTC), never a refused Subscribe
                self.time_zone = canonical_zone(str(preferences["tz"]))
            except UnknownZone:
                self.time_zone = ""

    @rx.event(background=True)
    async def subscribe(self, form: dict):
        plan_id = str((form or {}).get("plan_id") or "")
        async with self:
            if self.subscribing_plan:
                return None
            self.subscribing_plan, self.errors, self.notice = plan_id, {}, ""
            requester, locale, time_zone = requester_of(self), self.locale, self.time_zone
        try:
            started = await asyncio.to_thread(_subscribe, requester=requester, plan_id=plan_id,
                                              client_name=str(form.get("client_name") or ""),
                                              client_email=str(form.get("client_email") or ""),
                                              client_locale=locale, client_time_zone=time_zone or None)
        except LimitReached as exc:  # the same per-network limit as the booking page's Pay and the API
            log.warning("subscribe refused (%s) for request %s from %s", exc.code, requester.request_id,
                        requester.ip)
            async with self:
                self.subscribing_plan, self.notice = "", exc.message
            return None
        except InvalidRequest as exc:
            async with self:
                self.errors, self.subscribing_plan = {f"{plan_id}:{exc.field}": exc.message}, ""
            return None
        except (MembershipUnavailable, PaymentProviderError) as exc:
            async with self:
                self.subscribing_plan = ""
                self.notice = (str(exc) if isinstance(exc, MembershipUnavailable) else
                               "We could not reach the payment provider. Nothing was charged; please try again.")
            return None
        except Exception:
            log.exception("subscribing could not start")
            async with self:
                self.subscribing_plan, self.notice = "", "Something went wrong; nothing was charged. Please try again."
            return None
        return rx.redirect(started.checkout_url)
