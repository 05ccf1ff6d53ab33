"""Presence: who is in which room, counted across every instance.

The viewer count counts people with the viewer role: a shopper with three tabs open is one
viewer, and the host and moderators watching their own room are not part of the audience
(they are members all the same, listed by members()).

Guarantees every implementation keeps (tests/engine/test_presence_contract.py checks them):
- join() and leave() of a connection are reflected in count() on every instance at once.
- A user is counted once however many connections they have, on one instance or on several
  (tabs that a load balancer sent to two instances are one viewer).
- The rows of an instance that stops heartbeating (crashed, frozen, cut off) stop counting within
  `presence_ttl` seconds, without anyone cleaning up after it; an instance that comes back
  re-registers its rows by itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


def is_audience(member: dict[str, Any]) -> bool:
    return member.get("role") == "viewer"


class Presence(ABC):
    @abstractmethod
    async def join(self, room: str, conn_id: str, member: dict[str, Any]) -> None:
        """Count this connection's user in the room. `member` says who it is (user_id, name,
        role); joining again with the same connection updates it (a guest picked a name)."""

    @abstractmethod
    async def leave(self, room: str, conn_id: str) -> None:
        """Forget this connection; its user stops counting with their last connection."""

    @abstractmethod
    async def count(self, room: str) -> int:
        """Viewers in the room over all live instances."""

    async def counts(self, rooms: list[str]) -> dict[str, int]:
        return {room: await self.count(room) for room in rooms}

    @abstractmethod
    async def members(self, room: str, limit: int = 200) -> list[dict[str, Any]]:
        """Up to `limit` members (viewers and staff) over all live instances, in no particular
        order."""


class LocalMembers:
    """This instance's members of one room: users with their connections, so that a user is
    added on their first connection and removed with their last. Both engines use it."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}  # user_id -> member
        self.conns: dict[str, str] = {}  # conn_id -> user_id

    def join(self, conn_id: str, member: dict[str, Any]) -> bool:
        """Record the connection; True when the user's row must be written (new or changed)."""
        user = member["user_id"]
        self.conns[conn_id] = user
        changed = self.users.get(user) != member
        self.users[user] = dict(member)
        return changed

    def leave(self, conn_id: str) -> dict[str, Any] | None:
        """Forget the connection; return the member when it was the user's last one."""
        user = self.conns.pop(conn_id, None)
        if user is None or user in self.conns.values():
            return None
        return self.users.pop(user, None)

    def __bool__(self) -> bool:
        return bool(self.conns)
