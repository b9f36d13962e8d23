"""Zone names as people read them, from the names browsers report."""

from datetime import UTC, datetime

import pytest

from booking.core.time import format_time
from booking.core.zones import (
    COMMON_ZONES,
    canonical_zone,
    canonical_zone_or_utc,
    friendly_zone_name,
    zone_choices,
    zone_label,
)

# 22:42 UTC in January: 17:42 in New York (EST), 04:12 the next day in Kolkata.
NOW = datetime(2027, 1, 12, 22, 42, tzinfo=UTC)


@pytest.mark.parametrize(("reported", "canonical"), [
    ("Asia/Calcutta", "Asia/Kolkata"),
    ("Europe/Kiev", "Europe/Kyiv"),
    ("US/Eastern", "America/New_York"),
    ("Asia/Saigon", "Asia/Ho_Chi_Minh"),
    ("America/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    ("Etc/UTC", "UTC"),
    ("Europe/London", "Europe/London"),
    (" Asia/Tokyo ", "Asia/Tokyo"),
])
def test_legacy_names_become_canonical(reported, canonical):
    assert canonical_zone(reported) == canonical


def test_an_unknown_zone_is_refused_or_falls_back_to_utc():
    with pytest.raises(ValueError):
        canonical_zone("Mars/Olympus_Mons")
    assert canonical_zone_or_utc("Mars/Olympus_Mons") == "UTC"
    assert canonical_zone_or_utc("") == "UTC"


def test_friendly_names_for_well_known_zones_and_the_city_for_others():
    assert friendly_zone_name("America/New_York") == "Eastern Time"
    assert friendly_zone_name("US/Pacific") == "Pacific Time"
    assert friendly_zone_name("Asia/Calcutta") == "India Time"
    assert friendly_zone_name("Europe/Berlin") == "Central European Time"
    assert friendly_zone_name("America/Argentina/Salta") == "Salta Time"
    assert friendly_zone_name("Asia/Kuching") == "Kuching Time"


def test_zone_label_shows_the_current_local_time_in_either_clock():
    assert zone_label("America/New_York", now=NOW) == "Eastern Time — 17:42"
    assert zone_label("America/New_York", now=NOW, hour12=True) == "Eastern Time — 5:42 PM"
    assert zone_label("Asia/Calcutta", now=NOW) == "India Time — 04:12"


def test_twelve_hour_clock_edges():
    assert format_time(datetime(2027, 1, 1, 0, 5, tzinfo=UTC), zone="UTC", hour12=True) == "12:05 AM"
    assert format_time(datetime(2027, 1, 1, 12, 0, tzinfo=UTC), zone="UTC", hour12=True) == "12:00 PM"
    assert format_time(datetime(2027, 1, 1, 23, 59, tzinfo=UTC), zone="UTC", hour12=False) == "23:59"


def test_zone_menu_runs_west_to_east_and_includes_the_viewers_zone():
    choices = zone_choices("Asia/Calcutta", now=NOW)
    values = [choice.value for choice in choices]
    assert "Asia/Kolkata" in values and "Asia/Calcutta" not in values
    assert values.index("Pacific/Honolulu") < values.index("America/New_York") < values.index("UTC") \
        < values.index("Asia/Tokyo")
    kathmandu = zone_choices("Asia/Katmandu", now=NOW)
    assert len(kathmandu) == len(COMMON_ZONES) + 1
    by_value = {choice.value: choice.label for choice in choices}
    assert by_value["America/New_York"] == "Eastern Time (New York) — 17:42"
    assert by_value["Asia/Kolkata"] == "India Time (Kolkata) — 04:12"
