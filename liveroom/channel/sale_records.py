"""The sale records this instance has seen on its rooms' streams, so that a buy needs no lookup
of the sale's price and terms (the engine still checks the sale's state in the buy itself).

Fed by the fan-out with every sale event (each carries the whole sale); a sale leaves once it has
ended or been cancelled, so only running and scheduled sales are held.
"""

from __future__ import annotations

from typing import Any

from ..engine import Engine

FINISHED = ("ended", "cancelled")


class SaleRecords:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._rooms: dict[str, dict[str, dict[str, Any]]] = {}

    def observe(self, room: str, event: dict[str, Any]) -> None:
        """A room event, as the fan-out delivers it."""
        sale = event.get("sale") if event["type"].startswith("sale.") else None
        if sale is None:
            return
        sales = self._rooms.setdefault(room, {})
        if sale["state"] in FINISHED:
            sales.pop(sale["id"], None)
            if not sales:
                del self._rooms[room]
        else:
            sales[sale["id"]] = sale

    async def get(self, room: str, sale_id: str) -> dict[str, Any] | None:
        """The sale, from what the stream showed or else from the engine."""
        sale = self._rooms.get(room, {}).get(sale_id)
        if sale is None:
            sale = await self._engine.sales.get_sale(room, sale_id)
        return sale
