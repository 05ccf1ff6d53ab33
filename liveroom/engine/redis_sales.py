"""Redis sales: every step that must be atomic is a Lua script (lua/sale_*.lua, order_settle,
outbox_claim); see sales.py for the guarantees and redis_keys.py for the layout."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from ..domain import events
from ..domain.codec import pack, unpack
from ..domain.sales import now_ms, sale_state, sale_view
from .redis_archives import purge, read_archive
from .redis_broker import RedisBroker
from .redis_errors import unavailable_on_failure
from .redis_index import retire_if_idle
from .redis_keys import RoomKeys
from .redis_scripts import Scripts
from .redis_types import as_bytes, as_text
from .sales import DELIVERY_LOG_SIZE, PAGE_LIMIT, Archive, BuyResult, OutboxEntry, Sales

STOCK_INTERVAL = 0.25  # coalesced sale.stock events: at most four a second per sale


class RedisSales(Sales):
    def __init__(self, redis: Redis, scripts: Scripts, broker: RedisBroker) -> None:
        self._redis = redis
        self._scripts = scripts
        self._broker = broker
        self._sale_rooms = broker.keyspace.sale_rooms
        self._webhook_rooms = broker.keyspace.webhook_rooms

    def _k(self, room: str) -> RoomKeys:
        return self._broker.keys(room)

    # --- sales -------------------------------------------------------------------------------
    @unavailable_on_failure
    async def create_sale(self, room: str, sale: dict[str, Any]) -> dict[str, Any]:
        k = self._k(room)
        state = sale_state(sale, sale["stock"], None, now_ms())
        view = sale_view(sale, sale["stock"], state)
        kind = "sale.started" if state == "live" else "sale.scheduled"
        await self._scripts.sale_create(
            keys=[*k.stream, k.sales, k.sale_stock, k.sale_told, k.sales_active, k.record],
            args=[*self._broker.stream_args(k), sale["id"], pack(sale), sale["stock"], kind,
                  state, pack(events.sale_event(kind, view))],
            about={"room": room},
        )
        await self._redis.sadd(self._sale_rooms, room)
        return view

    @unavailable_on_failure
    async def get_sale(self, room: str, sale_id: str) -> dict[str, Any] | None:
        k = self._k(room)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(k.sales, sale_id)
            pipe.hget(k.sale_stock, sale_id)
            pipe.hget(k.sale_flags, sale_id)
            blob, remaining, flag = await pipe.execute()
        if blob is None:
            return None
        return _view(unpack(blob), int(remaining), flag)

    @unavailable_on_failure
    async def list_sales(self, room: str, *, active: bool = False) -> list[dict[str, Any]]:
        k = self._k(room)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(k.sales)
            pipe.hgetall(k.sale_stock)
            pipe.hgetall(k.sale_flags)
            sales, stock, flags = await pipe.execute()
        views = [
            _view(unpack(blob), int(stock[sid]), flags.get(sid)) for sid, blob in sales.items()
        ]
        if active:
            views = [v for v in views if v["state"] not in ("ended", "cancelled")]
        return sorted(views, key=lambda v: v["created_at"])

    @unavailable_on_failure
    async def finish_sale(self, room: str, sale_id: str, outcome: str, by: str
                          ) -> dict[str, Any]:
        k = self._k(room)
        await self._scripts.sale_finish(
            keys=[*k.stream, k.sales, k.sale_flags, k.sale_told],
            args=[*self._broker.stream_args(k), sale_id, outcome],
        )
        await self._tick_sales(room)  # announces it now, not at the next tick
        view = await self.get_sale(room, sale_id)
        assert view is not None
        return view

    @unavailable_on_failure
    async def tick(self, room: str) -> None:
        await self._expire_due(room)  # first, so that what is announced next is current
        active = await self._tick_sales(room)
        for sale_id, remaining, sold in active:
            await self._broker.publish_latest(
                room, f"stock:{sale_id}", events.sale_stock(sale_id, remaining, sold),
                STOCK_INTERVAL,
            )
        if not active:  # off the clock's list once no sale runs and no reservation is left
            await retire_if_idle(self._redis, self._sale_rooms, room, lambda: self._has_work(room))

    async def _has_work(self, room: str) -> bool:
        k = self._k(room)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.scard(k.sales_active)
            pipe.zcard(k.order_expiry)
            active, reserved = await pipe.execute()
        return bool(active or reserved)

    async def _tick_sales(self, room: str) -> list[tuple[str, int, int]]:
        k = self._k(room)
        flat = await self._scripts.sale_tick(
            keys=[*k.stream, k.sales, k.sale_stock, k.sale_flags, k.sale_told, k.sales_active,
                  *k.outbox_keys],
            args=self._broker.stream_args(k),
        )
        return [
            (flat[i].decode(), int(flat[i + 1]), int(flat[i + 2]) - int(flat[i + 1]))
            for i in range(0, len(flat), 3)
        ]

    async def _expire_due(self, room: str) -> None:
        k = self._k(room)
        # Candidates by this clock; the script settles only what is due by Redis's.
        due = await self._redis.zrangebyscore(k.order_expiry, "-inf", now_ms(), 0, 200)
        for order_id in due:
            await self._settle(room, as_text(order_id), "expired", "system", only_if_due=True)

    # --- buying ------------------------------------------------------------------------------
    @unavailable_on_failure
    async def buy(self, room: str, sale_id: str, order: dict[str, Any]) -> BuyResult:
        k = self._k(room)
        user = order["user_id"]
        outcome, blob = await self._scripts.sale_buy(
            keys=[*k.stream, k.sales, k.sale_stock, k.sale_flags, k.sale_buyers, k.sale_idem,
                  k.orders, k.order_index, k.user_orders(user), k.sale_orders(sale_id),
                  k.order_expiry, *k.outbox_keys, k.record],
            args=[*self._broker.stream_args(k), sale_id, user, order["idempotency_key"],
                  order["quantity"], order["id"], pack(order), order["created_at"],
                  order["expires_at"]],
            about={"room": room},
        )
        return BuyResult(unpack(blob), outcome == b"created")

    @unavailable_on_failure
    async def buy_product(self, room: str, order: dict[str, Any]) -> BuyResult:
        k = self._k(room)
        user = order["user_id"]
        outcome, blob = await self._scripts.product_buy(
            keys=[*k.stream, k.products, k.product_idem, k.orders, k.order_index,
                  k.user_orders(user), k.order_expiry, *k.outbox_keys],
            args=[*self._broker.stream_args(k), order["product_id"], user,
                  order["idempotency_key"], order["quantity"], order["id"], pack(order),
                  order["created_at"], order["expires_at"], order["unit_price"],
                  order["currency"]],
            about={"room": room, "product": order["product_id"]},
        )
        if outcome == b"created":  # the sale clock expires its reservation
            await self._redis.sadd(self._sale_rooms, room)
        return BuyResult(unpack(blob), outcome == b"created")

    # --- orders ------------------------------------------------------------------------------
    @unavailable_on_failure
    async def get_order(self, room: str, order_id: str) -> dict[str, Any] | None:
        blob = await self._redis.hget(self._k(room).orders, order_id)
        return unpack(as_bytes(blob)) if blob is not None else None

    @unavailable_on_failure
    async def list_orders(self, room: str, *, sale_id: str | None = None,
                          user_id: str | None = None, after: str | None = None,
                          limit: int = PAGE_LIMIT) -> list[dict[str, Any]]:
        if sale_id is not None and user_id is not None:
            raise ValueError("list_orders takes a sale or a buyer, not both")
        k = self._k(room)
        index = (k.user_orders(user_id) if user_id is not None else
                 k.sale_orders(sale_id) if sale_id is not None else k.order_index)
        blobs = await self._scripts.orders_page(
            keys=[k.orders, index], args=[after or "", min(limit, PAGE_LIMIT)],
            about={"room": room, "after": after or ""})
        return [unpack(blob) for blob in blobs if blob is not None]

    @unavailable_on_failure
    async def settle(self, room: str, order_id: str, status: str, by: str) -> dict[str, Any]:
        return await self._settle(room, order_id, status, by, only_if_due=False)

    async def _settle(self, room: str, order_id: str, status: str, by: str, *,
                      only_if_due: bool) -> dict[str, Any]:
        k = self._k(room)
        blob = await self._scripts.order_settle(
            keys=[*k.stream, k.orders, k.sale_stock, k.sale_buyers, k.order_expiry,
                  *k.outbox_keys, k.products],
            args=[*self._broker.stream_args(k), order_id, status, by, "1" if only_if_due else "0"],
            about={"room": room, "order": order_id},
        )
        return unpack(blob) if blob is not None else {}  # None: not due yet (the expiry sweep)

    # --- outbox ------------------------------------------------------------------------------
    @unavailable_on_failure
    async def claim_outbox(self, room: str, *, limit: int, lease: float) -> list[OutboxEntry]:
        k = self._k(room)
        flat = await self._scripts.outbox_claim(keys=[k.outbox, k.outbox_due],
                                                args=[limit, int(lease * 1000)])
        entries = []
        for i in range(0, len(flat), 2):
            entry = unpack(flat[i + 1])
            entries.append(OutboxEntry(
                id=_delivery_id(room, flat[i].decode()), room=room, type=entry["type"],
                payload=entry["payload"], attempts=entry["attempts"],
                created_at=entry["created_at"],
            ))
        return entries

    @unavailable_on_failure
    async def finish_outbox(self, room: str, entry_id: str, *, delivered: bool,
                            retry_in: float = 0.0) -> None:
        k = self._k(room)
        local = _local_id(entry_id)
        if delivered:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hdel(k.outbox, local)
                pipe.zrem(k.outbox_due, local)
                await pipe.execute()
            return
        blob = await self._redis.hget(k.outbox, local)
        if blob is None:
            return
        entry = unpack(as_bytes(blob))
        entry["attempts"] += 1
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(k.outbox, local, pack(entry))
            pipe.zadd(k.outbox_due, {local: now_ms() + int(retry_in * 1000)})
            await pipe.execute()

    @unavailable_on_failure
    async def requeue_outbox(self, room: str, entry_id: str) -> bool:
        k = self._k(room)
        local = _local_id(entry_id)
        if not await self._redis.hexists(k.outbox, local):
            logged = next((d for d in await self.deliveries(room, DELIVERY_LOG_SIZE)
                           if d["delivery_id"] == entry_id), None)
            if logged is None:
                return False
            entry = {"type": logged["type"], "payload": logged["payload"], "attempts": 0,
                     "created_at": logged["created_at"]}
            await self._redis.hset(k.outbox, local, pack(entry))
        await self._redis.zadd(k.outbox_due, {local: 0})
        return True

    # --- webhooks ----------------------------------------------------------------------------
    @unavailable_on_failure
    async def set_webhook(self, room: str, config: dict[str, Any] | None) -> None:
        k = self._k(room)
        if config is None:
            await self._redis.delete(k.webhook)
            await self._redis.srem(self._webhook_rooms, room)
        else:
            await self._redis.set(k.webhook, pack(config))
            await self._redis.sadd(self._webhook_rooms, room)

    @unavailable_on_failure
    async def get_webhook(self, room: str) -> dict[str, Any] | None:
        blob = await self._redis.get(self._k(room).webhook)
        return unpack(as_bytes(blob)) if blob is not None else None

    @unavailable_on_failure
    async def webhook_rooms(self) -> list[str]:
        return sorted(as_text(m) for m in await self._redis.smembers(self._webhook_rooms))

    @unavailable_on_failure
    async def sale_rooms(self) -> list[str]:
        return sorted(as_text(m) for m in await self._redis.smembers(self._sale_rooms))

    @unavailable_on_failure
    async def log_delivery(self, room: str, record: dict[str, Any]) -> None:
        k = self._k(room)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lpush(k.deliveries, pack(record))
            pipe.ltrim(k.deliveries, 0, DELIVERY_LOG_SIZE - 1)
            await pipe.execute()

    @unavailable_on_failure
    async def deliveries(self, room: str, limit: int = 100) -> list[dict[str, Any]]:
        return [unpack(as_bytes(b)) for b in await self._redis.lrange(self._k(room).deliveries,
                                                                         0, limit - 1)]

    # --- archives of deleted rooms (redis_archives.py) ---------------------------------------
    @unavailable_on_failure
    async def archives(self) -> list[Archive]:
        rooms = sorted(as_text(m) for m in await self._redis.smembers(
            self._broker.keyspace.archives))
        found = [await read_archive(self._redis, self._k(room)) for room in rooms]
        return sorted((a for a in found if a is not None), key=lambda a: a.deleted_at)

    @unavailable_on_failure
    async def archive(self, room: str) -> Archive | None:
        return await read_archive(self._redis, self._k(room))

    @unavailable_on_failure
    async def mark_exported(self, room: str) -> bool:
        k = self._k(room)
        return bool(await self._scripts.archive_exported(keys=[k.archived, k.order_expiry],
                                                         args=[]))

    @unavailable_on_failure
    async def purge_archive(self, room: str) -> None:
        keyspace = self._broker.keyspace
        await purge(self._redis, self._k(room),
                    [keyspace.archives, keyspace.webhook_rooms, keyspace.sale_rooms])


def _view(sale: dict[str, Any], remaining: int, flag: bytes | None) -> dict[str, Any]:
    state = sale_state(sale, remaining, flag.decode() if flag else None, now_ms())
    return sale_view(sale, remaining, state)


def _delivery_id(room: str, local: str) -> str:
    """Delivery ids name their room, so a replay request needs nothing else."""
    return f"{room}.{local}"


def _local_id(delivery_id: str) -> str:
    return delivery_id.rsplit(".", 1)[-1]

