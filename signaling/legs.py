"""Relay legs, the receiving end: an instance with viewers of a room whose media lives on
another instance (the room's *origin*) opens ONE leg from the origin and serves its viewers
from it, as if the publisher were here (leg_feed.py is the origin's end, leg_wire.py the
format).

The leg feeds local Sources through their public `push`, so viewers here get what viewers of
the origin get: the cached keyframe group at once, bounded queues, and keyframe requests that
travel upstream (a viewer's PLI asks the local Source, which asks the origin over the leg, at
most once a second). Each slot of the room (host, cohost) appears as a `Relayed` broadcast with
the codecs and Sources a local publisher would have; the registry prefers a local publisher.

A leg follows the room's origin as the engine's media claims name it: when its connection
ends (the origin crashed, restarted, cut a leg that stopped reading) its Sources end, its
viewers wait attached to nothing (their peer connections stay up), and it connects again to
whichever instance the claims name by then, a new origin included; the viewers are attached to
the new Sources as their tracks arrive. It closes LIVEROOM_LEG_LINGER seconds after its last
local viewer left.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp

from liveroom.domain.errors import LiveroomError

from . import leg_auth, leg_wire
from .relay import Codec, Source

log = logging.getLogger(__name__)

RETRY = 0.5  # seconds between attempts to reach the room's origin
HEARTBEAT = 5.0  # WebSocket pings: an origin that vanished is noticed
CONNECT_TIMEOUT = 5.0  # seconds to open a leg, handshake included
ACK_INTERVAL = 0.5  # seconds between acknowledgements of what arrived
READY_WAIT = 5.0  # how long a new viewer waits for a new leg to say what the room has
PATH = "/internal/media/legs/{room}"

Locate = Callable[[str], Awaitable["dict[str, Any] | None"]]
Changed = Callable[[str, str], None]


class Relayed:
    """A slot's media as its leg brings it: what a local publisher offers viewers."""

    def __init__(self, slot: str, sources: dict[str, Source]) -> None:
        self.slot = slot
        self.sources = sources
        self.codecs: dict[str, Codec] = {kind: s.codec for kind, s in sources.items()}
        self.closed = False


class Leg:
    """One room's leg from its origin, reconnecting until closed."""

    def __init__(self, room: str, legs: Legs) -> None:
        self.room = room
        self._legs = legs
        self.origin: str | None = None  # the instance it is connected to
        self.slots: dict[str, Relayed] = {}
        self._sources: dict[int, tuple[str, str, Source]] = {}  # id -> (slot, kind, source)
        self.ready = asyncio.Event()  # it knows what the room has (or that nothing can be had)
        self.frames_in = 0
        self.delay = 0.0  # the last frame's time from the origin's send to here, seconds
        self.idle_since: float | None = None
        self.connects = 0
        self.failing = False  # the origin the claims name could not be reached
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._keyframes: set[int] = set()
        self._wake = asyncio.Event()
        # Its own context: the leg outlives the request that opened it (and its log fields).
        self._task = asyncio.create_task(self._run(), name=f"leg-{room}",
                                         context=contextvars.Context())

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def _run(self) -> None:
        while True:
            try:
                owner = await self._legs.locate(self.room)
            except LiveroomError as exc:  # EngineUnavailable among them
                log.warning("room %s: leg cannot look up the room's origin: %s", self.room, exc)
                await asyncio.sleep(RETRY)
                continue
            url = owner.get("leg_url") if owner is not None else None
            if owner is None or owner["instance"] == self._legs.instance or not url:
                self.failing = False
                self.ready.set()  # nobody to connect to: a viewer needs not wait for it
                await asyncio.sleep(RETRY)
                continue
            self.ready.clear()  # a viewer coming now waits for what the origin says
            try:
                await self._connect(owner["instance"], url)
            except aiohttp.WSServerHandshakeError as exc:
                level = logging.WARNING if exc.status in (401, 403) else logging.INFO
                log.log(level, "room %s: the leg was refused by %s (%s %s)%s", self.room,
                        owner["instance"], exc.status, exc.message,
                        ": every instance needs the same LIVEROOM_SECRET"
                        if exc.status in (401, 403) else "")
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                log.info("room %s: leg from %s: %s", self.room, owner["instance"],
                         exc or type(exc).__name__)
            except leg_wire.BadMessage as exc:
                log.warning("room %s: leg from %s sent a bad message: %s", self.room,
                            owner["instance"], exc)
            except Exception:
                # Whatever it was, the players here are better served by a fresh connection
                # than by a leg that stopped.
                log.exception("room %s: leg from %s failed", self.room, owner["instance"])
            finally:
                self.failing = True  # until it reaches the room's origin again
                self.origin = None
                self._end_tracks()
                self.ready.set()
            await asyncio.sleep(RETRY)

    async def _connect(self, instance: str, url: str) -> None:
        legs = self._legs
        headers = {"Authorization": leg_auth.header(legs.secret, self.room, legs.instance)}
        address = url.rstrip("/") + PATH.format(room=quote(self.room, safe=""))
        # Bounded as a whole: an origin that accepts the connection but never answers (a
        # stopped process) must not keep the leg from looking elsewhere.
        ws = await asyncio.wait_for(legs.http().ws_connect(
            address, headers=headers, heartbeat=HEARTBEAT,
            max_msg_size=leg_wire.MAX_FRAME_BYTES, protocols=(leg_wire.BATCHED,)),
            CONNECT_TIMEOUT)
        read = leg_wire.reader(ws.protocol)  # an origin from before batches picks none
        async with ws:
            self._ws, self.origin = ws, instance
            self.failing = False
            self.connects += 1
            log.info("room %s: leg from instance %s open", self.room, instance)
            writer = asyncio.create_task(self._write(ws))
            try:
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.BINARY:
                        for frame in read(message.data):
                            self._on_frame(*frame)
                    elif message.type == aiohttp.WSMsgType.TEXT:
                        control = leg_wire.control(message.data)
                        if control["type"] == "tracks":
                            self._on_tracks(leg_wire.read_tracks(control))
            finally:
                writer.cancel()
                self._ws = None
                log.info("room %s: leg from instance %s closed (%s)", self.room, instance,
                         ws.close_code)

    # --- what the origin sends ----------------------------------------------------------------
    def _on_tracks(self, tracks: list[tuple[int, str, str, Codec]]) -> None:
        listed = {track: (slot, kind, codec) for track, slot, kind, codec in tracks}
        changed: set[str] = set()
        for track, (slot, kind, source) in list(self._sources.items()):
            now = listed.get(track)
            if now is None or now[:2] != (slot, kind) or not now[2].same_as(source.codec):
                source.end()
                del self._sources[track]
                changed.add(slot)
        for track, (slot, kind, codec) in listed.items():
            if track not in self._sources:
                source = Source(codec, request_keyframe=functools.partial(self._ask, track))
                self._sources[track] = (slot, kind, source)
                changed.add(slot)
        self._publish_slots(changed)
        self.ready.set()

    def _on_frame(self, track: int, _key: bool, timestamp: int, sent_at: float,
                  data: bytes) -> None:
        self.frames_in += 1
        self.delay = time.time() - sent_at
        entry = self._sources.get(track)
        if entry is not None:
            entry[2].push(data, timestamp)

    def _end_tracks(self) -> None:
        changed = {slot for slot, _, _ in self._sources.values()}
        for _, _, source in self._sources.values():
            source.end()
        self._sources.clear()
        self._publish_slots(changed)

    def _publish_slots(self, changed: set[str]) -> None:
        """Rebuild the slots' broadcasts and tell the registry which ones changed."""
        by_slot: dict[str, dict[str, Source]] = {}
        for slot, kind, source in self._sources.values():
            by_slot.setdefault(slot, {})[kind] = source
        for slot in changed:
            old = self.slots.pop(slot, None)
            if old is not None:
                old.closed = True
            if slot in by_slot:
                self.slots[slot] = Relayed(slot, by_slot[slot])
        for slot in changed:
            self._legs.on_change(self.room, slot)

    # --- what it says upstream ----------------------------------------------------------------
    def _ask(self, track: int) -> None:
        """A viewer here needs a keyframe (already throttled by the Source)."""
        self._keyframes.add(track)
        self._wake.set()

    async def _write(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        acked = 0
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not ws.closed:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), ACK_INTERVAL)
                self._wake.clear()
                for track in list(self._keyframes):
                    await ws.send_json({"type": "keyframe", "track": track})
                self._keyframes.clear()
                if self.frames_in != acked:
                    acked = self.frames_in
                    await ws.send_json({"type": "ack", "frames": acked})

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        self._end_tracks()

    async def reconnect(self) -> None:
        """Drop the connection: the leg looks for the room's origin again."""
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()


class Legs:
    """This instance's legs, one per room it has viewers of whose origin is elsewhere."""

    def __init__(self, instance: str, secret: str, locate: Locate, on_change: Changed,
                 linger: float) -> None:
        self.instance = instance
        self.secret = secret
        self.locate = locate  # room -> the claim of the instance holding its media, or None
        self.on_change = on_change  # (room, slot): the slot's relayed media changed
        self.linger = linger
        self.legs: dict[str, Leg] = {}
        self._http: aiohttp.ClientSession | None = None
        self.frames_in_before = 0  # of the legs closed

    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        return self._http

    def relayed(self, room: str, slot: str) -> Relayed | None:
        leg = self.legs.get(room)
        return leg.slots.get(slot) if leg is not None else None

    async def broadcast(self, room: str, slot: str, wait: float = READY_WAIT
                        ) -> Relayed | None:
        """The slot's media through a leg (opening it if there is none yet), or None when the
        room's media is not elsewhere or the slot has nothing."""
        leg = self.legs.get(room)
        if leg is None:
            owner = await self.locate(room)
            if owner is None or owner["instance"] == self.instance or not owner.get("leg_url"):
                return None
            leg = self.open(room)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(leg.ready.wait(), wait)
        relayed = leg.slots.get(slot)
        if relayed is None and leg.failing and await self._elsewhere(room):
            # The room is live elsewhere, just not reachable now (its origin restarting,
            # crashed before its claim lapsed): worth a retry, unlike not_live.
            raise LiveroomError("unavailable", "the instance holding this room's video is "
                                "not reachable; retry in a few seconds")
        return relayed

    async def _elsewhere(self, room: str) -> bool:
        """Whether the claims name another instance as the room's origin."""
        owner = await self.locate(room)
        return owner is not None and owner["instance"] != self.instance

    def open(self, room: str) -> Leg:
        leg = self.legs.get(room)
        if leg is None:
            leg = self.legs[room] = Leg(room, self)
        leg.idle_since = None
        return leg

    async def keep(self, watched: set[str], waiting: set[str]) -> None:
        """Every tick: `watched` rooms have local viewers, `waiting` ones have viewers and no
        local publisher. Open the legs they need; close those idle for the linger time."""
        now = time.monotonic()
        for room in waiting - self.legs.keys():
            owner = await self.locate(room)
            if owner is not None and owner["instance"] != self.instance and owner.get(
                    "leg_url"):
                self.open(room)
        for room, leg in list(self.legs.items()):
            if room in watched:
                leg.idle_since = None
            elif leg.idle_since is None:
                leg.idle_since = now
            elif now - leg.idle_since >= self.linger:
                await self.drop(room)

    async def follow(self) -> None:
        """Every heartbeat: a leg connected to an instance that no longer holds its room's
        media reconnects (to the new origin, or to nothing while the room is offline)."""
        for room, leg in list(self.legs.items()):
            if leg.origin is None:
                continue
            owner = await self.locate(room)
            if owner is not None and owner["instance"] != leg.origin:
                await leg.reconnect()

    async def drop(self, room: str) -> None:
        leg = self.legs.pop(room, None)
        if leg is not None:
            self.frames_in_before += leg.frames_in
            await leg.close()
            log.info("room %s: leg closed, no viewers here for %.0f s", room, self.linger)

    async def close(self) -> None:
        for room in list(self.legs):
            await self.drop(room)
        if self._http is not None:
            await self._http.close()
