"""Every route pattern in one place, with small URL builders."""

HOME = "/"
BUILDER = "/b/[builder_slug]"
BOOK = "/book/[session_type_id]"
PAYMENT_SUCCESS = "/payment/success"
PAYMENT_CANCEL = "/payment/cancel"

API_HEALTH = "/api/health"
API_SESSION_TYPES = "/api/session-types"
API_SLOTS = "/api/session-types/{session_type_id}/slots"
API_CREATE_CHECKOUT = "/api/payments/create-checkout-session"
API_WEBHOOK = "/api/payments/webhook"
API_ICS = "/api/bookings/{booking_id}/invite.ics"


def builder_page(slug: str) -> str:
    return f"/b/{slug}"


def book_page(session_type_id: str) -> str:
    return f"/book/{session_type_id}"


def booking_invite(booking_id: str) -> str:
    return API_ICS.format(booking_id=booking_id)
