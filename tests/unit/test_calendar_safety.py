"""A calendar URL a builder types can't make the server read its own network, and a stored CalDAV password
is unreadable without the app's key."""

from __future__ import annotations

import pytest

from booking.core.secretbox import UnreadableSecret, decrypt_secret, encrypt_secret
from booking.scheduling.safe_fetch import FetchPolicy, FetchRefused, check_url

PUBLIC_ONLY = FetchPolicy(allow_private_networks=False)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/cal.ics", "http://10.1.2.3/cal.ics", "http://192.168.0.10:8080/x",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/cal.ics", "http://[fd00::1]/cal.ics",
    "http://[::ffff:127.0.0.1]/cal.ics", "http://0.0.0.0/cal.ics", "http://100.64.0.1/cal.ics",
])
def test_private_loopback_and_link_local_addresses_are_refused(url):
    with pytest.raises(FetchRefused, match="private network"):
        check_url(url, PUBLIC_ONLY)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/cal.ics", "gopher://x", "cal.ics",
                                 "https://user:pw@example.com/cal.ics"])
def test_only_http_and_https_without_credentials_in_the_address(url):
    with pytest.raises(FetchRefused):
        check_url(url, PUBLIC_ONLY)


def test_the_setting_allows_local_servers_and_webcal_means_https():
    assert check_url("http://127.0.0.1:8000/cal.ics", FetchPolicy(allow_private_networks=True))
    assert check_url("webcal://127.0.0.1/cal.ics", FetchPolicy(allow_private_networks=True)) == \
        "https://127.0.0.1/cal.ics"


def test_a_public_address_is_allowed():
    assert check_url("https://8.8.8.8/cal.ics", PUBLIC_ONLY) == "https://8.8.8.8/cal.ics"


def test_a_password_round_trips_only_with_the_same_key():
    key, other = b"k" * 40, b"o" * 40
    token = encrypt_secret("app-password", key=key)
    assert "app-password" not in token
    assert decrypt_secret(token, key=key) == "app-password"
    with pytest.raises(UnreadableSecret):
        decrypt_secret(token, key=other)
    assert encrypt_secret("", key=key) == "" and decrypt_secret("", key=key) == ""
