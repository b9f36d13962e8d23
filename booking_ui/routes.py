"""Every route pattern in one place, with small URL builders."""

HOME = "/"
BUILDER = "/b/[builder_slug]"
BOOK = "/book/[session_type_id]"  # the old address: a permanent redirect to BOOK_ADDRESS (booking_ui/addresses.py)
# The booking page's readable address: /<builder slug>/<session type slug>, e.g. /ada/pairing.
BOOK_ADDRESS = "/[builder_slug]/[type_slug]"
PAYMENT_SUCCESS = "/payment/success"
PAYMENT_CANCEL = "/payment/cancel"

API_HEALTH = "/api/health"
API_OPENAPI = "/api/openapi.json"  # the OpenAPI 3.1 document of every public route (booking_ui/openapi.py)
API_SESSION_TYPES = "/api/session-types"
API_SLOTS = "/api/session-types/{session_type_id}/slots"
API_CREATE_CHECKOUT = "/api/payments/create-checkout-session"
API_WEBHOOK = "/api/payments/webhook"
# The success page's download: the invite's opaque UID and a signed, short-lived token (never the booking id).
API_ICS = "/api/invites/{invite_uid}/{token}/invite.ics"
API_BUILDER_PHOTO = "/api/builders/{slug}/photo"  # the profile photo (?v=<version> for caching)
API_BUILDER_PLANS = "/api/builders/{slug}/plans"  # the builder's active membership plans
API_CREATE_MEMBERSHIP_CHECKOUT = "/api/memberships/create-checkout-session"

# The client's own booking, through the token in their emails (booking.notifications.manage_links.MANAGE_PATH).
MANAGE = "/manage/[manage_token]"
# The client's package credits, through the token in their package email (booking.notifications.wallet_links).
WALLET = "/wallet/[wallet_token]"
PACKAGE_THANKS = "/packages/thanks"
API_MANAGE_ACTION = "/api/manage/{token}/{action}"  # POST only: cancel | reschedule
API_MANAGE_ICS = "/api/manage/{token}/invite.ics"


def builder_page(slug: str) -> str:
    return f"/b/{slug}"


def builder_photo(slug: str, version: str) -> str:
    """The photo's address; the version changes with the photo, so browsers may keep each one a long time."""
    return API_BUILDER_PHOTO.format(slug=slug) + f"?v={version}"


def book_page(session_type_id: str) -> str:
    """The old address (it redirects); prefer the catalogue's `url` (/<builder>/<type>) where it is known."""
    return f"/book/{session_type_id}"


def booking_invite(invite_uid: str, token: str) -> str:
    return API_ICS.format(invite_uid=invite_uid, token=token)


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
ADMIN_PACKAGES = "/admin/packages"
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
ADMIN_CALENDARS = "/admin/calendars"
ADMIN_PROFILE = "/admin/profile"

# Signed out: "Forgot password?", the emailed reset link, and a builder's invite link (booking.accounts.tokens.PATHS).
ADMIN_FORGOT = "/admin/forgot"
ADMIN_RESET = "/admin/reset"
ADMIN_INVITE = "/admin/invite"
# A platform admin invites a builder by email.
ADMIN_INVITE_BUILDER = "/admin/invite-builder"

# Signing in and out of the workspace: form POSTs whose answers set / clear the HttpOnly session cookie.
API_AUTH_SIGN_IN = "/api/auth/sign-in"
API_AUTH_SIGN_OUT = "/api/auth/sign-out"
ADMIN_DISPUTES = "/admin/disputes"
ADMIN_PROMOTIONS = "/admin/promotion-codes"
ADMIN_MEMBERSHIPS = "/admin/memberships"
# The "update your card" email's link: opens Stripe's customer portal (booking.client.memberships).
MEMBERSHIP_PORTAL = "/membership/portal/{token}"

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
