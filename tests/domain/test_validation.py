from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liveroom.domain.errors import LiveroomError
from liveroom.domain.models import product_from_input, room_from_input
from liveroom.domain.names import check_display_name
from liveroom.domain.validation import check_price, check_text


@given(st.text(max_size=600))
def test_any_text_is_either_accepted_trimmed_and_bounded_or_refused_with_invalid_field(text):
    try:
        checked = check_text(text, "text", max_chars=500)
    except LiveroomError as error:
        assert error.code == "invalid_field" and error.extra["field"] == "text"
    else:
        assert checked == text.strip() and 0 < len(checked) <= 500


@pytest.mark.parametrize("amount, currency, expected", [
    ("99", "CNY", "99.00"), ("99.9", "THB", "99.90"), (24990, "CLP", "24990"),
    ("0.01", "EUR", "0.01"),
])
def test_prices_are_normalised_to_the_currencys_decimals(amount, currency, expected):
    assert check_price(amount, currency) == expected


@pytest.mark.parametrize("amount", ["0", "-5", "1e400", "NaN", "Infinity", "1.001", True, None])
def test_bad_prices_are_refused(amount):
    with pytest.raises(LiveroomError):
        check_price(amount, "EUR")


def test_names_are_one_line():
    assert check_display_name("  Ann  ") == "Ann"
    with pytest.raises(LiveroomError):
        check_display_name("Ann\nBo")


def test_a_partial_update_keeps_the_rest_and_cannot_rename():
    room = room_from_input({"id": "italy", "title": "Italia", "country": "Italy",
                            "country_code": "IT"})
    assert room_from_input({"title": "Italia live"}, room)["country"] == "Italy"
    with pytest.raises(LiveroomError):
        room_from_input({"id": "france"}, room)
    product = product_from_input({"id": "oil", "name": "Oil", "price": "9.5",
                                  "currency": "EUR"})
    assert product == {"id": "oil", "name": "Oil", "price": "9.50", "currency": "EUR",
                       "stock": 0, "description": "", "image": "", "origin": ""}
