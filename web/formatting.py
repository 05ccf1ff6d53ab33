"""Numbers, money and content as the server renders them into a page's first paint, in the
page's language: the same shapes the scripts then keep current (money.js, ui.js)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_currency, format_decimal

from liveroom.domain.models import localized

_CODE_THEN_DIGIT = re.compile(r"^([A-Z]{3})(?=\d)")


class Formats:
    """The page's formatting, in its locale (a BCP 47 tag) and viewer currency."""

    def __init__(self, locale: str, viewer_currency: str, rates: dict[str, str],
                 lang: str) -> None:
        self.locale = locale.replace("-", "_")
        self.viewer_currency = viewer_currency
        self.rates = rates
        self.lang = lang

    def count(self, n: Any) -> str:
        return format_decimal(int(n or 0), locale=self.locale)

    def money(self, amount: Any, currency: str) -> str:
        try:
            text = format_currency(Decimal(str(amount)), currency, locale=self.locale)
        except (InvalidOperation, ValueError):
            return f"{amount} {currency}"
        # Browsers write "THB 890.00" where Babel writes "THB890.00".
        return _CODE_THEN_DIGIT.sub("\\1\u00a0", text)

    def converted(self, amount: Any, currency: str, rates: dict[str, str] | None = None) -> str:
        """"≈ CN¥178.00" in the viewer's currency, or "" (same currency, or no rate)."""
        rates = self.rates if rates is None else rates
        to = self.viewer_currency
        if currency == to or currency not in rates or to not in rates:
            return ""
        value = Decimal(str(amount)) * Decimal(rates[currency]) / Decimal(rates[to])
        return f"≈ {self.money(value.quantize(Decimal('0.01')), to)}"

    def percent_off(self, price: Any, regular: Any) -> int:
        """How much cheaper the sale price is than the regular one, in whole percent."""
        try:
            price, regular = Decimal(str(price)), Decimal(str(regular))
        except InvalidOperation:
            return 0
        if regular <= 0 or price >= regular:
            return 0
        return int(((regular - price) * 100 / regular).quantize(Decimal(1), ROUND_HALF_UP))

    @staticmethod
    def initials(name: str | None) -> str:
        """Avatar initials: "Siam Orchard Exports" -> "SO" (as ui.js initials())."""
        return "".join(word[0] for word in (name or "").split()[:2]).upper()

    def text(self, record: dict[str, Any] | None) -> dict[str, Any] | None:
        """The record with its text in the page's language (its own where none)."""
        return localized(record, self.lang) if record else record
