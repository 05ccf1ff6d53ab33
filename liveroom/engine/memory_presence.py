"""In-process presence for the embedded engine; see presence.py for the guarantees.

One process is the only instance, so there is nobody to heartbeat to: a connection counts from
join() to leave().
"""

from __future__ import annotations

import itertools
from typing import Any

from .presence import Presence


class MemoryPresence(Presence):
    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, dict[str, Any]]] = {}

    async def join(self, room: str, conn_id: str, member: dict[str, Any]) -> None:
        self._rooms.setdefault(room, {})[conn_id] = dict(member)

    async def leave(self, room: str, conn_id: str) -> None:
        members = self._rooms.get(room)
        if members is not None:
            members.pop(conn_id, None)
            if not members:
                del self._rooms[room]

    async def count(self, room: str) -> int:
        return len(self._rooms.get(room, ()))

    async def members(self, room: str, limit: int = 200) -> list[dict[str, Any]]:
        return [dict(m) for m in itertools.islice(self._rooms.get(room, {}).values(), limit)]
