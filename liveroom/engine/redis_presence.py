"""Redis presence; see presence.py for the guarantees.

Per room, one hash holds a row per viewer and instance ("<instance>|<user>" -> member), another
the same for staff, and a sorted set holds each instance's heartbeat deadline on Redis's own clock
(so instance clocks may differ). A third hash counts, per viewer, the instances holding a row
for them: a viewer with tabs on two instances is one field. Counting sweeps the rows of
instances past their deadline (and their viewers' counts), then takes that hash's HLEN: O(1)
in the usual case, and a crashed instance's viewers vanish without anyone acting for it. Each
instance keeps its own members (LocalMembers) to heartbeat and restore them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from redis.asyncio import Redis

from ..domain.codec import pack, unpack
from .presence import LocalMembers, Presence, is_audience
from .redis_errors import unavailable_on_failure
from .redis_keys import Keyspace
from .redis_scripts import Scripts

log = logging.getLogger(__name__)

RESTORE_CHUNK = 500


class RedisPresence(Presence):
    def __init__(self, redis: Redis, scripts: Scripts, *, instance_id: str, ttl: float,
                 keyspace: Keyspace) -> None:
        self._redis = redis
        self._keyspace = keyspace
        self._scripts = scripts
        self._instance = instance_id
        self._ttl_ms = int(ttl * 1000)
        self._local: dict[str, LocalMembers] = {}
        # Users whose row could not be removed while Redis was unreachable; the next heartbeat
        # removes them.
        self._stale: set[tuple[str, str]] = set()

    def _keys(self, room: str) -> list[str]:
        k = self._keyspace.room(room)
        return [k.presence, k.staff, k.presence_instances, k.presence_users]

    @staticmethod
    def _triple(member: dict[str, Any]) -> list[Any]:
        return [member["user_id"], pack(member), "1" if is_audience(member) else "0"]

    @unavailable_on_failure
    async def join(self, room: str, conn_id: str, member: dict[str, Any]) -> None:
        local = self._local.setdefault(room, LocalMembers())
        if local.join(conn_id, member):
            self._stale.discard((room, member["user_id"]))
            await self._scripts.presence_join(
                keys=self._keys(room), args=[self._instance, self._ttl_ms, *self._triple(member)]
            )

    @unavailable_on_failure
    async def leave(self, room: str, conn_id: str) -> None:
        local = self._local.get(room)
        if local is None:
            return
        gone = local.leave(conn_id)
        if not local:
            del self._local[room]
        if gone is not None:
            self._stale.add((room, gone["user_id"]))
            await self._remove(room, gone["user_id"])

    async def _remove(self, room: str, user_id: str) -> None:
        await self._scripts.presence_leave(keys=self._keys(room), args=[self._instance, user_id])
        self._stale.discard((room, user_id))

    @unavailable_on_failure
    async def count(self, room: str) -> int:
        return int(await self._scripts.presence_count(keys=self._keys(room), args=[]))

    @unavailable_on_failure
    async def counts(self, rooms: list[str]) -> dict[str, int]:
        # Called together, the scripts go to Redis as one pipeline (redis_batch.py).
        results = await asyncio.gather(
            *(self._scripts.presence_count(keys=self._keys(room), args=[]) for room in rooms))
        return {room: int(n) for room, n in zip(rooms, results)}

    @unavailable_on_failure
    async def members(self, room: str, limit: int = 200) -> list[dict[str, Any]]:
        await self.count(room)  # sweeps dead instances first
        k = self._keyspace.room(room)
        members = []
        for hash_key in (k.staff, k.presence):
            async for _row, blob in self._redis.hscan_iter(hash_key, count=limit):
                members.append(unpack(blob))
                if len(members) >= limit:
                    return members
        return members

    @unavailable_on_failure
    async def heartbeat(self) -> None:
        for room, user_id in list(self._stale):
            if user_id not in (self._local.get(room) or LocalMembers()).users:
                await self._remove(room, user_id)
        rooms = list(self._local)
        if not rooms:
            return
        alive = await asyncio.gather(*(
            self._scripts.presence_heartbeat(keys=self._keys(room),
                                             args=[self._instance, self._ttl_ms])
            for room in rooms))
        for room, ok in zip(rooms, alive):
            if not ok and room in self._local:
                await self._restore(room)

    async def _restore(self, room: str) -> None:
        members = list(self._local[room].users.values())
        log.warning("presence rows of room %s were swept; registering %d again", room,
                    len(members))
        for start in range(0, len(members), RESTORE_CHUNK):
            args: list[Any] = [self._instance, self._ttl_ms]
            for member in members[start : start + RESTORE_CHUNK]:
                args += self._triple(member)
            await self._scripts.presence_join(keys=self._keys(room), args=args)

    @unavailable_on_failure
    async def leave_all(self) -> None:
        """Remove this instance's rows at once (graceful shutdown), not after the TTL."""
        # Called together, the scripts go to Redis as one pipeline (redis_batch.py).
        await asyncio.gather(*(
            self._scripts.presence_leave(keys=self._keys(room),
                                         args=[self._instance, *local.users])
            for room, local in self._local.items() if local.users))
        async with self._redis.pipeline(transaction=False) as pipe:
            for room in self._local:
                pipe.zrem(self._keyspace.room(room).presence_instances, self._instance)
            await pipe.execute()
        self._local.clear()
