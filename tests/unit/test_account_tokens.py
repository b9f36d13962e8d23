"""One-time account links (password reset, builder invites): the token, what is stored, what is emailed,
the reset throttle and the invite form's rules. No database."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest
from limits import storage, strategies

from booking.accounts.invites import InviteError, normalise_invite_email, slug_for
from booking.accounts.recovery import ResetThrottle, password_problem
from booking.accounts.tokens import link_token, link_url, looks_like_token, new_seed, token_hash
from booking.notifications.templates import AccountLinkFacts, NotificationKind, render_account_email

KEY = b"unit-test-key-0123456789abcdef0123456789"


def throttle(per_account: str = "3/hour", per_ip: str = "10/hour") -> ResetThrottle:
    return ResetThrottle(strategies.MovingWindowRateLimiter(storage.MemoryStorage()), per_account, per_ip, KEY)


def test_a_seed_makes_one_link_token_of_256_bits_that_needs_the_key():
    seed = new_seed()
    token = link_token(seed, key=KEY)
    assert looks_like_token(token) and len(token) == 43
    assert link_token(seed, key=KEY) == token  # the worker rebuilds the same link from the outbox row
    assert link_token(seed, key=KEY[::-1]) != token  # the seed alone (the database) is not enough
    assert link_token(new_seed(), key=KEY) != token
    assert seed not in token


def test_only_the_sha256_of_the_token_is_stored():
    token = link_token(new_seed(), key=KEY)
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in token_hash(token)


@pytest.mark.parametrize("value", ["", "short", "x" * 43 + "y", "a" * 42 + "!", None, 12, "é" * 43])
def test_anything_but_a_token_is_refused_before_any_lookup(value):
    assert not looks_like_token(value)


def test_the_links_go_to_their_pages_on_the_public_url():
    seed = new_seed()
    token = link_token(seed, key=KEY)
    assert link_url(kind="reset", seed=seed, public_url="https://book.example/", key=KEY) == \
        f"https://book.example/admin/reset?token={token}"
    assert link_url(kind="invite", seed=seed, public_url="https://book.example", key=KEY) == \
        f"https://book.example/admin/invite?token={token}"


def test_the_email_carries_the_link_and_its_expiry_but_its_payload_only_the_seed():
    seed = new_seed()
    expires = datetime(2026, 12, 7, 13, 30, tzinfo=UTC)
    facts = AccountLinkFacts(token_id=7, seed=seed, recipient_name="Ada\nLovelace", expires_at=expires,
                             platform_name="Book a builder")
    payload = facts.to_json(NotificationKind.PASSWORD_RESET)
    assert AccountLinkFacts.from_json(payload) == facts
    url = link_url(kind="reset", seed=seed, public_url="https://book.example", key=KEY)
    assert link_token(seed, key=KEY) not in payload
    email = render_account_email(kind=NotificationKind.PASSWORD_RESET, facts=facts, url=url)
    assert email.subject == "Reset your Book a builder password"
    assert url in email.text and url in email.html
    assert "Hi Ada Lovelace," in email.text
    assert "13:30 UTC" in email.text and "works once" in email.text
    invite = render_account_email(kind=NotificationKind.BUILDER_INVITE,
                                  facts=AccountLinkFacts(token_id=8, seed=seed, recipient_name="Ada",
                                                         expires_at=expires, builder_name="Ada"),
                                  url=url.replace("/reset?", "/invite?"))
    assert invite.subject == "You're invited to Book a builder"
    assert "/admin/invite?token=" in invite.text


def test_reset_requests_are_limited_per_account_with_plus_tags_folded():
    limits = throttle("3/hour", "100/hour")
    assert [limits.allow(email=f"ann+{n}@example.test", ip=f"10.0.0.{n}") for n in range(4)] == \
        [True, True, True, False]
    assert limits.allow(email="bob@example.test", ip="10.0.0.9")  # another account is not affected


def test_reset_requests_are_limited_per_client_address():
    limits = throttle("100/hour", "2/hour")
    assert limits.allow(email="a@example.test", ip="203.0.113.5")
    assert limits.allow(email="b@example.test", ip="203.0.113.5")
    assert not limits.allow(email="c@example.test", ip="203.0.113.5")
    assert limits.allow(email="c@example.test", ip="203.0.113.6")


def test_the_reset_counters_name_no_one():
    limits = throttle()
    limits.allow(email="Owner.Name@Example.test", ip="203.0.113.77")
    keys = [str(key) for value in vars(limits.limiter.storage).values() if isinstance(value, dict) for key in value]
    assert any("reset-account" in key for key in keys)
    for key in keys:
        for raw in ("owner.name", "example.test", "203.0.113"):
            assert raw not in key.lower()


def test_a_new_password_follows_the_account_pages_rules():
    assert password_problem("", "") == "Fill in the new password twice."
    assert password_problem("long-enough-1", "long-enough-2") == "The new password and its confirmation don't match."
    assert "at least 10" in password_problem("short", "short")
    assert "at most 256" in password_problem("x" * 300, "x" * 300)
    assert password_problem("long-enough-1", "long-enough-1") == ""


def test_invite_addresses_are_checked_by_email_validator_and_names_make_slugs():
    assert normalise_invite_email("  Ada@Example.COM ") == "ada@example.com"
    for bad in ("", "not-an-email", "a@b", "a@@example.com", None, 5, "x" * 300 + "@example.com"):
        with pytest.raises(InviteError, match="valid email"):
            normalise_invite_email(bad)
    assert slug_for("Zoë  O'Brien ") == "zoe-o-brien"
    assert re.fullmatch(r"[a-z0-9-]+", slug_for("日本")) and slug_for("日本") == "builder"
