"""A ticked checkbox reads the same from a browser's form post and from an API client's JSON."""

import pytest

from booking.core import checked


@pytest.mark.parametrize("sent", ["on", "yes", "true", "1", "ON", "Yes", "True", " on ", True])
def test_a_ticked_box_is_checked(sent):
    assert checked({"secret": sent}, "secret") is True


@pytest.mark.parametrize("sent", ["", "off", "no", "false", "0", "maybe", None, False, 0])
def test_an_unticked_or_unreadable_box_is_not_checked(sent):
    assert checked({"secret": sent}, "secret") is False


def test_a_box_left_out_of_the_form_is_not_checked():
    """Browsers send nothing at all for an unticked box."""
    assert checked({"name": "Intro call"}, "secret") is False
