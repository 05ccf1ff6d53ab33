"""Flash sales and orders: the records, what a moderator may ask for, and a sale's state.

An order is of one of two kinds: "sale" (bought in a flash sale: it names its `sale_id`) or
"product" (bought at the product's own price outside a sale: no `sale_id`). Both are reserved
until paid, and both go through one atomic step in the engine (stock, idempotency key, order
record, webhook outbox entry).

A sale's state is never stored as such; it follows from its record, its remaining stock and the
clock, the same way in Python and in the Redis scripts (engine/lua/sale_*.lua):

    cancelled  a moderator cancelled it             ended     ended early, or its time is up
    scheduled  its start is still ahead              sold_out  live but no stock left
    live       open for buying

Reservations that expire give their stock back, so a sold-out sale can be live again.
"""

from __future__ import annotations

import re
import secrets
import time
from decimal import Decimal
from typing import Any

from .errors import LiveroomError
from .validation import check_int, check_price, check_slug, invalid, only_fields

MAX_SALE_STOCK = 1_000_000
MAX_PER_USER = 1000
MAX_START_DELAY = 7 * 86400
MIN_DURATION, MAX_DURATION = 10, 7 * 86400
MAX_QUANTITY = 1000
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
SALE_FIELDS = {"product_id", "price", "stock", "per_user_limit", "starts_in", "starts_at",
               "duration"}
ORDER_STATUSES = ("reserved", "paid", "cancelled", "expired")
FINAL_SALE_STATES = ("ended", "cancelled")


def now_ms() -> int:
    return int(time.time() * 1000)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def sale_from_input(data: Any, product: dict[str, Any], *, room: str, by: str,
                    rates: dict[str, str] | None = None) -> dict[str, Any]:
    """A validated sale record for `product`. Price defaults to the product's; the start is
    either `starts_in` seconds from now or `starts_at` (Unix ms).

    `rates` (currency -> CNY per unit, the settings' currency_rates) are copied into the record:
    a sale's converted prices stay what buyers were shown when it opened, even if the operator
    changes the rates while it runs."""
    data = only_fields(data, SALE_FIELDS, "sale")
    if "stock" not in data:
        raise invalid("stock", "is required")
    if "duration" not in data:
        raise invalid("duration", "is required")
    stock = check_int(data["stock"], "stock", low=1, high=MAX_SALE_STOCK)
    limit = check_int(data.get("per_user_limit", 1), "per_user_limit", low=1, high=MAX_PER_USER)
    if limit > stock:
        raise invalid("per_user_limit", f"must not exceed the stock ({stock})")
    duration = check_int(data["duration"], "duration", low=MIN_DURATION, high=MAX_DURATION)
    now = now_ms()
    if "starts_at" in data and "starts_in" in data:
        raise invalid("starts_at", "give starts_at or starts_in, not both")
    if "starts_at" in data:
        starts_at = check_int(data["starts_at"], "starts_at", low=now - 60_000,
                              high=now + MAX_START_DELAY * 1000)
    else:
        starts_at = now + 1000 * check_int(data.get("starts_in", 0), "starts_in", low=0,
                                           high=MAX_START_DELAY)
    currency = product["currency"]
    price = check_price(data.get("price", product["price"]), currency)
    return {
        "id": new_id("sale"),
        "room": room,
        "product_id": check_slug(product["id"], "product_id"),
        # The product as the sale shows it; its regular price, so pages can strike it through.
        "product": {**{k: product.get(k, "") for k in ("id", "name", "image", "origin")},
                    "price": product["price"], "currency": product["currency"],
                    **({"translations": product["translations"]}
                       if product.get("translations") else {})},
        "price": price,
        "currency": currency,
        "stock": stock,
        "per_user_limit": limit,
        "starts_at": starts_at,
        "ends_at": starts_at + duration * 1000,
        "created_by": by,
        "created_at": now,
        "rates": dict(rates or {}),
    }


def sale_state(sale: dict[str, Any], remaining: int, flag: str | None, now: int) -> str:
    """The state a sale is in; `flag` is "cancelled" or "ended" when set by a moderator."""
    if flag in FINAL_SALE_STATES:
        return flag
    if now >= sale["ends_at"]:
        return "ended"
    if now < sale["starts_at"]:
        return "scheduled"
    return "sold_out" if remaining <= 0 else "live"


def sale_view(sale: dict[str, Any], remaining: int, state: str) -> dict[str, Any]:
    """What clients see of a sale."""
    return {**sale, "remaining": remaining, "sold": sale["stock"] - remaining, "state": state}


def check_quantity(value: Any) -> int:
    return check_int(value, "quantity", low=1, high=MAX_QUANTITY)


def check_idempotency_key(value: Any) -> str:
    if not isinstance(value, str) or not IDEMPOTENCY_KEY.match(value):
        raise invalid("idempotency_key", "must be 1-64 letters, digits or _ . : -")
    return value


def new_order(sale: dict[str, Any], *, user_id: str, user_name: str | None, quantity: int,
              idempotency_key: str, reservation_ttl: float) -> dict[str, Any]:
    """An order record as a successful buy stores it: reserved until paid, or until
    `reservation_ttl` seconds have passed and its units go back to the sale."""
    total = Decimal(sale["price"]) * quantity
    created_at = now_ms()
    return {
        "id": new_id("ord"),
        "kind": "sale",
        "sale_id": sale["id"],
        "room": sale["room"],
        "product_id": sale["product_id"],
        "product_name": sale["product"]["name"],
        "user_id": user_id,
        "user_name": user_name or "",
        "quantity": quantity,
        "unit_price": sale["price"],
        "currency": sale["currency"],
        "total": str(total),
        "status": "reserved",
        "idempotency_key": idempotency_key,
        "created_at": created_at,
        "expires_at": created_at + int(reservation_ttl * 1000),
    }


def new_product_order(product: dict[str, Any], *, room: str, user_id: str,
                      user_name: str | None, quantity: int, idempotency_key: str,
                      reservation_ttl: float) -> dict[str, Any]:
    """An order for `quantity` units of a product at its own price, outside any sale. The
    engine takes it only if the product still has this price and currency (else
    price_changed), so a buyer is never charged a price they were not shown."""
    total = Decimal(product["price"]) * quantity
    created_at = now_ms()
    return {
        "id": new_id("ord"),
        "kind": "product",
        "room": room,
        "product_id": product["id"],
        "product_name": product["name"],
        "user_id": user_id,
        "user_name": user_name or "",
        "quantity": quantity,
        "unit_price": product["price"],
        "currency": product["currency"],
        "total": str(total),
        "status": "reserved",
        "idempotency_key": idempotency_key,
        "created_at": created_at,
        "expires_at": created_at + int(reservation_ttl * 1000),
    }


def masked_name(name: str | None) -> str:
    """"Just bought" shows buyers without naming them: Mei Lin -> M***n."""
    if not name:
        return "a shopper"
    name = name.strip()
    if len(name) <= 2:
        return name[0] + "*"
    return f"{name[0]}***{name[-1]}"


def buy_refusal(code: str, sale: dict[str, Any] | None, **extra: Any) -> LiveroomError:
    messages = {
        "sale_not_found": "there is no such sale in this room",
        "sale_not_started": "the sale has not started yet",
        "sale_ended": "the sale has ended",
        "sale_cancelled": "the sale was cancelled",
        "sold_out": "sold out",
        "not_enough_stock": "not enough stock left for that quantity",
        "over_limit": "that would take you over the per-person limit",
        "idempotency_conflict": "this idempotency key was used for a different quantity",
        "product_not_found": "there is no such product in this room",
        "price_changed": "the product's price changed: look at it again before buying",
    }
    return LiveroomError(code, messages[code], **extra)
