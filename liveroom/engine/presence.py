"""Presence: which connections are in which room, counted across every instance.

Guarantees every implementation keeps (tests/engine/test_presence_contract.py checks them):
- join() and leave() of a connection are reflected in count() on every instance at once.
- A connection is counted once however many times join() is called for it.
- The rows of an instance that stops heartbeating (crashed, frozen, cut off) stop counting within
  `presence_ttl` seconds, without anyone cleaning up after it; an instance that comes back
  re-registers its rows by itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class Presence(ABC):
    @abstractmethod
    async def join(self, room: str, conn_id: str, member: dict[str, Any]) -> None:
        """Count this connection in the room; `member` says who it is (user_id, name, role)."""

    @abstractmethod
    async def leave(self, room: str, conn_id: str) -> None:
        """Stop counting this connection."""

    @abstractmethod
    async def count(self, room: str) -> int:
        """Connections in the room over all live instances."""

    async def counts(self, rooms: list[str]) -> dict[str, int]:
        return {room: await self.count(room) for room in rooms}

    @abstractmethod
    async def members(self, room: str, limit: int = 200) -> list[dict[str, Any]]:
        """Up to `limit` members of the room over all live instances, in no particular order."""
