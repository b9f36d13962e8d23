"""The schema: plain SQLModel tables. Money is integer minor units + ISO currency; times are UTC."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timezone
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_booking_id() -> str:
    return str(uuid.uuid4())


class BookingStatus(StrEnum):
    PENDING = "pending"  # slot held while the client pays
    CONFIRMED = "confirmed"  # paid
    CANCELLED = "cancelled"  # ended for another cause (`Booking.end_cause` says which)
    EXPIRED = "expired"  # the hold ran out unpaid


ACTIVE_BOOKING_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)


class EndCause(StrEnum):
    """Why a booking ended (`Booking.end_cause`; None while it is active). The lifecycle's table
    (`booking.lifecycle.transitions`) says which status each cause leads to."""

    REPLACED = "replaced"  # the same browser took a new hold
    EXPIRED = "expired"  # the hold ran out unpaid
    RELEASED_BY_CLIENT = "released_by_client"  # "Pick another time"
    PAYMENT_FAILED = "payment_failed"  # a delayed payment method failed
    PROVIDER_UNREACHABLE = "provider_unreachable"  # Stripe could not open (or replace) the Checkout Session
    REPAIRED_BY_RECONCILE = "repaired_by_reconcile"  # a checkout a crash interrupted
    CANCELLED_BY_BUILDER = "cancelled_by_builder"
    CANCELLED_BY_CLIENT = "cancelled_by_client"
    REFUNDED = "refunded"  # a full refund landed


# What people are shown as the reason (emails, the admin's booking page). Only text: nothing branches on it.
END_CAUSE_TEXT: dict[EndCause, str] = {
    EndCause.REPLACED: "replaced by a new hold from the same browser",
    EndCause.EXPIRED: "hold expired",
    EndCause.RELEASED_BY_CLIENT: "released by client",
    EndCause.PAYMENT_FAILED: "payment failed",
    EndCause.PROVIDER_UNREACHABLE: "the payment provider could not be reached",
    EndCause.REPAIRED_BY_RECONCILE: "checkout interrupted; repaired by reconcile",
    EndCause.CANCELLED_BY_BUILDER: "Cancelled by the builder",
    EndCause.CANCELLED_BY_CLIENT: "Cancelled by the client",
    EndCause.REFUNDED: "refunded",
}


def end_reason_text(cause: EndCause | str | None, note: str | None = None) -> str:
    """The reason shown for an ending: the builder's own words when they gave some, else the cause's text."""
    if note:
        return note
    return END_CAUSE_TEXT[EndCause(cause)] if cause else ""
_ACTIVE_SQL = "status IN ('pending', 'confirmed')"
# PostgreSQL's no-overlap exclusion constraints (name, the column that must differ for a conflict).
_SEAT_EXCLUSIONS = (("ex_booking_no_overlap", "session_type_id"), ("ex_booking_no_overlap_start", "start_time"),
                    ("ex_booking_no_overlap_end", "end_time"))


class Attendance(StrEnum):
    """What the builder marked after a confirmed session started (`Booking.attendance`)."""

    ATTENDED = "attended"
    NO_SHOW = "no_show"


class PaymentKind(StrEnum):
    """What a Payment row pays for: the booking (its Checkout attempts), or a no-show fee charged later."""

    BOOKING = "booking"
    NO_SHOW_FEE = "no_show_fee"
    MEMBERSHIP = "membership"  # a membership's paid invoice (booking_id None; MembershipInvoice.payment_id)


class ReminderRecipient(StrEnum):
    CLIENT = "client"
    BUILDER = "builder"


class ReminderStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"  # its email is in the outbox
    SKIPPED = "skipped"  # its moment passed unsent (the app was down) or came before the booking was made
    CANCELLED = "cancelled"  # the booking ended


class EventStatus(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    IGNORED = "ignored"  # a type we do not handle
    FAILED = "failed"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry


class UserRole(StrEnum):
    BUILDER = "builder"  # manages one Builder's session types, hours and bookings
    ADMIN = "admin"  # the platform's operator: sees everything


class PaymentStatus(StrEnum):
    """The money state of one Checkout attempt (a `Payment` row): the only payment status there is. A
    booking's own "paid / processing / refunded" is asked of its Payment rows (booking.payments.ledger)."""

    CREATING = "creating"  # row written, Stripe not answered yet (reconcile repairs a crash here)
    OPEN = "open"  # the client can pay on Stripe's page
    PROCESSING = "processing"  # a delayed payment method: paid or failed later
    FAILED = "failed"  # the last try was declined; the session may still be paid
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    EXPIRED = "expired"  # the session ended unpaid (expired, replaced or abandoned)


class PaymentMethodKind(StrEnum):
    """How the client paid, as Stripe's charge says (`payment_method_details.type`, a card's wallet)."""

    CARD = "card"
    APPLE_PAY = "apple_pay"
    GOOGLE_PAY = "google_pay"
    PAYPAL = "paypal"
    SEPA_DEBIT = "sepa_debit"
    BACS_DEBIT = "bacs_debit"
    OTHER = "other"


PAYMENT_METHOD_LABELS = {
    PaymentMethodKind.CARD: "Card",
    PaymentMethodKind.APPLE_PAY: "Apple Pay",
    PaymentMethodKind.GOOGLE_PAY: "Google Pay",
    PaymentMethodKind.PAYPAL: "PayPal",
    PaymentMethodKind.SEPA_DEBIT: "SEPA Direct Debit",
    PaymentMethodKind.BACS_DEBIT: "Bacs Direct Debit",
    PaymentMethodKind.OTHER: "Other",
}


class RefundStatus(StrEnum):
    REQUESTED = "requested"  # row written, Stripe not answered yet
    PENDING = "pending"  # Stripe accepted it; the money is on its way
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


REFUND_REASONS = ("requested_by_customer", "duplicate", "fraudulent")  # Stripe's list


def _enum_column(enum: type[StrEnum], name: str, length: int = 20, checked: bool = True) -> sa.Enum:
    # Stored as VARCHAR with a CHECK: readable in SQL, no PostgreSQL ENUM type to migrate. `checked=False`
    # drops the CHECK for enums that grow often (a new member then needs no migration).
    return sa.Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=checked,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


DEFAULT_REMINDER_OFFSETS = "1440,60"


class Builder(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    slug: str = Field(max_length=80, unique=True)
    email: str = Field(max_length=254)
    time_zone: str = Field(max_length=64)  # IANA name, e.g. Europe/London
    bio: str = Field(default="", max_length=2000)
    buffer_minutes: int = Field(default=0)
    min_notice_minutes: int = Field(default=120)
    horizon_days: int = Field(default=60)
    slot_step_minutes: int = Field(default=30)
    # A fresh random number, set by triggers (migration 0027), whenever the builder's weekly hours, date
    # overrides or a session type's own hours change: slot search keeps the schedule until it changes.
    schedule_version: int = Field(default=0, sa_type=sa.BigInteger, sa_column_kwargs={"server_default": "0"})
    # The private calendar feed (/calendar/<token>.ics): only the token's SHA-256 is kept.
    calendar_token_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    # Stripe Connect (Express): where the builder's share of each payment goes.
    stripe_account_id: str | None = Field(default=None, max_length=255, unique=True, index=True)
    charges_enabled: bool = Field(default=False)
    payouts_enabled: bool = Field(default=False)
    details_submitted: bool = Field(default=False)
    requirements_due: str = Field(default="[]")  # JSON list of Stripe's currently_due requirements
    account_updated_at: datetime | None = None
    # Cancellation policy (a session type may override each): a full refund until
    # `policy_full_refund_hours` before the start, then `policy_partial_refund_percent` % until
    # `policy_partial_refund_hours` before, then nothing. Rescheduling: until `policy_reschedule_hours`
    # before, at most `policy_max_reschedules` times.
    policy_full_refund_hours: int = Field(default=24)
    policy_partial_refund_percent: int = Field(default=50)
    policy_partial_refund_hours: int = Field(default=2)
    policy_reschedule_hours: int = Field(default=24)
    policy_max_reschedules: int = Field(default=2)
    created_at: datetime = Field(default_factory=utcnow)
    # Booking limits (host tools, migration 0021): at most this many active bookings per day / per week
    # (Monday to Sunday) in the builder's zone, over all their session types. None: no limit.
    daily_limit: int | None = None
    weekly_limit: int | None = None
    # Reminders (booking/notifications/reminders.py): minutes before each session, comma-separated, largest
    # first ("1440,60": a day and an hour before); "" sends none.
    reminder_offsets: str = Field(default=DEFAULT_REMINDER_OFFSETS, max_length=100,
                                  sa_column_kwargs={"server_default": DEFAULT_REMINDER_OFFSETS})


class Client(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    email: str = Field(max_length=254, unique=True)  # stored lower-cased: one client per address
    created_at: datetime = Field(default_factory=utcnow)
    # The platform's Stripe Customer of this address (a card kept for a no-show fee is saved to it).
    stripe_customer_id: str | None = Field(default=None, max_length=255, unique=True, index=True)


class SessionType(SQLModel, table=True):
    __tablename__ = "session_type"
    # The public address /<builder slug>/<session type slug>: one slug per builder.
    __table_args__ = (sa.Index("uq_session_type_builder_slug", "builder_id", "slug", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    builder_id: int = Field(foreign_key="builder.id", index=True)
    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=2000)
    duration_minutes: int
    price_amount: int  # minor units (pence, cents; yen are already minor)
    currency: str = Field(max_length=3)  # ISO 4217, lower case as Stripe uses
    active: bool = Field(default=True)
    # A video link or an address: shown to the client once paid (success page, emails, .ics LOCATION).
    location: str = Field(default="", max_length=500)
    stripe_product_id: str | None = Field(default=None, max_length=255, unique=True)
    stripe_price_id: str | None = Field(default=None, max_length=255, unique=True)
    # Raised by every admin save: part of the Stripe idempotency keys of that save.
    revision: int = Field(default=0)
    # Cancellation policy overrides (None: the builder's own policy applies).
    policy_full_refund_hours: int | None = None
    policy_partial_refund_percent: int | None = None
    policy_partial_refund_hours: int | None = None
    policy_reschedule_hours: int | None = None
    policy_max_reschedules: int | None = None
    # A workshop: how many clients can book the same start (1: a one-to-one session). Each seat is its
    # own booking (`Booking.seat_no`), paid by its own client.
    seats: int = Field(default=1)
    # A no-show fee instead of payment up front: set, the client pays nothing when booking and Checkout (setup
    # mode) keeps their card; the builder may charge this amount (minor units, the session type's currency)
    # when they mark a no-show, up to `no_show_window_hours` after the start.
    no_show_fee_amount: int | None = None
    no_show_window_hours: int = Field(default=24, sa_column_kwargs={"server_default": "24"})
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # Host tools (migration 0021). The slug of /<builder>/<slug> (None: rows made before it, addressed by id).
    slug: str | None = Field(default=None, max_length=80)
    # Bookable only by its link: left out of the builder page, the home page and the catalogue API.
    secret: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # Limits of this type alone (the builder's own limits apply as well). None: no limit.
    daily_limit: int | None = None
    weekly_limit: int | None = None
    # True: this type's own weekly hours (SessionTypeAvailabilityRule) replace the builder's.
    own_availability: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class SessionTypeAvailabilityRule(SQLModel, table=True):
    """A session type's own weekly open hours (when `SessionType.own_availability`), in the builder's zone.
    The builder's date overrides still apply on top."""

    __tablename__ = "session_type_availability_rule"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_session_type_availability_rule_weekday"),
        sa.CheckConstraint("start_time < end_time", name="ck_session_type_availability_rule_order"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_type_id: int = Field(foreign_key="session_type.id", index=True)
    weekday: int  # 0 = Monday
    start_time: time
    end_time: time


class SessionTypeSlugHistory(SQLModel, table=True):
    """A slug a session type had before: /<builder>/<old slug> redirects to its page, and no other type of
    the same builder can take it."""

    __tablename__ = "session_type_slug_history"
    __table_args__ = (sa.Index("uq_session_type_slug_history", "builder_id", "old_slug", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    builder_id: int = Field(foreign_key="builder.id", index=True)
    session_type_id: int = Field(foreign_key="session_type.id", index=True)
    old_slug: str = Field(max_length=80)
    changed_at: datetime = Field(default_factory=utcnow)


class PriceOption(SQLModel, table=True):
    """A price in another currency than the offer's own (the Stripe Price's `currency_options`).

    The offer is a session type or a package (exactly one of the two references), so one table and one
    helper serve every kind of offer.
    """

    __tablename__ = "price_option"
    __table_args__ = (
        sa.UniqueConstraint("session_type_id", "currency", name="uq_price_option_offer_currency"),
        sa.CheckConstraint("unit_amount > 0", name="ck_price_option_amount"),
        sa.UniqueConstraint("package_id", "currency", name="uq_price_option_package_currency"),
        sa.CheckConstraint("(session_type_id IS NOT NULL AND package_id IS NULL) OR "
                           "(session_type_id IS NULL AND package_id IS NOT NULL)", name="ck_price_option_offer"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_type_id: int | None = Field(default=None, sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("session_type.id", ondelete="CASCADE"), nullable=True, index=True))
    package_id: int | None = Field(default=None, sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("credit_package.id", ondelete="CASCADE", name="fk_price_option_package_id"),
        nullable=True, index=True))
    currency: str = Field(max_length=3)  # ISO 4217, lower case; never the offer's own currency
    unit_amount: int  # minor units of `currency`
    created_at: datetime = Field(default_factory=utcnow)


class AvailabilityRule(SQLModel, table=True):
    """Weekly open hours in the builder's own zone."""

    __tablename__ = "availability_rule"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_availability_rule_weekday"),
        sa.CheckConstraint("start_time < end_time", name="ck_availability_rule_order"),
    )

    id: int | None = Field(default=None, primary_key=True)
    builder_id: int = Field(foreign_key="builder.id", index=True)
    weekday: int  # 0 = Monday
    start_time: time
    end_time: time


class AvailabilityOverride(SQLModel, table=True):
    """One builder-local date: closed (no hours) or other hours (one row per window)."""

    __tablename__ = "availability_override"
    __table_args__ = (
        sa.CheckConstraint(
            "(closed AND start_time IS NULL AND end_time IS NULL)"
            " OR (NOT closed AND start_time < end_time)",
            name="ck_availability_override_shape",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    builder_id: int = Field(foreign_key="builder.id", index=True)
    day: date = Field(index=True)
    closed: bool = Field(default=False)
    start_time: time | None = None
    end_time: time | None = None


class Booking(SQLModel, table=True):
    """The appointment. Its money (price, Checkout attempts, payment, refunds) lives only in its Payment and
    Refund rows, written by booking.payments.ledger."""

    __table_args__ = (
        sa.CheckConstraint("start_time < end_time", name="ck_booking_order"),
        # The admin's booking list: one builder's bookings by time, thousands of them.
        sa.Index("ix_booking_builder_start", "builder_id", "start_time"),
        sa.Index("ix_booking_start", "start_time"),  # the platform admin's list over every builder
        # Slot search's cache key (count and sum of `busy_tag` over a window), read from the index alone.
        sa.Index("ix_booking_busy_key", "builder_id", "start_time", "end_time", "status", "busy_tag"),
        # Seats (migration 0020): one seat of one start is held once; a seat number is below the capacity
        # the booking was taken with (1 for a one-to-one session: seat 0 only, so one booking per start).
        sa.CheckConstraint("seat_no >= 0 AND seat_no < seat_capacity", name="ck_booking_seat"),
        sa.Index(
            "uq_booking_active_seat",
            "builder_id",
            "start_time",
            "seat_no",
            unique=True,
            sqlite_where=sa.text(_ACTIVE_SQL),
            postgresql_where=sa.text(_ACTIVE_SQL),
        ),
        # PostgreSQL: no two active bookings of a builder overlap, unless they are seats of the very same
        # session (same type, same start, same end). Three constraints make the "unless" an OR: two
        # overlapping bookings conflict when their types differ, or their starts, or their ends.
        # (SQLite: the triggers of 0020 say the same.)
        *(postgresql.ExcludeConstraint(
            ("builder_id", "="),
            (sa.text("tstzrange(start_time, end_time)"), "&&"),
            (column, "<>"),
            name=name,
            using="gist",
            where=sa.text(_ACTIVE_SQL),
        ).ddl_if(dialect="postgresql") for name, column in _SEAT_EXCLUSIONS),
    )

    id: str = Field(default_factory=new_booking_id, primary_key=True, max_length=36)
    client_id: int = Field(foreign_key="client.id", index=True)
    builder_id: int = Field(foreign_key="builder.id", index=True)
    session_type_id: int = Field(foreign_key="session_type.id", index=True)
    start_time: datetime
    end_time: datetime
    status: BookingStatus = Field(
        default=BookingStatus.PENDING, sa_type=_enum_column(BookingStatus, "booking_status")
    )
    client_time_zone: str = Field(default="UTC", max_length=64)  # for emails and the success page
    # The clock the client chose on the booking page (True: 12-hour, False: 24-hour; None: before it was
    # kept): the success page, the manage page and the client's emails write times on it.
    client_hour12: bool | None = Field(default=None)
    # The browser's language when the hold was made ("fr-FR", checked by `known_locale_tag`; None: not known,
    # the default locale): the client's emails and pages write dates, times and amounts its way.
    client_locale: str | None = Field(default=None, max_length=35)
    hold_expires_at: datetime | None = None
    # Set by the lifecycle (`booking.lifecycle.transitions`) when the booking ends; None while it is active.
    end_cause: EndCause | None = Field(default=None, sa_type=_enum_column(EndCause, "end_cause", length=30))
    # The builder's message to the client with a cancellation: shown, never branched on.
    end_note: str | None = Field(default=None, max_length=500)
    # The name given with this booking (Client.name is whoever booked with the address first).
    client_name: str | None = Field(default=None, max_length=120)
    # The client's "Manage booking" link: only the SHA-256 of its token is kept.
    manage_token_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    reschedule_count: int = Field(default=0)
    # A seat of a workshop (SessionType.seats > 1): which seat, of how many the type had when it was held.
    seat_no: int = Field(default=0)
    seat_capacity: int = Field(default=1)
    # A fresh number on every insert and update, set by a trigger (migration 0027; never by the app):
    # slot search knows from the tags of a window's bookings whether any of them changed.
    busy_tag: int = Field(default=0, sa_type=sa.BigInteger, sa_column_kwargs={"server_default": "0"})
    invite_sequence: int = Field(default=0)  # the .ics SEQUENCE: raised by every reschedule
    # One browser holds one slot at a time: the SHA-256 of the browser's hold key.
    browser_hold_key: str | None = Field(default=None, max_length=64, index=True)
    # The calendar UID's local part (`booking.notifications.ics.booking_uid`): random, so nothing shared
    # (invites, the calendar feed, emails) carries the booking id. Rows older than it keep "booking-<id>",
    # the UID their calendars already hold.
    invite_uid: str = Field(default_factory=lambda: f"inv-{uuid.uuid4().hex}", max_length=64, unique=True,
                            index=True)
    # Which network took the hold, for the per-address hold cap: a keyed digest of the client's IP (the
    # address itself is never stored). Only live unpaid holds are counted by it.
    client_address_key: str | None = Field(default=None, max_length=64, index=True)
    confirmed_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # The builder's private notes (host tools): never shown to the client, never sent to Stripe, erased
    # with the booking's personal data.
    host_note: str | None = Field(default=None, max_length=4000)
    # Set by the lifecycle when the builder marks the session (after its start); None until then.
    attendance: Attendance | None = Field(default=None, sa_type=_enum_column(Attendance, "attendance", checked=False))


class StripeEvent(SQLModel, table=True):
    """Every verified webhook event, stored once by its evt_ id (the dedupe key)."""

    __tablename__ = "stripe_event"

    id: str = Field(primary_key=True, max_length=255)
    type: str = Field(max_length=100, index=True)
    payload: str  # the raw JSON body as Stripe signed it
    received_at: datetime = Field(default_factory=utcnow, index=True)  # the webhook log's order
    processed_at: datetime | None = None
    status: EventStatus = Field(
        default=EventStatus.RECEIVED, sa_type=_enum_column(EventStatus, "event_status")
    )
    error: str | None = None
    attempts: int = Field(default=0)
    source: str = Field(default="webhook", max_length=20)  # webhook | reconcile
    # The booking the event turned out to be about (set by dispatch): lets a builder see their own events.
    booking_id: str | None = Field(default=None, max_length=36, index=True)


class Notification(SQLModel, table=True):
    """Outbox: written in the state change's transaction, sent by the worker."""

    __table_args__ = (
        sa.Index("ix_notification_due", "status", "next_attempt_at"),
        sa.Index("ix_notification_created_at", "created_at"),  # the outbox page's order
    )

    id: int | None = Field(default=None, primary_key=True)
    # The same email for the same cause is queued once, however often an event repeats.
    dedupe_key: str = Field(max_length=255, unique=True)
    kind: str = Field(max_length=50)
    recipient: str = Field(max_length=254)
    booking_id: str | None = Field(default=None, foreign_key="booking.id", index=True, max_length=36)
    payload: str = Field(default="{}")  # JSON: subject and body context
    status: NotificationStatus = Field(
        default=NotificationStatus.PENDING,
        sa_type=_enum_column(NotificationStatus, "notification_status"),
    )
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class UserAccount(SQLModel, table=True):
    """Someone who signs in to /admin: a builder (linked to one Builder) or a platform admin."""

    __tablename__ = "user_account"
    __table_args__ = (
        sa.CheckConstraint(
            "(role = 'builder' AND builder_id IS NOT NULL) OR (role = 'admin' AND builder_id IS NULL)",
            name="ck_user_account_role_builder",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)  # stored lower-cased
    password_hash: str = Field(max_length=255)
    role: UserRole = Field(sa_type=_enum_column(UserRole, "user_role"))
    builder_id: int | None = Field(default=None, foreign_key="builder.id", unique=True)
    active: bool = Field(default=True)
    password_changed_at: datetime = Field(default_factory=utcnow)
    last_sign_in_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class AuthSession(SQLModel, table=True):
    """A signed-in browser. The token lives in the browser; only its SHA-256 is stored."""

    __tablename__ = "auth_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime  # absolute limit, however active the session is
    revoked_at: datetime | None = None


class Payment(SQLModel, table=True):
    """One Checkout attempt of a booking: the money, apart from the appointment."""

    __table_args__ = (
        sa.UniqueConstraint("booking_id", "attempt", name="uq_payment_booking_attempt"),
        sa.CheckConstraint("amount >= 0 AND amount_refunded >= 0", name="ck_payment_amounts"),
        sa.Index("ix_payment_status_created", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # None for a sale that books nothing (a package: `package_purchase_id`).
    booking_id: str | None = Field(default=None, foreign_key="booking.id", index=True, max_length=36)
    attempt: int = Field(default=1)
    checkout_session_id: str | None = Field(default=None, max_length=255, unique=True)
    checkout_url: str | None = Field(default=None, max_length=2000)  # Stripe's page for this attempt
    payment_intent_id: str | None = Field(default=None, max_length=255, unique=True)
    amount: int  # what the client pays (booking.pricing.quote), fixed when the hold is taken
    currency: str = Field(max_length=3)
    # (The CHECK constraint keeps its first name, "checkout_status".)
    status: PaymentStatus = Field(
        default=PaymentStatus.CREATING, sa_type=_enum_column(PaymentStatus, "checkout_status")
    )
    amount_refunded: int = Field(default=0)
    failure_code: str | None = Field(default=None, max_length=100)
    failure_message: str | None = Field(default=None, max_length=500)
    # Destination charges (Connect): the platform's fee, the builder's account and transfer, and
    # what reaches the builder (amount - fee, less refunds and fee refunds).
    application_fee_amount: int = Field(default=0)
    destination_account_id: str | None = Field(default=None, max_length=255)
    transfer_id: str | None = Field(default=None, max_length=255, unique=True, index=True)
    net_amount: int | None = None
    # Held funds (no destination: the builder's payouts were not enabled): the transfer that paid the
    # builder's share out once they were (booking/payments/release.py), made once per payment.
    release_transfer_id: str | None = Field(default=None, max_length=255, unique=True, index=True)
    released_at: datetime | None = None

    # How it was paid (from the charge): "Paid by SEPA Direct Debit" / "Apple Pay" in the workspace.
    payment_method_type: PaymentMethodKind | None = Field(
        default=None, sa_type=_enum_column(PaymentMethodKind, "payment_method_kind", length=20, checked=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    paid_at: datetime | None = None
    failed_at: datetime | None = None
    # Receipts and invoices (migration 0017): Stripe's receipt of the charge, and the invoice Checkout made
    # when the client asked for one (`invoice_requested`, kept for every attempt of the booking).
    invoice_requested: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    receipt_url: str | None = Field(default=None, max_length=2000)
    invoice_id: str | None = Field(default=None, max_length=255)
    invoice_url: str | None = Field(default=None, max_length=2000)
    invoice_pdf_url: str | None = Field(default=None, max_length=2000)
    # A package sale (migration 0022): the purchase this payment is for; booking_id is then None.
    package_purchase_id: int | None = Field(default=None, foreign_key="package_purchase.id", index=True)
    # Migration 0024: a no-show fee (an off-session charge of the card kept at booking) or the booking itself.
    kind: PaymentKind = Field(default=PaymentKind.BOOKING, sa_type=_enum_column(PaymentKind, "payment_kind",
                                                                                checked=False),
                              sa_column_kwargs={"server_default": PaymentKind.BOOKING.value})


class Refund(SQLModel, table=True):
    """One refund of a payment, asked for here (an admin, a late payment) or found at Stripe."""

    __table_args__ = (sa.CheckConstraint("amount > 0", name="ck_refund_amount"),)

    id: int | None = Field(default=None, primary_key=True)
    payment_id: int = Field(foreign_key="payment.id", index=True)
    # None for a refund of a sale that booked nothing (unused package credits).
    booking_id: str | None = Field(default=None, foreign_key="booking.id", index=True, max_length=36)
    stripe_refund_id: str | None = Field(default=None, max_length=255, unique=True)
    # One request, one refund: a double click or a retry carries the same key (also Stripe's).
    request_key: str | None = Field(default=None, max_length=100, unique=True)
    amount: int
    currency: str = Field(max_length=3)
    reason: str | None = Field(default=None, max_length=40)  # one of REFUND_REASONS
    status: RefundStatus = Field(
        default=RefundStatus.REQUESTED, sa_type=_enum_column(RefundStatus, "refund_status")
    )
    failure_reason: str | None = Field(default=None, max_length=255)
    reverse_transfer: bool = Field(default=False)
    application_fee_refunded: int = Field(default=0)  # the platform fee's share given back
    requested_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    requested_by: str = Field(default="stripe", max_length=254)  # an admin's email, "system" or "stripe"
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    """Who did what and when, with before and after: one row per admin write."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    actor_user_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    actor_email: str = Field(max_length=254)
    action: str = Field(max_length=80)
    entity_type: str = Field(max_length=40)
    entity_id: str = Field(max_length=64)
    builder_id: int | None = Field(default=None, foreign_key="builder.id", index=True)
    before: str | None = None  # JSON
    after: str | None = None  # JSON


class PayoutStatus(StrEnum):
    PENDING = "pending"
    IN_TRANSIT = "in_transit"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"


class Payout(SQLModel, table=True):
    """A payout from a builder's connected account to their bank (kept from payout.* events)."""

    id: int | None = Field(default=None, primary_key=True)
    builder_id: int | None = Field(default=None, foreign_key="builder.id", index=True)
    stripe_payout_id: str = Field(max_length=255, unique=True)
    stripe_account_id: str = Field(max_length=255, index=True)
    amount: int
    currency: str = Field(max_length=3)
    status: PayoutStatus = Field(default=PayoutStatus.PENDING, sa_type=_enum_column(PayoutStatus, "payout_status"))
    arrival_date: datetime | None = None
    failure_code: str | None = Field(default=None, max_length=100)
    failure_message: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PaymentMismatch(SQLModel, table=True):
    """Stripe said something about a payment that doesn't match our record (a completed session whose
    id, amount or currency differs from its booking's). Recorded, shown to the admin, never confirms."""

    __tablename__ = "payment_mismatch"

    id: int | None = Field(default=None, primary_key=True)
    booking_id: str | None = Field(default=None, foreign_key="booking.id", index=True, max_length=36)
    event_id: str | None = Field(default=None, max_length=255)
    stripe_object_id: str | None = Field(default=None, max_length=255)
    kind: str = Field(max_length=40)  # session_id | amount | currency | ...
    expected: str = Field(default="", max_length=255)
    actual: str = Field(default="", max_length=255)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    resolved_at: datetime | None = None


# --- the money journal (booking/payments/movements.py writes it) -----------------------------------------


class Party(StrEnum):
    """Who holds a payment's money: the client's card, the platform's Stripe balance, the builder's
    connected account, or Stripe itself (its fees)."""

    CLIENT = "client"
    PLATFORM = "platform"
    BUILDER = "builder"
    STRIPE = "stripe"


class MovementKind(StrEnum):
    """One kind of money movement of a payment. Each moves money from one party to another
    (`booking.payments.movements.FLOWS`)."""

    CHARGE = "charge"  # client → platform: what the charge captured
    STRIPE_FEE = "stripe_fee"  # platform → Stripe: the processing fee (balance_transaction.fee)
    TRANSFER = "transfer"  # platform → builder: the destination charge's transfer, or held funds released
    APPLICATION_FEE = "application_fee"  # builder → platform: the platform fee of a destination charge
    REFUND = "refund"  # platform → client
    REFUND_RETURNED = "refund_returned"  # client → platform: a refund Stripe accepted, then failed
    TRANSFER_REVERSAL = "transfer_reversal"  # builder → platform: a refund's reversal of the transfer
    APPLICATION_FEE_REFUND = "application_fee_refund"  # platform → builder: the fee's share given back
    DISPUTE_WITHDRAWAL = "dispute_withdrawal"  # platform → client: Stripe withdrew the disputed amount
    DISPUTE_FEE = "dispute_fee"  # platform → Stripe: the dispute fee
    DISPUTE_REINSTATEMENT = "dispute_reinstatement"  # client → platform: a won dispute's funds back
    DISPUTE_FEE_RETURN = "dispute_fee_return"  # Stripe → platform: a dispute fee given back
    DISPUTE_RECOVERY = "dispute_recovery"  # builder → platform: the builder's transfer reversed for a dispute
    DISPUTE_RECOVERY_RETURN = "dispute_recovery_return"  # platform → builder: paid back after a won dispute


class MoneyMovement(SQLModel, table=True):
    """Append-only: one movement of a payment's money between two parties, in the charge's currency.
    `key` names the Stripe object it came from (plus the kind), so replaying an event records nothing twice."""

    __tablename__ = "money_movement"

    id: int | None = Field(default=None, primary_key=True)
    payment_id: int = Field(foreign_key="payment.id", index=True)
    kind: MovementKind = Field(sa_type=_enum_column(MovementKind, "movement_kind", length=40, checked=False))
    source: Party = Field(sa_type=_enum_column(Party, "movement_source", checked=False))
    destination: Party = Field(sa_type=_enum_column(Party, "movement_destination", checked=False))
    amount: int  # minor units, > 0
    currency: str = Field(max_length=3)
    key: str = Field(max_length=255, unique=True)  # e.g. "stripe_fee:txn_123"
    stripe_object_id: str | None = Field(default=None, max_length=255, index=True)
    occurred_at: datetime = Field(default_factory=utcnow, index=True)
    created_at: datetime = Field(default_factory=utcnow)


# --- the builder's profile (photo, old public addresses) -------------------------------------------


class BuilderPhoto(SQLModel, table=True):
    """A builder's profile photo, already processed (square, re-encoded, no EXIF): kept in the database
    so every web worker serves the same bytes. `version` (a digest of the bytes) is the ETag."""

    __tablename__ = "builder_photo"

    builder_id: int = Field(foreign_key="builder.id", primary_key=True)
    content: bytes = Field(sa_type=sa.LargeBinary)
    media_type: str = Field(max_length=40)
    version: str = Field(max_length=64)
    width: int
    height: int
    updated_at: datetime = Field(default_factory=utcnow)


class BuilderSlugHistory(SQLModel, table=True):
    """A public slug a builder used before: /b/<old slug> redirects to their page, and no one else can
    take it (old links never lead to someone else)."""

    __tablename__ = "builder_slug_history"

    id: int | None = Field(default=None, primary_key=True)
    builder_id: int = Field(foreign_key="builder.id", index=True)
    old_slug: str = Field(max_length=80, unique=True)
    changed_at: datetime = Field(default_factory=utcnow)


# --- password reset and builder invites (issue 14): one-time links sent by email ---------------------


class AccountTokenKind(StrEnum):
    RESET = "reset"  # "Forgot password?": sets a new password, ends every session
    INVITE = "invite"  # a platform admin invited a builder: they set their first password


class AccountToken(SQLModel, table=True):
    """A one-time link to an account, sent by email. Only the SHA-256 of the link's token is stored; a
    link works once, until `expires_at`, and a newer link of the same kind revokes the older ones."""

    __tablename__ = "account_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    kind: AccountTokenKind = Field(sa_type=_enum_column(AccountTokenKind, "account_token_kind"))
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None  # a newer link of the same kind was sent


# --- disputes (booking/payments/disputes.py writes them) ----------------------------------------------------


class DisputeStatus(StrEnum):
    """Stripe's dispute status. `warning_*`: an inquiry (no money moved); the others a chargeback."""

    WARNING_NEEDS_RESPONSE = "warning_needs_response"
    WARNING_UNDER_REVIEW = "warning_under_review"
    WARNING_CLOSED = "warning_closed"
    NEEDS_RESPONSE = "needs_response"
    UNDER_REVIEW = "under_review"
    WON = "won"
    LOST = "lost"


class DisputeRecovery(StrEnum):
    """Getting a disputed amount back from the builder (DISPUTE_RECOVERY setting), and paying it back after a
    won dispute. Only forward: none/absorbed are final; requested → recovered → return_requested → returned."""

    NONE = "none"  # nothing to recover: money the platform holds, an inquiry, or nothing withdrawn yet
    ABSORBED = "absorbed"  # DISPUTE_RECOVERY=platform_absorbs: the platform bears it
    REQUESTED = "requested"  # the builder's transfer is to be reversed (after the commit, or by the worker)
    RECOVERED = "recovered"  # reversed (recovery_reversal_id)
    RETURN_REQUESTED = "return_requested"  # won after recovery: a new transfer pays the builder back
    RETURNED = "returned"  # paid back (recovery_return_transfer_id)


class Dispute(SQLModel, table=True):
    """A dispute of a payment, as Stripe's charge.dispute.* events tell it."""

    id: int | None = Field(default=None, primary_key=True)
    stripe_dispute_id: str = Field(max_length=255, unique=True)
    payment_id: int = Field(foreign_key="payment.id", index=True)
    booking_id: str = Field(foreign_key="booking.id", index=True, max_length=36)
    charge_id: str | None = Field(default=None, max_length=255)
    amount: int
    currency: str = Field(max_length=3)
    reason: str = Field(default="general", max_length=60)  # Stripe's reason code (shown in words)
    status: DisputeStatus = Field(sa_type=_enum_column(DisputeStatus, "dispute_status", length=30, checked=False))
    evidence_due_by: datetime | None = None
    submitted_at: datetime | None = None  # evidence submitted (from here or Stripe's dashboard)
    closed_at: datetime | None = None
    outcome: str | None = Field(default=None, max_length=20)  # won | lost | closed (an inquiry)
    recovery: DisputeRecovery = Field(default=DisputeRecovery.NONE,
                                      sa_type=_enum_column(DisputeRecovery, "dispute_recovery", checked=False))
    recovery_amount: int = Field(default=0)
    recovery_reversal_id: str | None = Field(default=None, max_length=255)
    recovery_return_transfer_id: str | None = Field(default=None, max_length=255)
    recovery_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# --- external calendars (issue 17: busy times and write-back) -------------------------------------------


class CalendarKind(StrEnum):
    ICS = "ics"  # a read-only feed URL (webcal/https), fetched with ETag / If-Modified-Since
    CALDAV = "caldav"  # a CalDAV collection: read for busy times; written back when chosen for bookings


class ExternalCalendar(SQLModel, table=True):
    """A calendar whose events block a builder's slots. Fetched only by the job worker."""

    __tablename__ = "external_calendar"

    id: int | None = Field(default=None, primary_key=True)
    builder_id: int = Field(foreign_key="builder.id", index=True)
    kind: CalendarKind = Field(sa_type=_enum_column(CalendarKind, "calendar_kind", length=10))
    name: str = Field(default="", max_length=120)
    url: str = Field(max_length=2000)
    username: str = Field(default="", max_length=254)
    # The CalDAV app password, Fernet-encrypted with a key derived from SECRET_KEY (booking.core.secretbox).
    password_encrypted: str = Field(default="", max_length=1000)
    # CalDAV only: confirmed bookings are written to this calendar (at most one per builder, by the service).
    write_bookings: bool = Field(default=False)
    etag: str | None = Field(default=None, max_length=255)
    last_modified: str | None = Field(default=None, max_length=64)  # the feed's Last-Modified, sent back as is
    last_synced_at: datetime | None = None  # the last fetch that succeeded (a 304 included)
    last_error: str | None = Field(default=None, max_length=500)
    last_error_at: datetime | None = None
    next_sync_at: datetime = Field(default_factory=utcnow, index=True)
    # A fresh random number each time a sync replaces the stored spans: slot search keeps a builder's spans in memory
    # under their calendars' versions (booking.scheduling.busy), so it reads them once per change.
    spans_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=utcnow)


class ExternalBusyInterval(SQLModel, table=True):
    """One expanded busy span (UTC) of an external calendar: recurrences are expanded when synced."""

    __tablename__ = "external_busy_interval"
    __table_args__ = (sa.Index("ix_external_busy_builder_start", "builder_id", "start_time"),)

    id: int | None = Field(default=None, primary_key=True)
    calendar_id: int = Field(foreign_key="external_calendar.id", index=True)
    builder_id: int = Field(foreign_key="builder.id")
    start_time: datetime
    end_time: datetime


class CalendarWrite(SQLModel, table=True):
    """Outbox row: bring the builder's CalDAV calendar in line with a booking (write it while confirmed,
    remove it otherwise). One row per booking, queued again by every change; retried with backoff."""

    __tablename__ = "calendar_write"
    __table_args__ = (sa.Index("ix_calendar_write_due", "done", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    booking_id: str = Field(foreign_key="booking.id", unique=True, max_length=36)
    calendar_id: int = Field(foreign_key="external_calendar.id", index=True)
    done: bool = Field(default=False)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = Field(default=None, max_length=500)
    written_at: datetime | None = None  # the last successful PUT or DELETE
    updated_at: datetime = Field(default_factory=utcnow)


# --- booking questions (issue 17): what a builder asks the client before they pay ----------------------


class QuestionKind(StrEnum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    CHOICE = "choice"  # one of the question's options
    CHECKBOX = "checkbox"  # ticked or not (required: must be ticked)


class BookingQuestion(SQLModel, table=True):
    """One question of a session type's booking form, in `position` order (at most 10 per type)."""

    __tablename__ = "booking_question"
    __table_args__ = (sa.UniqueConstraint("session_type_id", "position", name="uq_booking_question_position"),)

    id: int | None = Field(default=None, primary_key=True)
    session_type_id: int = Field(foreign_key="session_type.id", index=True)
    position: int
    kind: QuestionKind = Field(sa_type=_enum_column(QuestionKind, "question_kind", checked=False))
    label: str = Field(max_length=200)
    required: bool = Field(default=False)
    options: str = Field(default="[]")  # JSON list of the choices (CHOICE only)
    created_at: datetime = Field(default_factory=utcnow)


class BookingAnswer(SQLModel, table=True):
    """A client's answer to one question, kept with the question's words as they were asked (the builder may
    change the questions later). Personal data: deleted with the booking's (booking.workspace.personal_data)."""

    __tablename__ = "booking_answer"
    __table_args__ = (sa.UniqueConstraint("booking_id", "position", name="uq_booking_answer_position"),)

    id: int | None = Field(default=None, primary_key=True)
    booking_id: str = Field(foreign_key="booking.id", index=True, max_length=36)
    question_id: int | None = Field(default=None)  # no foreign key: the question may be deleted since
    position: int
    kind: QuestionKind = Field(sa_type=_enum_column(QuestionKind, "answer_question_kind", checked=False))
    label: str = Field(max_length=200)
    value: str = Field(default="", max_length=2000)  # a checkbox: "yes" or ""
    created_at: datetime = Field(default_factory=utcnow)


# --- credits and packages (booking/payments/credits.py writes the credit ledger) ---------------------------


class CreditEntryKind(StrEnum):
    """One line of the append-only credit ledger. A grant's balance is derived from its lines only."""

    GRANTED = "granted"  # credits given (a package bought, a membership's period paid)
    RESERVED = "reserved"  # one credit held by a booking whose slot is held
    REDEEMED = "redeemed"  # the held credit spent: its booking is confirmed
    RETURNED = "returned"  # a booking's credit back to the client (its hold ended, a cancellation in time)
    EXPIRED = "expired"  # unused credits past the grant's expiry
    REFUNDED = "refunded"  # unused credits the builder refunded (money back pro rata)


class CreditSourceKind(StrEnum):
    """What a grant of credits came from (`CreditGrant.source_id` names the row or Stripe object)."""

    PACKAGE_PURCHASE = "package_purchase"  # source_id: PackagePurchase.id
    SUBSCRIPTION_INVOICE = "subscription_invoice"  # source_id: the Stripe invoice id (memberships)


class CreditGrant(SQLModel, table=True):
    """Credits given to a client (by email) to spend on some of one builder's session types until
    `expires_at`. The grant's numbers are never updated: `CreditEntry` rows say what happened to them."""

    __tablename__ = "credit_grant"
    __table_args__ = (
        sa.UniqueConstraint("source_kind", "source_id", name="uq_credit_grant_source"),  # granted once
        sa.CheckConstraint("quantity > 0", name="ck_credit_grant_quantity"),
        sa.Index("ix_credit_grant_owner", "builder_id", "client_email"),
    )

    id: int | None = Field(default=None, primary_key=True)
    builder_id: int = Field(foreign_key="builder.id")
    client_email: str = Field(max_length=254)  # normalised as bookings' client emails are
    quantity: int
    expires_at: datetime = Field(index=True)
    source_kind: CreditSourceKind = Field(
        sa_type=_enum_column(CreditSourceKind, "credit_source_kind", length=30, checked=False))
    source_id: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow)


class CreditGrantSessionType(SQLModel, table=True):
    """Which session types a grant's credits may be spent on."""

    __tablename__ = "credit_grant_session_type"

    grant_id: int = Field(foreign_key="credit_grant.id", primary_key=True)
    session_type_id: int = Field(foreign_key="session_type.id", primary_key=True)


class CreditEntry(SQLModel, table=True):
    """Append-only: one line of a grant's credit ledger. `key` makes each line once-only (a booking is
    reserved, redeemed and returned at most once; a grant is granted once)."""

    __tablename__ = "credit_entry"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="ck_credit_entry_quantity"),)

    id: int | None = Field(default=None, primary_key=True)
    grant_id: int = Field(foreign_key="credit_grant.id", index=True)
    kind: CreditEntryKind = Field(sa_type=_enum_column(CreditEntryKind, "credit_entry_kind"))
    quantity: int = Field(default=1)
    booking_id: str | None = Field(default=None, foreign_key="booking.id", index=True, max_length=36)
    key: str = Field(max_length=255, unique=True)
    occurred_at: datetime = Field(default_factory=utcnow)


class CreditPackage(SQLModel, table=True):
    """A builder's package: `session_count` sessions of some of their session types for one price, the
    credits lasting `validity_days`. Synced to Stripe as a Product and a Price, as session types are."""

    __tablename__ = "credit_package"
    __table_args__ = (
        sa.CheckConstraint("session_count > 0", name="ck_credit_package_count"),
        sa.CheckConstraint("validity_days > 0", name="ck_credit_package_validity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    builder_id: int = Field(foreign_key="builder.id", index=True)
    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=2000)
    session_count: int
    price_amount: int  # minor units
    currency: str = Field(max_length=3)
    validity_days: int
    active: bool = Field(default=True)
    stripe_product_id: str | None = Field(default=None, max_length=255, unique=True)
    stripe_price_id: str | None = Field(default=None, max_length=255, unique=True)
    revision: int = Field(default=0)  # raised by every save: part of the Stripe idempotency keys
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# --- promotion codes (booking/payments/promotions.py writes them) ------------------------------------------


class DiscountKind(StrEnum):
    PERCENT = "percent"  # percent_off of the price
    AMOUNT = "amount"  # amount_off, in the code's currency


class PromotionCode(SQLModel, table=True):
    """A code a client types on the booking page: a builder's (for their session types, or one of them)
    or the platform's (builder_id None: any builder's). Synced to Stripe as a Coupon and a Promotion Code."""

    __tablename__ = "promotion_code"
    __table_args__ = (
        sa.CheckConstraint("(kind = 'percent' AND percent_off BETWEEN 1 AND 100 AND amount_off IS NULL) OR "
                           "(kind = 'amount' AND amount_off > 0 AND percent_off IS NULL AND currency IS NOT NULL)",
                           name="ck_promotion_code_discount"),
        sa.CheckConstraint("max_uses IS NULL OR max_uses > 0", name="ck_promotion_code_max_uses"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)  # stored upper-case: codes compare case-insensitively
    builder_id: int | None = Field(default=None, foreign_key="builder.id", index=True)
    session_type_id: int | None = Field(default=None, foreign_key="session_type.id", index=True)
    package_id: int | None = Field(default=None, sa_column=sa.Column(  # a code for one package only
        sa.Integer, sa.ForeignKey("credit_package.id", name="fk_promotion_code_package_id"), nullable=True,
        index=True))
    kind: DiscountKind = Field(sa_type=_enum_column(DiscountKind, "discount_kind"))
    percent_off: int | None = None
    amount_off: int | None = None  # minor units of `currency`
    currency: str | None = Field(default=None, max_length=3)
    expires_at: datetime | None = None
    max_uses: int | None = None
    first_booking_only: bool = Field(default=False)
    minimum_amount: int | None = None  # minor units of `minimum_currency`
    minimum_currency: str | None = Field(default=None, max_length=3)  # a price in another currency can't use it
    active: bool = Field(default=True)
    stripe_coupon_id: str | None = Field(default=None, max_length=255, unique=True)
    stripe_promotion_code_id: str | None = Field(default=None, max_length=255, unique=True)
    sync_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class CreditPackageSessionType(SQLModel, table=True):
    __tablename__ = "credit_package_session_type"

    package_id: int = Field(foreign_key="credit_package.id", primary_key=True)
    session_type_id: int = Field(foreign_key="session_type.id", primary_key=True)


class PackagePurchase(SQLModel, table=True):
    """A client buying a package: its Payment rows (`Payment.package_purchase_id`) hold the money, its
    credit grant (source PACKAGE_PURCHASE) the sessions. Count and validity are kept as sold."""

    __tablename__ = "package_purchase"

    id: int | None = Field(default=None, primary_key=True)
    package_id: int = Field(foreign_key="credit_package.id", index=True)
    builder_id: int = Field(foreign_key="builder.id", index=True)
    client_email: str = Field(max_length=254)
    client_name: str = Field(max_length=120)
    client_time_zone: str = Field(default="UTC", max_length=64)
    # The shop page's language ("fr-FR", checked by `known_locale_tag`; None: not known, the default locale):
    # the purchase and expiry emails write dates and amounts its way.
    client_locale: str | None = Field(default=None, max_length=35)
    session_count: int
    validity_days: int
    # The session types the package covered when the client started paying (a JSON list of ids; None only for
    # a purchase from before migration 0030): the credits are for these, whatever the builder edits meanwhile.
    session_type_ids: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow)


class CreditWallet(SQLModel, table=True):
    """A client's wallet with one builder: the emailed wallet link finds it by its token's SHA-256."""

    __tablename__ = "credit_wallet"
    __table_args__ = (sa.UniqueConstraint("builder_id", "client_email", name="uq_credit_wallet_owner"),)

    id: int | None = Field(default=None, primary_key=True)
    builder_id: int = Field(foreign_key="builder.id")
    client_email: str = Field(max_length=254)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
class RedemptionStatus(StrEnum):
    RESERVED = "reserved"  # the hold is taken: the use counts against max_uses
    REDEEMED = "redeemed"  # the booking was confirmed (paid, or nothing to pay)
    RELEASED = "released"  # the hold ended unpaid: the use is given back


class PromotionRedemption(SQLModel, table=True):
    """One use of a code by one booking: the discount's ledger entry (price, discount, what was charged).
    Written only by booking/payments/promotions.py; never a column on Booking."""

    __tablename__ = "promotion_redemption"
    __table_args__ = (
        sa.CheckConstraint("discount_amount >= 0 AND discount_amount <= list_amount",
                           name="ck_promotion_redemption_amounts"),
        sa.Index("ix_promotion_redemption_code_status", "promotion_code_id", "status"),
        sa.CheckConstraint("(booking_id IS NOT NULL AND package_purchase_id IS NULL) OR "
                           "(booking_id IS NULL AND package_purchase_id IS NOT NULL)",
                           name="ck_promotion_redemption_use"),
        sa.UniqueConstraint("package_purchase_id", name="uq_promotion_redemption_package_purchase_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    promotion_code_id: int = Field(foreign_key="promotion_code.id")
    booking_id: str | None = Field(default=None, foreign_key="booking.id", max_length=36, unique=True)
    package_purchase_id: int | None = Field(default=None, sa_column=sa.Column(  # a package's use
        sa.Integer, sa.ForeignKey("package_purchase.id", name="fk_promotion_redemption_package_purchase_id"),
        nullable=True))
    payment_id: int | None = Field(default=None, foreign_key="payment.id", index=True)
    client_email: str = Field(max_length=254, index=True)
    list_amount: int  # the price before the discount
    discount_amount: int
    currency: str = Field(max_length=3)
    status: RedemptionStatus = Field(default=RedemptionStatus.RESERVED,
                                     sa_type=_enum_column(RedemptionStatus, "redemption_status"))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# --- reminders and cards kept for no-show fees (migration 0024) ----------------------------------------------


class BookingReminder(SQLModel, table=True):
    """One reminder email of a confirmed booking: to one recipient, `offset_minutes` before its start. Written
    by the lifecycle (confirm schedules, reschedule moves, an ending cancels) through
    booking/notifications/reminders.py; the worker sends each once (one row per booking, offset and
    recipient; a compare-and-swap claims it)."""

    __tablename__ = "booking_reminder"
    __table_args__ = (
        sa.UniqueConstraint("booking_id", "offset_minutes", "recipient", name="uq_booking_reminder"),
        sa.Index("ix_booking_reminder_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    booking_id: str = Field(foreign_key="booking.id", index=True, max_length=36)
    offset_minutes: int
    recipient: ReminderRecipient = Field(sa_type=_enum_column(ReminderRecipient, "reminder_recipient",
                                                                checked=False))
    due_at: datetime
    status: ReminderStatus = Field(default=ReminderStatus.SCHEDULED,
                                   sa_type=_enum_column(ReminderStatus, "reminder_status", checked=False))
    settled_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class CardOnFile(SQLModel, table=True):
    """The card a no-show-fee booking keeps: Checkout in setup mode saved it to the client's Stripe Customer
    (its SetupIntent names the PaymentMethod, looked up when a fee is charged)."""

    __tablename__ = "card_on_file"

    booking_id: str = Field(foreign_key="booking.id", primary_key=True, max_length=36)
    stripe_customer_id: str = Field(max_length=255, index=True)
    checkout_session_id: str = Field(max_length=255, unique=True)
    setup_intent_id: str | None = Field(default=None, max_length=255, unique=True)
    payment_method_id: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow)


# --- memberships (issue 16): "N sessions a month" at a recurring price --------------------------------------


class UnusedCredits(StrEnum):
    """What happens to a membership period's unused credits when the next period begins."""

    ROLL_OVER = "roll_over"  # they stay, until they expire as credits do
    LAPSE = "lapse"  # they expire at the period's end


class MembershipStatus(StrEnum):
    """A membership's state, as Stripe's subscription status tells it (`customer.subscription.*`)."""

    PENDING = "pending"  # Checkout created, not paid yet
    ACTIVE = "active"
    PAST_DUE = "past_due"  # a renewal failed: no new credits until paid
    UNPAID = "unpaid"
    CANCELED = "canceled"
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    TRIALING = "trialing"
    PAUSED = "paused"


class MembershipInvoiceStatus(StrEnum):
    PAID = "paid"
    FAILED = "failed"


class MembershipPlan(SQLModel, table=True):
    """A builder's offer of N sessions a period at a recurring price: a Stripe Product and recurring Price."""

    __tablename__ = "membership_plan"
    __table_args__ = (sa.CheckConstraint("sessions_per_period > 0 AND amount > 0", name="ck_membership_plan_amounts"),)

    id: int | None = Field(default=None, primary_key=True)
    builder_id: int = Field(foreign_key="builder.id", index=True)
    name: str = Field(max_length=120)
    sessions_per_period: int
    amount: int  # minor units, charged every month
    currency: str = Field(max_length=3)
    unused_credits: UnusedCredits = Field(default=UnusedCredits.LAPSE,
                                          sa_type=_enum_column(UnusedCredits, "unused_credits", checked=False))
    active: bool = Field(default=True)
    stripe_product_id: str | None = Field(default=None, max_length=255, unique=True)
    stripe_price_id: str | None = Field(default=None, max_length=255, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Membership(SQLModel, table=True):
    """One client's subscription to a plan (clients have no account: known by their email)."""

    __tablename__ = "membership"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="membership_plan.id", index=True)
    builder_id: int = Field(foreign_key="builder.id", index=True)
    client_email: str = Field(max_length=254, index=True)
    client_name: str = Field(default="", max_length=120)
    # The builder page's language when subscribing ("fr-FR", checked by `known_locale_tag`; None: not known,
    # the default locale): the membership's emails write dates and amounts its way.
    client_locale: str | None = Field(default=None, max_length=35)
    # The browser's zone when subscribing (a canonical IANA name such as "America/New_York"; None: not known,
    # UTC): the membership's emails tell the renewal on its clock.
    client_time_zone: str | None = Field(default=None, max_length=64)
    checkout_session_id: str | None = Field(default=None, max_length=255, unique=True)
    stripe_subscription_id: str | None = Field(default=None, max_length=255, unique=True)
    stripe_customer_id: str | None = Field(default=None, max_length=255, index=True)
    status: MembershipStatus = Field(default=MembershipStatus.PENDING,
                                     sa_type=_enum_column(MembershipStatus, "membership_status", length=30,
                                                                checked=False))
    cancel_at_period_end: bool = Field(default=False)
    current_period_end: datetime | None = None
    # When Stripe last told us the subscription's state (the event's `created`): an older event changes nothing.
    stripe_state_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class MembershipInvoice(SQLModel, table=True):
    """One invoice of a membership, as Stripe's invoice.paid / invoice.payment_failed tell it. Its money is a
    Payment row of kind MEMBERSHIP once paid (`payment_id`; written by booking/payments/ledger.py, with the
    charge, transfer and platform fee in the journal)."""

    __tablename__ = "membership_invoice"
    # The dashboard's recent failed membership payments.
    __table_args__ = (sa.Index("ix_membership_invoice_failed", "status", "failed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    membership_id: int = Field(foreign_key="membership.id", index=True)
    stripe_invoice_id: str = Field(max_length=255, unique=True)
    payment_id: int | None = Field(default=None, foreign_key="payment.id", unique=True)
    status: MembershipInvoiceStatus = Field(sa_type=_enum_column(MembershipInvoiceStatus,
                                                                                 "membership_invoice_status", checked=False))
    amount: int
    currency: str = Field(max_length=3)
    application_fee_amount: int = Field(default=0)
    destination_account_id: str | None = Field(default=None, max_length=255)
    period_start: datetime | None = None
    period_end: datetime | None = None
    paid_at: datetime | None = None
    failed_at: datetime | None = None
    credits_granted_at: datetime | None = None  # the period's credits, granted once
    failure_notice_queued_at: datetime | None = None  # the "update your card" email, queued once
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
