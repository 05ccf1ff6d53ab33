"""Redis presence; see presence.py for the guarantees.

Per room, one hash holds a row per connection ("<instance>|<conn>" -> member) and a sorted set
holds each instance's heartbeat deadline on Redis's own clock (so instance clocks may differ).
Counting sweeps the rows of instances past their deadline, then takes HLEN: O(1) in the usual
case, and a crashed instance's viewers vanish without anyone acting for it.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.asyncio import Redis

from ..codec import pack, unpack
from .presence import Presence
from .redis_errors import unavailable_on_failure
from .redis_keys import RoomKeys
from .redis_scripts import Scripts

log = logging.getLogger(__name__)

RESTORE_CHUNK = 500


class RedisPresence(Presence):
    def __init__(self, redis: Redis, scripts: Scripts, *, instance_id: str, ttl: float) -> None:
        self._redis = redis
        self._scripts = scripts
        self._instance = instance_id
        self._ttl_ms = int(ttl * 1000)
        # What this instance has registered, to heartbeat it and to restore it after a sweep.
        self._local: dict[str, dict[str, bytes]] = {}
        # Rows whose removal failed while Redis was unreachable; removed by the next heartbeat.
        self._stale: set[tuple[str, str]] = set()

    def _keys(self, room: str) -> list[str]:
        k = RoomKeys(room)
        return [k.presence, k.presence_instances]

    @unavailable_on_failure
    async def join(self, room: str, conn_id: str, member: dict[str, Any]) -> None:
        blob = pack(member)
        self._local.setdefault(room, {})[conn_id] = blob
        await self._scripts.presence_join(
            keys=self._keys(room), args=[self._instance, self._ttl_ms, conn_id, blob]
        )

    @unavailable_on_failure
    async def leave(self, room: str, conn_id: str) -> None:
        local = self._local.get(room)
        if local is not None:
            local.pop(conn_id, None)
            if not local:
                del self._local[room]
        self._stale.add((room, conn_id))
        await self._redis.hdel(RoomKeys(room).presence, f"{self._instance}|{conn_id}")
        self._stale.discard((room, conn_id))

    @unavailable_on_failure
    async def count(self, room: str) -> int:
        return int(await self._scripts.presence_count(keys=self._keys(room), args=[]))

    @unavailable_on_failure
    async def counts(self, rooms: list[str]) -> dict[str, int]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for room in rooms:
                await self._scripts.presence_count(keys=self._keys(room), args=[], client=pipe)
            results = await pipe.execute()
        return {room: int(n) for room, n in zip(rooms, results)}

    @unavailable_on_failure
    async def members(self, room: str, limit: int = 200) -> list[dict[str, Any]]:
        await self.count(room)  # sweeps dead instances first
        members = []
        async for _field, blob in self._redis.hscan_iter(RoomKeys(room).presence, count=limit):
            members.append(unpack(blob))
            if len(members) >= limit:
                break
        return members

    @unavailable_on_failure
    async def heartbeat(self) -> None:
        for room, conn_id in list(self._stale):
            await self._redis.hdel(RoomKeys(room).presence, f"{self._instance}|{conn_id}")
            self._stale.discard((room, conn_id))
        rooms = list(self._local)
        if not rooms:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for room in rooms:
                await self._scripts.presence_heartbeat(
                    keys=self._keys(room), args=[self._instance, self._ttl_ms], client=pipe
                )
            alive = await pipe.execute()
        for room, ok in zip(rooms, alive):
            if not ok and room in self._local:
                await self._restore(room)

    async def _restore(self, room: str) -> None:
        rows = list(self._local[room].items())
        log.warning("presence rows of room %s were swept; registering %d again", room, len(rows))
        for start in range(0, len(rows), RESTORE_CHUNK):
            args: list[Any] = [self._instance, self._ttl_ms]
            for conn_id, blob in rows[start : start + RESTORE_CHUNK]:
                args += [conn_id, blob]
            await self._scripts.presence_join(keys=self._keys(room), args=args)

    @unavailable_on_failure
    async def leave_all(self) -> None:
        """Remove this instance's rows at once (graceful shutdown), not after the TTL."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for room, conns in self._local.items():
                if conns:
                    pipe.hdel(RoomKeys(room).presence, *[f"{self._instance}|{c}" for c in conns])
                pipe.zrem(RoomKeys(room).presence_instances, self._instance)
            await pipe.execute()
        self._local.clear()
