"""Global lists of rooms a background loop visits (lr:sales:rooms, lr:media:rooms).

A room is added after the step that gives it work, and taken off when a visit finds none left.
The list and the room's keys are on different cluster slots, so no script can check and remove
in one step: remove, then look again, and put the room back if work came in meanwhile. Whatever
the interleaving with an add, one of the two sees the work, and the room stays listed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from redis.asyncio import Redis


async def retire_if_idle(redis: Redis, index: str, room: str,
                         has_work: Callable[[], Awaitable[bool]]) -> None:
    if await has_work():
        return
    await redis.srem(index, room)
    if await has_work():
        await redis.sadd(index, room)
