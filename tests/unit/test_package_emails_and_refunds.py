"""Package money and emails without a database: the pro rata refund of unused credits, and the purchase and
expiry emails (the wallet link appears in the email, never in what is stored), in the buyer's locale; a member's
emails in their locale and zone."""

from __future__ import annotations

import dataclasses
import json

from hypothesis import given
from hypothesis import strategies as st

from booking.notifications.credit_emails import CreditFacts, render_credit_email
from booking.notifications.membership_emails import (
    MembershipFailureFacts,
    MembershipStartedFacts,
    render_membership_failure,
    render_membership_started,
)
from booking.notifications.templates import NotificationKind
from booking.payments.pricing import pro_rata

FACTS = CreditFacts(builder_id=1, builder_name="Ada", client_email="ann@example.com", client_name="Ann",
                    client_time_zone="Europe/London", package_name="Three calls", credits=3,
                    expires_at="2027-02-05T12:00:00+00:00", amount=13500, currency="gbp")


def test_unused_credits_are_refunded_in_proportion_rounded_down() -> None:
    assert pro_rata(13500, 2, 3) == 9000
    assert pro_rata(10000, 1, 3) == 3333
    assert pro_rata(13500, 3, 3) == 13500
    assert pro_rata(13500, 0, 3) == 0


@given(amount=st.integers(0, 10**7), bought=st.integers(1, 100), data=st.data())
def test_refunds_of_parts_never_add_up_to_more_than_was_paid(amount: int, bought: int, data) -> None:
    parts = data.draw(st.lists(st.integers(1, bought), max_size=5).filter(lambda xs: sum(xs) <= bought))
    assert sum(pro_rata(amount, part, bought) for part in parts) <= amount


def test_the_purchase_email_carries_the_wallet_link_and_the_expiry_in_the_clients_zone() -> None:
    email = render_credit_email(NotificationKind.PACKAGE_PURCHASED, FACTS, "https://book.example/wallet/abc")
    assert email.subject == "Your package with Ada: 3 sessions to book"
    assert "Your wallet: https://book.example/wallet/abc" in email.text
    assert "£135.00" in email.text and "5 Feb 2027, 12:00 GMT" in email.text
    assert 'href="https://book.example/wallet/abc"' in email.html
    assert "wallet/abc" not in FACTS.to_json(NotificationKind.PACKAGE_PURCHASED)


def test_the_reminder_says_how_many_credits_are_left_and_when_they_expire() -> None:
    email = render_credit_email(NotificationKind.CREDITS_EXPIRING, FACTS, "https://book.example/wallet/abc")
    assert email.subject.startswith("3 sessions with Ada expire on")
    assert "Open your wallet to book a time before then." in email.text


def test_a_french_buyer_reads_dates_and_amounts_in_french_and_an_older_payload_in_the_default() -> None:
    french = dataclasses.replace(FACTS, client_locale="fr-FR")
    email = render_credit_email(NotificationKind.PACKAGE_PURCHASED, french, "https://book.example/wallet/abc")
    assert "135,00\N{NO-BREAK SPACE}£GB" in email.text and "5 févr. 2027" in email.text
    assert "Thank you for buying Three calls" in email.text  # the words stay English
    older = json.loads(french.to_json(NotificationKind.PACKAGE_PURCHASED))
    del older["client_locale"]  # queued before the locale was kept
    assert "£135.00" in render_credit_email(NotificationKind.PACKAGE_PURCHASED, CreditFacts.from_json(
        json.dumps(older)), "https://book.example/wallet/abc").text


def test_a_french_members_failed_payment_email_writes_the_amount_in_french() -> None:
    facts = MembershipFailureFacts(membership_id=7, stripe_invoice_id="in_1", client_name="Cleo",
                                   plan_name="Monthly four", builder_name="Ada", amount=4000, currency="eur",
                                   client_locale="fr-FR")
    email = render_membership_failure(facts)
    assert "40,00\N{NO-BREAK SPACE}€" in email.subject and "40,00\N{NO-BREAK SPACE}€" in email.text
    assert "€40.00" in render_membership_failure(dataclasses.replace(facts, client_locale=None)).subject


STARTED = MembershipStartedFacts(membership_id=7, builder_id=1, builder_name="Ada", client_email="cleo@example.com",
                                 client_name="Cleo", plan_name="Monthly four", sessions_per_month=4, amount=4000,
                                 currency="gbp", renews_at="2027-01-05T02:30:00+00:00")


def test_the_welcome_tells_the_renewal_on_the_members_clock_labelled_else_in_utc() -> None:
    new_york = render_membership_started(dataclasses.replace(STARTED, client_time_zone="America/New_York"),
                                         "https://book.example/wallet/abc")
    assert "Renews on: 4 Jan 2027, 21:30 EST" in new_york.text  # the evening before, in New York
    assert "(America/New_York)" in new_york.text
    utc = render_membership_started(STARTED, "https://book.example/wallet/abc")
    assert "Renews on: 5 Jan 2027, 02:30 UTC" in utc.text and "Time zone" not in utc.text
    older = json.loads(STARTED.to_json())  # queued before the zone was kept: UTC, as then
    assert "client_time_zone" in older
    del older["client_time_zone"]
    assert "02:30 UTC" in render_membership_started(MembershipStartedFacts.from_json(json.dumps(older)),
                                                    "https://book.example/wallet/abc").text
    gone = dataclasses.replace(STARTED, client_time_zone="Mars/Olympus_Mons")  # a zone no longer known: UTC
    assert "02:30 UTC" in render_membership_started(gone, "https://book.example/wallet/abc").text
