"""The ground floor: settings, database engines and transactions, the schema, money and time.

- `config`      settings from the environment (`get_settings`)
- `db`          engines and `session_scope` (the caller of a service owns the transaction)
- `forms`       reading submitted forms (`checked`: a ticked checkbox, from a browser or an API client)
- `models`      the SQLModel tables and their enums
- `money`       integer minor units + ISO currency
- `time`        the one zone loader (`zone`) and the one family of display formatters (dates, times,
                ranges, money) in the viewer's locale, built on Babel
- `zones`       zone names as people read them (canonical names, friendly labels)
- `slugs`       public addresses: /<builder>/<session type>, the slug rule, reserved first segments
- `migrations`  Alembic, run programmatically

Everything above imports from here; this package imports nothing else of `booking`.
"""

from booking.core.config import DisputeRecoveryPolicy, WebhookProcessing, get_settings
from booking.core.db import database_reachable, engine_for, session_scope
from booking.core.forms import checked, database_id
from booking.core.models import REFUND_REASONS, AuditEntry, Builder, SessionType, StripeEvent, UserRole, utcnow
from booking.core.money import MoneyError, to_major_units, to_minor_units
from booking.core.slugs import is_reserved, is_type_slug, slugify, type_path
from booking.core.time import (
    DEFAULT_LOCALE,
    UnknownZone,
    canonical_zone,
    format_date,
    format_datetime,
    format_money,
    format_time,
    format_time_range,
    format_when,
    load_zone,
    locale_tag,
    month_title,
    uses_12_hour_clock,
    viewer_locale,
    zone,
    zone_or_utc,
)
from booking.core.zones import ZoneChoice, canonical_zone_or_utc, zone_choices, zone_label

__all__ = [
    "database_id",
    "DisputeRecoveryPolicy",
    "WebhookProcessing",
    "is_reserved",
    "is_type_slug",
    "slugify",
    "type_path",
    "DEFAULT_LOCALE",
    "UnknownZone",
    "canonical_zone",
    "format_date",
    "format_datetime",
    "format_time",
    "format_time_range",
    "format_when",
    "load_zone",
    "locale_tag",
    "month_title",
    "uses_12_hour_clock",
    "viewer_locale",
    "zone",
    "zone_or_utc",
    "AuditEntry",
    "Builder",
    "MoneyError",
    "REFUND_REASONS",
    "SessionType",
    "StripeEvent",
    "UserRole",
    "ZoneChoice",
    "canonical_zone_or_utc",
    "checked",
    "database_reachable",
    "engine_for",
    "format_money",
    "get_settings",
    "session_scope",
    "to_major_units",
    "to_minor_units",
    "utcnow",
    "zone_choices",
    "zone_label",
]
