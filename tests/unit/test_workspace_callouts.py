"""Warnings look like warnings: "Onboarding not finished" and a save that Stripe only half took are amber,
errors red, success green (booking_ui/admin/components.py keeps the colours in one place)."""

from __future__ import annotations

import pytest

from booking.payments import AccountState
from booking_ui.admin import components
from booking_ui.admin.payouts import _state_message, _state_tone


@pytest.mark.parametrize(("state", "tone"), [
    (AccountState.ENABLED, "success"),
    (AccountState.INCOMPLETE, "warning"),
    (AccountState.RESTRICTED, "warning"),
    (AccountState.NOT_STARTED, "warning"),
])
def test_the_payouts_notice_is_amber_until_payouts_are_set_up(state, tone):
    assert _state_message(state) and _state_tone(state) == tone


@pytest.mark.parametrize(("helper", "colour", "role"), [
    (components.warning_callout, "amber", "status"),
    (components.error_callout, "red", "alert"),
    (components.success_callout, "green", "status"),
    (components.info_callout, "blue", "status"),
])
def test_each_callout_helper_has_its_colour(helper, colour, role):
    rendered = str(helper("Onboarding not finished").render())
    assert f'"{colour}"' in rendered and f'"{role}"' in rendered


def test_a_tone_callout_maps_each_tone_to_its_colour():
    rendered = str(components.tone_callout("Saved", "warning").render())
    for colour in ("green", "amber", "red", "blue"):
        assert f'"{colour}"' in rendered
