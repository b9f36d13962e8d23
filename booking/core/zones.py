"""Time zones as a person reads them: canonical IANA names and friendly labels.

Browsers still report legacy names (`Asia/Calcutta`, `Europe/Kiev`, `US/Eastern`); the tz database keeps
them only as links, so they are mapped to the canonical name before anything is stored or shown.
Friendly names ("Eastern Time") come from a small table; any other zone is named after its city.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from booking.core.time import load_zone

UTC_NAME = "UTC"

# Legacy and alias names -> the tz database's canonical zone (from its `backward` file).
ALIASES: dict[str, str] = {
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "Asia/Dacca": "Asia/Dhaka",
    "Asia/Thimbu": "Asia/Thimphu",
    "Asia/Ulan_Bator": "Asia/Ulaanbaatar",
    "Asia/Ujung_Pandang": "Asia/Makassar",
    "Asia/Chongqing": "Asia/Shanghai",
    "Asia/Chungking": "Asia/Shanghai",
    "Asia/Harbin": "Asia/Shanghai",
    "Asia/Macao": "Asia/Macau",
    "Asia/Tel_Aviv": "Asia/Jerusalem",
    "Asia/Istanbul": "Europe/Istanbul",
    "Asia/Ashkhabad": "Asia/Ashgabat",
    "Europe/Kiev": "Europe/Kyiv",
    "Europe/Uzhgorod": "Europe/Kyiv",
    "Europe/Zaporozhye": "Europe/Kyiv",
    "Europe/Belfast": "Europe/London",
    "Europe/Nicosia": "Asia/Nicosia",
    "Atlantic/Faeroe": "Atlantic/Faroe",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Cordoba": "America/Argentina/Cordoba",
    "America/Indianapolis": "America/Indiana/Indianapolis",
    "America/Fort_Wayne": "America/Indiana/Indianapolis",
    "America/Louisville": "America/Kentucky/Louisville",
    "America/Montreal": "America/Toronto",
    "America/Godthab": "America/Nuuk",
    "America/Shiprock": "America/Denver",
    "America/Ensenada": "America/Tijuana",
    "Pacific/Truk": "Pacific/Chuuk",
    "Pacific/Ponape": "Pacific/Pohnpei",
    "Pacific/Enderbury": "Pacific/Kanton",
    "Pacific/Samoa": "Pacific/Pago_Pago",
    "Australia/ACT": "Australia/Sydney",
    "Australia/NSW": "Australia/Sydney",
    "Australia/Canberra": "Australia/Sydney",
    "Australia/Victoria": "Australia/Melbourne",
    "Australia/Queensland": "Australia/Brisbane",
    "Australia/South": "Australia/Adelaide",
    "Australia/West": "Australia/Perth",
    "Australia/North": "Australia/Darwin",
    "Australia/Tasmania": "Australia/Hobart",
    "US/Eastern": "America/New_York",
    "US/Central": "America/Chicago",
    "US/Mountain": "America/Denver",
    "US/Pacific": "America/Los_Angeles",
    "US/Alaska": "America/Anchorage",
    "US/Hawaii": "Pacific/Honolulu",
    "US/Arizona": "America/Phoenix",
    "US/Michigan": "America/Detroit",
    "Canada/Eastern": "America/Toronto",
    "Canada/Central": "America/Winnipeg",
    "Canada/Mountain": "America/Edmonton",
    "Canada/Pacific": "America/Vancouver",
    "Canada/Atlantic": "America/Halifax",
    "Canada/Newfoundland": "America/St_Johns",
    "Brazil/East": "America/Sao_Paulo",
    "Mexico/General": "America/Mexico_City",
    "Chile/Continental": "America/Santiago",
    "GB": "Europe/London",
    "GB-Eire": "Europe/London",
    "Eire": "Europe/Dublin",
    "Portugal": "Europe/Lisbon",
    "Poland": "Europe/Warsaw",
    "Turkey": "Europe/Istanbul",
    "Egypt": "Africa/Cairo",
    "Israel": "Asia/Jerusalem",
    "Iran": "Asia/Tehran",
    "Japan": "Asia/Tokyo",
    "ROK": "Asia/Seoul",
    "ROC": "Asia/Taipei",
    "PRC": "Asia/Shanghai",
    "Hongkong": "Asia/Hong_Kong",
    "Singapore": "Asia/Singapore",
    "NZ": "Pacific/Auckland",
    "Etc/UTC": UTC_NAME,
    "Etc/UCT": UTC_NAME,
    "Etc/Universal": UTC_NAME,
    "Etc/Zulu": UTC_NAME,
    "Etc/GMT": UTC_NAME,
    "Etc/GMT0": UTC_NAME,
    "Etc/GMT+0": UTC_NAME,
    "Etc/GMT-0": UTC_NAME,
    "Etc/Greenwich": UTC_NAME,
    "GMT": UTC_NAME,
    "GMT0": UTC_NAME,
    "Greenwich": UTC_NAME,
    "UCT": UTC_NAME,
    "Universal": UTC_NAME,
    "Zulu": UTC_NAME,
}

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


def canonical_zone(name: str) -> str:
    """The canonical IANA name for `name` (a legacy alias is mapped); ValueError for an unknown zone."""
    cleaned = (name or "").strip()
    canonical = ALIASES.get(cleaned, cleaned)
    load_zone(canonical)  # raises ValueError for anything the tz database does not know
    return canonical


def canonical_zone_or_utc(name: str) -> str:
    try:
        return canonical_zone(name)
    except ValueError:
        return UTC_NAME


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


def format_clock(moment: datetime, *, hour12: bool) -> str:
    """'17:42' or '5:42 PM'."""
    if not hour12:
        return f"{moment:%H:%M}"
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment:%M} {'AM' if moment.hour < 12 else 'PM'}"


def zone_label(name: str, *, now: datetime, hour12: bool = False) -> str:
    """'Eastern Time — 17:42': the friendly name and the current local time there."""
    zone = ZoneInfo(canonical_zone_or_utc(name))
    return f"{friendly_zone_name(name)} — {format_clock(now.astimezone(zone), hour12=hour12)}"


@dataclass(frozen=True)
class ZoneChoice:
    value: str  # the canonical IANA name
    label: str  # "Eastern Time (New York) — 17:42"


def _option_label(name: str, *, now: datetime, hour12: bool) -> str:
    friendly = friendly_zone_name(name)
    city = city_of(name)
    named = friendly if name == UTC_NAME or city in friendly else f"{friendly} ({city})"
    return f"{named} — {format_clock(now.astimezone(ZoneInfo(name)), hour12=hour12)}"


def zone_choices(current: str, *, now: datetime, hour12: bool = False) -> list[ZoneChoice]:
    """The zone menu, west to east by the current UTC offset, always including `current`."""
    names = list(COMMON_ZONES)
    current = canonical_zone_or_utc(current)
    if current not in names:
        names.append(current)
    names.sort(key=lambda zone: (now.astimezone(ZoneInfo(zone)).utcoffset(), zone))
    return [ZoneChoice(value=zone, label=_option_label(zone, now=now, hour12=hour12)) for zone in names]
