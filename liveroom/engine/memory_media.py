"""In-process media for the embedded engine; see media.py for the guarantees.

Each method checks, changes and publishes without an `await` in between. Deadlines are on the
monotonic clock. There is one instance, so its own claims only lapse if nobody refreshes them.
"""

from __future__ import annotations

import time
from typing import Any

from ..domain import events
from ..domain.errors import LiveroomError
from .media import Media, public
from .memory_broker import MemoryBroker
from .memory_store import MemoryStore


class MemoryMedia(Media):
    def __init__(self, broker: MemoryBroker, store: MemoryStore) -> None:
        self._broker = broker
        self._store = store
        self._claims: dict[str, dict[str, dict[str, Any]]] = {}  # room -> slot -> claim
        self._deadlines: dict[tuple[str, str], float] = {}
        self._thumbnails: dict[str, tuple[bytes, float]] = {}  # room -> (JPEG, deadline)
        # The embedded engine is one instance: its recordings index themselves again from
        # its disk at start (signaling/hls/service.py), so the index needs no file of its own.
        # room -> (the store's state of the room, id -> record)
        self._replays: dict[str, tuple[Any, dict[str, dict[str, Any]]]] = {}

    async def put_thumbnail(self, room: str, jpeg: bytes, ttl: float) -> None:
        now = time.monotonic()
        self._thumbnails = {r: t for r, t in self._thumbnails.items() if t[1] > now}
        self._thumbnails[room] = (bytes(jpeg), now + ttl)

    async def thumbnail(self, room: str) -> bytes | None:
        kept = self._thumbnails.get(room)
        return kept[0] if kept and kept[1] > time.monotonic() else None

    def _replay_index(self, room: str) -> dict[str, dict[str, Any]] | None:
        """The room's index, or None without the room; a room deleted and made again (another
        record object in the store) starts with an empty one."""
        state = self._store._rooms.get(room)
        if state is None:
            self._replays.pop(room, None)
            return None
        owner, kept = self._replays.get(room, (None, {}))
        if owner is not state:
            kept = {}
            self._replays[room] = (state, kept)
        return kept

    async def put_replay(self, room: str, replay: dict[str, Any]) -> None:
        kept = self._replay_index(room)
        if kept is not None:
            kept[str(replay["id"])] = dict(replay)

    async def replays(self, room: str) -> list[dict[str, Any]]:
        kept = self._replay_index(room) or {}
        return [dict(kept[i]) for i in sorted(kept)]

    async def drop_replay(self, room: str, replay_id: str) -> bool:
        kept = self._replay_index(room) or {}
        return kept.pop(replay_id, None) is not None

    def _room_exists(self, room: str) -> bool:
        return room in self._store._rooms

    def _lapsed(self, room: str, slot: str, now: float) -> bool:
        return self._deadlines.get((room, slot), 0.0) <= now

    def _drop(self, room: str, slot: str, reason: str) -> int | None:
        claim = self._claims.get(room, {}).pop(slot, None)
        self._deadlines.pop((room, slot), None)
        if claim is not None and claim.get("live") and self._room_exists(room):
            return self._broker.publish_now(
                room, events.media_offline(slot, claim["session"], reason))
        return None

    async def claim(self, room: str, claim: dict[str, Any], ttl: float) -> dict[str, Any] | None:
        if not self._room_exists(room):
            raise LiveroomError("room_not_found", f"no room {room!r}")
        now = time.monotonic()
        slots = self._claims.setdefault(room, {})
        for slot in [s for s in slots if self._lapsed(room, s, now)]:
            self._drop(room, slot, "expired")
        displaced, kept = [], None
        for slot, held in slots.items():
            if held["session"] == claim["session"]:
                kept = held
            elif slot == claim["slot"]:
                if not (held.get("replaceable") or held["user_id"] == claim["user_id"]):
                    return dict(held)
                displaced.append(slot)
            elif held["instance"] != claim["instance"]:
                if not held.get("replaceable"):
                    return dict(held)
                displaced.append(slot)
        for slot in displaced:
            self._drop(room, slot, "replaced")
        record = {k: v for k, v in claim.items() if v is not None}
        if kept is not None:
            record.update({k: kept[k] for k in ("live", "since") if k in kept})
        slots[claim["slot"]] = record
        self._deadlines[(room, claim["slot"])] = now + ttl
        return None

    def _held(self, room: str, slot: str, session: str) -> dict[str, Any] | None:
        claim = self._claims.get(room, {}).get(slot)
        if claim is None or claim["session"] != session:
            return None
        return claim

    async def go_live(self, room: str, slot: str, session: str) -> int | None:
        claim = self._held(room, slot, session)
        if claim is None or claim.get("live") or not self._room_exists(room):
            return None
        if self._lapsed(room, slot, time.monotonic()):
            return None
        claim.update(live=True, since=int(time.time() * 1000))
        return self._broker.publish_now(room, events.media_live(slot, public(claim)))

    async def release(self, room: str, slot: str, session: str, reason: str) -> int | None:
        if self._held(room, slot, session) is None:
            return None
        return self._drop(room, slot, reason)

    async def refresh(self, held: list[tuple[str, str, str]], ttl: float) -> list[bool]:
        now = time.monotonic()
        results = []
        for room, slot, session in held:
            ok = self._held(room, slot, session) is not None and not self._lapsed(room, slot, now)
            if ok:
                self._deadlines[(room, slot)] = now + ttl
            results.append(ok)
        return results

    async def sweep(self) -> int:
        now = time.monotonic()
        removed = 0
        for room, slots in list(self._claims.items()):
            for slot in [s for s in slots if self._lapsed(room, s, now)]:
                self._drop(room, slot, "expired")
                removed += 1
            if not slots:
                del self._claims[room]
        return removed

    async def claims(self, room: str) -> list[dict[str, Any]]:
        now = time.monotonic()
        return [dict(c) for slot, c in self._claims.get(room, {}).items()
                if not self._lapsed(room, slot, now)]
