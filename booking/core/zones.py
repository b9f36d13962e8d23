"""Time zones as a person reads them: canonical IANA names and friendly labels.

Browsers still report legacy names (`Asia/Calcutta`, `Europe/Kiev`, `US/Eastern`); the tz database keeps
them only as links, so they are mapped to the canonical name before anything is stored or shown.
Friendly names ("Eastern Time") come from a small table; any other zone is named after its city.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from booking.core.time import (  # noqa: F401  (the loader and its names live in booking.core.time)
    ALIASES,
    UTC_NAME,
    LocaleLike,
    canonical_zone,
    canonical_zone_or_utc,
    format_time,
    zone,
)

_EASTERN = ("America/New_York", "America/Detroit", "America/Toronto", "America/Indiana/Indianapolis",
            "America/Kentucky/Louisville", "America/Nassau")
_CENTRAL = ("America/Chicago", "America/Winnipeg", "America/Mexico_City", "America/Indiana/Knox")
_MOUNTAIN = ("America/Denver", "America/Edmonton", "America/Boise")
_PACIFIC = ("America/Los_Angeles", "America/Vancouver", "America/Tijuana")
_CET = ("Europe/Paris", "Europe/Berlin", "Europe/Madrid", "Europe/Rome", "Europe/Amsterdam", "Europe/Brussels",
        "Europe/Vienna", "Europe/Stockholm", "Europe/Oslo", "Europe/Copenhagen", "Europe/Warsaw",
        "Europe/Prague", "Europe/Zurich", "Europe/Budapest", "Europe/Belgrade", "Europe/Luxembourg",
        "Europe/Monaco", "Europe/Malta", "Europe/Zagreb", "Europe/Ljubljana", "Europe/Bratislava",
        "Europe/Andorra")
_EET = ("Europe/Athens", "Europe/Helsinki", "Europe/Kyiv", "Europe/Bucharest", "Europe/Sofia", "Europe/Riga",
        "Europe/Tallinn", "Europe/Vilnius", "Asia/Nicosia")
_AUS_EAST = ("Australia/Sydney", "Australia/Melbourne", "Australia/Hobart")

FRIENDLY_NAMES: dict[str, str] = {
    UTC_NAME: "Coordinated Universal Time",
    **dict.fromkeys(_EASTERN, "Eastern Time"),
    **dict.fromkeys(_CENTRAL, "Central Time"),
    **dict.fromkeys(_MOUNTAIN, "Mountain Time"),
    **dict.fromkeys(_PACIFIC, "Pacific Time"),
    "America/Phoenix": "Mountain Time (Arizona)",
    "America/Anchorage": "Alaska Time",
    "Pacific/Honolulu": "Hawaii Time",
    "America/Halifax": "Atlantic Time",
    "America/St_Johns": "Newfoundland Time",
    "America/Sao_Paulo": "Brasília Time",
    "America/Argentina/Buenos_Aires": "Argentina Time",
    "America/Bogota": "Colombia Time",
    "America/Lima": "Peru Time",
    "America/Santiago": "Chile Time",
    "Europe/London": "UK Time",
    "Europe/Dublin": "Irish Time",
    "Europe/Lisbon": "Western European Time",
    **dict.fromkeys(_CET, "Central European Time"),
    **dict.fromkeys(_EET, "Eastern European Time"),
    "Europe/Istanbul": "Turkey Time",
    "Europe/Moscow": "Moscow Time",
    "Africa/Lagos": "West Africa Time",
    "Africa/Johannesburg": "South Africa Time",
    "Africa/Nairobi": "East Africa Time",
    "Africa/Cairo": "Egypt Time",
    "Asia/Dubai": "Gulf Time",
    "Asia/Riyadh": "Arabia Time",
    "Asia/Tehran": "Iran Time",
    "Asia/Jerusalem": "Israel Time",
    "Asia/Karachi": "Pakistan Time",
    "Asia/Kolkata": "India Time",
    "Asia/Kathmandu": "Nepal Time",
    "Asia/Dhaka": "Bangladesh Time",
    "Asia/Bangkok": "Indochina Time",
    "Asia/Ho_Chi_Minh": "Indochina Time",
    "Asia/Jakarta": "Western Indonesia Time",
    "Asia/Singapore": "Singapore Time",
    "Asia/Kuala_Lumpur": "Malaysia Time",
    "Asia/Hong_Kong": "Hong Kong Time",
    "Asia/Shanghai": "China Time",
    "Asia/Taipei": "Taipei Time",
    "Asia/Manila": "Philippine Time",
    "Asia/Seoul": "Korea Time",
    "Asia/Tokyo": "Japan Time",
    **dict.fromkeys(_AUS_EAST, "Australian Eastern Time"),
    "Australia/Brisbane": "Australian Eastern Time (Queensland)",
    "Australia/Adelaide": "Australian Central Time",
    "Australia/Darwin": "Australian Central Time (Northern Territory)",
    "Australia/Perth": "Australian Western Time",
    "Pacific/Auckland": "New Zealand Time",
}

# The zone menu on the booking page (the viewer's own zone is added when it is not here).
COMMON_ZONES = (
    "Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles", "America/Denver", "America/Phoenix",
    "America/Chicago", "America/New_York", "America/Halifax", "America/Sao_Paulo", UTC_NAME, "Europe/London",
    "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Athens", "Africa/Lagos", "Africa/Johannesburg",
    "Europe/Istanbul", "Africa/Nairobi", "Asia/Dubai", "Asia/Karachi", "Asia/Kolkata", "Asia/Bangkok",
    "Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Australia/Perth", "Australia/Sydney", "Pacific/Auckland",
)


def city_of(name: str) -> str:
    """'America/Argentina/Buenos_Aires' -> 'Buenos Aires'."""
    return name.rsplit("/", 1)[-1].replace("_", " ")


def friendly_zone_name(name: str) -> str:
    """'America/New_York' -> 'Eastern Time'; a zone outside the table -> '<City> Time'."""
    canonical = canonical_zone_or_utc(name)
    if canonical in FRIENDLY_NAMES:
        return FRIENDLY_NAMES[canonical]
    if canonical.startswith("Etc/"):
        return canonical.removeprefix("Etc/")  # "GMT+5": already what people read
    return f"{city_of(canonical)} Time"


def zone_label(name: str, *, now: datetime, hour12: bool | None = False, locale: LocaleLike = None) -> str:
    """'Eastern Time — 17:42': the friendly name and the current local time there."""
    clock = format_time(now, zone=canonical_zone_or_utc(name), locale=locale, hour12=hour12)
    return f"{friendly_zone_name(name)} — {clock}"


@dataclass(frozen=True)
class ZoneChoice:
    value: str  # the canonical IANA name
    label: str  # "Eastern Time (New York) — 17:42"


def _option_label(name: str, *, now: datetime, hour12: bool | None, locale: LocaleLike) -> str:
    friendly = friendly_zone_name(name)
    city = city_of(name)
    named = friendly if name == UTC_NAME or city in friendly else f"{friendly} ({city})"
    return f"{named} — {format_time(now, zone=zone(name), locale=locale, hour12=hour12)}"


def zone_choices(current: str, *, now: datetime, hour12: bool | None = False,
                 locale: LocaleLike = None) -> list[ZoneChoice]:
    """The zone menu, west to east by the current UTC offset, always including `current`."""
    names = list(COMMON_ZONES)
    current = canonical_zone_or_utc(current)
    if current not in names:
        names.append(current)
    names.sort(key=lambda name: (now.astimezone(zone(name)).utcoffset(), name))
    return [ZoneChoice(value=name, label=_option_label(name, now=now, hour12=hour12, locale=locale))
            for name in names]
