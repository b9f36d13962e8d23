"""Time and money as a person reads them: the one time-zone loader and the one family of formatters.

Loading a zone
    `zone(name)` is the only way `booking` turns a zone name into a `ZoneInfo`. It maps the legacy names
    browsers still report (`Asia/Calcutta`, `US/Eastern`, `Etc/UTC`) to the tz database's canonical name,
    raises `UnknownZone` (a `ValueError`) for anything else, and caches. `zone_or_utc` is the lenient form
    for text that must render whatever was stored (emails, admin tables): an unknown name reads as UTC.

Formatting for a viewer
    Every formatter takes the instant (tz-aware; stored instants are UTC), the viewer's zone and the
    viewer's locale, and returns text built with Babel (CLDR):

        format_date(instant_or_date, zone=..., locale=..., style=...)   'Tuesday 5 January 2027'
        format_time(instant, zone=..., locale=..., hour12=None)         '14:00' / '2:00 PM'
        format_datetime(instant, zone=..., locale=...)                  'Tue 5 Jan, 14:00 GMT'
        format_time_range(start, end, zone=..., locale=..., ...)        'Tuesday 5 January 2027, 14:00–15:00 GMT'
        format_when(start, end, time_zone, locale=...)                  a booking's time, as its client reads it
        format_money(amount, currency, locale=...)                      '£50.00', '¥5,000', '−£63.00'

    A locale is a Babel `Locale` or a tag as a browser sends it (`en-US`, `de`, `pt_BR`); a missing or
    unknown tag is `DEFAULT_LOCALE`. `hour12=None` follows the locale's clock; True/False is the viewer's
    explicit choice (the booking page's 12h/24h switch).

House text for English
    The default locale, `en_GB`, keeps the text the app has always shown where CLDR's differs in
    punctuation or case only ("Tuesday 5 January 2027", "Tue 5 Jan 2027", "2:00 PM", "Sep"). Every English locale keeps the
    `en` currency symbols ("$", "¥", "A$" rather than en_GB's "US$", "JP¥"), so a price reads the same to
    every English reader. All other locales are CLDR's as Babel gives them. Negative amounts carry a true
    minus sign (U+2212): "−£63.00".

Wire formats (ICS, ISO 8601 in JSON and HTML attributes) are not display text and do not come here.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers

from booking.core.money import decimals, normalise_currency, to_major_units

UTC_NAME = "UTC"
DEFAULT_LOCALE = "en_GB"
MINUS_SIGN = "\u2212"

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


# --- loading a zone -------------------------------------------------------------------------------


class UnknownZone(ValueError):
    """A time-zone name the tz database does not know (after mapping legacy names)."""

    def __init__(self, name: object) -> None:
        self.name = name
        super().__init__(f"Unknown time zone {name!r}: expected an IANA name such as 'Europe/London'")


def canonical_zone(name: str) -> str:
    """The canonical IANA name for `name` ('Asia/Calcutta' -> 'Asia/Kolkata'); UnknownZone otherwise."""
    return zone(name).key


def canonical_zone_or_utc(name: str | None) -> str:
    return zone_or_utc(name).key


def zone(name: str) -> ZoneInfo:
    """The one zone loader: canonical name, cached; `UnknownZone` for anything else."""
    if not isinstance(name, str):
        raise UnknownZone(name)
    return _load(name.strip())


@lru_cache(maxsize=1024)
def _load(name: str) -> ZoneInfo:
    canonical = ALIASES.get(name, name)
    if not canonical or canonical.startswith(("/", ".")) or "\\" in canonical:
        raise UnknownZone(name)
    try:
        return ZoneInfo(canonical)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise UnknownZone(name) from exc


load_zone = zone  # the same loader, under the name the rest of `booking` has long used


def zone_or_utc(name: str | None) -> ZoneInfo:
    """`zone(name)`, or UTC for a missing or unknown name (text about a stored booking must still render)."""
    try:
        return zone(name or UTC_NAME)
    except UnknownZone:
        return zone(UTC_NAME)


ZoneLike = ZoneInfo | tzinfo | str


def _as_zone(value: ZoneLike | None) -> tzinfo:
    if value is None:
        return zone(UTC_NAME)
    if isinstance(value, str):
        return zone_or_utc(value)
    return value


def local(instant: datetime, zone_: ZoneLike) -> datetime:
    """The instant as a wall-clock reading in `zone_` (a naive instant is taken as UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=zone(UTC_NAME))
    return instant.astimezone(_as_zone(zone_))


def zone_abbreviation(moment: datetime) -> str:
    """GMT, BST, EST, EDT...; zones without a letter abbreviation get "UTC+04" rather than "+04"."""
    name = moment.tzname() or UTC_NAME
    return f"UTC{name}" if name[0] in "+-" else name


# --- the viewer's locale --------------------------------------------------------------------------


LocaleLike = Locale | str | None


def viewer_locale(tag: LocaleLike = None) -> Locale:
    """A Babel Locale for a browser tag ('en-US', 'de', 'pt_BR'); a missing or unknown tag is the default."""
    if isinstance(tag, Locale):
        return tag
    return _parse_locale(str(tag or "").strip())


@lru_cache(maxsize=256)
def _parse_locale(tag: str) -> Locale:
    cleaned = tag.split(",")[0].split(";")[0].strip().replace("-", "_")
    if cleaned and len(cleaned) <= 35:
        try:
            return Locale.parse(cleaned)
        except (UnknownLocaleError, ValueError, TypeError):
            pass
    return Locale.parse(DEFAULT_LOCALE)


_LOCALE_TAG = re.compile(r"[A-Za-z]{2,8}(_[A-Za-z0-9]{1,8}){0,3}")


def known_locale_tag(tag: object) -> str | None:
    """A browser's locale tag, checked and normalised for keeping ('fr_fr' -> 'fr-FR'); None for anything
    Babel does not know (no fallback to the default: a kept None means "not known")."""
    cleaned = tag.strip().replace("-", "_") if isinstance(tag, str) else ""
    if not _LOCALE_TAG.fullmatch(cleaned):
        return None
    try:
        return str(Locale.parse(cleaned)).replace("_", "-")
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def locale_tag(locale: LocaleLike) -> str:
    """'en_US' -> 'en-US' (the form kept in state and sent back by browsers)."""
    return str(viewer_locale(locale)).replace("_", "-")


def _is_house(locale: Locale) -> bool:
    return str(locale) == DEFAULT_LOCALE


def uses_12_hour_clock(locale: LocaleLike = None) -> bool:
    """Whether the locale's own short time is written with a 12-hour clock (en-US: yes; en-GB, de: no)."""
    pattern = viewer_locale(locale).time_formats["short"].pattern
    return any(letter in pattern.replace("'", "") for letter in "hK")


# --- dates ----------------------------------------------------------------------------------------


DateStyle = Literal["full", "weekday_day_month", "short", "short_year", "medium", "day_month", "day_month_long",
                    "month_year", "iso"]

# style -> (the house pattern for en_GB, the CLDR way for every other locale: a skeleton or a standard form)
_DATE_STYLES: dict[str, tuple[str, str]] = {
    "full": ("EEEE d MMMM y", "full"),  # Tuesday 5 January 2027
    "weekday_day_month": ("EEEE d MMMM", "MMMMEEEEd"),  # Tuesday 5 January
    "short": ("EEE d MMM", "MMMEd"),  # Tue 5 Jan
    "short_year": ("EEE d MMM y", "yMMMEd"),  # Tue 5 Jan 2027
    "medium": ("d MMM y", "yMMMd"),  # 5 Jan 2027
    "day_month": ("d MMM", "MMMd"),  # 5 Jan
    "day_month_long": ("d MMMM", "MMMMd"),  # 5 January
    "month_year": ("MMMM y", "yMMMM"),  # January 2027
}
_STANDARD = ("full", "long", "medium", "short")
_SEPT = re.compile(r"\bSept\b")


def format_date(value: date | datetime, *, zone: ZoneLike | None = None, locale: LocaleLike = None,
                style: DateStyle = "full") -> str:
    """The day of `value` (an instant, read in `zone`; or a calendar date) in the viewer's locale."""
    day = local(value, zone if zone is not None else UTC_NAME).date() if isinstance(value, datetime) else value
    if style == "iso":  # sortable tables: the same in every locale
        return day.isoformat()
    loc = viewer_locale(locale)
    house, cldr = _DATE_STYLES[style]
    if _is_house(loc):  # en_GB's CLDR "Sept" stays the house's "Sep"
        return _SEPT.sub("Sep", babel_dates.format_date(day, house, locale=loc))
    if cldr in _STANDARD:
        return babel_dates.format_date(day, cldr, locale=loc)
    return babel_dates.format_skeleton(cldr, day, locale=loc, fuzzy=True)


def month_title(year: int, month: int, *, locale: LocaleLike = None) -> str:
    """'January 2027' (the calendar's heading)."""
    return format_date(date(year, month, 1), locale=locale, style="month_year")


# --- times ----------------------------------------------------------------------------------------


def format_time(instant: datetime, *, zone: ZoneLike, locale: LocaleLike = None, hour12: bool | None = None,
                seconds: bool = False, abbreviation: bool = False) -> str:
    """'14:00' or '2:00 PM' in `zone` ('14:00 GMT' with `abbreviation`); `hour12=None` follows the locale."""
    moment = local(instant, zone)
    text = _clock(moment, viewer_locale(locale), hour12, seconds)
    return f"{text} {zone_abbreviation(moment)}" if abbreviation else text


def _clock(moment: datetime, loc: Locale, hour12: bool | None, seconds: bool) -> str:
    twelve = uses_12_hour_clock(loc) if hour12 is None else hour12
    skeleton = ("hms" if seconds else "hm") if twelve else ("Hms" if seconds else "Hm")
    naive = moment.replace(tzinfo=None)  # the wall clock is already right; Babel must not convert it again
    if _is_house(loc):
        text = babel_dates.format_time(naive, "h:mm:ss a" if twelve and seconds else "h:mm a" if twelve else
                                       "HH:mm:ss" if seconds else "HH:mm", locale=loc)
        return text.replace("am", "AM").replace("pm", "PM")  # the house's English clock: "2:00 PM"
    return babel_dates.format_skeleton(skeleton, naive, locale=loc, fuzzy=True)


def format_datetime(instant: datetime, *, zone: ZoneLike, locale: LocaleLike = None, date_style: DateStyle = "short",
                    hour12: bool | None = None, seconds: bool = False, abbreviation: bool = True) -> str:
    """'Tue 5 Jan, 14:00 GMT' ('2027-01-05 14:00 GMT' with date_style='iso')."""
    moment = local(instant, zone)
    day = format_date(moment, zone=moment.tzinfo, locale=locale, style=date_style)
    clock = format_time(moment, zone=moment.tzinfo, locale=locale, hour12=hour12, seconds=seconds,
                        abbreviation=abbreviation)
    return f"{day} {clock}" if date_style == "iso" else _join(day, clock, viewer_locale(locale))


def _join(day: str, clock: str, loc: Locale) -> str:
    """A day and a time as the locale joins them ('Tue 5 Jan, 14:00'; Japanese: '1月5日(火) 14:00')."""
    pattern = str(loc.datetime_formats.get("medium", "{1}, {0}"))
    return pattern.replace("'", "").replace("{1}", day).replace("{0}", clock)


def format_when(start: datetime, end: datetime, time_zone: str, *, locale: LocaleLike = None,
                hour12: bool | None = None) -> str:
    """A booking's time for its client: 'Tuesday 1 December 2026, 09:00–10:00 EST' (the client's chosen
    clock, `Booking.client_hour12`; None: the locale's)."""
    return format_time_range(start, end, zone=time_zone, locale=locale, date_style="full", hour12=hour12)


def format_time_range(start: datetime, end: datetime, *, zone: ZoneLike, locale: LocaleLike = None,
                      date_style: DateStyle | None = "full", hour12: bool | None = None, abbreviation: bool = True,
                      dash: str = "–") -> str:
    """A session's time in the viewer's zone.

    'Tuesday 5 January 2027, 14:00–15:00 GMT'; with `date_style=None` only the times ('14:00–15:00').
    A session across midnight names the end's day too; one across a clock change names both abbreviations.
    """
    local_start, local_end = local(start, zone), local(end, zone)
    loc = viewer_locale(locale)

    def clock(moment: datetime) -> str:
        return _clock(moment, loc, hour12, False)

    start_abbr, end_abbr = zone_abbreviation(local_start), zone_abbreviation(local_end)
    day = format_date(local_start, zone=local_start.tzinfo, locale=loc, style=date_style) if date_style else ""

    def dated(times: str) -> str:
        return _join(day, times, loc) if day else times

    if local_end.date() != local_start.date() and date_style:
        end_day = format_date(local_end, zone=local_end.tzinfo, locale=loc, style="short")
        end_text = _join(end_day, clock(local_end), loc) + (f" {end_abbr}" if abbreviation else "")
        return dated(clock(local_start) + (f" {start_abbr}" if abbreviation else "") + f" – {end_text}")
    if abbreviation and start_abbr != end_abbr:  # the clocks change during the session
        return dated(f"{clock(local_start)} {start_abbr} – {clock(local_end)} {end_abbr}")
    text = dated(f"{clock(local_start)}{dash}{clock(local_end)}")
    return f"{text} {start_abbr}" if abbreviation else text


# --- money ----------------------------------------------------------------------------------------


def format_money(amount: int, currency: str, *, locale: LocaleLike = None) -> str:
    """5000 gbp -> '£50.00'; 5000 jpy -> '¥5,000'; 1234567 bhd -> 'BHD 1,234.567'; -6300 gbp -> '−£63.00'.

    `amount` is in minor units (Stripe's convention); the digits shown follow the currency (zero-decimal
    JPY/KRW, three-decimal BHD/KWD), the symbol, grouping and order follow the viewer's locale.
    """
    code = normalise_currency(currency)
    loc = viewer_locale(locale)
    major = to_major_units(amount, code)
    places = decimals(code)
    upper = code.upper()
    pattern = loc.currency_formats["standard"].pattern.split(";")[0]
    pattern = _with_digits(pattern, places)
    symbol = babel_numbers.get_currency_symbol(upper, locale=loc)
    if loc.language == "en":  # every English reader sees the same symbols ("$", "¥", "A$")
        symbol = babel_numbers.get_currency_symbol(upper, locale="en")
    text = babel_numbers.format_currency(abs(major), upper, format=pattern.replace("¤", "'\u0000'"), locale=loc,
                                         currency_digits=False)
    text = text.replace("\u0000", _spaced(symbol, pattern))
    return MINUS_SIGN + text if major < 0 else text


def _with_digits(pattern: str, places: int) -> str:
    """The locale's currency pattern (its grouping kept) with the currency's own number of decimals."""
    first = min(i for i, ch in enumerate(pattern) if ch in "#0")
    last = max(i for i, ch in enumerate(pattern) if ch in "#0")
    integer = pattern[first:last + 1].split(".")[0]
    return pattern[:first] + integer + ("." + "0" * places if places else "") + pattern[last + 1:]


def _spaced(symbol: str, pattern: str) -> str:
    """CLDR's currency spacing: a symbol ending (or starting) in a letter keeps a no-break space from the digits."""
    before = pattern.index("¤") < min(i for i, ch in enumerate(pattern) if ch in "#0")
    if before and symbol[-1].isalpha() and "\u00a0" not in pattern and " " not in pattern:
        return symbol + "\u00a0"
    if not before and symbol[0].isalpha() and "\u00a0" not in pattern and " " not in pattern:
        return "\u00a0" + symbol
    return symbol
