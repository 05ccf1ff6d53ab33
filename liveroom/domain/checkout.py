"""Paying for an order: the link to the shop's checkout, signed so the shop can trust it.

The operator gives a URL template (LIVEROOM_CHECKOUT_URL) with placeholders {order} (the
order id), {room}, {total}, {currency} and {signature}; every reserved order a buyer sees
carries it filled in as `pay_url`. The signature is the hex HMAC-SHA256, keyed with
LIVEROOM_CHECKOUT_SECRET, of "<room>.<order id>.<total>.<currency>": the shop checks it
(`verify`) before charging, so nobody can send a buyer to pay another amount. Once paid, the
shop marks the order paid over the REST API (POST .../orders/{order}/pay), as before.

A guest who wants to buy is sent to the operator's sign-in page (LIVEROOM_SIGNIN_URL, with
{return}: the page to come back to).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any
from urllib.parse import quote

CHECKOUT_PLACEHOLDERS = frozenset({"order", "room", "total", "currency", "signature"})
SIGNIN_PLACEHOLDERS = frozenset({"return"})
_PLACEHOLDER = re.compile(r"\{(\w*)\}")


def placeholders(template: str) -> set[str]:
    return set(_PLACEHOLDER.findall(template))


def signature(secret: str, *, room: str, order_id: str, total: str, currency: str) -> str:
    message = f"{room}.{order_id}.{total}.{currency}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, *, room: str, order_id: str, total: str, currency: str,
           given: str) -> bool:
    """Whether a checkout link's signature is ours for exactly this order and amount."""
    expected = signature(secret, room=room, order_id=order_id, total=total, currency=currency)
    return hmac.compare_digest(expected, given)


def fill(template: str, values: dict[str, str]) -> str:
    """The template with each {name} replaced by its value, URL-encoded."""
    return _PLACEHOLDER.sub(lambda m: quote(values.get(m[1], ""), safe=""), template)


def pay_url(template: str, secret: str | None, order: dict[str, Any]) -> str:
    values = {"order": order["id"], "room": order["room"], "total": order["total"],
              "currency": order["currency"]}
    if secret:
        values["signature"] = signature(secret, room=order["room"], order_id=order["id"],
                                        total=order["total"], currency=order["currency"])
    return fill(template, values)


def with_pay_url(order: dict[str, Any], template: str | None, secret: str | None
                 ) -> dict[str, Any]:
    """The order as its buyer sees it: a reserved one carries its `pay_url` (when the operator
    has a checkout)."""
    if not template or order.get("status") != "reserved":
        return order
    return {**order, "pay_url": pay_url(template, secret, order)}
