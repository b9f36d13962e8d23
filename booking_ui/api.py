"""HTTP routes (JSON API, health, webhook): parse, call one service, map the result."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from booking.accounts import SIGN_IN_THROTTLED, revoke, sign_in, throttle_from_settings
from booking.client import (
    OUT_OF_RANGE,
    LinkNotFound,
    ManageError,
    MembershipCheckout,
    NoMembership,
    Outcome,
    PlanBuilderNotPayable,
    PlanNotOffered,
    PublicPlan,
    SlotList,
    builder_plans,
    cancel_by_client,
    invite_for_token,
    list_active_session_types,
    list_slots,
    portal_for_token,
    reschedule,
    reschedule_year_ok,
    subscribe,
)
from booking.core import WebhookProcessing, database_id, database_reachable, get_settings, session_scope, utcnow
from booking.events import accept_webhook, handle_webhook
from booking.lifecycle import (
    CheckoutStarted,
    HoldNotActive,
    InvalidRequest,
    LimitReached,
    PromotionCodeInvalid,
    RateLimited,
    Requester,
    SlotUnavailable,
    begin_checkout,
    client_ip,
    from_trusted_proxy,
    limits_for,
)
from booking.notifications import ACTIONS, csrf_ok, invite_for_uid, load_feed, looks_like_token, token_hash
from booking.payments import PaymentProviderError
from booking.scheduling import InvalidAnswers, SessionTypeNotFound, load_zone
from booking.workspace import StoredPhoto, public_photo
from booking_ui import deps, openapi, routes
from booking_ui.admin.base import SESSION_COOKIE, SessionCookieShield, cookie_settings, login_path, safe_next
from booking_ui.admin.http import admin_routes
from booking_ui.offloop import run_db

MAX_SLOT_DAYS = 62  # two months in one request
log = logging.getLogger(__name__)


def error(status: int, code: str, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


def invalid(field: str, message: str) -> JSONResponse:
    return error(422, "invalid_request", message, field=field)


def answers_refused(exc: InvalidAnswers) -> JSONResponse:
    """422 `invalid_answers`: the first problem in the message, every one by question id in `fields`."""
    first = next(iter(exc.errors.values()), "The answers are not valid.")
    return error(422, exc.code, first, fields=exc.errors)


def limited(exc: LimitReached) -> JSONResponse:
    """429 in the API's error shape, with Retry-After (seconds)."""
    response = error(429, exc.code, exc.message, retry_after=exc.retry_after)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def health(_request: Request) -> JSONResponse:
    if not await run_in_threadpool(database_reachable, deps.engine()):
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def openapi_document(_request: Request) -> JSONResponse:
    return JSONResponse(openapi.document())


async def session_types(_request: Request) -> JSONResponse:
    def load() -> list[dict[str, Any]]:
        with session_scope(deps.engine()) as session:
            return [asdict(view) for view in list_active_session_types(session=session)]

    return JSONResponse(await run_in_threadpool(load))


# Dates from the browser must fall within this window around today: dates near year 1 or 9999 overflow the
# time-zone arithmetic, and no slot is that far away (the builder's horizon decides what is bookable).
DATE_WINDOW_PAST_DAYS = 366
DATE_WINDOW_FUTURE_DAYS = 10 * 366


def _in_date_window(day: date, today: date) -> bool:
    return today - timedelta(days=DATE_WINDOW_PAST_DAYS) <= day <= today + timedelta(days=DATE_WINDOW_FUTURE_DAYS)


def _parse_from_day(raw: str | None, today: date) -> date | None:
    if not raw:
        return today
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    return day if _in_date_window(day, today) else None


def _parse_amount(raw: str) -> int | None:
    """Minor units from a form field, or None ("²" passes str.isdigit() but not int())."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 12 else None


def _parse_days(raw: str) -> int | None:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 3:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_SLOT_DAYS else None


MAX_JSON_DEPTH = 8  # a create-checkout body is one flat object


def _nesting_depth(raw: bytes) -> int:
    """The deepest [ or { nesting outside strings, counted before parsing: 16 KiB of `[[[[` would otherwise
    reach the parser's recursion limit (a RecursionError, not a ValueError). Stops once past the limit."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # "
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    break
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _is_json(request: Request) -> bool:
    """application/json, or no Content-Type at all (a script). Never text/plain or a form: those are what
    a page on another site can send without a CORS preflight."""
    media_type = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    return media_type in ("application/json", "")


def _clean_text(value: object) -> str | None:
    """A JSON string without NUL or other control characters (PostgreSQL refuses NUL in text), else None."""
    if not isinstance(value, str) or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return None
    return value


async def session_type_slots(request: Request) -> JSONResponse:
    session_type_id = database_id(request.path_params["session_type_id"])
    if session_type_id is None:
        return error(404, "session_type_not_found", "No such session type.")
    tz = request.query_params.get("tz", "UTC")
    try:
        load_zone(tz)
    except ValueError as exc:
        return invalid("tz", str(exc))
    from_day = _parse_from_day(request.query_params.get("from"), utcnow().astimezone(load_zone(tz)).date())
    if from_day is None:
        return invalid("from", "from must be a date like 2026-12-01, within a year before and ten after today.")
    days = _parse_days(request.query_params.get("days", "7"))
    if days is None:
        return invalid("days", f"days must be a whole number from 1 to {MAX_SLOT_DAYS}.")

    def load() -> SlotList:
        with session_scope(deps.engine()) as session:
            return list_slots(session=session, session_type_id=session_type_id, from_day=from_day, days=days,
                              viewer_time_zone=tz, now=utcnow())

    try:
        found = await run_in_threadpool(load)
    except SessionTypeNotFound:
        return error(404, "session_type_not_found", "No such session type.")
    return JSONResponse({
        "time_zone": tz,
        "seats": found.seats,
        "slots": [{"start_time": s.start.isoformat(), "end_time": s.end.isoformat(), "seats_left": s.seats_left}
                  for s in found.slots],
    })


def _client_ip(request: Request) -> str | None:
    """The client's IP: the peer's, or X-Forwarded-For's when the peer is a trusted proxy (FORWARDED_ALLOW_IPS)."""
    return client_ip(request.client.host if request.client else None, request.headers.get("x-forwarded-for"),
                     get_settings().forwarded_allow_ips)


async def _json_object(request: Request) -> dict[str, Any] | JSONResponse:
    """A create-checkout body: one JSON object, else the refusal. JSON only: a text/plain or form body is what a
    cross-site form can send without a CORS preflight."""
    if not _is_json(request):
        return error(415, "unsupported_media_type", "Send the body as application/json.")
    raw = await request.body() or b"null"  # at most 16 KiB: booking_ui/middleware.py
    if _nesting_depth(raw) > MAX_JSON_DEPTH:
        return invalid("body", f"The body must be JSON nested at most {MAX_JSON_DEPTH} levels deep.")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return invalid("body", "The body must be JSON.")
    if not isinstance(body, dict):
        return invalid("body", "The body must be a JSON object.")
    return body


def _missing_or_malformed(body: dict[str, Any], fields: tuple[str, ...]) -> JSONResponse | None:
    """Each field present, a string (or a number) without control characters; else the refusal naming it."""
    for field in fields:
        if body.get(field) in (None, ""):
            return invalid(field, f"{field} is required.")
        if not isinstance(body[field], (str, int)) or isinstance(body[field], bool):
            return invalid(field, f"{field} must be a string.")
        if isinstance(body[field], str) and _clean_text(body[field]) is None:
            return invalid(field, f"{field} must not contain control characters.")
    return None


def _currency_refused(currency: object) -> JSONResponse | None:
    if currency is not None and (not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha()):
        return invalid("currency", "currency must be a three-letter ISO code such as EUR.")
    return None


def _time_zone_field(body: dict[str, Any]) -> str | None | JSONResponse:
    """The optional `client_time_zone`: the zone's name, None when absent or empty, or the 422 naming the field."""
    raw = body.get("client_time_zone")
    if raw in (None, ""):
        return None
    if _clean_text(raw) is None:
        return invalid("client_time_zone", "client_time_zone must be a time zone name like Europe/London.")
    try:
        load_zone(str(raw))
    except ValueError as exc:
        return invalid("client_time_zone", str(exc))
    return str(raw)


async def create_checkout_session(request: Request) -> JSONResponse:
    body = await _json_object(request)
    if isinstance(body, JSONResponse):
        return body
    refused = _missing_or_malformed(body, ("session_type_id", "start_time", "client_name", "client_email"))
    if refused is not None:
        return refused
    client_time_zone = _time_zone_field(body)
    if isinstance(client_time_zone, JSONResponse):
        return client_time_zone
    session_type_id = database_id(str(body["session_type_id"]))
    if session_type_id is None:
        return error(404, "session_type_not_found", "No such session type.")
    start_time = _parse_start_time(str(body["start_time"]))
    if start_time is None:
        return invalid("start_time", "start_time must be ISO 8601 with an offset, within ten years from now.")

    invoice_requested = body.get("invoice", False)
    if not isinstance(invoice_requested, bool):
        return invalid("invoice", "invoice must be true or false.")
    currency = body.get("currency")  # optional: one of the session type's prices (GET /api/session-types)
    if (refused := _currency_refused(currency)) is not None:
        return refused
    client_locale = body.get("client_locale")  # optional: the client's emails follow it; an unknown one is ignored
    if client_locale is not None and not isinstance(client_locale, str):
        return invalid("client_locale", "client_locale must be a BCP 47 language tag such as fr-FR.")
    answers = body.get("answers")  # checked against the session type's questions by the service
    if answers is not None and not isinstance(answers, dict):
        return answers_refused(InvalidAnswers({"answers": "answers must be an object: question id -> answer."}))

    promotion_code = body.get("promotion_code")
    if promotion_code is not None and (not isinstance(promotion_code, str) or _clean_text(promotion_code) is None):
        return invalid("promotion_code", "promotion_code must be a string, such as WELCOME10.")
    if promotion_code is not None and len(promotion_code.strip()) > 40:
        return error(422, "promotion_code_invalid", "There is no such promotion code.", field="promotion_code")

    settings = get_settings()
    requester = Requester.of(_client_ip(request), request.headers.get("x-request-id"))

    def start() -> CheckoutStarted:
        limits_for(settings).check_checkout_rate(requester.ip)  # a valid request: it may hold a slot
        return begin_checkout(
            engine=deps.engine(), gateway=deps.gateway(), settings=settings, requester=requester,
            session_type_id=session_type_id, start_time=start_time, client_name=str(body["client_name"]),
            client_email=str(body["client_email"]), client_time_zone=client_time_zone or "UTC",
            client_locale=client_locale, invoice_requested=invoice_requested, currency=currency, answers=answers,
            promotion_code=promotion_code or None,
        )

    try:
        started = await run_in_threadpool(start)
    except InvalidRequest as exc:
        return invalid(exc.field, exc.message)
    except InvalidAnswers as exc:
        return answers_refused(exc)
    except PromotionCodeInvalid as exc:  # unknown, expired, used up, ...: the message says which; nothing held
        return error(422, "promotion_code_invalid", exc.message, field="promotion_code")
    except SessionTypeNotFound:
        return error(404, "session_type_not_found", "No such session type.")
    except (SlotUnavailable, HoldNotActive) as exc:
        message = str(exc) if isinstance(exc, SlotUnavailable) else "That time is no longer available."
        return error(409, "slot_unavailable", message)
    except LimitReached as exc:
        log.warning("create-checkout refused (%s) for request %s from %s", exc.code, requester.request_id,
                    requester.ip)
        return limited(exc)
    except PaymentProviderError:
        return error(502, "payment_provider_error",
                     "We could not reach the payment provider. Nothing was charged and the slot was released.")
    return JSONResponse(
        {"booking_id": started.booking_id, "checkout_session_id": started.checkout_session_id,
         "checkout_url": started.checkout_url, "expires_at": started.expires_at.isoformat()},
        status_code=201,
    )


def _parse_start_time(raw: str) -> datetime | None:
    """An aware datetime in the bookable window, else None (dates near year 1 or 9999 overflow later)."""
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    return parsed if _in_date_window(parsed.date(), utcnow().date()) else None


PLAN_NOT_FOUND = "No such membership plan, or it is no longer offered."


def _plan_json(plan: PublicPlan) -> dict[str, Any]:
    price = {"amount": plan.amount, "currency": plan.currency, "display": plan.price_display}
    return {"id": str(plan.id), "name": plan.name, "sessions_per_month": plan.sessions_per_month,
            "price": price, "prices": [price], "unused_credits": str(plan.unused_credits),
            "session_types": [{"id": str(t.id), "name": t.name} for t in plan.session_types]}


async def builder_membership_plans(request: Request) -> JSONResponse:
    """A builder's active membership plans (public: what their page offers)."""
    slug = request.path_params["slug"]

    def load() -> list[PublicPlan] | None:
        with session_scope(deps.engine()) as session:
            return builder_plans(session=session, slug=slug)

    plans = await run_in_threadpool(load) if slug.isascii() and slug.isprintable() and len(slug) <= 80 else None
    if plans is None:
        return error(404, "builder_not_found", "No builder at this address.")
    return JSONResponse([_plan_json(plan) for plan in plans])


async def create_membership_checkout(request: Request) -> JSONResponse:
    """Subscribe a client to a plan: the booking page's service, behind the create-checkout rate limit."""
    body = await _json_object(request)
    if isinstance(body, JSONResponse):
        return body
    refused = _missing_or_malformed(body, ("plan_id", "client_name", "client_email"))
    if refused is not None:
        return refused
    if database_id(str(body["plan_id"])) is None:
        return error(404, "plan_not_found", PLAN_NOT_FOUND)
    currency = body.get("currency")  # optional: the plan's own (a plan has one price)
    if (refused := _currency_refused(currency)) is not None:
        return refused
    client_locale = body.get("client_locale")  # optional: the member's emails follow it; an unknown one is ignored
    if client_locale is not None and not isinstance(client_locale, str):
        return invalid("client_locale", "client_locale must be a BCP 47 language tag such as fr-FR.")
    client_time_zone = _time_zone_field(body)  # optional: the renewal on the member's clock in their emails
    if isinstance(client_time_zone, JSONResponse):
        return client_time_zone
    settings = get_settings()
    requester = Requester.of(_client_ip(request), request.headers.get("x-request-id"))

    def start() -> MembershipCheckout:
        limits_for(settings).check_checkout_rate(requester.ip)  # a valid request: it makes a Checkout Session
        return subscribe(engine=deps.engine(), gateway=deps.gateway(), plan_id=body["plan_id"],
                         client_name=str(body["client_name"]), client_email=str(body["client_email"]),
                         currency=currency, client_locale=client_locale, client_time_zone=client_time_zone)

    try:
        started = await run_in_threadpool(start)
    except InvalidRequest as exc:
        return invalid(exc.field, exc.message)
    except PlanNotOffered:
        return error(404, "plan_not_found", PLAN_NOT_FOUND)
    except PlanBuilderNotPayable as exc:
        return error(409, "builder_not_payable", str(exc))
    except LimitReached as exc:
        log.warning("membership checkout refused (%s) for request %s from %s", exc.code, requester.request_id,
                    requester.ip)
        return limited(exc)
    except PaymentProviderError:
        return error(502, "payment_provider_error", "We could not reach the payment provider. Nothing was charged.")
    return JSONResponse({"membership_id": str(started.membership_id),
                         "checkout_session_id": started.checkout_session_id,
                         "checkout_url": started.checkout_url}, status_code=201)


async def stripe_webhook(request: Request) -> JSONResponse:
    payload = await request.body()  # the raw bytes Stripe signed (at most 1 MiB: booking_ui/middleware.py)
    signature = request.headers.get("stripe-signature")
    # WEBHOOK_PROCESSING=worker: answer once stored, the job worker applies it (booking/events/processor.py).
    receive = accept_webhook if get_settings().webhook_processing is WebhookProcessing.WORKER else handle_webhook
    result = await run_in_threadpool(
        lambda: receive(engine=deps.engine(), gateway=deps.gateway(), payload=payload, signature=signature)
    )
    return JSONResponse(result.body, status_code=result.status_code)


async def booking_invite(request: Request) -> Response:
    """The success page's download: the invite's opaque UID plus a signed, short-lived token, which only the
    browser that paid was given. A wrong, expired or unknown one is one 404 that says nothing more."""
    invite_uid, token = request.path_params["invite_uid"], request.path_params["token"]

    def load() -> bytes | None:
        with session_scope(deps.engine()) as session:
            return invite_for_uid(session=session, invite_uid=invite_uid, token=token)

    ics = await run_in_threadpool(load)
    if ics is None:
        return error(404, "booking_not_found", "No confirmed booking at this address (the link may have expired).")
    return Response(ics, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="booking.ics"',
                             "Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"})


async def calendar_feed(request: Request) -> Response:
    """A builder's private subscription: the token in the URL is the only credential."""
    token = request.path_params["token"]

    def load() -> bytes | None:
        with session_scope(deps.engine()) as session:
            feed = load_feed(session=session, token=token)
        return feed.to_ical() if feed is not None else None  # rendered after the transaction ends

    ics = await run_in_threadpool(load)
    if ics is None:
        return error(404, "calendar_not_found", "No calendar at this address (the link may have been replaced).")
    return Response(ics, media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=300", "Referrer-Policy": "no-referrer",
                             "Content-Disposition": 'inline; filename="bookings.ics"'})


async def builder_photo(request: Request) -> Response:
    """A builder's profile photo (public, like their page). `?v=` names a version: that exact address never
    changes, so it may be cached for a year; without it, a short cache and the ETag."""
    slug = request.path_params["slug"]

    def load() -> StoredPhoto | None:
        with session_scope(deps.engine()) as session:
            return public_photo(session=session, slug=slug)

    photo = await run_in_threadpool(load) if slug.isascii() and slug.isprintable() and len(slug) <= 80 else None
    if photo is None:
        return error(404, "photo_not_found", "This builder has no photo.")
    etag = f'"{photo.version}"'
    versioned = request.query_params.get("v") == photo.version
    headers = {"ETag": etag, "Cache-Control": "public, max-age=31536000, immutable" if versioned
               else "public, max-age=300", "X-Content-Type-Options": "nosniff"}
    if etag in [tag.strip() for tag in (request.headers.get("if-none-match") or "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(photo.content, media_type=photo.media_type, headers=headers)


MANAGE_FORM_LIMIT = 4096  # bytes: a manage form is a token, a time and a number


def _origin_of(url: str) -> str:
    try:
        parts = urlsplit(url)
        number = parts.port
    except ValueError:  # a malformed header never matches
        return ""
    if not parts.scheme or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}.get(parts.scheme)
    port = f":{number}" if number and number != default else ""
    # One machine's own names are one origin (the run command prints 127.0.0.1; PUBLIC_URL says localhost).
    host = "localhost" if parts.hostname.lower() in LOOPBACK_NAMES else parts.hostname
    return f"{parts.scheme}://{host}{port}".lower()


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def same_site_request(request: Request, public_url: str) -> bool:
    """The POST came from one of our own pages: its Origin (else its Referer) is PUBLIC_URL's origin."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        origin = request.headers.get("referer") or ""
    return bool(origin) and _origin_of(origin) == _origin_of(public_url)


def _refused(status: int, message: str, token: str = "") -> HTMLResponse:
    back = (f'<p><a href="{routes.manage_page(token)}">Back to your booking</a></p>'
            if looks_like_token(token) else "")
    return HTMLResponse(f"<!doctype html><title>Not done</title><h1>Nothing was changed</h1><p>{message}</p>{back}",
                        status_code=status, headers={"Cache-Control": "no-store", "Referrer-Policy": "same-origin"})


async def manage_action(request: Request) -> Response:
    """A change to a booking from its manage page: a plain form POST with a CSRF token, answered with a
    303 back to the page (`?done=<outcome>`). Never by GET: a link, a prefetch or a crawler changes nothing."""
    token, action = request.path_params["token"], request.path_params["action"]
    if action not in ACTIONS or not looks_like_token(token):
        return _refused(404, "There is no such page.")
    if request.method != "POST":
        return PlainTextResponse("Use the buttons on your booking page.", status_code=405, headers={"Allow": "POST"})
    if not same_site_request(request, get_settings().public_url):
        return _refused(403, "This request didn't come from your booking page.", token)
    try:
        limits_for(get_settings()).check_manage_rate(_client_ip(request))
    except RateLimited as exc:
        refused = _refused(429, exc.message, token)
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    length = request.headers.get("content-length") or "0"
    if not length.isdigit() or int(length) > MANAGE_FORM_LIMIT:
        return _refused(413, "The request is too large.", token)
    form = await request.form()
    if not csrf_ok(token_hash(token), action, str(form.get("csrf_token") or "")):
        return _refused(403, "This form has expired. Open your booking again and retry.", token)

    def run() -> Outcome:
        if action == "cancel":
            expected = str(form.get("expected_refund") or "")
            return cancel_by_client(engine=deps.engine(), gateway=deps.gateway(), token=token,
                                           expected_refund=_parse_amount(expected))
        return reschedule(engine=deps.engine(), token=token, new_start=start)

    start = None
    if action == "reschedule":
        try:
            start = datetime.fromisoformat(str(form.get("start") or "").strip()[:64])
        except ValueError:
            return RedirectResponse(f"{routes.manage_page(token)}?done=not_allowed", status_code=303,
                                    headers={"Cache-Control": "no-store"})
        if start.utcoffset() is not None and not reschedule_year_ok(start, utcnow()):
            return _refused(422, OUT_OF_RANGE, token)

    try:
        outcome = await run_in_threadpool(run)
        code = outcome.code
    except LinkNotFound:
        return _refused(404, "This link doesn't match a booking.")
    except ManageError as exc:
        code = exc.code
    except PaymentProviderError:  # the gateway could not even be built or reached
        code = "refund_failed"
    except Exception:
        log.exception("manage %s of a booking failed", action)
        code = "error"
    return RedirectResponse(f"{routes.manage_page(token)}?done={code}", status_code=303,
                            headers={"Cache-Control": "no-store"})


async def manage_invite(request: Request) -> Response:
    token = request.path_params["token"]
    ics = await run_in_threadpool(lambda: invite_for_token(engine=deps.engine(), token=token))
    if ics is None:
        return error(404, "booking_not_found", "No confirmed booking at this address.")
    return Response(ics, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="booking.ics"',
                             "Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"})


# --- signing in and out of the workspace -----------------------------------------------------------------

AUTH_FORM_LIMIT = 4096  # bytes: an email, a password and a path
NO_STORE = {"Cache-Control": "no-store"}


def _https(request: Request) -> bool:
    """The browser talks https to us: directly, or through a trusted proxy (FORWARDED_ALLOW_IPS) that says so
    in X-Forwarded-Proto, or PUBLIC_URL is https (the proxy in front may not say)."""
    settings = get_settings()
    if request.url.scheme == "https" or settings.public_url.lower().startswith("https://"):
        return True
    proto = (request.headers.get("x-forwarded-proto") or "").split(",")[0].strip().lower()
    return proto == "https" and from_trusted_proxy(request.client.host if request.client else None,
                                                   settings.forwarded_allow_ips)


def _auth_refused(status: int, message: str) -> HTMLResponse:
    return HTMLResponse(f'<!doctype html><title>Not done</title><h1>Nothing was done</h1><p>{message}</p>'
                        f'<p><a href="{routes.ADMIN_LOGIN}">Back to the sign-in page</a></p>',
                        status_code=status, headers=NO_STORE)


def _form_text(form, name: str, limit: int) -> str:
    """A text field, else "" (a file, or text with NUL, which PostgreSQL can't even compare: no such account)."""
    value = form.get(name)
    return value[:limit] if isinstance(value, str) and "\x00" not in value else ""


async def _auth_form(request: Request):
    """The form of a sign-in / sign-out POST, or the refusal: from another site (Origin, else Referer, must
    be PUBLIC_URL's: the CSRF check, with SameSite on the cookie), or too large."""
    if not same_site_request(request, get_settings().public_url):
        return _auth_refused(403, "This request didn't come from our sign-in page.")
    length = request.headers.get("content-length") or "0"
    if not length.isdigit() or int(length) > AUTH_FORM_LIMIT:
        return _auth_refused(413, "The request is too large.")
    return await request.form()


async def auth_sign_in(request: Request) -> Response:
    """The sign-in form's POST: the password is checked off the loop through the throttled sign-in
    service; success sets the HttpOnly session cookie and returns to `next`, failure goes back to the
    sign-in page with one message for an unknown email and a wrong password."""
    form = await _auth_form(request)
    if isinstance(form, Response):
        return form
    email, password = _form_text(form, "email", 254), _form_text(form, "password", 256)
    next_path = safe_next(_form_text(form, "next", 4096))
    previous = request.cookies.get(SESSION_COOKIE, "")
    settings = get_settings()
    ip = _client_ip(request) or "unknown"

    def run():
        with session_scope(deps.engine()) as session:
            result = sign_in(session=session, email=email, password=password, client_ip=ip,
                             throttle=throttle_from_settings(settings),
                             idle_minutes=settings.admin_session_idle_minutes,
                             max_hours=settings.admin_session_max_hours)
            if result.token is not None and previous:
                revoke(session=session, token=previous)  # a fresh session replaces the browser's old one
            return result

    result = await run_db(run)  # argon2 and the session row: the app's few off-loop threads (booking_ui.offloop)
    if result.token is None:
        code = "throttled" if result.error == SIGN_IN_THROTTLED else "failed"
        return RedirectResponse(login_path(next_path, error=code), status_code=303, headers=NO_STORE)
    response = RedirectResponse(next_path, status_code=303, headers=NO_STORE)
    response.set_cookie(value=result.token, secure=_https(request), **cookie_settings())
    return response


async def auth_sign_out(request: Request) -> Response:
    """The frame's sign-out POST: the session ends on the server and the cookie is cleared."""
    form = await _auth_form(request)
    if isinstance(form, Response):
        return form
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        def run() -> None:
            with session_scope(deps.engine()) as session:
                revoke(session=session, token=token)

        await run_db(run)
    response = RedirectResponse(login_path(reason="signed-out"), status_code=303, headers=NO_STORE)
    settings = cookie_settings()
    response.delete_cookie(settings["key"], path=settings["path"], secure=_https(request), httponly=True,
                           samesite=settings["samesite"])
    return response


async def membership_portal(request: Request) -> Response:
    """The "update your card" email's link: a fresh customer portal session (they live minutes), then there."""
    token = str(request.path_params["token"])[:100]

    def run() -> str:
        return portal_for_token(engine=deps.engine(), gateway=deps.gateway(), token=token,
                                return_url=get_settings().public_url)

    try:
        url = await run_in_threadpool(run)
    except NoMembership:
        return PlainTextResponse("This link is not valid.", status_code=404, headers=NO_STORE)
    except PaymentProviderError:
        return PlainTextResponse("The payment provider is not available. Please try again in a moment.",
                                 status_code=502, headers=NO_STORE)
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


def build_api() -> Starlette:
    return Starlette(
        routes=[
            Route(routes.API_HEALTH, health, methods=["GET"]),
            Route(routes.API_OPENAPI, openapi_document, methods=["GET"]),
            Route(routes.API_SESSION_TYPES, session_types, methods=["GET"]),
            Route(routes.API_SLOTS, session_type_slots, methods=["GET"]),
            Route(routes.API_CREATE_CHECKOUT, create_checkout_session, methods=["POST"]),
            Route(routes.API_BUILDER_PLANS, builder_membership_plans, methods=["GET"]),
            Route(routes.API_CREATE_MEMBERSHIP_CHECKOUT, create_membership_checkout, methods=["POST"]),
            Route(routes.API_WEBHOOK, stripe_webhook, methods=["POST"]),
            Route(routes.API_ICS, booking_invite, methods=["GET"]),
            Route(routes.API_BUILDER_PHOTO, builder_photo, methods=["GET"]),
            Route(routes.CALENDAR_FEED, calendar_feed, methods=["GET"]),
            Route(routes.API_MANAGE_ICS, manage_invite, methods=["GET"]),
            # GET is routed too, to answer 405 (unrouted, it would fall through to the app's 404 page).
            Route(routes.API_MANAGE_ACTION, manage_action, methods=["GET", "POST"]),
            Route(routes.API_AUTH_SIGN_IN, auth_sign_in, methods=["POST"]),
            Route(routes.API_AUTH_SIGN_OUT, auth_sign_out, methods=["POST"]),
            Route(routes.MEMBERSHIP_PORTAL, membership_portal, methods=["GET"]),
            *admin_routes(),
        ],
        # The workspace's websocket (Reflex's app is mounted inside this one) sees only the session cookie's
        # digest, never the token (booking_ui.admin.base.SessionCookieShield).
        middleware=[Middleware(SessionCookieShield)],
    )
