"""booking.core.time: the one zone loader and the Babel formatters, in the viewer's zone and locale."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from babel import dates as babel_dates
from hypothesis import given
from hypothesis import strategies as st

from booking.core.time import (
    ALIASES,
    DEFAULT_LOCALE,
    UnknownZone,
    canonical_zone,
    format_date,
    format_datetime,
    format_money,
    format_time,
    format_time_range,
    month_title,
    uses_12_hour_clock,
    viewer_locale,
    zone,
    zone_or_utc,
)

ZONES = sorted(available_timezones())
LOCALES = ["en_GB", "en-US", "de-DE", "ja_JP", "fr", "ar", "hi_IN", "zh-Hant-TW", "pt-BR", "", None, "xx-YY"]
STYLES = ["full", "weekday_day_month", "short", "short_year", "medium", "day_month", "day_month_long", "month_year", "iso"]
INSTANTS = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC))


# --- the loader ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("reported", "canonical"), [
    ("Asia/Calcutta", "Asia/Kolkata"),
    ("US/Eastern", "America/New_York"),
    ("Europe/Kiev", "Europe/Kyiv"),
    ("Etc/UTC", "UTC"),
    ("GMT", "UTC"),
    (" Europe/London ", "Europe/London"),
])
def test_the_loader_gives_the_canonical_zone(reported: str, canonical: str) -> None:
    assert zone(reported).key == canonical
    assert canonical_zone(reported) == canonical


def test_every_alias_points_at_a_zone_the_tz_database_knows() -> None:
    for alias, canonical in ALIASES.items():
        assert zone(alias) == ZoneInfo(canonical), alias


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", "   ", "../../etc/passwd", "/etc/localtime", "Europe/",
                                  "Europe\\London", None, 42])
def test_an_unknown_zone_is_a_clear_error(name: object) -> None:
    with pytest.raises(UnknownZone, match="Unknown time zone"):
        zone(name)  # type: ignore[arg-type]
    assert isinstance(UnknownZone(name), ValueError)  # callers that catch ValueError keep working
    assert zone_or_utc(name if isinstance(name, str) else None).key == "UTC"


def test_the_loader_is_cached() -> None:
    assert zone("Asia/Calcutta") is zone("Asia/Calcutta")


# --- locales -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("tag", "expected"), [
    ("en-US", "en_US"), ("en_US", "en_US"), ("de", "de"), ("pt-BR", "pt_BR"), ("de-DE,de;q=0.9", "de_DE"),
    ("", DEFAULT_LOCALE), (None, DEFAULT_LOCALE), ("klingon", DEFAULT_LOCALE), ("x" * 100, DEFAULT_LOCALE),
])
def test_browser_tags_become_locales(tag: str | None, expected: str) -> None:
    assert str(viewer_locale(tag)) == expected


def test_the_clock_follows_the_locale_unless_the_viewer_chose() -> None:
    moment = datetime(2027, 1, 5, 19, 5, tzinfo=UTC)
    assert uses_12_hour_clock("en-US") and not uses_12_hour_clock("en-GB") and not uses_12_hour_clock("de")
    assert format_time(moment, zone="Europe/London") == "19:05"
    assert format_time(moment, zone="Europe/London", locale="en-US") == "7:05 PM"
    assert format_time(moment, zone="Europe/London", locale="en-US", hour12=False) == "19:05"
    assert format_time(moment, zone="Europe/London", hour12=True) == "7:05 PM"
    assert format_time(moment, zone="Europe/London", locale="de-DE") == "19:05"
    assert format_time(moment, zone="Asia/Tokyo", abbreviation=True) == "04:05 JST"


# --- dates and times: today's English text, other locales as CLDR writes them ---------------------


MOMENT = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(("style", "shown"), [
    ("full", "Tuesday 1 December 2026"),
    ("weekday_day_month", "Tuesday 1 December"),
    ("short", "Tue 1 Dec"),
    ("short_year", "Tue 1 Dec 2026"),
    ("medium", "1 Dec 2026"),
    ("day_month", "1 Dec"),
    ("day_month_long", "1 December"),
    ("month_year", "December 2026"),
    ("iso", "2026-12-01"),
])
def test_dates_in_the_default_locale_read_as_they_always_have(style: str, shown: str) -> None:
    assert format_date(MOMENT, zone="Europe/London", style=style) == shown  # type: ignore[arg-type]


def test_september_keeps_its_short_name() -> None:
    assert format_date(date(2026, 9, 1), style="short") == "Tue 1 Sep"
    assert format_date(date(2026, 9, 1), style="full") == "Tuesday 1 September 2026"


@pytest.mark.parametrize(("locale", "full", "short"), [
    ("en-US", "Tuesday, December 1, 2026", "Tue, Dec 1"),
    ("de-DE", "Dienstag, 1. Dezember 2026", "Di., 1. Dez."),
    ("ja_JP", "2026年12月1日火曜日", "12月1日(火)"),
])
def test_other_locales_get_their_own_order_and_names(locale: str, full: str, short: str) -> None:
    assert format_date(MOMENT, zone="UTC", locale=locale) == full
    assert format_date(MOMENT, zone="UTC", locale=locale, style="short") == short


def test_the_day_is_the_viewers_day() -> None:
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert format_date(late, zone="Asia/Tokyo", style="short") == "Wed 2 Dec"
    assert format_date(late, zone="America/Los_Angeles", style="short") == "Tue 1 Dec"


def test_datetimes_and_ranges_in_the_default_locale() -> None:
    start = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert format_datetime(start, zone="America/New_York") == "Tue 1 Dec, 09:00 EST"
    assert format_datetime(start, zone="Asia/Dubai") == "Tue 1 Dec, 18:00 UTC+04"
    assert format_datetime(start, zone="Europe/London", date_style="iso") == "2026-12-01 14:00 GMT"
    assert format_time_range(start, start + timedelta(hours=1), zone="America/New_York") == \
        "Tuesday 1 December 2026, 09:00–10:00 EST"
    assert format_time_range(start, start + timedelta(hours=1), zone="UTC", date_style=None, hour12=True,
                             abbreviation=False, dash=" – ") == "2:00 PM – 3:00 PM"
    assert month_title(2027, 1) == "January 2027"
    assert month_title(2027, 1, locale="de") == "Januar 2027"


def test_a_range_in_japanese_joins_without_english_punctuation() -> None:
    start = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    assert format_time_range(start, start + timedelta(hours=1), zone="Asia/Tokyo", locale="ja_JP") == \
        "2026年12月1日火曜日 14:00–15:00 JST"


@given(instant=INSTANTS, zone_name=st.sampled_from(ZONES), locale=st.sampled_from(LOCALES),
       style=st.sampled_from(STYLES), hour12=st.sampled_from([None, True, False]),
       minutes=st.integers(min_value=1, max_value=60 * 30))
def test_formatting_never_raises_for_any_zone_instant_or_locale(instant: datetime, zone_name: str, locale: str | None,
                                                                 style: str, hour12: bool | None,
                                                                 minutes: int) -> None:
    end = instant + timedelta(minutes=minutes)
    assert format_date(instant, zone=zone_name, locale=locale, style=style)  # type: ignore[arg-type]
    assert format_time(instant, zone=zone_name, locale=locale, hour12=hour12, abbreviation=True)
    assert format_datetime(instant, zone=zone_name, locale=locale, hour12=hour12)
    assert format_time_range(instant, end, zone=zone_name, locale=locale, hour12=hour12)


@given(instant=st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2098, 12, 31), timezones=st.just(UTC)),
       zone_name=st.sampled_from(ZONES), locale=st.sampled_from(["en_GB", "en_US", "de_DE", "ja_JP"]))
def test_the_date_part_reads_back_as_the_viewers_calendar_day(instant: datetime, zone_name: str, locale: str) -> None:
    local_day = instant.astimezone(ZoneInfo(zone_name)).date()
    assert date.fromisoformat(format_date(instant, zone=zone_name, locale=locale, style="iso")) == local_day
    shown = format_date(instant, zone=zone_name, locale=locale, style="full")
    named_month = babel_dates.get_month_names("wide", locale=locale)[local_day.month]
    assert str(local_day.year) in shown and named_month in shown and str(local_day.day) in shown
    english = {"en_GB": "%A %d %B %Y", "en_US": "%A, %B %d, %Y"}
    if locale in english:  # the full English text parses back to the same day
        assert datetime.strptime(shown, english[locale]).date() == local_day


@given(instant=INSTANTS, zone_name=st.sampled_from(ZONES))
def test_the_default_full_date_names_the_local_weekday_day_month_and_year(instant: datetime, zone_name: str) -> None:
    local = instant.astimezone(ZoneInfo(zone_name))
    assert format_date(instant, zone=zone_name) == f"{local:%A} {local.day} {local:%B} {local.year}"


# --- money ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "currency", "locale", "shown"), [
    (5000, "gbp", "en_GB", "£50.00"),
    (5000, "usd", "en_GB", "$50.00"),  # English readers keep the plain symbols
    (5000, "eur", "en_GB", "€50.00"),
    (5000, "jpy", "en_GB", "¥5,000"),
    (5000, "krw", "en_GB", "₩5,000"),
    (1234567, "bhd", "en_GB", "BHD\u00a01,234.567"),
    (123456, "usd", "en_US", "$1,234.56"),
    (5000, "gbp", "en_US", "£50.00"),
    (5000, "jpy", "en_US", "¥5,000"),
    (5000, "krw", "en_US", "₩5,000"),
    (1234567, "bhd", "en_US", "BHD\u00a01,234.567"),
    (123456, "eur", "en_US", "€1,234.56"),
    (123456, "eur", "de_DE", "1.234,56\u00a0€"),
    (123456, "usd", "de_DE", "1.234,56\u00a0$"),
    (5000, "gbp", "de_DE", "50,00\u00a0£"),
    (500000, "jpy", "de_DE", "500.000\u00a0¥"),
    (5000, "krw", "de_DE", "5.000\u00a0₩"),
    (1234567, "bhd", "de_DE", "1.234,567\u00a0BHD"),
    (5000, "jpy", "ja_JP", "￥5,000"),
    (123456, "usd", "ja_JP", "$1,234.56"),
    (5000, "gbp", "ja_JP", "£50.00"),
    (123456, "eur", "ja_JP", "€1,234.56"),
    (5000, "krw", "ja_JP", "₩5,000"),
    (1234567, "bhd", "ja_JP", "BHD\u00a01,234.567"),
])
def test_money_in_each_locale(amount: int, currency: str, locale: str, shown: str) -> None:
    assert format_money(amount, currency, locale=locale) == shown


@pytest.mark.parametrize(("amount", "currency", "locale", "shown"), [
    (-6300, "gbp", None, "−£63.00"),
    (-6300, "usd", "en-US", "−$63.00"),
    (-6300, "eur", "de-DE", "−63,00\u00a0€"),
    (-500, "jpy", "ja_JP", "−￥500"),
    (-1, "bhd", None, "−BHD\u00a00.001"),
])
def test_negative_amounts_carry_a_true_minus_sign(amount: int, currency: str, locale: str | None, shown: str) -> None:
    assert format_money(amount, currency, locale=locale) == shown


@given(amount=st.integers(min_value=-99_999_999, max_value=99_999_999),
       currency=st.sampled_from(["gbp", "usd", "eur", "jpy", "krw", "bhd", "kwd", "chf", "inr", "xyz"]),
       locale=st.sampled_from(LOCALES))
def test_money_shows_exactly_the_currencys_decimals(amount: int, currency: str, locale: str | None) -> None:
    shown = format_money(amount, currency, locale=locale)
    places = {"jpy": 0, "krw": 0, "bhd": 3, "kwd": 3}.get(currency, 2)
    digits = [ch for ch in shown if ch.isdigit()]
    assert int("".join(digits)) == abs(amount)  # grouping aside, every minor unit is on the page
    assert shown.startswith("\u2212") == (amount < 0)
    if locale in ("en_GB", "en-US", None, ""):
        if places:
            assert sum(ch.isdigit() for ch in shown.rsplit(".", 1)[1]) == places
        else:
            assert "." not in shown
