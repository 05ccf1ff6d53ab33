"""What this instance's viewers did since the tickers last published it: likes and purchases,
added up per room so that a thousand taps make one event, not a thousand (tickers.py)."""

from __future__ import annotations

Purchases = dict[str, list[tuple[str | None, int]]]  # sale id -> (buyer's name, units) each


class Tally:
    def __init__(self) -> None:
        self._likes: dict[str, int] = {}
        self._purchases: dict[str, Purchases] = {}

    def add_likes(self, room: str, count: int) -> None:
        self._likes[room] = self._likes.get(room, 0) + count

    def take_likes(self) -> dict[str, int]:
        """Likes per room since the last take."""
        likes, self._likes = self._likes, {}
        return likes

    def add_purchase(self, room: str, sale_id: str, name: str | None, units: int) -> None:
        self._purchases.setdefault(room, {}).setdefault(sale_id, []).append((name, units))

    def take_purchases(self) -> dict[str, Purchases]:
        """Purchases per room and sale since the last take."""
        purchases, self._purchases = self._purchases, {}
        return purchases
