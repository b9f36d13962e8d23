"""Every route pattern in one place, with small URL builders."""

HOME = "/"
BUILDER = "/b/[builder_slug]"
BOOK = "/book/[session_type_id]"
PAYMENT_SUCCESS = "/payment/success"
PAYMENT_CANCEL = "/payment/cancel"

API_HEALTH = "/api/health"
API_OPENAPI = "/api/openapi.json"  # the OpenAPI 3.1 document of every public route (booking_ui/openapi.py)
API_SESSION_TYPES = "/api/session-types"
API_SLOTS = "/api/session-types/{session_type_id}/slots"
API_CREATE_CHECKOUT = "/api/payments/create-checkout-session"
API_WEBHOOK = "/api/payments/webhook"
API_ICS = "/api/bookings/{booking_id}/invite.ics"

# The client's own booking, through the token in their emails (booking.notifications.manage_links.MANAGE_PATH).
MANAGE = "/manage/[manage_token]"
API_MANAGE_ACTION = "/api/manage/{token}/{action}"  # POST only: cancel | reschedule
API_MANAGE_ICS = "/api/manage/{token}/invite.ics"


def builder_page(slug: str) -> str:
    return f"/b/{slug}"


def book_page(session_type_id: str) -> str:
    return f"/book/{session_type_id}"


def booking_invite(booking_id: str) -> str:
    return API_ICS.format(booking_id=booking_id)


def manage_page(token: str) -> str:
    return f"/manage/{token}"


def manage_action(token: str, action: str) -> str:
    return API_MANAGE_ACTION.format(token=token, action=action)


def manage_invite(token: str) -> str:
    return API_MANAGE_ICS.format(token=token)


# --- the builder workspace ------------------------------------------------------------------------
ADMIN = "/admin"
ADMIN_LOGIN = "/admin/login"
ADMIN_SESSION_TYPES = "/admin/session-types"
ADMIN_AVAILABILITY = "/admin/availability"
ADMIN_BOOKINGS = "/admin/bookings"
ADMIN_PAYMENTS = "/admin/payments"
ADMIN_WEBHOOKS = "/admin/webhooks"
ADMIN_OUTBOX = "/admin/outbox"
ADMIN_AUDIT = "/admin/audit"
ADMIN_ACCOUNT = "/admin/account"
# Payouts (Stripe Connect): Stripe's hosted onboarding sends the builder back to one of these two.
ADMIN_PAYOUTS = "/admin/payouts"
ADMIN_PAYOUTS_RETURN = "/admin/payouts/return"  # onboarding left: re-read the account
ADMIN_PAYOUTS_REFRESH = "/admin/payouts/refresh"  # the link expired or was used: make a new one
ADMIN_POLICY = "/admin/policy"

# Admin HTTP routes (each re-checks the signed-in user from the session cookie).
API_ADMIN_EVENT_PAYLOAD = "/api/admin/events/{event_id}/payload"
# Exports: bookings | payments | payouts as CSV (?from=YYYY-MM-DD&to=YYYY-MM-DD&tz=Zone&builder=id|all).
API_ADMIN_EXPORT = "/api/admin/exports/{kind}.csv"

# A builder's private calendar subscription (the token is the secret; only its hash is stored).
CALENDAR_FEED = "/calendar/{token}.ics"


def admin_event_payload(event_id: str) -> str:
    return API_ADMIN_EVENT_PAYLOAD.format(event_id=event_id)


def admin_export(kind: str) -> str:
    return API_ADMIN_EXPORT.format(kind=kind)


def calendar_feed(token: str) -> str:
    return CALENDAR_FEED.format(token=token)
