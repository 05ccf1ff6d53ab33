"""In-process presence for the embedded engine; see presence.py for the guarantees.

One process is the only instance, so there is nobody to heartbeat to: a user counts from their
first join() to their last leave().
"""

from __future__ import annotations

import itertools
from typing import Any

from .presence import LocalMembers, Presence, is_audience


class MemoryPresence(Presence):
    def __init__(self) -> None:
        self._rooms: dict[str, LocalMembers] = {}

    async def join(self, room: str, conn_id: str, member: dict[str, Any]) -> None:
        self._rooms.setdefault(room, LocalMembers()).join(conn_id, member)

    async def leave(self, room: str, conn_id: str) -> None:
        members = self._rooms.get(room)
        if members is not None:
            members.leave(conn_id)
            if not members:
                del self._rooms[room]

    async def count(self, room: str) -> int:
        members = self._rooms.get(room)
        return sum(map(is_audience, members.users.values())) if members else 0

    async def members(self, room: str, limit: int = 200) -> list[dict[str, Any]]:
        members = self._rooms.get(room)
        users = members.users.values() if members else ()
        return [dict(m) for m in itertools.islice(users, limit)]
