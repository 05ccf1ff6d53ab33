"""A room's orders in the order every engine lists them (created_at, then id), by room, sale
and buyer, for the embedded engine: a page is a binary search and a slice, whatever the size."""

from __future__ import annotations

import bisect
from collections import defaultdict
from typing import Any

Key = tuple[int, str]


class OrderIndex:
    def __init__(self) -> None:
        self._all: list[Key] = []
        self._by_sale: defaultdict[str, list[Key]] = defaultdict(list)
        self._by_user: defaultdict[str, list[Key]] = defaultdict(list)

    def add(self, order: dict[str, Any]) -> None:
        key = (order["created_at"], order["id"])
        lists = [self._all, self._by_user[order["user_id"]]]
        if order.get("sale_id"):  # a product bought outside a sale has none
            lists.append(self._by_sale[order["sale_id"]])
        for keys in lists:
            bisect.insort(keys, key)

    def page(self, *, sale_id: str | None, user_id: str | None, after: Key | None,
             limit: int) -> list[str]:
        """Ids of up to `limit` orders after `after` (every order's key, in or out of the
        list: a position), of one sale, one buyer or all."""
        keys = (self._by_sale.get(sale_id, []) if sale_id is not None
                else self._by_user.get(user_id, []) if user_id is not None else self._all)
        start = 0 if after is None else bisect.bisect_right(keys, after)
        return [order_id for _at, order_id in keys[start:start + limit]]
