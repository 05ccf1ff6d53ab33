"""Deleted rooms' archives in Redis (see sales.py for what an archive is and when it may go).

`lr:{room}:archived` marks one ({record, deleted_at, exported_at}), written by
lua/room_delete.lua in the step that deletes the room; `lr:archives` lists them. Everything
else of an archive is the room's sales keys, left as they were. A purge deletes them by name:
the fixed ones (RoomKeys.archive_keys) and the order index of each sale and each buyer, whose
names come from the sales hash and the orders themselves (read with HSCAN: one key's fields,
never the keyspace). The marker goes last, so a purge cut short can simply run again.
"""

from __future__ import annotations

from redis.asyncio import Redis

from ..domain.codec import unpack
from ..domain.errors import LiveroomError
from .redis_keys import RoomKeys
from .redis_types import as_bytes, as_text
from .sales import Archive

UNLINK_BATCH = 500


async def read_archive(redis: Redis, k: RoomKeys) -> Archive | None:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hgetall(k.archived)
        pipe.hlen(k.orders)
        pipe.zcard(k.order_expiry)
        pipe.exists(k.webhook)
        pipe.hlen(k.outbox)
        marker, orders, reserved, webhook, pending = await pipe.execute()
    if not marker:
        return None
    exported = marker.get(b"exported_at")
    return Archive(room=unpack(marker[b"record"]), deleted_at=int(marker[b"deleted_at"]),
                   orders=int(orders), reserved=int(reserved),
                   undelivered=int(pending) if webhook else 0,
                   exported_at=int(exported) if exported is not None else None)


async def purge(redis: Redis, k: RoomKeys, indexes: list[str]) -> None:
    """Delete the archive of `k`'s room, then take it off `indexes` (the global lists)."""
    archive = await read_archive(redis, k)
    if archive is None:
        raise LiveroomError("room_not_found", f"no archive of a deleted room {k.room!r}")
    if not archive.purgeable:
        raise archive.refusal()
    doomed = {k.sale_orders(as_text(sale)) for sale in await redis.hkeys(k.sales)}
    async for _order_id, blob in redis.hscan_iter(k.orders, count=500):
        doomed.add(k.user_orders(unpack(as_bytes(blob))["user_id"]))
    names = sorted(doomed) + k.archive_keys
    for start in range(0, len(names), UNLINK_BATCH):  # one slot: multi-key is fine on a cluster
        await redis.unlink(*names[start:start + UNLINK_BATCH])
    for index in indexes:
        await redis.srem(index, k.room)
    await redis.unlink(k.archived)  # last: until then the room's id stays taken
