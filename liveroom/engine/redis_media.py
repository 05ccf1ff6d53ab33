"""Redis media: claims in a hash per room (slot -> claim) with their deadlines in a sorted set
on Redis's clock; every change is a Lua script (lua/media_*.lua) that also publishes. See
media.py for the guarantees."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

from redis.asyncio import Redis

from ..domain import events
from ..domain.codec import pack, unpack
from .media import Media, public
from .redis_broker import RedisBroker
from .redis_errors import unavailable_on_failure
from .redis_index import retire_if_idle
from .redis_keys import RoomKeys
from .redis_scripts import Scripts
from .redis_types import as_bytes, as_text


class RedisMedia(Media):
    def __init__(self, redis: Redis, scripts: Scripts, broker: RedisBroker) -> None:
        self._redis = redis
        self._scripts = scripts
        self._broker = broker

    def _keys(self, room: str) -> tuple[RoomKeys, list[str]]:
        k = self._broker.keys(room)
        return k, [*k.stream, k.media, k.media_deadlines, k.record]

    @unavailable_on_failure
    async def put_thumbnail(self, room: str, jpeg: bytes, ttl: float) -> None:
        await self._redis.set(self._broker.keys(room).thumbnail, jpeg, px=int(ttl * 1000))

    @unavailable_on_failure
    async def thumbnail(self, room: str) -> bytes | None:
        jpeg = await self._redis.get(self._broker.keys(room).thumbnail)
        return as_bytes(jpeg) if jpeg is not None else None

    @unavailable_on_failure
    async def put_replay(self, room: str, replay: dict[str, Any]) -> None:
        k = self._broker.keys(room)
        # Only for a room that exists: its deletion (live_keys) removes the index with it.
        if await self._redis.exists(k.record):
            await self._redis.hset(k.replays, str(replay["id"]), pack(replay))

    @unavailable_on_failure
    async def replays(self, room: str) -> list[dict[str, Any]]:
        kept = await self._redis.hgetall(self._broker.keys(room).replays)
        return [unpack(as_bytes(kept[i])) for i in sorted(kept, key=as_text)]

    @unavailable_on_failure
    async def drop_replay(self, room: str, replay_id: str) -> bool:
        return bool(await self._redis.hdel(self._broker.keys(room).replays, replay_id))

    @unavailable_on_failure
    async def claim(self, room: str, claim: dict[str, Any], ttl: float) -> dict[str, Any] | None:
        k, keys = self._keys(room)
        record = {name: value for name, value in claim.items() if value is not None}
        in_the_way = await self._scripts.media_claim(keys=keys, args=[
            *self._broker.stream_args(k), claim["slot"], pack(record), int(ttl * 1000)],
            about={"room": room})
        if in_the_way is not None:
            return unpack(in_the_way)
        await self._redis.sadd(self._broker.keyspace.media_rooms, room)
        return None

    @unavailable_on_failure
    async def go_live(self, room: str, slot: str, session: str) -> int | None:
        k, keys = self._keys(room)
        blob = await self._redis.hget(k.media, slot)
        if blob is None:
            return None
        claim = unpack(as_bytes(blob))
        if claim.get("session") != session or claim.get("live"):
            return None
        claim.update(live=True, since=int(time.time() * 1000))
        return await self._scripts.media_live(keys=keys, args=[
            *self._broker.stream_args(k), slot, session, pack(claim),
            pack(events.media_live(slot, public(claim)))])

    @unavailable_on_failure
    async def release(self, room: str, slot: str, session: str, reason: str) -> int | None:
        k, keys = self._keys(room)
        return await self._scripts.media_release(keys=keys, args=[
            *self._broker.stream_args(k), slot, session,
            pack(events.media_offline(slot, session, reason))])

    @unavailable_on_failure
    async def refresh(self, held: list[tuple[str, str, str]], ttl: float) -> list[bool]:
        if not held:
            return []
        # Called together, the scripts go to Redis as one pipeline per shard (redis_batch.py).
        results = await asyncio.gather(*(
            self._scripts.media_refresh(
                keys=[(k := self._broker.keys(room)).media, k.media_deadlines],
                args=[slot, session, int(ttl * 1000)])
            for room, slot, session in held))
        return [bool(r) for r in results]

    @unavailable_on_failure
    async def sweep(self) -> int:
        rooms = sorted(as_text(m)
                       for m in await self._redis.smembers(self._broker.keyspace.media_rooms))
        removed = 0
        for room in rooms:
            k, keys = self._keys(room)
            n = await self._scripts.media_sweep(keys=keys, args=self._broker.stream_args(k))
            if n is None:  # the room is gone
                await self._redis.srem(self._broker.keyspace.media_rooms, room)
                continue
            removed += n
            # Off the list once nobody holds a slot (claim() adds the room back).
            await retire_if_idle(self._redis, self._broker.keyspace.media_rooms, room,
                                 functools.partial(self._has_claims, k.media))
        return removed

    async def _has_claims(self, claims_key: str) -> bool:
        return await self._redis.hlen(claims_key) > 0

    @unavailable_on_failure
    async def claims(self, room: str) -> list[dict[str, Any]]:
        k = self._broker.keys(room)
        blobs = await self._scripts.media_claims(keys=[k.media, k.media_deadlines], args=[])
        return [unpack(b) for b in blobs]

    @unavailable_on_failure
    async def states(self, rooms: list[str]) -> dict[str, dict[str, Any]]:
        from .media import room_state

        if not rooms:
            return {}
        replies = await asyncio.gather(*(
            self._scripts.media_claims(
                keys=[(k := self._broker.keys(room)).media, k.media_deadlines], args=[])
            for room in rooms))
        return {room: room_state([unpack(b) for b in blobs])
                for room, blobs in zip(rooms, replies)}
