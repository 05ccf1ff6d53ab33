"""In-process sales for the embedded engine; see sales.py for the guarantees.

Every change is a journal record (journal.py): the live path checks, applies the records to the
state and publishes without an `await` in between (atomic on the event loop), then waits for the
records to be on disk before it answers; start-up replays the same records through the same
`_apply`, so the state after a restart is exactly the acknowledged one.

A product bought outside a sale takes its units from the product's stock, which the store
keeps in the room's document: the purchase writes that document (stock taken) before its
order is journaled, and a cancelled or expired order is journaled before its units go back.
A crash between the two writes can leave units unsold; it can never sell them twice.

A deleted room's sales and orders stay here as its archive until they are purged (sales.py); a
purge takes them out of memory and out of the journal and the delivery log on disk.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import json
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..domain import events
from ..domain.errors import LiveroomError
from ..domain.sales import buy_refusal, now_ms, sale_state, sale_view
from ..domain.validation import invalid
from .disk import write_atomically
from .journal import Journal
from .memory_broker import MemoryBroker
from .memory_orders import OrderIndex
from .sales import DELIVERY_LOG_SIZE, PAGE_LIMIT, Archive, BuyResult, OutboxEntry, Sales

STOCK_INTERVAL = 0.25
PRODUCT_KEYS = "product:"  # idempotency keys of purchases outside a sale: (PRODUCT_KEYS + id, ...)


@dataclass
class _Sale:
    record: dict[str, Any]
    remaining: int
    told: str
    flag: str | None = None

    def state(self, now: int) -> str:
        return sale_state(self.record, self.remaining, self.flag, now)

    def view(self, now: int) -> dict[str, Any]:
        return sale_view(self.record, self.remaining, self.state(now))


@dataclass
class _Room:
    sales: dict[str, _Sale] = field(default_factory=dict)
    held: collections.Counter = field(default_factory=collections.Counter)  # (sale, user)
    idempotency: dict[tuple[str, str, str], str] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # in creation order
    order_index: OrderIndex = field(default_factory=OrderIndex)
    reserved: dict[str, int] = field(default_factory=dict)  # order id -> expires_at (ms)
    outbox: dict[str, dict[str, Any]] = field(default_factory=dict)
    outbox_due: dict[str, int] = field(default_factory=dict)
    outbox_seq: int = 0
    webhook: dict[str, Any] | None = None
    deliveries: collections.deque = field(
        default_factory=lambda: collections.deque(maxlen=DELIVERY_LOG_SIZE))
    # Set once the room is deleted: {"record", "deleted_at", "exported_at"}.
    archived: dict[str, Any] | None = None


class RoomStock(Protocol):
    """What the sales need of the store: whether a room exists, and its products' stock."""

    def has_room(self, room: str) -> bool: ...

    def product_now(self, room: str, product_id: str) -> dict[str, Any] | None: ...

    def take_stock(self, room: str, product_id: str, change: int) -> dict[str, Any] | None: ...


class MemorySales(Sales):
    # The rooms and their products' stock (the store). The store is made with these sales (a
    # deleted room's orders stay here), so the engine hands it over once both exist.
    rooms: RoomStock

    def __init__(self, broker: MemoryBroker, data_dir: Path) -> None:
        self._broker = broker
        self._rooms: collections.defaultdict[str, _Room] = collections.defaultdict(_Room)
        self._journal = Journal(Path(data_dir) / "sales.journal")
        # Delivery attempts are a log for people, not state: appended, not fsynced.
        self._delivery_path = Path(data_dir) / "deliveries.log"
        for record in self._journal.replay():
            self._apply(record)
        if self._delivery_path.exists():
            self._load_deliveries()

    def _load_deliveries(self) -> None:
        """Read the delivery log back, and rewrite it with only what is kept."""
        for line in self._delivery_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                if entry["room"] in self._rooms:  # not purged since
                    self._rooms[entry["room"]].deliveries.appendleft(entry["record"])
        self._save_deliveries()

    def _save_deliveries(self) -> None:
        kept = [json.dumps({"room": room, "record": record}, ensure_ascii=False)
                for room, state in self._rooms.items() for record in reversed(state.deliveries)]
        write_atomically(self._delivery_path,
                         "".join(line + "\n" for line in kept).encode("utf-8"))

    async def close(self) -> None:
        await self._journal.close()

    # --- the one place state changes ----------------------------------------------------------
    def _apply(self, record: dict[str, Any]) -> None:
        kind = record["t"]
        if kind == "purge":
            self._rooms.pop(record["room"], None)
            return
        room = self._rooms[record["room"]]
        if kind == "sale":
            sale = record["sale"]
            room.sales[sale["id"]] = _Sale(sale, sale["stock"], record["state"])
        elif kind == "told":
            room.sales[record["sale_id"]].told = record["state"]
        elif kind == "finish":
            room.sales[record["sale_id"]].flag = record["outcome"]
        elif kind == "order":
            order = record["order"]
            if order.get("sale_id"):
                sale = room.sales[order["sale_id"]]
                sale.remaining -= order["quantity"]
                room.held[order["sale_id"], order["user_id"]] += order["quantity"]
            room.idempotency[_key_of(order)] = order["id"]
            room.orders[order["id"]] = dict(order)  # a copy: the caller keeps its own
            room.order_index.add(order)
            room.reserved[order["id"]] = order["expires_at"]
        elif kind == "settle":
            order = room.orders[record["order_id"]]
            order.update(status=record["status"], settled_at=record["at"],
                         settled_by=record["by"])
            room.reserved.pop(record["order_id"], None)
            if record["status"] != "paid" and order.get("sale_id"):
                room.sales[order["sale_id"]].remaining += order["quantity"]
                room.held[order["sale_id"], order["user_id"]] -= order["quantity"]
        elif kind == "outbox":
            room.outbox_seq = max(room.outbox_seq, int(record["id"]))
            # A copy as it is now: the webhook reports the order at this moment.
            room.outbox[record["id"]] = {"type": record["type"],
                                         "payload": copy.deepcopy(record["payload"]),
                                         "attempts": 0, "created_at": record["created_at"]}
            room.outbox_due[record["id"]] = record["created_at"]
        elif kind == "delivered":
            room.outbox.pop(record["id"], None)
            room.outbox_due.pop(record["id"], None)
        elif kind == "webhook":
            room.webhook = record["config"]
        elif kind == "archive":
            room.archived = {"record": record["record"], "deleted_at": record["at"],
                             "exported_at": None}
        elif kind == "exported":
            assert room.archived is not None
            room.archived["exported_at"] = record["at"]
        else:
            raise ValueError(f"unknown journal record {kind!r}")

    def _commit(self, *records: dict[str, Any]):
        """Apply records now; the returned future completes once they are durable."""
        for record in records:
            self._apply(record)
        return self._journal.append(*records)

    def _outbox_record(self, room: str, kind: str, payload: dict[str, Any], now: int) -> dict:
        state = self._rooms[room]
        state.outbox_seq += 1  # _apply agrees: it keeps the highest id seen
        return {"t": "outbox", "room": room, "id": str(state.outbox_seq), "type": kind,
                "payload": payload, "created_at": now}

    # --- sales -------------------------------------------------------------------------------
    def _need_room(self, room: str) -> None:
        if not self.rooms.has_room(room):
            raise LiveroomError("room_not_found", f"no room {room!r}")

    async def create_sale(self, room: str, sale: dict[str, Any]) -> dict[str, Any]:
        self._need_room(room)
        state = sale_state(sale, sale["stock"], None, now_ms())
        durable = self._commit({"t": "sale", "room": room, "sale": sale, "state": state})
        view = sale_view(sale, sale["stock"], state)
        kind = "sale.started" if state == "live" else "sale.scheduled"
        self._broker.publish_now(room, events.sale_event(kind, view))
        await durable
        return view

    async def get_sale(self, room: str, sale_id: str) -> dict[str, Any] | None:
        sale = self._rooms[room].sales.get(sale_id)
        return sale.view(now_ms()) if sale else None

    async def list_sales(self, room: str, *, active: bool = False) -> list[dict[str, Any]]:
        now = now_ms()
        views = [sale.view(now) for sale in self._rooms[room].sales.values()]
        if active:
            views = [v for v in views if v["state"] not in ("ended", "cancelled")]
        return views

    async def finish_sale(self, room: str, sale_id: str, outcome: str, by: str
                          ) -> dict[str, Any]:
        sale = self._rooms[room].sales.get(sale_id)
        if sale is None:
            raise buy_refusal("sale_not_found", None)
        if sale.flag or sale.told in ("ended", "cancelled"):
            raise LiveroomError("conflict", "the sale has already finished")
        durable = self._commit({"t": "finish", "room": room, "sale_id": sale_id,
                                "outcome": outcome})
        await durable
        await self._announce(room)
        return sale.view(now_ms())

    async def tick(self, room: str) -> None:
        now = now_ms()
        due = [order_id for order_id, expires_at in self._rooms[room].reserved.items()
               if expires_at <= now]
        for order_id in due:  # first, so that what is announced next is current
            await self.settle(room, order_id, "expired", "system")
        for sale in await self._announce(room):
            await self._broker.publish_latest(
                room, f"stock:{sale.record['id']}",
                events.sale_stock(sale.record["id"], sale.remaining,
                                  sale.record["stock"] - sale.remaining),
                STOCK_INTERVAL,
            )

    async def _announce(self, room: str) -> list[_Sale]:
        """Publish each sale's state change once; return the sales still active."""
        durable, active = self._announce_now(room)
        if durable is not None:
            await durable
        return active

    def _announce_now(self, room: str) -> tuple[asyncio.Future | None, list[_Sale]]:
        """_announce without waiting for the disk: the future completes once it is there."""
        now = now_ms()
        records, announcements, active = [], [], []
        for sale in self._rooms[room].sales.values():
            if sale.told in ("ended", "cancelled"):
                continue
            state = sale.state(now)
            if state != sale.told:
                records.append({"t": "told", "room": room, "sale_id": sale.record["id"],
                                "state": state})
                view = sale_view(sale.record, sale.remaining, state)
                if state != "scheduled":
                    kind = "sale.started" if state == "live" else f"sale.{state}"
                    announcements.append(events.sale_event(kind, view))
                if state in ("ended", "cancelled"):
                    records.append(self._outbox_record(room, "sale.ended", view, now))
            if state not in ("ended", "cancelled"):
                active.append(sale)
        durable = None
        if records:
            durable = self._commit(*records)
            for event in announcements:
                self._broker.publish_now(room, event)
        return durable, active

    # --- buying ------------------------------------------------------------------------------
    async def buy(self, room: str, sale_id: str, order: dict[str, Any]) -> BuyResult:
        self._need_room(room)
        state = self._rooms[room]
        sale = state.sales.get(sale_id)
        if sale is None:
            raise buy_refusal("sale_not_found", None)
        user, quantity = order["user_id"], order["quantity"]
        earlier = state.idempotency.get((sale_id, user, order["idempotency_key"]))
        if earlier is not None:
            existing = state.orders[earlier]
            if existing["quantity"] != quantity:
                raise buy_refusal("idempotency_conflict", None)
            return BuyResult(dict(existing), False)
        status = sale.state(now_ms())
        if status == "scheduled":
            raise buy_refusal("sale_not_started", None, starts_at=sale.record["starts_at"])
        if status in ("ended", "cancelled"):
            raise buy_refusal(f"sale_{status}", None)
        if status == "sold_out":
            raise buy_refusal("sold_out", None)
        if sale.remaining < quantity:
            raise buy_refusal("not_enough_stock", None, remaining=sale.remaining)
        held = state.held[sale_id, user]
        limit = sale.record["per_user_limit"]
        if held + quantity > limit:
            raise buy_refusal("over_limit", None, held=held, limit=limit)
        await self._commit(
            {"t": "order", "room": room, "order": order},
            self._outbox_record(room, "order.created", order, order["created_at"]),
        )
        return BuyResult(dict(order), True)

    async def buy_product(self, room: str, order: dict[str, Any]) -> BuyResult:
        state = self._rooms[room]
        earlier = state.idempotency.get(_key_of(order))
        if earlier is not None:
            existing = state.orders[earlier]
            if existing["quantity"] != order["quantity"]:
                raise buy_refusal("idempotency_conflict", None)
            return BuyResult(dict(existing), False)
        product = self.rooms.product_now(room, order["product_id"])
        if product is None:
            raise buy_refusal("product_not_found", None)
        if (product["price"], product["currency"]) != (order["unit_price"], order["currency"]):
            raise buy_refusal("price_changed", None, price=product["price"],
                              currency=product["currency"])
        if product["stock"] <= 0:
            raise buy_refusal("sold_out", None)
        if product["stock"] < order["quantity"]:
            raise buy_refusal("not_enough_stock", None, remaining=product["stock"])
        # Stock first (written and announced), then the order: see the module's docstring.
        self.rooms.take_stock(room, order["product_id"], -order["quantity"])
        await self._commit(
            {"t": "order", "room": room, "order": order},
            self._outbox_record(room, "order.created", order, order["created_at"]),
        )
        return BuyResult(dict(order), True)

    # --- orders ------------------------------------------------------------------------------
    async def get_order(self, room: str, order_id: str) -> dict[str, Any] | None:
        order = self._rooms[room].orders.get(order_id)
        return dict(order) if order else None

    async def list_orders(self, room: str, *, sale_id: str | None = None,
                          user_id: str | None = None, after: str | None = None,
                          limit: int = PAGE_LIMIT) -> list[dict[str, Any]]:
        if sale_id is not None and user_id is not None:
            raise ValueError("list_orders takes a sale or a buyer, not both")
        state = self._rooms.get(room)
        if state is None:
            if after is not None:
                raise _unknown_cursor(after)
            return []
        cursor = None
        if after is not None:
            if after not in state.orders:
                raise _unknown_cursor(after)
            cursor = (state.orders[after]["created_at"], after)
        ids = state.order_index.page(sale_id=sale_id, user_id=user_id, after=cursor,
                                     limit=min(limit, PAGE_LIMIT))
        return [dict(state.orders[order_id]) for order_id in ids]

    async def settle(self, room: str, order_id: str, status: str, by: str) -> dict[str, Any]:
        order = self._rooms[room].orders.get(order_id)
        if order is None:
            raise LiveroomError("order_not_found", f"no order {order_id!r} in {room!r}")
        if order["status"] == status:
            return dict(order)
        if order["status"] != "reserved":
            raise LiveroomError("conflict", f"the order is already {order['status']}",
                                status=order["status"])
        now = now_ms()
        settle = {"t": "settle", "room": room, "order_id": order_id, "status": status,
                  "at": now, "by": by}
        self._apply(settle)
        # The webhook reports the order as settled, so its record is built after the change.
        kind = "order.paid" if status == "paid" else "order.cancelled"
        outbox = self._outbox_record(room, kind, dict(order), now)
        self._apply(outbox)
        self._broker.publish_now(room, events.order_updated(dict(order)))
        await self._journal.append(settle, outbox)
        if status != "paid" and not order.get("sale_id"):
            # Journaled first: a crash now leaves the units unsold, never sold twice.
            self.rooms.take_stock(room, order["product_id"], order["quantity"])
        return dict(order)

    # --- outbox ------------------------------------------------------------------------------
    async def claim_outbox(self, room: str, *, limit: int, lease: float) -> list[OutboxEntry]:
        state = self._rooms[room]
        now = now_ms()
        due = sorted((at, eid) for eid, at in state.outbox_due.items() if at <= now)[:limit]
        entries = []
        for _at, entry_id in due:
            state.outbox_due[entry_id] = now + int(lease * 1000)
            entry = state.outbox[entry_id]
            entries.append(OutboxEntry(id=f"{room}.{entry_id}", room=room, type=entry["type"],
                                       payload=entry["payload"], attempts=entry["attempts"],
                                       created_at=entry["created_at"]))
        return entries

    async def finish_outbox(self, room: str, entry_id: str, *, delivered: bool,
                            retry_in: float = 0.0) -> None:
        state = self._rooms[room]
        local = entry_id.rsplit(".", 1)[-1]
        if local not in state.outbox:
            return
        if delivered:
            await self._commit({"t": "delivered", "room": room, "id": local})
        else:
            state.outbox[local]["attempts"] += 1
            state.outbox_due[local] = now_ms() + int(retry_in * 1000)

    async def requeue_outbox(self, room: str, entry_id: str) -> bool:
        state = self._rooms[room]
        local = entry_id.rsplit(".", 1)[-1]
        if local not in state.outbox:
            logged = next((d for d in state.deliveries if d["delivery_id"] == entry_id), None)
            if logged is None:
                return False
            await self._commit({"t": "outbox", "room": room, "id": local,
                                "type": logged["type"], "payload": logged["payload"],
                                "created_at": logged["created_at"]})
        state.outbox_due[local] = 0
        return True

    # --- webhooks ----------------------------------------------------------------------------
    async def set_webhook(self, room: str, config: dict[str, Any] | None) -> None:
        await self._commit({"t": "webhook", "room": room, "config": config})

    async def get_webhook(self, room: str) -> dict[str, Any] | None:
        return self._rooms[room].webhook

    async def webhook_rooms(self) -> list[str]:
        return sorted(r for r, state in self._rooms.items() if state.webhook)

    async def sale_rooms(self) -> list[str]:
        return sorted(r for r, state in self._rooms.items() if state.reserved or any(
            sale.told not in ("ended", "cancelled") for sale in state.sales.values()))

    async def log_delivery(self, room: str, record: dict[str, Any]) -> None:
        if room not in self._rooms:
            return  # purged while the attempt was under way
        self._rooms[room].deliveries.appendleft(record)
        with open(self._delivery_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"room": room, "record": record}, ensure_ascii=False) + "\n")

    async def deliveries(self, room: str, limit: int = 100) -> list[dict[str, Any]]:
        return list(self._rooms[room].deliveries)[:limit]

    # --- archives of deleted rooms -------------------------------------------------------------
    def close_room(self, room: str, record: dict[str, Any]) -> Awaitable[Any]:
        """The sales' part of deleting a room (MemoryStore.delete_room), done at once: end its
        running and scheduled sales (announced, and in the outbox) and keep what was sold as
        its archive; a room that never had a sale nor an order leaves nothing. Completes once
        on disk."""
        state = self._rooms.get(room)
        if state is None or not (state.sales or state.orders):
            return self._commit({"t": "purge", "room": room}) if state else _done()
        finishes = [{"t": "finish", "room": room, "sale_id": sale_id, "outcome": "ended"}
                    for sale_id, sale in state.sales.items()
                    if sale.flag is None and sale.told not in ("ended", "cancelled")]
        steps = [self._commit(*finishes)] if finishes else []
        announced, _active = self._announce_now(room)
        if announced is not None:
            steps.append(announced)
        steps.append(self._commit({"t": "archive", "room": room, "record": record,
                                   "at": now_ms()}))
        return asyncio.gather(*steps)

    def archived_rooms(self) -> list[str]:
        return [room for room, state in self._rooms.items() if state.archived is not None]

    def has_archive(self, room: str) -> bool:
        state = self._rooms.get(room)
        return state is not None and state.archived is not None

    def _archive(self, room: str) -> Archive | None:
        state = self._rooms.get(room)
        if state is None or state.archived is None:
            return None
        return Archive(room=state.archived["record"], deleted_at=state.archived["deleted_at"],
                       orders=len(state.orders), reserved=len(state.reserved),
                       undelivered=len(state.outbox) if state.webhook else 0,
                       exported_at=state.archived["exported_at"])

    async def archives(self) -> list[Archive]:
        found = [a for a in map(self._archive, list(self._rooms)) if a is not None]
        return sorted(found, key=lambda a: a.deleted_at)

    async def archive(self, room: str) -> Archive | None:
        return self._archive(room)

    async def mark_exported(self, room: str) -> bool:
        archive = self._archive(room)
        if archive is None or archive.reserved:
            return False
        await self._commit({"t": "exported", "room": room, "at": now_ms()})
        return True

    async def purge_archive(self, room: str) -> None:
        archive = self._archive(room)
        if archive is None:
            raise LiveroomError("room_not_found", f"no archive of a deleted room {room!r}")
        if not archive.purgeable:
            raise archive.refusal()
        await self._commit({"t": "purge", "room": room})
        # Off the disk too: the room's records up to this purge (a new room of that id may
        # already have written its own after it).
        purged = False

        def drop(record: dict[str, Any]) -> bool:
            nonlocal purged
            if purged or record.get("room") != room:
                return False
            purged = record["t"] == "purge"
            return True

        await self._journal.forget(drop)
        self._save_deliveries()


def _key_of(order: dict[str, Any]) -> tuple[str, str, str]:
    """Where an order's idempotency key is kept: per sale, or per product outside a sale."""
    scope = order.get("sale_id") or PRODUCT_KEYS + order["product_id"]
    return scope, order["user_id"], order["idempotency_key"]


def _unknown_cursor(after: str) -> LiveroomError:
    return invalid("after", f"no order {after!r} in this room to continue after")


def _done() -> asyncio.Future:
    future = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future
