"""The cancel form's refund choice, read at the boundary."""

import pytest

from booking.lifecycle.refunds import RefundChoice, Refused


@pytest.mark.parametrize(("value", "choice"), [("full", RefundChoice.FULL), ("partial", RefundChoice.PARTIAL),
                                               ("none", RefundChoice.NONE)])
def test_the_forms_values_are_the_choices(value, choice):
    assert RefundChoice.from_form(value) is choice


@pytest.mark.parametrize("value", ["", None, "FULL", "all", 1])
def test_any_other_value_is_refused_with_a_message_for_the_builder(value):
    with pytest.raises(Refused, match="Choose a full, partial or no refund."):
        RefundChoice.from_form(value)
