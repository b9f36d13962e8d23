"""Who the client is, for the abuse caps: the address behind a trusted proxy (FORWARDED_ALLOW_IPS) and one
mailbox however its `+tag` is spelled."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from booking.core.config import SettingsError, load_settings
from booking.core.mailbox import mailbox, same_mailbox
from booking.lifecycle.abuse import address_key, client_ip

PROXY = "10.0.0.0/8"


@pytest.mark.parametrize(("peer", "forwarded_for", "trusted", "expected"), [
    ("203.0.113.5", None, PROXY, "203.0.113.5"),  # no proxy: the peer is the client
    ("203.0.113.5", "198.51.100.1", PROXY, "203.0.113.5"),  # an untrusted peer can't choose its address
    ("10.0.0.2", "198.51.100.1", PROXY, "198.51.100.1"),  # the proxy says who its client is
    ("10.0.0.2", "192.0.2.66, 198.51.100.1", PROXY, "198.51.100.1"),  # what the client wrote is ignored
    ("10.0.0.2", "198.51.100.1, 10.0.0.9", PROXY, "198.51.100.1"),  # two trusted proxies in a row
    ("10.0.0.2", "10.0.0.7, 10.0.0.9", PROXY, "10.0.0.7"),  # only proxies: the furthest one
    ("10.0.0.2", "not-an-ip", PROXY, "10.0.0.2"),  # garbage is never believed
    ("10.0.0.2", "198.51.100.1, <script>", PROXY, "10.0.0.2"),
    ("127.0.0.1", "2001:db8::1", "127.0.0.1", "2001:db8::1"),  # the default trusts a proxy on this host
    ("192.0.2.1", "198.51.100.1", "*", "198.51.100.1"),
    ("192.0.2.1", "198.51.100.1", "", "192.0.2.1"),  # nothing trusted
    (None, "198.51.100.1", "*", None),
])
def test_the_client_address_is_believed_only_from_a_trusted_proxy(peer, forwarded_for, trusted, expected):
    assert client_ip(peer, forwarded_for, trusted) == expected


def test_a_malformed_trusted_proxy_setting_is_a_clear_error():
    with pytest.raises(SettingsError, match="FORWARDED_ALLOW_IPS"):
        load_settings(PUBLIC_URL="https://book.example", FORWARDED_ALLOW_IPS="10.0.0.1, proxy.local")
    assert load_settings(PUBLIC_URL="https://book.example", FORWARDED_ALLOW_IPS="10.0.0.1, fd00::/8").max_holds_per_ip == 10


def test_the_stored_network_key_is_keyed_and_never_the_address():
    one = load_settings(PUBLIC_URL="https://book.example", SECRET_KEY="a" * 40)
    other = load_settings(PUBLIC_URL="https://book.example", SECRET_KEY="b" * 40)
    assert address_key("203.0.113.5", one) == address_key("203.0.113.5", one)
    assert address_key("203.0.113.5", one) != address_key("203.0.113.5", other)
    assert address_key("203.0.113.5", one) != address_key("203.0.113.6", one)
    assert "203.0.113.5" not in address_key("203.0.113.5", one) and address_key(None, one) is None


@pytest.mark.parametrize(("address", "box"), [
    ("victim+1@example.com", "victim@example.com"),
    ("Victim+a+b@Example.COM", "victim@example.com"),
    ("victim@example.com", "victim@example.com"),
    ("vic.tim@gmail.com", "vic.tim@gmail.com"),  # dots are not folded, gmail's included
])
def test_plus_tags_fold_to_one_mailbox(address, box):
    assert mailbox(address) == box


@given(st.from_regex(r"[a-z0-9._%\\-]{1,10}", fullmatch=True), st.from_regex(r"[a-z0-9_%+]{0,8}", fullmatch=True),
       st.from_regex(r"[a-z0-9_%.\-]{1,10}\.[a-z]{2,4}", fullmatch=True))
def test_sql_matches_exactly_the_spellings_of_one_mailbox(local, tag, domain):
    engine = sa.create_engine("sqlite://")
    table = sa.table("t", sa.column("email", sa.String))
    with engine.connect() as db:
        db.execute(sa.text("CREATE TABLE t (email TEXT)"))
        spellings = [f"{local}@{domain}", f"{local}+{tag}@{domain}".upper()]
        others = [f"{local}x@{domain}", f"x{local}+{tag}@{domain}", f"{local}@x{domain}", f"{local}+{tag}@{domain}x"]
        for email in spellings + others:
            db.execute(sa.text("INSERT INTO t VALUES (:e)"), {"e": email})
        found = db.execute(sa.select(table.c.email).where(same_mailbox(table.c.email, f"{local}+q@{domain}"))).scalars()
        assert sorted(found) == sorted(spellings)
