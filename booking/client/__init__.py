"""What the client sees and does without an account: the public catalog, the booking page, their hold,
the success and cancel pages, and managing a booking through its link.

- `catalog`       builders and their active session types
- `booking_page`  the month calendar and each day's times
- `holds`         the client's own hold, recognised by the browser that made it
- `receipts`      what the success and cancel pages show
- `summaries`     one booking as the client reads it
- `manage`        see, cancel or reschedule a booking from the manage link
- `memberships`   a builder's membership plans, subscribing, and Stripe's customer portal
- `packages`      the builder's packages on sale, buying one (Checkout), the page after paying
- `wallet`        the client's credits (from the wallet link) and booking with one
- `discounts`     a promotion code's price on the booking page, before Checkout
"""

from booking.client.booking_page import (
    CalendarDay,
    DaySlots,
    MonthView,
    PageSummary,
    QuestionField,
    SlotOption,
    answers_from_form,
    day_times,
    month_view,
    page_policy,
    page_questions,
    page_summary,
    refund_tier,
    slots_by_day,
)
from booking.client.catalog import (
    BuilderView,
    TypeAddress,
    get_builder,
    get_session_type,
    list_active_session_types,
    list_builders,
    resolve_type_address,
    type_address_by_id,
)
from booking.client.discounts import CodePreview, preview_code
from booking.client.holds import (
    HeldSlot,
    continue_browser_hold,
    continue_checkout,
    current_hold,
    held_slot,
    release_browser_hold,
)
from booking.client.manage import (
    OUT_OF_RANGE,
    DayChoice,
    LinkNotFound,
    ManageError,
    ManageView,
    NotAllowed,
    Outcome,
    cancel_by_client,
    invite_for_token,
    load_view,
    reschedule,
    reschedule_month,
    reschedule_options,
    reschedule_year_ok,
)
from booking.client.memberships import (
    SUBSCRIBED_QUERY,
    MembershipUnavailable,
    NoMembership,
    PlanView,
    membership_offers,
    portal_for_client,
    portal_for_token,
    portal_for_wallet,
    subscribe,
    wallet_has_membership,
)
from booking.client.packages import (
    PackageOffer,
    PurchaseReceipt,
    PurchaseStarted,
    begin_package_purchase,
    finish_package_purchase,
    package_offers,
    package_price_with_code,
)
from booking.client.receipts import ReceiptState, booking_receipt, browser_receipt, confirm_from_success_page
from booking.client.summaries import BookingSummary, manage_path_of, without_manage_path
from booking.client.wallet import (
    CreditBooked,
    WalletNotFound,
    WalletView,
    book_with_credit,
    load_wallet,
    wallet_month,
)

__all__ = [
    "QuestionField",
    "answers_from_form",
    "page_questions",
    "TypeAddress",
    "resolve_type_address",
    "type_address_by_id",
    "SUBSCRIBED_QUERY",
    "MembershipUnavailable",
    "NoMembership",
    "PlanView",
    "membership_offers",
    "portal_for_client",
    "portal_for_token",
    "portal_for_wallet",
    "subscribe",
    "wallet_has_membership",
    "CreditBooked",
    "PackageOffer",
    "PurchaseReceipt",
    "PurchaseStarted",
    "WalletNotFound",
    "WalletView",
    "begin_package_purchase",
    "book_with_credit",
    "finish_package_purchase",
    "load_wallet",
    "package_offers",
    "package_price_with_code",
    "wallet_month",
    "CodePreview",
    "preview_code",
    "manage_path_of",
    "without_manage_path",
    "ReceiptState",
    "OUT_OF_RANGE",
    "reschedule_year_ok",
    "BookingSummary",
    "BuilderView",
    "CalendarDay",
    "DayChoice",
    "DaySlots",
    "HeldSlot",
    "LinkNotFound",
    "ManageError",
    "ManageView",
    "MonthView",
    "NotAllowed",
    "Outcome",
    "PageSummary",
    "SlotOption",
    "booking_receipt",
    "browser_receipt",
    "cancel_by_client",
    "confirm_from_success_page",
    "continue_browser_hold",
    "continue_checkout",
    "current_hold",
    "day_times",
    "get_builder",
    "get_session_type",
    "held_slot",
    "invite_for_token",
    "list_active_session_types",
    "list_builders",
    "load_view",
    "month_view",
    "page_policy",
    "page_summary",
    "refund_tier",
    "release_browser_hold",
    "reschedule",
    "reschedule_month",
    "reschedule_options",
    "slots_by_day",
]
