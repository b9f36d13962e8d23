"""The bottom layer: what every other part of `booking` builds on.

- `booking.core.time`: the one time-zone loader (`zone`) and the one family of display formatters
  (dates, times, ranges and money) in the viewer's locale, built on Babel.
"""

from booking.core.time import (
    DEFAULT_LOCALE,
    UnknownZone,
    canonical_zone,
    canonical_zone_or_utc,
    format_date,
    format_datetime,
    format_money,
    format_time,
    format_time_range,
    locale_tag,
    month_title,
    uses_12_hour_clock,
    viewer_locale,
    zone,
    zone_or_utc,
)

__all__ = [
    "DEFAULT_LOCALE",
    "UnknownZone",
    "canonical_zone",
    "canonical_zone_or_utc",
    "format_date",
    "format_datetime",
    "format_money",
    "format_time",
    "format_time_range",
    "locale_tag",
    "month_title",
    "uses_12_hour_clock",
    "viewer_locale",
    "zone",
    "zone_or_utc",
]
