"""Redis store: records as msgpack, every change of live state a Lua script that also publishes;
see store.py for the guarantees and lua/ for the scripts."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis

from ..domain import events
from ..domain.codec import pack, unpack
from ..domain.errors import LiveroomError
from .broker import Position
from .redis_broker import RedisBroker
from .redis_errors import unavailable_on_failure
from .redis_keys import RoomKeys
from .redis_scripts import Scripts
from .redis_types import as_bytes, as_text
from .store import Snapshot, Store


class RedisStore(Store):
    def __init__(
        self, redis: Redis, scripts: Scripts, broker: RedisBroker, *, chat_tail: int
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        self._broker = broker
        self._chat_tail = chat_tail

    def _k(self, room: str) -> RoomKeys:
        return self._broker.keys(room)

    async def _write_and_publish(
        self, room: str, key: str, op: str, field: str, value: Any, event: dict
    ) -> int:
        k = self._k(room)
        return await self._scripts.write_and_publish(
            keys=[*k.stream, key, k.record],
            args=[*self._broker.stream_args(k), op, field, value, pack(event)],
            about={"room": room},
        )

    # --- rooms -------------------------------------------------------------------------------
    @unavailable_on_failure
    async def list_rooms(self) -> list[dict[str, Any]]:
        ids = sorted(as_text(m) for m in await self._redis.smembers(self._broker.keyspace.rooms))
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for room in ids:
                pipe.get(self._k(room).record)
            blobs = await pipe.execute()
        return [unpack(blob) for blob in blobs if blob is not None]

    @unavailable_on_failure
    async def get_room(self, room: str) -> dict[str, Any] | None:
        blob = await self._redis.get(self._k(room).record)
        return unpack(as_bytes(blob)) if blob is not None else None

    @unavailable_on_failure
    async def create_room(self, record: dict[str, Any]) -> None:
        k = self._k(record["id"])
        await self._scripts.room_create(keys=[k.record, k.archived], args=[pack(record)],
                                        about={"room": record["id"]})
        # The index lives outside the room's hash slot, so it cannot join the script; it is
        # only an index: a record without it is re-added here, one without a record skipped.
        await self._redis.sadd(self._broker.keyspace.rooms, record["id"])

    @unavailable_on_failure
    async def update_room(self, record: dict[str, Any]) -> int:
        k = self._k(record["id"])
        return await self._scripts.room_update(
            keys=[*k.stream, k.record],
            args=[*self._broker.stream_args(k), pack(record), pack(events.room_updated(record))],
            about={"room": record["id"]},
        )

    @unavailable_on_failure
    async def delete_room(self, room: str) -> bool:
        k = self._k(room)
        outcome = await self._scripts.room_delete(
            keys=[*k.stream, k.record, k.sales, k.sale_stock, k.sale_flags, k.sale_told,
                  k.sales_active, *k.outbox_keys, k.archived, k.webhook, k.deliveries, k.orders,
                  *k.live_keys],
            args=[*self._broker.stream_args(k), pack(events.room_deleted(room))],
            about={"room": room},
        )
        if outcome is None:
            return False
        # The indexes live outside the room's hash slot: after the step, like create_room.
        keyspace = self._broker.keyspace
        if outcome == b"archived":
            await self._redis.sadd(keyspace.archives, room)  # before it leaves the rooms
        else:
            await self._redis.srem(keyspace.webhook_rooms, room)
        await self._redis.srem(keyspace.rooms, room)
        return True

    # --- products ----------------------------------------------------------------------------
    @unavailable_on_failure
    async def list_products(self, room: str) -> list[dict[str, Any]]:
        k = self._k(room)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.exists(k.record)
            pipe.hgetall(k.products)
            exists, products = await pipe.execute()
        if not exists:
            raise LiveroomError("room_not_found", f"no room {room!r}")
        return sorted((unpack(b) for b in products.values()), key=lambda p: p["id"])

    @unavailable_on_failure
    async def get_product(self, room: str, product_id: str) -> dict[str, Any] | None:
        blob = await self._redis.hget(self._k(room).products, product_id)
        return unpack(as_bytes(blob)) if blob is not None else None

    @unavailable_on_failure
    async def put_product(self, room: str, record: dict[str, Any], *, create: bool,
                          keep_stock: bool = False) -> int:
        k = self._k(room)
        # The event (events.product_added / product_updated) is built in the script, with the
        # product as stored: with keep_stock, its stock is the stored one.
        return await self._scripts.product_put(
            keys=[*k.stream, k.products, k.record],
            args=[
                *self._broker.stream_args(k),
                record["id"],
                pack(record),
                "create" if create else "update",
                "1" if keep_stock else "0",
            ],
            about={"room": room, "product": record["id"]},
        )

    @unavailable_on_failure
    async def delete_product(self, room: str, product_id: str) -> int:
        k = self._k(room)
        return await self._scripts.product_delete(
            keys=[*k.stream, k.products, k.state],
            args=[
                *self._broker.stream_args(k),
                product_id,
                pack(events.product_removed(product_id)),
            ],
            about={"room": room, "product": product_id},
        )

    # --- live state --------------------------------------------------------------------------
    @unavailable_on_failure
    async def post_chat(self, room: str, message: dict[str, Any], *, privileged: bool,
                        sender: str | None = None) -> int:
        k = self._k(room)
        user = message["user_id"]
        return await self._scripts.chat_post(
            keys=[*k.stream, k.chat, k.mutes, k.bans, k.state, k.slow(sender or user),
                  k.record],
            args=[
                *self._broker.stream_args(k),
                user,
                "1" if privileged else "0",
                pack(events.chat_message(message)),
                self._chat_tail,
                sender or "",
            ],
            about={"room": room},
        )

    @unavailable_on_failure
    async def delete_chat(self, room: str, message_id: str, by: str) -> int:
        k = self._k(room)
        return await self._scripts.chat_delete(
            keys=[*k.stream, k.chat],
            args=[
                *self._broker.stream_args(k),
                message_id,
                pack(events.chat_deleted(message_id, by)),
            ],
            about={"message": message_id},
        )

    @unavailable_on_failure
    async def pin(self, room: str, product_id: str | None, by: str) -> int | None:
        k = self._k(room)
        return await self._scripts.pin(
            keys=[*k.stream, k.state, k.products, k.record],
            args=[*self._broker.stream_args(k), product_id or "", by],
            about={"room": room, "product": product_id or ""},
        )

    @unavailable_on_failure
    async def add_likes(self, room: str, count: int) -> int:
        k = self._k(room)
        return await self._scripts.likes(
            keys=[*k.stream, k.state, k.record], args=[*self._broker.stream_args(k), count],
            about={"room": room},
        )

    @unavailable_on_failure
    async def set_slow_mode(self, room: str, seconds: int, by: str) -> int:
        return await self._write_and_publish(
            room, self._k(room).state, "HSET", "slow", seconds, events.slow_mode(seconds, by)
        )

    @unavailable_on_failure
    async def mute(self, room: str, user_id: str, until_ms: int, by: str) -> int:
        return await self._write_and_publish(
            room, self._k(room).mutes, "HSET", user_id, until_ms,
            events.user_muted(user_id, until_ms, by),
        )

    @unavailable_on_failure
    async def unmute(self, room: str, user_id: str, by: str) -> int:
        return await self._write_and_publish(
            room, self._k(room).mutes, "HDEL", user_id, "", events.user_unmuted(user_id, by)
        )

    @unavailable_on_failure
    async def ban(self, room: str, user_id: str, by: str) -> int:
        return await self._write_and_publish(
            room, self._k(room).bans, "SADD", user_id, "", events.user_banned(user_id, by)
        )

    @unavailable_on_failure
    async def unban(self, room: str, user_id: str, by: str) -> int:
        return await self._write_and_publish(
            room, self._k(room).bans, "SREM", user_id, "", events.user_unbanned(user_id, by)
        )

    @unavailable_on_failure
    async def is_banned(self, room: str, user_id: str) -> bool:
        return bool(await self._redis.sismember(self._k(room).bans, user_id))

    @unavailable_on_failure
    async def muted_until(self, room: str, user_id: str) -> int | None:
        until = await self._redis.hget(self._k(room).mutes, user_id)
        return int(until) if until and int(until) > int(time.time() * 1000) else None

    @unavailable_on_failure
    async def snapshot(self, room: str) -> Snapshot | None:
        k = self._k(room)
        result = await self._scripts.snapshot(
            keys=[*k.stream, k.record, k.state, k.chat, k.products],
            args=self._broker.stream_args(k),
        )
        if result is None:
            return None
        epoch, seq, record, pinned, slow, likes, chat, products = result
        return Snapshot(
            position=Position(epoch.decode(), int(seq)),
            room=unpack(record),
            pin=unpack(pinned) if pinned else None,
            products=sorted((unpack(p) for p in products), key=lambda p: p["id"]),
            chat=[unpack(item)["message"] for item in chat],
            likes=int(likes),
            slow_mode=int(slow),
        )

