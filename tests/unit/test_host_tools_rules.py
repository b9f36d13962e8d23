"""Host tools' rules without a database: booking limits (days and weeks in the builder's zone), slugs and
the public address shape, a session type's own hours as the form writes them."""

from __future__ import annotations

from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from booking.core.slugs import RESERVED, is_reserved, is_type_slug, slugify, type_path
from booking.scheduling.limits import BookingLimits, InvalidLimit, LimitCounter, check_pair, parse_limit
from booking.workspace.type_settings import InvalidTypeSettings, check_type_slug, embed_snippet, parse_hours
from booking_ui.addresses import is_booking_address
from booking_ui.middleware import framable_path, page_csp

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
AUCKLAND = ZoneInfo("Pacific/Auckland")


def at(*args: int, zone=UTC) -> datetime:
    return datetime(*args, tzinfo=zone)


# --- limits ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("", None), ("  ", None), (None, None), ("4", 4), (" 12 ", 12),
                                               ("1000", 1000)])
def test_a_limit_is_blank_for_none_or_a_whole_number(raw, expected):
    assert parse_limit(raw, "The daily limit") == expected


@pytest.mark.parametrize("raw", ["0", "-1", "1001", "2.5", "four", "１２", "1e3"])
def test_other_limits_are_refused_with_a_message_that_names_the_field(raw):
    with pytest.raises(InvalidLimit, match="The daily limit"):
        parse_limit(raw, "The daily limit")


def test_a_daily_limit_above_the_weekly_one_is_refused():
    with pytest.raises(InvalidLimit, match=r"daily limit \(5\).*weekly limit \(4\)"):
        check_pair(5, 4)
    check_pair(4, 12)
    check_pair(None, 3)
    check_pair(3, None)


def test_four_a_day_twelve_a_week_in_the_builders_zone():
    limits = BookingLimits(builder_daily=4, builder_weekly=12)
    # Monday 7 Dec 2026 .. Wednesday: four each day (12 in the week), in London's zone.
    taken = [(1, at(2026, 12, day, hour)) for day in (7, 8, 9) for hour in (9, 10, 11, 12)]
    counter = LimitCounter(limits, LONDON, 1, taken[:3])
    assert counter.allows(at(2026, 12, 7, 15))  # 3 taken on Monday: one more
    counter = LimitCounter(limits, LONDON, 1, taken[:4])
    assert not counter.allows(at(2026, 12, 7, 15))  # the day is full
    assert counter.allows(at(2026, 12, 10, 9))
    counter = LimitCounter(limits, LONDON, 1, taken)
    assert not counter.allows(at(2026, 12, 10, 9))  # Thursday: the week's 12 are gone
    assert not counter.allows(at(2026, 12, 13, 20))  # ...until Sunday night
    assert counter.allows(at(2026, 12, 14, 9))  # the next Monday starts a new week


def test_days_are_the_builders_not_utcs():
    # 11:30 UTC on 7 Dec is 00:30 on 8 Dec in Auckland (UTC+13): the next day there.
    limits = BookingLimits(builder_daily=1)
    counter = LimitCounter(limits, AUCKLAND, 1, [(1, at(2026, 12, 7, 11, 30))])
    assert counter.allows(at(2026, 12, 7, 10, 30))  # 23:30 on the 7th in Auckland
    assert not counter.allows(at(2026, 12, 8, 2))  # 15:00 on the 8th in Auckland


def test_a_types_limit_counts_only_that_type_and_the_builders_counts_all():
    limits = BookingLimits(type_daily=1, builder_daily=3)
    taken = [(2, at(2026, 12, 7, 9)), (2, at(2026, 12, 7, 10))]  # another type's bookings
    counter = LimitCounter(limits, LONDON, 1, taken)
    assert counter.allows(at(2026, 12, 7, 11))
    counter = LimitCounter(limits, LONDON, 1, [*taken, (1, at(2026, 12, 7, 8))])
    assert not counter.allows(at(2026, 12, 7, 11))  # type 1's one a day is taken
    counter = LimitCounter(limits, LONDON, 3, [*taken, (1, at(2026, 12, 7, 8))])
    assert not counter.allows(at(2026, 12, 7, 11))  # the builder's 3 a day are taken, whatever the type


def test_no_limits_means_no_limit():
    assert not BookingLimits().any
    counter = LimitCounter(BookingLimits(), LONDON, 1, [(1, at(2026, 12, 7, h)) for h in range(24)])
    assert counter.allows(at(2026, 12, 7, 12))


# --- slugs and addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "slug"), [("Pairing", "pairing"), ("Pair programming (1 h)", "pair-programming-1-h"),
                                            ("Café crème", "cafe-creme"), ("1:1 call", "1-1-call"), ("2026", "session-2026"),
                                            ("!!!", "session"), ("", "session")])
def test_a_slug_is_made_from_the_name(name, slug):
    assert slugify(name) == slug
    assert is_type_slug(slug)


@pytest.mark.parametrize("bad", ["", "7", "Pairing", "pair--ing", "-pairing", "pairing-", "pair ing", "a" * 61, "pär"])
def test_a_type_slug_is_lower_case_words_and_never_only_digits(bad):
    assert not is_type_slug(bad)
    with pytest.raises(InvalidTypeSettings):
        check_type_slug(bad) if bad.lower() == bad else check_type_slug(bad + " x")


def test_a_type_slug_is_folded_to_lower_case():
    assert check_type_slug("  Pairing ") == "pairing"


def test_the_apps_own_first_segments_are_reserved_and_never_booking_addresses():
    for word in ("admin", "api", "manage", "payment", "book", "b", "calendar"):
        assert is_reserved(word) and word in RESERVED
        assert not is_booking_address(f"/{word}/pairing")
    assert is_booking_address("/ada/pairing") and is_booking_address("/ada/7")
    assert not is_booking_address("/ada") and not is_booking_address("/ada/pairing/extra")
    assert type_path("ada", "pairing", 7) == "/ada/pairing" and type_path("ada", None, 7) == "/ada/7"


def test_only_public_booking_pages_may_be_framed():
    assert framable_path("/ada/pairing") and framable_path("/b/ada")
    for path in ("/admin", "/admin/bookings", "/admin/login", "/manage/abc", "/api/session-types", "/",
                 "/payment/success", "/book/7"):
        assert not framable_path(path), path
    assert "frame-ancestors 'none'" in page_csp(())
    assert "frame-ancestors *" in page_csp((), framable=True)


def test_the_embed_snippet_is_an_iframe_of_the_booking_page_with_an_escaped_title():
    snippet = embed_snippet(public_url="https://book.example/", path="/ada/pairing", title='Book "Pair" <with> Ada')
    assert snippet.startswith('<iframe src="https://book.example/ada/pairing"')
    assert 'title="Book &quot;Pair&quot; &lt;with> Ada"' in snippet


# --- a type's own hours --------------------------------------------------------------------------------


def test_hours_are_one_window_a_line():
    assert parse_hours("mon 09:00-12:00\n\nWednesday 14:00 – 17:30\n") == [
        (0, time(9), time(12)), (2, time(14), time(17, 30))]
    assert parse_hours("") == []


@pytest.mark.parametrize(("text", "says"), [("monday", "Line 1"), ("mon 12:00-09:00", "end after"),
                                            ("mon 09:00-12:00\nfoo 1:00-2:00", "Line 2"),
                                            ("tue 25:00-26:00", "doesn't exist")])
def test_bad_hours_name_the_line(text, says):
    with pytest.raises(InvalidTypeSettings) as caught:
        parse_hours(text)
    assert says in caught.value.errors["hours"]


def test_limit_days_follow_the_zone_across_a_dst_change():
    # London: clocks go back at 01:00 UTC on 25 Oct 2026. 23:30 UTC on the 25th is 23:30 local (GMT),
    # 23:30 UTC on the 24th is 00:30 on the 25th (BST).
    limits = BookingLimits(builder_daily=1)
    counter = LimitCounter(limits, LONDON, 1, [(1, at(2026, 10, 24, 23, 30))])
    assert not counter.allows(at(2026, 10, 25, 12))  # same local day (the 25th)
    assert counter.allows(at(2026, 10, 24, 22, 30))  # 23:30 BST on the 24th
    counter = LimitCounter(limits, LONDON, 1, [(1, at(2026, 10, 25, 0, 30))])  # 01:30 BST, the change's day
    assert not counter.allows(at(2026, 10, 25, 23, 30))
    assert counter.allows(at(2026, 10, 26, 0, 30))


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York", "Pacific/Auckland", "Asia/Kolkata",
                                  "Australia/Lord_Howe", "America/St_Johns"])
def test_the_fast_day_lookup_agrees_with_the_zone_every_half_hour_of_a_year(zone):
    from datetime import timedelta

    from booking.scheduling.limits import local_day_and_week

    tz = ZoneInfo(zone)
    counter = LimitCounter(BookingLimits(builder_daily=1), tz, 1, [])
    moment = at(2026, 1, 1)
    while moment < at(2027, 1, 1):
        assert counter._day_and_week(moment) == local_day_and_week(moment, tz), moment
        moment += timedelta(minutes=30)
