"""The OpenAPI 3.1 document of the public HTTP API, written by hand and served at /api/openapi.json.

Every public route of booking_ui/api.py is here, and nothing else: tests/unit/test_openapi_document.py
compares this document with the routes `build_api()` registers, so a new route can't slip past it.
The workspace's own routes (/api/admin/...) answer only a signed-in builder and are left out on purpose.
tests/integration/test_openapi_contract.py runs schemathesis against it: no 5xx, every answer as written.
"""

from __future__ import annotations

import copy
from typing import Any

from booking_ui import routes

# Routes of build_api() that are not public and so not described (checked by the same test).
PRIVATE_PREFIXES = ("/api/admin/",)

TOKEN_PATTERN = "^[A-Za-z0-9_-]{43}$"  # secrets.token_urlsafe(32): the manage link's and the calendar feed's
INVITE_TOKEN_PATTERN = "^[0-9]{1,12}\\.[A-Za-z0-9_-]{43}$"  # booking.notifications.invites.invite_token


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error_schema(description: str, *codes: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The API's error shape, `{"error": {"code", "message", ...}}`, with the codes this error may carry."""
    code: dict[str, Any] = {"type": "string", "enum": list(codes)} if codes else {"type": "string"}
    return {
        "type": "object",
        "description": description,
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", *required],
                "properties": {
                    "code": code,
                    "message": {"type": "string", "description": "For people: safe to show as it is."},
                    "field": {"type": "string", "description": "The request field at fault."},
                    "retry_after": {"type": "integer", "minimum": 1, "description": "Seconds to wait."},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"},
                               "description": "Each field (a question id) at fault, with its message."},
                },
            }
        },
    }


def _json(schema: str, description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}
    if headers:
        response["headers"] = headers
    return response


def _form_too_large(limit: str) -> dict[str, Any]:
    """A form route's 413: its own HTML page over `limit`; over the API's 16 KiB cap the body is refused as JSON
    before the route sees it (booking_ui/middleware.py)."""
    response = _html(f"The form is over {limit} (JSON `payload_too_large` over 16 KiB).")
    response["content"]["application/json"] = {"schema": _ref("PayloadTooLargeError")}
    return response


def _html(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description,
                                "content": {"text/html": {"schema": {"type": "string"}}}}
    if headers:
        response["headers"] = headers
    return response


def _ics(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/calendar": {"schema": {"type": "string"}}}}


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "required": True,
                               "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
TOO_LARGE = _json("PayloadTooLargeError", "The body is over the cap (16 KiB; 1 MiB for the webhook).")
BAD_LENGTH = _json("BadContentLengthError", "Content-Length is not a number.")

SCHEMAS: dict[str, Any] = {
    "Health": {
        "type": "object",
        "required": ["status", "database"],
        "properties": {"status": {"type": "string", "enum": ["ok", "error"]},
                       "database": {"type": "string", "enum": ["ok", "unreachable"]}},
    },
    "Price": {
        "type": "object",
        "required": ["amount", "currency", "display"],
        "properties": {
            "amount": {"type": "integer", "minimum": 0, "description": "Minor units (pence, cents)."},
            "currency": {"type": "string", "description": "ISO 4217, lower case.", "examples": ["gbp"]},
            "display": {"type": "string", "examples": ["£50.00"]},
        },
    },
    "BuilderSummary": {
        "type": "object",
        "required": ["id", "name", "slug", "time_zone"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "slug": {"type": "string"},
                       "time_zone": {"type": "string", "examples": ["Europe/London"]}},
    },
    "SessionType": {
        "type": "object",
        "required": ["id", "name", "description", "duration_minutes", "price", "builder", "bookable",
                     "not_bookable_reason", "prices", "url"],
        "properties": {
            "id": {"type": "string", "pattern": "^[0-9]+$"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "duration_minutes": {"type": "integer", "minimum": 1},
            "price": _ref("Price"),
            "builder": _ref("BuilderSummary"),
            "bookable": {"type": "boolean", "description": "False while the builder can't take payments."},
            "not_bookable_reason": {"type": "string"},
            "prices": {"type": "array", "items": _ref("Price"),
                       "description": "Every currency it is sold in, its own first; `currency` on "
                                      "create-checkout-session picks one."},
            "url": {"type": "string", "description": "The booking page's path: /<builder slug>/<session type slug>."},
        },
    },
    "SessionTypeList": {"type": "array", "items": _ref("SessionType")},
    "Slot": {
        "type": "object",
        "required": ["start_time", "end_time", "seats_left"],
        "properties": {"start_time": {"type": "string", "format": "date-time"},
                       "end_time": {"type": "string", "format": "date-time"},
                       "seats_left": {"type": "integer", "minimum": 1,
                                      "description": "Seats still free at this start (1 for a one-to-one "
                                                     "session)."}},
    },
    "SlotList": {
        "type": "object",
        "required": ["time_zone", "seats", "slots"],
        "properties": {"time_zone": {"type": "string", "description": "The zone the times are given in."},
                       "seats": {"type": "integer", "minimum": 1,
                                 "description": "The session type's seats: 1 for a one-to-one session, N for a "
                                                "workshop."},
                       "slots": {"type": "array", "items": _ref("Slot")}},
    },
    "CheckoutRequest": {
        "type": "object",
        "required": ["session_type_id", "start_time", "client_name", "client_email"],
        "properties": {
            "session_type_id": {"type": ["string", "integer"], "examples": ["1"]},
            "start_time": {"type": "string", "format": "date-time",
                           "description": "One of the slots' start_time, with its offset."},
            "client_name": {"type": "string", "minLength": 1},
            "client_email": {"type": "string", "format": "email"},
            "client_time_zone": {"type": "string", "description": "IANA name; UTC when absent.",
                                 "examples": ["Europe/London"]},
            "client_locale": {"type": "string", "examples": ["fr-FR"],
                              "description": "The client's language, a BCP 47 tag: their emails write dates, times "
                                             "and amounts its way. One that isn't known (or isn't a tag) is "
                                             "ignored, not refused: the default locale, as when absent."},
            "invoice": {"type": "boolean", "default": False,
                        "description": "The client needs an invoice: Stripe's page asks for a business name "
                                       "and tax ID, and an invoice is made after payment."},
            "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$", "examples": ["eur"],
                         "description": "Pay in one of the session type's `prices`; its own currency when "
                                        "absent. Another gets 422 invalid_request naming `currency`."},
            "answers": {"type": "object", "maxProperties": 10,
                        "additionalProperties": {"type": ["string", "boolean"]},
                        "description": "The session type's booking questions answered: question id -> the "
                                       "answer (text, one of the choice's options, or true/false for a "
                                       "checkbox). Checked on the server; kept from Stripe."},
            "promotion_code": {"type": "string", "maxLength": 40, "examples": ["WELCOME10"],
                               "description": "A promotion code (case-insensitive): checked on the server, one use "
                                              "reserved with the hold, and Checkout charges the discounted price."},
        },
    },
    "CheckoutStarted": {
        "type": "object",
        "required": ["booking_id", "checkout_session_id", "checkout_url", "expires_at"],
        "properties": {
            "booking_id": {"type": "string", "format": "uuid"},
            "checkout_session_id": {"type": "string"},
            "checkout_url": {"type": "string", "format": "uri", "description": "Send the client here to pay."},
            "expires_at": {"type": "string", "format": "date-time", "description": "The slot is held until then."},
        },
    },
    "MembershipPlan": {
        "type": "object",
        "required": ["id", "name", "sessions_per_month", "price", "prices", "unused_credits", "session_types"],
        "properties": {
            "id": {"type": "string", "pattern": "^[0-9]+$", "description": "`plan_id` on create-checkout-session."},
            "name": {"type": "string"},
            "sessions_per_month": {"type": "integer", "minimum": 1,
                                   "description": "Credits granted each month, once the month's invoice is paid."},
            "price": _ref("Price"),
            "prices": {"type": "array", "items": _ref("Price"), "minItems": 1,
                       "description": "Every currency it is sold in (a plan has one: its `price`)."},
            "unused_credits": {"type": "string", "enum": ["lapse", "roll_over"],
                               "description": "At a month's end, unused credits lapse or stay usable for 90 days."},
            "session_types": {"type": "array", "description": "What the credits can be booked for: the "
                                                             "builder's active session types.",
                              "items": {"type": "object", "required": ["id", "name"],
                                        "properties": {"id": {"type": "string", "pattern": "^[0-9]+$"},
                                                       "name": {"type": "string"}}}},
        },
    },
    "MembershipPlanList": {"type": "array", "items": _ref("MembershipPlan")},
    "MembershipCheckoutRequest": {
        "type": "object",
        "required": ["plan_id", "client_name", "client_email"],
        "properties": {
            "plan_id": {"type": ["string", "integer"], "examples": ["1"]},
            "client_name": {"type": "string", "minLength": 1, "maxLength": 120},
            "client_email": {"type": "string", "format": "email"},
            "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$", "examples": ["gbp"],
                         "description": "The plan's own currency (the only one it is sold in); another gets 422 "
                                        "invalid_request naming `currency`."},
            "client_locale": {"type": "string", "examples": ["fr-FR"],
                              "description": "The member's language, a BCP 47 tag: their emails write dates and "
                                             "amounts its way. One that isn't known is ignored, not refused."},
            "client_time_zone": {"type": "string", "examples": ["America/New_York"],
                                 "description": "IANA name: the member's emails tell the renewal on its clock; "
                                                "UTC when absent. One that isn't known gets 422 invalid_request "
                                                "naming `client_time_zone`."},
        },
    },
    "MembershipCheckoutStarted": {
        "type": "object",
        "required": ["membership_id", "checkout_session_id", "checkout_url"],
        "properties": {
            "membership_id": {"type": "string", "pattern": "^[0-9]+$",
                              "description": "Pending until the first invoice is paid."},
            "checkout_session_id": {"type": "string"},
            "checkout_url": {"type": "string", "format": "uri",
                             "description": "Send the client here to subscribe (Stripe Checkout, subscription "
                                            "mode); the month's credits arrive once it is paid."},
        },
    },
    "StripeEvent": {
        "type": "object",
        "description": "A Stripe event, exactly as Stripe signed it.",
        "properties": {"id": {"type": "string"}, "type": {"type": "string"}, "data": {"type": "object"}},
    },
    "WebhookReceived": {
        "type": "object",
        "required": ["received"],
        "properties": {"received": {"type": "boolean", "const": True}, "duplicate": {"type": "boolean"},
                       "queued": {"type": "boolean"}, "outcome": {"type": "string"}},
    },
    "ManageForm": {
        "type": "object",
        "required": ["csrf_token"],
        "properties": {
            "csrf_token": {"type": "string", "maxLength": 100, "description": "From the manage page's form."},
            "expected_refund": {"type": "string", "pattern": "^[0-9]{1,12}$",
                                "description": "cancel: the refund shown, in minor units."},
            "start": {"type": "string", "format": "date-time", "description": "reschedule: the new start."},
        },
    },
    "SignInForm": {
        "type": "object",
        "required": ["email", "password"],
        "properties": {
            "email": {"type": "string", "maxLength": 254},
            "password": {"type": "string", "maxLength": 256},
            "next": {"type": "string", "maxLength": 2000,
                     "description": "A workspace path (/admin...) to return to; anything else means the dashboard."},
        },
    },
    "OpenApiDocument": {"type": "object", "required": ["openapi", "paths"]},
    # --- errors: all in the shape {"error": {"code", "message"}} ---
    "Error": _error_schema("Any error of this API."),
    "InvalidRequestError": _error_schema("A field is missing or malformed; `field` names it.", "invalid_request",
                                         required=("field",)),
    "InvalidAnswersError": _error_schema("An answer to a booking question is missing or not allowed; `fields` "
                                         "maps each question id at fault to its message.", "invalid_answers",
                                         required=("fields",)),
    "CheckoutRefusedError": {"anyOf": [_ref("CheckoutInvalidError"), _ref("InvalidAnswersError")]},
    "CheckoutInvalidError": _error_schema(
        "A field is missing or malformed (`invalid_request`), or the promotion code can't be used "
        "(`promotion_code_invalid`: the message says why: unknown, expired, used up, ...); `field` names it.",
        "invalid_request", "promotion_code_invalid", required=("field",)),
    "SessionTypeNotFoundError": _error_schema("No such (active) session type.", "session_type_not_found"),
    "SlotUnavailableError": _error_schema("The time is held or booked by someone else.", "slot_unavailable"),
    "RateLimitedError": _error_schema("An abuse limit: wait `retry_after` seconds.", required=("retry_after",)),
    "UnsupportedMediaTypeError": _error_schema("The body was not sent as application/json.",
                                               "unsupported_media_type"),
    "PayloadTooLargeError": _error_schema("The body is over the cap.", "payload_too_large"),
    "BadContentLengthError": _error_schema("Content-Length is not a number.", "invalid_request"),
    "PaymentProviderError": _error_schema("Stripe could not be reached; nothing was charged.",
                                          "payment_provider_error"),
    "InvalidSignatureError": _error_schema("The Stripe-Signature header is missing or wrong.", "invalid_signature",
                                           "invalid_request"),
    "HandlerFailedError": _error_schema("Stored, but applying it failed; Stripe retries.", "handler_failed"),
    "BookingNotFoundError": _error_schema("No confirmed booking there.", "booking_not_found"),
    "CalendarNotFoundError": _error_schema("No calendar at this address.", "calendar_not_found"),
    "PhotoNotFoundError": _error_schema("No builder there, or they have no photo.", "photo_not_found"),
    "BuilderNotFoundError": _error_schema("No builder at this slug.", "builder_not_found"),
    "PlanNotFoundError": _error_schema("No such membership plan, or it is no longer offered.", "plan_not_found"),
    "BuilderNotPayableError": _error_schema("The builder can't take payments yet (REQUIRE_PAYOUTS is on and their "
                                            "payouts are not set up).", "builder_not_payable"),
}

SESSION_TYPE_ID = {"name": "session_type_id", "in": "path", "required": True,
                   "schema": {"type": "string", "pattern": "^[0-9]{1,10}$"}, "examples": {"seeded": {"value": "1"}}}
MANAGE_TOKEN = {"name": "token", "in": "path", "required": True, "description": "From the client's emails.",
                "schema": {"type": "string", "pattern": TOKEN_PATTERN}}


def _paths() -> dict[str, Any]:
    not_found_page = _html("No such page, or the link doesn't match a booking.")
    return {
        routes.API_OPENAPI: {"get": {
            "operationId": "openapi", "summary": "This document.", "tags": ["meta"],
            "responses": {"200": _json("OpenApiDocument", "The OpenAPI 3.1 document.")},
        }},
        routes.API_HEALTH: {"get": {
            "operationId": "health", "summary": "Liveness, with the database.", "tags": ["meta"],
            "responses": {"200": _json("Health", "Up, and the database answers."),
                          "503": _json("Health", "The database does not answer.")},
        }},
        routes.API_SESSION_TYPES: {"get": {
            "operationId": "listSessionTypes", "summary": "Every active session type.", "tags": ["booking"],
            "responses": {"200": _json("SessionTypeList", "The session types, with price and builder.")},
        }},
        routes.API_SLOTS: {"get": {
            "operationId": "listSlots", "summary": "Open times of a session type.", "tags": ["booking"],
            "parameters": [
                SESSION_TYPE_ID,
                {"name": "tz", "in": "query", "description": "IANA zone for the times (default UTC).",
                 "schema": {"type": "string", "default": "UTC"}, "examples": {"london": {"value": "Europe/London"}}},
                {"name": "from", "in": "query", "description": "First day (empty or absent: today), within a year "
                 "before and ten after today.",
                 "schema": {"type": "string", "anyOf": [{"format": "date"}, {"maxLength": 0}]}},
                {"name": "days", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 62,
                                                           "default": 7}},
            ],
            "responses": {"200": _json("SlotList", "The open slots, in `tz` with its offset."),
                          "404": _json("SessionTypeNotFoundError", "No such session type."),
                          "422": _json("InvalidRequestError", "A query parameter is malformed.")},
        }},
        routes.API_CREATE_CHECKOUT: {"post": {
            "operationId": "createCheckoutSession", "summary": "Hold a slot and start a Stripe Checkout.",
            "tags": ["booking"],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("CheckoutRequest")}}},
            "responses": {
                "201": _json("CheckoutStarted", "Held; send the client to checkout_url."),
                "400": BAD_LENGTH,
                "404": _json("SessionTypeNotFoundError", "No such session type."),
                "409": _json("SlotUnavailableError", "The time is no longer available."),
                "413": TOO_LARGE,
                "415": _json("UnsupportedMediaTypeError", "Only application/json is accepted."),
                "422": _json("CheckoutRefusedError", "A field is missing or malformed (`invalid_request`), the "
                                                     "promotion code can't be used (`promotion_code_invalid`), "
                                                     "or an answer is (`invalid_answers`)."),
                "429": _json("RateLimitedError", "Too many holds or requests.", RETRY_AFTER),
                "502": _json("PaymentProviderError", "Stripe could not be reached; the slot was released."),
            },
        }},
        routes.API_BUILDER_PLANS: {"get": {
            "operationId": "listMembershipPlans", "summary": "A builder's active membership plans.",
            "tags": ["memberships"],
            "parameters": [{"name": "slug", "in": "path", "required": True, "description": "The builder's public slug.",
                            "schema": {"type": "string"}, "examples": {"seeded": {"value": "ada"}}}],
            "responses": {"200": _json("MembershipPlanList", "The plans, cheapest first (none: an empty list)."),
                          "404": _json("BuilderNotFoundError", "No builder at this slug.")},
        }},
        routes.API_CREATE_MEMBERSHIP_CHECKOUT: {"post": {
            "operationId": "createMembershipCheckoutSession", "tags": ["memberships"],
            "summary": "Subscribe a client to a plan: a Stripe Checkout in subscription mode (as the builder's page).",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("MembershipCheckoutRequest")}}},
            "responses": {
                "201": _json("MembershipCheckoutStarted", "Started; send the client to checkout_url."),
                "400": BAD_LENGTH,
                "404": _json("PlanNotFoundError", "No such plan, or it is no longer offered."),
                "409": _json("BuilderNotPayableError", "The builder can't take payments yet."),
                "413": TOO_LARGE,
                "415": _json("UnsupportedMediaTypeError", "Only application/json is accepted."),
                "422": _json("InvalidRequestError", "A field is missing or malformed; `field` names it."),
                "429": _json("RateLimitedError", "Too many checkout attempts from this address.", RETRY_AFTER),
                "502": _json("PaymentProviderError", "Stripe could not be reached; nothing was charged."),
            },
        }},
        routes.API_WEBHOOK: {"post": {
            "operationId": "stripeWebhook", "summary": "Stripe's events (signed).", "tags": ["stripe"],
            "parameters": [{"name": "Stripe-Signature", "in": "header", "required": False,
                            "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("StripeEvent")}}},
            "responses": {
                "200": _json("WebhookReceived", "Stored (and applied, unless WEBHOOK_PROCESSING=worker)."),
                "400": _json("InvalidSignatureError", "Unsigned, or signed with another secret."),
                "413": TOO_LARGE,
                "500": _json("HandlerFailedError", "Stored but not applied: Stripe retries it."),
            },
        }},
        routes.API_ICS: {"get": {
            "operationId": "bookingInvite", "tags": ["calendar"],
            "summary": "A confirmed booking's calendar invite, through the signed short-lived link the success "
                       "page gives the browser that paid.",
            "parameters": [{"name": "invite_uid", "in": "path", "required": True,
                            "description": "The invite's opaque UID (never the booking id).",
                            "schema": {"type": "string", "minLength": 1, "maxLength": 64}},
                           {"name": "token", "in": "path", "required": True,
                            "description": "`<expiry, unix seconds>.<signature>`.",
                            "schema": {"type": "string", "pattern": INVITE_TOKEN_PATTERN}}],
            "responses": {"200": _ics("The .ics file."),
                          "404": _json("BookingNotFoundError", "No such invite, or the link has expired.")},
        }},
        routes.API_BUILDER_PHOTO: {"get": {
            "operationId": "builderPhoto", "summary": "A builder's profile photo (square WebP, no metadata).",
            "tags": ["catalog"],
            "parameters": [
                {"name": "slug", "in": "path", "required": True, "description": "The builder's public slug "
                 "(an old one works too).", "schema": {"type": "string"}, "examples": {"seeded": {"value": "ada"}}},
                {"name": "v", "in": "query", "required": False, "description": "The photo's version (from the "
                 "builder's page): with it, the answer may be cached for a year.", "schema": {"type": "string"}},
                {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {"description": "The photo.", "content": {"image/webp": {"schema": {
                    "type": "string", "contentMediaType": "image/webp"}}},
                        "headers": {"ETag": {"required": True, "schema": {"type": "string"}},
                                    "Cache-Control": {"required": True, "schema": {"type": "string"}}}},
                "304": {"description": "The copy the browser has (If-None-Match) is current.",
                        "headers": {"ETag": {"required": True, "schema": {"type": "string"}}}},
                "404": _json("PhotoNotFoundError", "No builder there, or no photo."),
            },
        }},
        routes.API_MANAGE_ICS: {"get": {
            "operationId": "manageInvite", "summary": "The invite of the booking behind a manage link.",
            "tags": ["manage"], "parameters": [MANAGE_TOKEN],
            "responses": {"200": _ics("The .ics file."),
                          "404": _json("BookingNotFoundError", "No confirmed booking at this address.")},
        }},
        routes.API_MANAGE_ACTION: {
            "parameters": [MANAGE_TOKEN, {"name": "action", "in": "path", "required": True,
                                          "schema": {"type": "string", "enum": ["cancel", "reschedule"]}}],
            "post": {
                "operationId": "manageAction", "tags": ["manage"],
                "summary": "Cancel or reschedule from the manage page: a same-site form POST (Origin or Referer "
                           "must be PUBLIC_URL's), answered with HTML.",
                "requestBody": {"required": True, "content": {
                    "application/x-www-form-urlencoded": {"schema": _ref("ManageForm")}}},
                "responses": {
                    "303": {"description": "Done or refused by the rules: back to the manage page, `?done=<outcome>`.",
                            "headers": {"Location": {"required": True, "schema": {"type": "string"}}}},
                    "403": _html("Not from our own page, or the form's CSRF token has expired."),
                    "404": not_found_page,
                    "413": _form_too_large("4 KiB"),
                    "422": _html("A reschedule to a date outside the bookable years (such as year 1 or 9999)."),
                    "429": _html("Too many changes from this address.", RETRY_AFTER),
                },
            },
            "get": {
                "operationId": "manageActionByGet", "tags": ["manage"],
                "summary": "Refused: a link, a prefetch or a crawler changes nothing.",
                "responses": {"404": not_found_page,
                              "405": {"description": "Use POST.", "content": {"text/plain": {"schema": {
                                  "type": "string"}}}}},
            },
        },
        routes.MEMBERSHIP_PORTAL: {"get": {
            "operationId": "membershipPortal", "tags": ["memberships"],
            "summary": "The \"update your card\" email's link: opens Stripe's customer portal for that membership "
                       "(a fresh portal session each time).",
            "parameters": [{"name": "token", "in": "path", "required": True, "description": "From the email.",
                            "schema": {"type": "string", "pattern": "^[0-9]{1,12}\\.[0-9a-f]{40}$"}}],
            "responses": {
                "303": {"description": "To Stripe's customer portal.",
                        "headers": {"Location": {"required": True, "schema": {"type": "string"}}}},
                "404": {"description": "Not one of our links.", "content": {"text/plain": {"schema": {
                    "type": "string"}}}},
                "502": {"description": "Stripe could not be reached.", "content": {"text/plain": {"schema": {
                    "type": "string"}}}},
            },
        }},
        routes.API_AUTH_SIGN_IN: {"post": {
            "operationId": "signIn", "tags": ["workspace"],
            "summary": "The workspace's sign-in form: a same-site form POST (Origin or Referer must be PUBLIC_URL's). "
                       "Throttled per account and address, per address, and per account.",
            "requestBody": {"required": True, "content": {
                "application/x-www-form-urlencoded": {"schema": _ref("SignInForm")}}},
            "responses": {
                "303": {"description": "Signed in: to `next` (else the dashboard), with `Set-Cookie: admin_session=...; "
                                       "HttpOnly; SameSite=Strict; Path=/` (and `Secure` under https). Not signed in: "
                                       "back to the sign-in page with `?error=failed` (the same for an unknown email "
                                       "and a wrong password) or `?error=throttled`.",
                        "headers": {"Location": {"required": True, "schema": {"type": "string"}}}},
                "403": _html("Not from our own sign-in page."),
                "413": _form_too_large("4 KiB"),
            },
        }},
        routes.API_AUTH_SIGN_OUT: {"post": {
            "operationId": "signOut", "tags": ["workspace"],
            "summary": "Ends this browser's workspace session on the server and clears its cookie (a same-site POST).",
            "responses": {
                "303": {"description": "Signed out: to the sign-in page.",
                        "headers": {"Location": {"required": True, "schema": {"type": "string"}}}},
                "403": _html("Not from one of our own pages."),
                "413": _form_too_large("4 KiB"),
            },
        }},
        routes.CALENDAR_FEED: {"get": {
            "operationId": "calendarFeed", "summary": "A builder's private calendar subscription.",
            "tags": ["calendar"],
            "parameters": [{"name": "token", "in": "path", "required": True, "description": "The secret feed token.",
                            "schema": {"type": "string", "pattern": TOKEN_PATTERN}}],
            "responses": {"200": _ics("The builder's bookings."),
                          "404": _json("CalendarNotFoundError", "No calendar here (the link may have been replaced).")},
        }},
    }


def document() -> dict[str, Any]:
    """A fresh copy of the document (callers may change theirs)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Booking API",
            "version": "1",
            "description": "The public HTTP API: session types, open slots, checkout, membership plans and "
                           "subscribing, Stripe's webhook, calendar invites and the manage links. "
                           'Every error is `{"error": {"code", "message"}}`, '
                           "sometimes with `field` or `retry_after`. Bodies under /api are capped at 16 KiB "
                           "(the webhook: 1 MiB).",
        },
        "paths": _paths(),
        "components": {"schemas": copy.deepcopy(SCHEMAS)},
    }
