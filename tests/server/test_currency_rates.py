"""Currency rates: the setting (LIVEROOM_CURRENCY_RATES, CNY per unit) and the copy a flash
sale keeps of the rates in force when it was created."""

from __future__ import annotations

import pytest

from liveroom.config import (
    DEFAULT_CURRENCY_RATES,
    ConfigError,
    Settings,
    validate,
)
from liveroom.domain.sales import sale_from_input
from liveroom.server.settings import settings_from

PRODUCT = {"id": "durian", "name": "Monthong durian", "price": "890.00", "currency": "THB",
           "image": "", "origin": "Thailand"}


def test_the_defaults_cover_the_demo_currencies_in_yuan():
    rates = Settings().rates
    assert rates["CNY"] == "1"
    assert {"THB", "CLP", "NZD", "EUR", "RUB", "VND"} <= set(rates)
    assert dict(DEFAULT_CURRENCY_RATES) == rates


def test_the_variable_replaces_the_defaults_and_cny_is_always_one():
    settings = settings_from({}, {"LIVEROOM_CURRENCY_RATES": "thb=0.21, USD=7.10,,"}).core
    assert settings.rates == {"CNY": "1", "THB": "0.21", "USD": "7.10"}


@pytest.mark.parametrize("value", [
    "THB", "THB=", "THB=abc", "THB=-0.2", "THB=0", "THB=nan", "THB=inf", "BAHT=0.2", "TH=0.2",
    "CNY=2", "THB:0.2",
])
def test_a_malformed_value_stops_start_up_naming_the_setting(value):
    with pytest.raises(ConfigError, match="LIVEROOM_CURRENCY_RATES"):
        settings_from({}, {"LIVEROOM_CURRENCY_RATES": value})


def test_rates_given_as_a_setting_are_checked_too():
    with pytest.raises(ConfigError, match="LIVEROOM_CURRENCY_RATES"):
        validate(Settings(currency_rates=(("CNY", "1"), ("THB", "free"))))


def test_a_sale_keeps_the_rates_it_was_created_with():
    rates = {"CNY": "1", "THB": "0.2"}
    sale = sale_from_input({"stock": 10, "duration": 60}, PRODUCT, room="thailand", by="mod",
                           rates=rates)
    rates["THB"] = "0.3"  # the operator's rates change later: the sale's stay
    assert sale["rates"] == {"CNY": "1", "THB": "0.2"}
    assert sale["currency"] == "THB" and sale["price"] == "890.00"


def test_a_sale_without_rates_has_an_empty_table():
    sale = sale_from_input({"stock": 10, "duration": 60}, PRODUCT, room="thailand", by="mod")
    assert sale["rates"] == {}
