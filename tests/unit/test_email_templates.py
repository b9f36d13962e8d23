"""booking.email_templates: times in the recipient's zone (DST included), money formatted, safe text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.core.time import format_datetime, format_time_range
from booking.notifications.ics import booking_uid
from booking.notifications.templates import (
    BookingFacts,
    NotificationKind,
    RecipientRole,
    facts_from_payload,
    is_web_link,
    payload_json,
    render_booking_email,
)

CLIENT, BUILDER = RecipientRole.CLIENT, RecipientRole.BUILDER


def _facts(start: datetime = datetime(2026, 12, 1, 14, 0, tzinfo=UTC), **overrides: object) -> BookingFacts:
    fields: dict[str, object] = {
        "booking_id": "bk-1",
        "session_type_name": "1:1 call",
        "duration_minutes": 60,
        "start_time": start,
        "end_time": start + timedelta(hours=1),
        "client_name": "Grace Hopper",
        "client_email": "grace@example.com",
        "client_time_zone": "America/New_York",
        "builder_name": "Ada Lovelace",
        "builder_email": "ada@example.com",
        "builder_time_zone": "Europe/London",
        "amount": 5000,
        "currency": "gbp",
        "booking_status": "confirmed",
    }
    fields.update(overrides)
    return BookingFacts(**fields)


def test_subject_reads_like_the_issue_example() -> None:
    facts = _facts(client_time_zone="Europe/London")

    email = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=CLIENT, facts=facts)

    assert email.subject == "Confirmed: 1:1 call with Ada Lovelace on Tue 1 Dec, 14:00 GMT"


@pytest.mark.parametrize(
    "start, client_sees, builder_sees",
    [
        # Winter: New York on EST (-5), London on GMT.
        (datetime(2026, 12, 1, 14, 0, tzinfo=UTC), "Tue 1 Dec, 09:00 EST", "Tue 1 Dec, 14:00 GMT"),
        # Summer: EDT (-4) and BST (+1).
        (datetime(2026, 7, 1, 14, 0, tzinfo=UTC), "Wed 1 Jul, 10:00 EDT", "Wed 1 Jul, 15:00 BST"),
        # The weeks between the US (8 Mar) and UK (29 Mar) clock changes: EDT against GMT.
        (datetime(2026, 3, 15, 14, 0, tzinfo=UTC), "Sun 15 Mar, 10:00 EDT", "Sun 15 Mar, 14:00 GMT"),
    ],
)
def test_each_recipient_sees_their_own_zone(start: datetime, client_sees: str, builder_sees: str) -> None:
    facts = _facts(start)

    to_client = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=CLIENT, facts=facts)
    to_builder = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=BUILDER, facts=facts)

    assert to_client.subject == f"Confirmed: 1:1 call with Ada Lovelace on {client_sees}"
    assert to_builder.subject == f"Confirmed: 1:1 call with Grace Hopper on {builder_sees}"
    client_time = client_sees.split(", ")[1]  # "09:00 EST"
    assert client_time.split()[0] in to_client.text and client_time.split()[1] in to_client.text
    assert "America/New_York" in to_client.text and "Europe/London" in to_builder.text


def test_body_shows_the_full_range_in_the_recipient_zone() -> None:
    email = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=CLIENT, facts=_facts())

    assert "Tuesday 1 December 2026, 09:00–10:00 EST" in email.text
    assert "Tuesday 1 December 2026, 09:00–10:00 EST" in email.html


def test_a_session_across_a_clock_change_names_both_abbreviations() -> None:
    # London springs forward at 01:00 UTC on 29 March 2026.
    start = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    text = format_time_range(start, start + timedelta(hours=1), zone=ZoneInfo("Europe/London"))

    assert text == "Sunday 29 March 2026, 00:30 GMT – 02:30 BST"


def test_a_session_past_midnight_names_the_end_day() -> None:
    start = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)  # 23:30 EST the day before
    text = format_time_range(start, start + timedelta(hours=1), zone=ZoneInfo("America/New_York"))

    assert text == "Monday 30 November 2026, 23:30 EST – Tue 1 Dec, 00:30 EST"


def test_zones_without_a_letter_abbreviation_show_the_offset() -> None:
    assert format_datetime(datetime(2026, 12, 1, 14, 0, tzinfo=UTC), zone=ZoneInfo("Asia/Dubai")) == "Tue 1 Dec, 18:00 UTC+04"


def test_an_unknown_zone_falls_back_to_utc() -> None:
    email = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=CLIENT, facts=_facts(client_time_zone="Mars/Olympus"))

    assert email.subject.endswith("14:00 UTC")


@pytest.mark.parametrize(
    "amount, currency, shown",
    [(5000, "gbp", "£50.00"), (5000, "jpy", "¥5,000"), (123456, "usd", "$1,234.56"), (1500, "chf", "CHF\u00a015.00")],
)
def test_money_is_formatted_for_its_currency(amount: int, currency: str, shown: str) -> None:
    email = render_booking_email(
        kind=NotificationKind.BOOKING_CONFIRMED, role=CLIENT, facts=_facts(amount=amount, currency=currency)
    )

    assert "Paid:" in email.text and shown in email.text
    assert shown in email.html


def test_refund_shows_refunded_and_paid_amounts_to_both_sides() -> None:
    facts = _facts(amount_refunded=2000, booking_status="confirmed")

    to_client = render_booking_email(kind=NotificationKind.BOOKING_REFUNDED, role=CLIENT, facts=facts)
    to_builder = render_booking_email(kind=NotificationKind.BOOKING_REFUNDED, role=BUILDER, facts=facts)

    assert to_client.subject.startswith("Refunded: 1:1 call with Ada Lovelace")
    assert "We've refunded £20.00 of the £50.00 you paid" in to_client.text
    assert "Grace Hopper's payment for this session was refunded: £20.00 of £50.00." in to_builder.text


def test_payment_failed_says_the_slot_is_held_until_a_time_in_the_client_zone() -> None:
    facts = _facts(
        booking_status="pending",
        hold_expires_at=datetime(2026, 11, 20, 15, 30, tzinfo=UTC),
        checkout_url="https://checkout.example.com/c/pay/cs_1",
    )

    email = render_booking_email(kind=NotificationKind.PAYMENT_FAILED, role=CLIENT, facts=facts)

    assert email.subject == "Payment didn't go through: 1:1 call with Ada Lovelace on Tue 1 Dec, 09:00 EST"
    assert "nothing was charged" in email.text
    assert "still holding the slot for you until Fri 20 Nov, 10:30 EST" in email.text
    assert "try again at checkout" in email.text.lower()
    assert "https://checkout.example.com/c/pay/cs_1" in email.text
    assert 'href="https://checkout.example.com/c/pay/cs_1"' in email.html


def test_payment_failed_after_the_hold_ended_does_not_promise_a_held_slot() -> None:
    facts = _facts(booking_status="cancelled", hold_expires_at=datetime(2026, 11, 20, 15, 30, tzinfo=UTC))

    email = render_booking_email(kind=NotificationKind.PAYMENT_FAILED, role=CLIENT, facts=facts)

    assert "holding" not in email.text
    assert "The slot has been released" in email.text


def test_hold_expired_tells_the_client_nothing_was_charged() -> None:
    email = render_booking_email(kind=NotificationKind.HOLD_EXPIRED, role=CLIENT, facts=_facts(booking_status="expired"))

    assert email.subject.startswith("Hold expired: 1:1 call with Ada Lovelace")
    assert "hold expired" in email.text
    assert "Nothing was charged" in email.text


@pytest.mark.parametrize("kind", [NotificationKind.PAYMENT_FAILED, NotificationKind.HOLD_EXPIRED])
def test_payment_chasing_emails_are_client_only(kind: NotificationKind) -> None:
    with pytest.raises(ValueError, match="client only"):
        render_booking_email(kind=kind, role=BUILDER, facts=_facts())


def test_cancellation_mentions_reason_and_refund() -> None:
    facts = _facts(booking_status="cancelled", reason="Builder is ill", amount_refunded=5000, was_confirmed=True)

    to_client = render_booking_email(kind=NotificationKind.BOOKING_CANCELLED, role=CLIENT, facts=facts)
    to_builder = render_booking_email(kind=NotificationKind.BOOKING_CANCELLED, role=BUILDER, facts=facts)

    assert to_client.subject == "Cancelled: 1:1 call with Ada Lovelace on Tue 1 Dec, 09:00 EST"
    assert "Builder is ill" in to_client.text and "£50.00 has been refunded" in to_client.text
    assert "cancel.ics" in to_client.text
    assert "The slot is free again" in to_builder.text


def test_names_are_escaped_in_html_and_cannot_break_the_subject_line() -> None:
    facts = _facts(client_name="<script>alert(1)</script>\r\nBcc: evil@example.com")

    email = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=BUILDER, facts=facts)

    assert "<script>" not in email.html and "&lt;script&gt;" in email.html
    assert "\n" not in email.subject and "\r" not in email.subject


def test_payload_round_trips_and_tolerates_unknown_keys() -> None:
    facts = _facts(hold_expires_at=datetime(2026, 11, 20, 15, 30, tzinfo=UTC))

    payload = payload_json(kind=NotificationKind.BOOKING_CONFIRMED, role=BUILDER, facts=facts)
    data = json.loads(payload)
    data["added_by_a_later_version"] = 1
    role, restored = facts_from_payload(json.dumps(data))

    assert role == BUILDER
    assert restored == facts
    assert data["start_time"] == "2026-12-01T14:00:00+00:00"
    assert data["client_time_zone"] == "America/New_York" and data["builder_time_zone"] == "Europe/London"


# --- where the session happens (only in the paid confirmation) ------------------------------------------


@pytest.mark.parametrize("role", [CLIENT, BUILDER])
def test_the_confirmation_says_where_in_text_and_as_a_link_in_html(role: RecipientRole) -> None:
    facts = _facts(location="https://meet.example.com/ada-grace")

    email = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=role, facts=facts)

    assert "Where:" in email.text and "https://meet.example.com/ada-grace" in email.text
    assert '<a href="https://meet.example.com/ada-grace">https://meet.example.com/ada-grace</a>' in email.html


@pytest.mark.parametrize("role", [CLIENT, BUILDER])
def test_an_address_is_plain_escaped_text_in_html(role: RecipientRole) -> None:
    facts = _facts(location='Studio <b>"A"</b> & Co\n1 High St')

    email = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=role, facts=facts)

    assert 'Studio <b>"A"</b> & Co, 1 High St' in email.text
    assert "Studio &lt;b&gt;&quot;A&quot;&lt;/b&gt; &amp; Co, 1 High St" in email.html
    assert "<b>" not in email.html and "<a href" not in email.html


def test_a_link_cannot_smuggle_markup_into_the_href() -> None:
    facts = _facts(location='https://evil.example/"><script>x</script>')

    email = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=CLIENT, facts=facts)

    assert "<script>" not in email.html
    assert 'href="https://evil.example/&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in email.html


def test_no_location_means_no_where_line() -> None:
    email = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=CLIENT, facts=_facts(location=""))

    assert "Where" not in email.text and "Where" not in email.html


@pytest.mark.parametrize("kind", [NotificationKind.PAYMENT_FAILED, NotificationKind.HOLD_EXPIRED])
def test_emails_before_payment_never_say_where(kind: NotificationKind) -> None:
    facts = _facts(booking_status="pending", location="https://meet.example.com/secret")

    email = render_booking_email(kind=kind, role=CLIENT, facts=facts)

    assert "meet.example.com" not in email.text and "meet.example.com" not in email.html


@pytest.mark.parametrize(
    "text, is_link",
    [("https://meet.example.com/x", True), ("http://zoom.us/j/1", True), ("HTTPS://A.B", True),
     ("javascript:alert(1)", False), ("1 High St, London", False), ("https://a.b and more", False), ("", False)],
)
def test_only_http_addresses_count_as_links(text: str, is_link: bool) -> None:
    assert is_web_link(text) is is_link


def test_the_invite_uid_is_the_shared_booking_uid_and_older_payloads_still_load() -> None:
    facts = _facts(site_domain="book.example.com")
    data = json.loads(payload_json(kind=NotificationKind.BOOKING_CONFIRMED, role=CLIENT, facts=facts))
    del data["location"]  # a row queued before locations existed

    _role, restored = facts_from_payload(json.dumps(data))

    # A payload queued before invite UIDs were opaque has no invite_key: it keeps the UID its calendars hold.
    assert facts.invite_uid == booking_uid("booking-bk-1", "book.example.com") == "booking-bk-1@book.example.com"
    assert restored.location == ""


def test_the_invite_uid_and_reference_carry_no_booking_id() -> None:
    facts = _facts(booking_id="5d1c2f0e-booking-id", site_domain="book.example.com", invite_key="inv-0f3a9c")
    assert facts.invite_uid == "inv-0f3a9c@book.example.com"
    for role in (CLIENT, BUILDER):
        email = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=role, facts=facts)
        text = email.text + email.html + email.subject
        assert "Booking reference" in text and facts.reference in text
        assert facts.booking_id not in text


ZONES = ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "America/St_Johns"]


@given(
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)),
    zone_name=st.sampled_from(ZONES),
)
def test_the_subject_time_is_the_instant_seen_on_the_recipients_clock(start: datetime, zone_name: str) -> None:
    facts = _facts(start=start, client_time_zone=zone_name)

    subject = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=CLIENT, facts=facts).subject

    local = start.astimezone(ZoneInfo(zone_name))
    assert subject.endswith(f"{local:%a} {local.day} {local:%b}, {local:%H:%M} " + replace_offset(local.tzname()))


def replace_offset(name: str | None) -> str:
    return f"UTC{name}" if name and name[0] in "+-" else str(name)


# --- issue #14: the client's clock, friendly zone names, calendar links ------------------------------------------


def test_the_client_reads_their_emails_on_the_clock_they_chose_and_the_builder_on_24_hours() -> None:
    facts = _facts(client_hour12=True)  # 14:00 UTC: 9:00 AM in New York

    client = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=CLIENT, facts=facts)
    builder = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=BUILDER, facts=facts)

    assert "9:00 AM–10:00 AM EST" in client.text and "9:00 AM EST" in client.subject
    assert "Eastern Time (America/New_York)" in client.text
    assert "14:00–15:00 GMT" in builder.text and "AM" not in builder.text and "PM" not in builder.text
    assert "09:00–10:00" in render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=CLIENT,
                                                 facts=_facts(client_hour12=False)).text


@pytest.mark.parametrize("kind", [NotificationKind.BOOKING_CONFIRMED, NotificationKind.BOOKING_REMINDER,
                                  NotificationKind.BOOKING_RESCHEDULED, NotificationKind.BOOKING_REFUNDED])
def test_the_client_reads_dates_and_money_in_their_locale_and_the_builder_in_the_default(kind) -> None:
    facts = _facts(start=datetime(2026, 12, 8, 14, 0, tzinfo=UTC), client_locale="fr-FR", amount_refunded=5000,
                   previous_start_time=datetime(2026, 12, 7, 14, 0, tzinfo=UTC),
                   previous_end_time=datetime(2026, 12, 7, 15, 0, tzinfo=UTC), reminder_minutes=60)

    client = render_booking_email(kind=kind, role=CLIENT, facts=facts)
    builder = render_booking_email(kind=kind, role=BUILDER, facts=facts)

    assert "mardi 8 décembre 2026, 09:00–10:00" in client.text and "mar. 8 déc." in client.subject
    assert "Tuesday 8 December 2026, 14:00–15:00 GMT" in builder.text and "décembre" not in builder.text
    if kind == NotificationKind.BOOKING_REFUNDED:
        assert "50,00\N{NO-BREAK SPACE}£" in client.text and "£50.00" in builder.text


def test_a_payload_queued_before_the_locale_was_kept_reads_in_the_default_locale() -> None:
    payload = json.loads(payload_json(kind=NotificationKind.BOOKING_CONFIRMED, role=CLIENT, facts=_facts()))
    del payload["client_locale"]

    _, facts = facts_from_payload(json.dumps(payload))

    assert "Tuesday 1 December 2026" in render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED,
                                                             role=CLIENT, facts=facts).text


def test_the_confirmation_offers_google_and_outlook_to_the_client_only() -> None:
    facts = _facts(google_calendar_url="https://calendar.google.com/calendar/render?action=TEMPLATE&text=x",
                   outlook_calendar_url="https://outlook.live.com/calendar/0/deeplink/compose?subject=x")

    client = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=CLIENT, facts=facts)
    builder = render_booking_email(kind=NotificationKind.BOOKING_CONFIRMED, role=BUILDER, facts=facts)
    cancelled = render_booking_email(kind=NotificationKind.BOOKING_CANCELLED, role=CLIENT, facts=facts)

    assert "Add to Google Calendar: https://calendar.google.com/" in client.text
    assert "Add to Outlook: https://outlook.live.com/" in client.text
    assert 'href="https://calendar.google.com/calendar/render?action=TEMPLATE&amp;text=x"' in client.html
    assert "Add to Google" not in builder.text and "Add to Google" not in cancelled.text
