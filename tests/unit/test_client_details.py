"""The client's details are checked by a maintained address parser, not a regex: an address that would
become two SMTP recipients, or carries control characters, is refused; an internationalised one is fine."""

from __future__ import annotations

import pytest

from booking.lifecycle.checkout import client_detail_errors, validate_client


@pytest.mark.parametrize("email", [
    "postmaster,x@evil.example",  # two recipients for an SMTP server
    "a@b.example, c@d.example",
    "Ann <ann@example.com>",
    "ann@example.com\r\nBcc: x@evil.example",
    "ann\x00@example.com",
    "ann@localhost",
    "@example.com",
    "ann@",
    "x" * 250 + "@example.com",
])
def test_addresses_that_are_not_one_mailbox_are_refused(email):
    assert client_detail_errors(name="Ann", email=email) == {"client_email": "Please enter a valid email address."}


def test_an_internationalised_address_is_accepted_and_normalised():
    name, email = validate_client(name=" Ünï ", email="ünï@exämple.com")
    assert (name, email) == ("Ünï", "ünï@exämple.com")
