"""The shopping settings: the checkout link and its secret, the sign-in link, and the
currency each page language converts to. A bad value stops start-up, naming the setting."""

from __future__ import annotations

import pytest

from liveroom.config import ConfigError
from liveroom.server.settings import settings_from

SECRET = "a-secret-of-enough-characters-0123456789"


def _core(**env: str):
    return settings_from({}, {"LIVEROOM_SECRET": SECRET, **env}).core


def test_each_language_converts_to_its_own_currency_and_yuan_without_one():
    settings = _core()
    assert [settings.currency_for(lang) for lang in ("th", "ru", "vi", "zh", "xx")] == [
        "THB", "RUB", "VND", "CNY", "CNY"]
    settings = _core(LIVEROOM_LANGUAGE_CURRENCIES="th=thb, es=CLP",
                     LIVEROOM_CURRENCY_RATES="THB=0.2")
    assert settings.language_currencies == (("th", "THB"), ("es", "CLP"))
    assert settings.currency_for("th") == "THB"
    assert settings.currency_for("es") == "CNY"  # no rate for CLP here: yuan


@pytest.mark.parametrize("env, message", [
    ({"LIVEROOM_LANGUAGE_CURRENCIES": "thai=THB"}, "LIVEROOM_LANGUAGE_CURRENCIES"),
    ({"LIVEROOM_CHECKOUT_URL": "shop.example/pay/{order}"}, "must be an http:// or https://"),
    ({"LIVEROOM_CHECKOUT_URL": "https://shop.example/pay"}, "must contain {order}"),
    ({"LIVEROOM_CHECKOUT_URL": "https://shop.example/{order}/{amount}"}, "{amount}"),
    ({"LIVEROOM_CHECKOUT_URL": "https://shop.example/{order}?s={signature}"},
     "LIVEROOM_CHECKOUT_SECRET"),
    ({"LIVEROOM_CHECKOUT_URL": "https://shop.example/{order}?s={signature}",
      "LIVEROOM_CHECKOUT_SECRET": "short"}, "at least 16"),
    ({"LIVEROOM_SIGNIN_URL": "https://shop.example/login?next={page}"}, "{page}"),
])
def test_bad_shopping_settings_stop_start_up(env, message):
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}")):
        _core(**env)


def test_good_shopping_settings_are_taken():
    settings = _core(LIVEROOM_CHECKOUT_URL="https://shop.example/pay/{order}?s={signature}",
                     LIVEROOM_CHECKOUT_SECRET="0123456789abcdef",
                     LIVEROOM_SIGNIN_URL="https://shop.example/login?next={return}")
    assert settings.checkout_url == "https://shop.example/pay/{order}?s={signature}"
    assert settings.signin_url == "https://shop.example/login?next={return}"
