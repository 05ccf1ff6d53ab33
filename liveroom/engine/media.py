"""Media: which instance holds each room's live video, and whether the room is live.

A publisher (a host, or a co-host in the second slot) first *claims* its slot, then goes *live*
when its media arrives, and is *released* when it stops or fails. A claim is a dict:
    room, slot (host | cohost), session, instance, url (the instance's public URL), user_id,
    name, source (browser | whip | demo), replaceable (the demo host gives way to anyone),
    video, audio (codec names, or None)
to which the engine adds `live` and `since` (Unix ms, when it went live).

Guarantees every implementation keeps (tests/engine/test_media_contract.py checks them):
- A room's media lives on one instance: claim() refuses a slot held by another session (unless
  that claim is replaceable, or the same user's: a reloaded page replaces its own session) and
  refuses a claim on an instance other than the one holding the room's other slot (unless
  that one is replaceable). A refused claim returns the claim in the way, so the caller can
  route the request to that claim's instance.
- go_live() and release() change the room's live state and publish media.live / media.offline
  on the room's stream in the same atomic step; a claim that replaces or displaces a live one
  publishes its media.offline (reason "replaced") in the claim's step. A session that no longer
  holds its slot changes nothing.
- A claim lasts `ttl` seconds unless refresh() extends it: the instance holding it refreshes its
  claims every heartbeat, so a crashed instance's claims lapse by themselves. sweep(), run by
  every instance, removes lapsed claims and announces the live ones offline (reason "expired").
- state() and owner() see only claims that have not lapsed.
- A room's thumbnail (a small JPEG still of its live video, put by the instance holding the
  media) is served by every instance until its TTL runs out, so a room that stopped being
  live soon has none.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

SLOTS = ("host", "cohost")

# What a claim shows of its publisher in events, snapshots and the lobby.
PUBLIC_FIELDS = ("session", "user_id", "name", "source", "video", "audio", "since")


def public(claim: dict[str, Any]) -> dict[str, Any]:
    return {name: claim.get(name) for name in PUBLIC_FIELDS}


def room_state(claims: list[dict[str, Any]]) -> dict[str, Any]:
    """{"live": bool, "publishers": {slot: publisher}} from a room's claims (live ones only)."""
    publishers = {c["slot"]: public(c) for c in claims if c.get("live")}
    return {"live": bool(publishers), "publishers": publishers}


class Media(ABC):
    @abstractmethod
    async def claim(self, room: str, claim: dict[str, Any], ttl: float) -> dict[str, Any] | None:
        """Hold claim["slot"] for claim["session"]; None when held, else the claim in the way.
        room_not_found for an unknown room."""

    @abstractmethod
    async def go_live(self, room: str, slot: str, session: str) -> int | None:
        """Mark the session's claim live and publish media.live; its seq, or None."""

    @abstractmethod
    async def release(self, room: str, slot: str, session: str, reason: str) -> int | None:
        """Drop the session's claim; publish media.offline if it was live. Its seq, or None."""

    @abstractmethod
    async def refresh(self, held: list[tuple[str, str, str]], ttl: float) -> list[bool]:
        """Extend (room, slot, session) claims by ttl; False for those no longer held."""

    @abstractmethod
    async def sweep(self) -> int:
        """Remove lapsed claims of every room, announcing live ones offline; how many."""

    @abstractmethod
    async def claims(self, room: str) -> list[dict[str, Any]]:
        """The room's claims that have not lapsed."""

    @abstractmethod
    async def put_thumbnail(self, room: str, jpeg: bytes, ttl: float) -> None:
        """Keep the room's latest still for `ttl` seconds (replacing the one before)."""

    @abstractmethod
    async def thumbnail(self, room: str) -> bytes | None:
        """The room's latest still, or None when there is none (or it lapsed)."""

    @abstractmethod
    async def put_replay(self, room: str, replay: dict[str, Any]) -> None:
        """Index a recorded session of the room (`replay["id"]`; replacing its record), so
        every instance knows it and the instance that holds its files. Deleting the room
        drops its index."""

    @abstractmethod
    async def replays(self, room: str) -> list[dict[str, Any]]:
        """The room's indexed recordings, by id (their ids sort by start)."""

    @abstractmethod
    async def drop_replay(self, room: str, replay_id: str) -> bool:
        """Forget a recording; whether it was indexed."""

    async def state(self, room: str) -> dict[str, Any]:
        return room_state(await self.claims(room))

    async def states(self, rooms: list[str]) -> dict[str, dict[str, Any]]:
        return {room: await self.state(room) for room in rooms}

    async def owner(self, room: str) -> dict[str, Any] | None:
        """A claim on the instance that holds the room's media (a real one before the demo's),
        or None when nobody publishes."""
        claims = sorted(await self.claims(room), key=lambda c: bool(c.get("replaceable")))
        return claims[0] if claims else None
