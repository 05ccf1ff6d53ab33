"""Sales: flash sales, the atomic buy, orders, and the outbox their webhooks are sent from.

Guarantees every implementation keeps (tests/engine/test_sales_contract.py checks them):
- buy() is one atomic step: the sale's state and clock, its stock, the buyer's per-user count,
  the idempotency key, the stock decrement, the order record and the order's outbox entry. It can
  never sell more than the stock nor more than the per-user limit, and a buy repeated with the
  same idempotency key returns the order the first one made (never a second order), whatever
  instance it reaches.
- An acknowledged order is durable: in Redis (with the deployment's append-only persistence), on
  disk before the acknowledgement in the embedded engine. A restart loses no order, and stock,
  per-user counts and idempotency keys come back with them.
- buy_product() is the same atomic step for a product bought at its own price outside any
  sale: the product's price and stock, the idempotency key, the decrement of the product's
  stock (announced as product.updated in that step), the order record and its outbox entry.
  It never sells more than the product's stock.
- A reservation that expires or is cancelled gives its stock back, once: to its sale, or to
  its product (announced as product.updated) when it was bought outside a sale.
- Every settlement (paid, cancelled, expired) is announced to its buyer alone: an
  order.updated event addressed to the buyer ("to": user id), in the same step. The room
  channel delivers addressed events only to that user's connections.
- Each lifecycle transition of a sale (started, sold out, ended, cancelled) is announced on the
  room's stream exactly once, whichever instances tick; stock changes are announced coalesced
  (publish_latest), and the last value is always announced.
- Every order.created, order.paid, order.cancelled and sale.ended goes into the outbox in the same
  step as the change it reports; an entry is leased to one instance at a time until acknowledged.
- Sales, buys and orders need their room: create_sale and buy refuse room_not_found for a room
  that does not exist, or no longer does.
- A deleted room's orders are never lost with it (Store.delete_room): its sales, orders, outbox,
  webhook and delivery log stay as the room's *archive*. Reservations in it still expire, the
  shop system may still settle its orders, and its webhook is still delivered. The archive is
  *settled* once no order is reserved and (if it has a webhook) no delivery is pending, and
  *exported* once every order was read to the last page while it was settled (mark_exported).
  Only then may purge_archive remove it; until then the room's id cannot be used again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from ..domain.errors import LiveroomError


@dataclass
class BuyResult:
    order: dict[str, Any]
    created: bool  # False when an earlier buy with the same idempotency key made it


@dataclass
class OutboxEntry:
    id: str
    room: str
    type: str  # order.created | order.paid | order.cancelled | sale.ended
    payload: dict[str, Any]
    attempts: int
    created_at: int  # Unix ms: when the change it reports happened


@dataclass
class Archive:
    """What is left of a deleted room until it is purged."""

    room: dict[str, Any]  # the room's record when it was deleted
    deleted_at: int  # Unix ms
    orders: int
    reserved: int  # orders neither paid, cancelled nor expired yet
    undelivered: int  # webhook deliveries not yet acknowledged (0 without a webhook)
    exported_at: int | None  # Unix ms: when its orders were last read to the end, settled

    @property
    def settled(self) -> bool:
        return self.reserved == 0 and self.undelivered == 0

    @property
    def purgeable(self) -> bool:
        return self.settled and self.exported_at is not None

    def view(self) -> dict[str, Any]:
        return {"room": self.room, "deleted_at": self.deleted_at, "orders": self.orders,
                "reserved": self.reserved, "undelivered": self.undelivered,
                "exported_at": self.exported_at, "settled": self.settled,
                "purgeable": self.purgeable}

    def refusal(self) -> LiveroomError:
        """Why it cannot be purged yet."""
        missing = []
        if self.reserved:
            missing.append(f"{self.reserved} order(s) still reserved: pay or cancel them, or "
                           "let them expire")
        if self.undelivered:
            missing.append(f"{self.undelivered} webhook delivery(ies) still pending")
        if self.exported_at is None:
            missing.append("its orders were not exported since they were settled: read them "
                           "to the last page")
        return LiveroomError("not_purgeable", f"the archive of {self.room['id']!r} is kept: "
                             + "; ".join(missing), reserved=self.reserved,
                             undelivered=self.undelivered, exported=self.exported_at is not None)


def archived_conflict(room: str) -> LiveroomError:
    return LiveroomError("conflict", f"room {room!r} was deleted and its orders are kept until "
                         f"they are settled, exported and purged (/api/archives/{room})")


PAGE_LIMIT = 1000  # the most orders one list_orders call returns


class Sales(ABC):
    # --- sales -------------------------------------------------------------------------------
    @abstractmethod
    async def create_sale(self, room: str, sale: dict[str, Any]) -> dict[str, Any]:
        """Store a new sale (see liveroom/sales.py) and announce it (sale.scheduled, or
        sale.started when it starts at once); return its view."""

    @abstractmethod
    async def get_sale(self, room: str, sale_id: str) -> dict[str, Any] | None:
        """The sale's view (record, remaining, sold, state), or None."""

    @abstractmethod
    async def list_sales(self, room: str, *, active: bool = False) -> list[dict[str, Any]]:
        """The room's sales, oldest first; with `active`, those not ended or cancelled."""

    @abstractmethod
    async def finish_sale(self, room: str, sale_id: str, outcome: str, by: str
                          ) -> dict[str, Any]:
        """End early ("ended") or cancel ("cancelled") a sale that has not finished; announce
        it. sale_not_found, or conflict if it had already finished."""

    @abstractmethod
    async def tick(self, room: str) -> None:
        """Announce what the clock changed (sale.started, sale.sold_out, sale.ended), offer the
        current stock of every active sale, and expire due reservations. Every instance calls
        it for its rooms a few times a second; each announcement happens once."""

    # --- buying ------------------------------------------------------------------------------
    @abstractmethod
    async def buy(self, room: str, sale_id: str, order: dict[str, Any]) -> BuyResult:
        """Reserve `order["quantity"]` units for `order["user_id"]` (an order from
        liveroom.sales.new_order). Refusals: sale_not_found, sale_not_started, sale_ended,
        sale_cancelled, sold_out, not_enough_stock, over_limit, idempotency_conflict."""

    @abstractmethod
    async def buy_product(self, room: str, order: dict[str, Any]) -> BuyResult:
        """Reserve `order["quantity"]` units of `order["product_id"]` at its own price (an order
        from domain.sales.new_product_order). Refusals: product_not_found, price_changed (the
        product's price or currency is no longer the order's unit price), sold_out,
        not_enough_stock (with `remaining`), idempotency_conflict. Keys belong to the buyer
        and the product."""

    # --- orders ------------------------------------------------------------------------------
    @abstractmethod
    async def get_order(self, room: str, order_id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    async def list_orders(self, room: str, *, sale_id: str | None = None,
                          user_id: str | None = None, after: str | None = None,
                          limit: int = PAGE_LIMIT) -> list[dict[str, Any]]:
        """Orders of the room, of one sale, or of one buyer (at most one of the two), oldest
        first (by created_at, then id), at most `limit` of them: those after the order `after`
        (a page's last order: the cursor of the next page). An `after` that names no order
        of the room is refused with invalid_field."""

    @abstractmethod
    async def settle(self, room: str, order_id: str, status: str, by: str) -> dict[str, Any]:
        """Mark a reserved order "paid", or "cancelled" (its stock returns to the sale).
        order_not_found; conflict when it is no longer reserved (the same status again is
        answered with the order as it is: settling is idempotent)."""

    # --- outbox ------------------------------------------------------------------------------
    @abstractmethod
    async def claim_outbox(self, room: str, *, limit: int, lease: float) -> list[OutboxEntry]:
        """Entries due for delivery, leased to the caller for `lease` seconds: no other
        instance gets them until the lease runs out."""

    @abstractmethod
    async def finish_outbox(self, room: str, entry_id: str, *, delivered: bool,
                            retry_in: float = 0.0) -> None:
        """Delivered: done with the entry. Otherwise: due again in `retry_in` seconds."""

    @abstractmethod
    async def requeue_outbox(self, room: str, entry_id: str) -> bool:
        """Make an entry due again now: a pending one, or a delivered one still in the
        delivery log (a replay). False if it is unknown."""

    # --- webhooks: configuration and delivery log ---------------------------------------------
    @abstractmethod
    async def set_webhook(self, room: str, config: dict[str, Any] | None) -> None:
        """The room's webhook {url, secret}, or None to remove it."""

    @abstractmethod
    async def get_webhook(self, room: str) -> dict[str, Any] | None: ...

    @abstractmethod
    async def webhook_rooms(self) -> list[str]:
        """Rooms with a webhook: where outbox entries are delivered from."""

    @abstractmethod
    async def sale_rooms(self) -> list[str]:
        """Rooms where tick() has work: a sale not yet ended or cancelled, or a reservation
        not yet settled. A room may stay listed until a tick finds it has none left."""

    @abstractmethod
    async def log_delivery(self, room: str, record: dict[str, Any]) -> None:
        """Keep a delivery attempt (the last DELIVERY_LOG_SIZE per room)."""

    @abstractmethod
    async def deliveries(self, room: str, limit: int = 100) -> list[dict[str, Any]]:
        """Delivery attempts, newest first."""

    # --- archives of deleted rooms -------------------------------------------------------------
    @abstractmethod
    async def archives(self) -> list[Archive]:
        """Every deleted room's archive not yet purged, oldest deletion first."""

    @abstractmethod
    async def archive(self, room: str) -> Archive | None: ...

    @abstractmethod
    async def mark_exported(self, room: str) -> bool:
        """Record that the archive's orders were all read, if it has no reserved order left
        (then none can change any more); False otherwise, or without an archive."""

    @abstractmethod
    async def purge_archive(self, room: str) -> None:
        """Remove a settled, exported archive for good, and free the room's id. room_not_found
        without one; not_purgeable (reserved, undelivered, exported) before it may go."""


DELIVERY_LOG_SIZE = 1000
