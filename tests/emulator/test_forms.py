"""Unit tests for the bracket form decoder (stripe_emulator.core.forms)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from stripe_emulator.core.forms import (
    FormDecodeError,
    decode_pairs,
    decode_query,
    encode_pairs,
    split_key,
)


def test_split_key() -> None:
    assert split_key("a") == ["a"]
    assert split_key("a[b][0][]") == ["a", "b", "0", ""]


def test_nested_line_items_metadata_and_expand() -> None:
    query = (
        "mode=payment"
        "&line_items[0][price_data][unit_amount]=5000"
        "&line_items[0][price_data][currency]=gbp"
        "&line_items[0][price_data][product_data][name]=Room%20%26%20breakfast"
        "&line_items[0][quantity]=2"
        "&line_items[1][price]=price_123&line_items[1][quantity]=1"
        "&metadata[booking_id]=7"
        "&expand[0]=payment_intent&expand[1]=line_items"
        "&success_url=http%3A%2F%2Fx%2Fs%3Fid%3D%7BCHECKOUT_SESSION_ID%7D"
    )
    assert decode_query(query) == {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "unit_amount": "5000",
                    "currency": "gbp",
                    "product_data": {"name": "Room & breakfast"},
                },
                "quantity": "2",
            },
            {"price": "price_123", "quantity": "1"},
        ],
        "metadata": {"booking_id": "7"},
        "expand": ["payment_intent", "line_items"],
        "success_url": "http://x/s?id={CHECKOUT_SESSION_ID}",
    }


def test_empty_brackets_append() -> None:
    assert decode_query("expand[]=a&expand[]=b&types[]=x") == {"expand": ["a", "b"], "types": ["x"]}


def test_indexes_are_ordered_numerically_even_when_sent_out_of_order() -> None:
    pairs = [("items[10]", "k"), ("items[2]", "c"), ("items[0]", "a")]
    assert decode_pairs(pairs) == {"items": ["a", "c", "k"]}


def test_metadata_with_numeric_keys_stays_a_hash() -> None:
    assert decode_query("metadata[0]=zero&metadata[1]=one") == {
        "metadata": {"0": "zero", "1": "one"}
    }


def test_blank_values_are_kept_for_unsetting() -> None:
    assert decode_query("metadata[note]=&description=") == {
        "metadata": {"note": ""},
        "description": "",
    }


def test_bytes_and_plus_encoding() -> None:
    assert decode_query(b"name=Ada+Lovelace&email=a%40b.co") == {
        "name": "Ada Lovelace",
        "email": "a@b.co",
    }


@pytest.mark.parametrize(
    "query",
    ["a=1&a[b]=2", "a[b]=2&a=1", "a[b=1", "]a=1"],
)
def test_conflicting_or_malformed_keys_raise(query: str) -> None:
    with pytest.raises(FormDecodeError):
        decode_query(query)


def test_encode_round_trip_matches_sdk_style() -> None:
    data = {
        "line_items": [{"price_data": {"currency": "jpy", "unit_amount": 5000}, "quantity": 1}],
        "metadata": {"a": "b"},
        "expand": ["payment_intent"],
        "active": False,
    }
    pairs = encode_pairs(data)
    assert ("line_items[0][price_data][unit_amount]", "5000") in pairs
    assert ("expand[0]", "payment_intent") in pairs
    decoded = decode_query(urlencode(pairs))
    assert decoded["line_items"][0]["price_data"] == {"currency": "jpy", "unit_amount": "5000"}
    assert decoded["active"] == "false"
