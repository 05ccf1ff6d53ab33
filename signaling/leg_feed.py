"""The origin's end of relay legs: `GET /internal/media/legs/{room}`, a WebSocket another
instance opens to serve the room's viewers it holds (legs.py is that end; leg_wire.py the
format; leg_auth.py who may open one).

A leg reads the room's local publishers like one more viewer: each of their Sources gets a
ForwardTrack, so a leg starts at the cached keyframe group, and a leg that falls behind loses
its queue and skips to the next keyframe, exactly as a slow viewer does; nothing waits for it
and nothing grows. A leg that stops reading altogether (it acknowledges nothing for
LIVEROOM_LEG_STALL_TIMEOUT while frames wait) is cut; its instance opens a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from aiohttp import WSCloseCode, WSMsgType, web
from aiortc.mediastreams import MediaStreamError

from liveroom.config import SETTINGS
from liveroom.domain.errors import LiveroomError

from . import leg_auth, leg_wire
from .config import MEDIA_SETTINGS
from .keys import REGISTRY
from .registry import Registry
from .relay import ForwardTrack, Source

log = logging.getLogger(__name__)

HEARTBEAT = 5.0  # WebSocket pings: a leg whose instance vanished is noticed
CLOSE_TOO_SLOW = 4008
CLOSE_BAD_MESSAGE = 4400
SLOTS = ("host", "cohost")


class Feed:
    """One leg's sending end: every track of the room's local publishers onto its socket."""

    def __init__(self, ws: web.WebSocketResponse, registry: Registry, room: str,
                 downstream: str, stall_timeout: float, abort: Callable[[], None]) -> None:
        self.ws = ws
        self._abort_transport = abort
        self.registry = registry
        self.room = room
        self.downstream = downstream  # the instance that opened it
        self.stall_timeout = stall_timeout
        self.tracks: dict[int, tuple[str, ForwardTrack]] = {}  # id -> (slot, track)
        self._bound: dict[str, dict[str, Source]] = {}  # slot -> the sources its tracks read
        self._next_id = 0
        self._send_lock = asyncio.Lock()
        self._pumps: dict[int, asyncio.Task] = {}
        self._dirty = asyncio.Event()
        self.sent = 0
        self.acked = 0
        self.skipped_before = 0  # frames dropped by tracks that are gone
        self._progress_at = time.monotonic()
        self.cut = False

    @property
    def skipped(self) -> int:
        return self.skipped_before + sum(t.dropped for _, t in self.tracks.values())

    async def run(self) -> None:
        self.registry.feeds.add(self)
        self.registry.listen(self.room, self._changed)
        syncer = asyncio.create_task(self._keep_in_sync(), name=f"leg-sync-{self.room}")
        watchdog = asyncio.create_task(self._watch(), name=f"leg-watch-{self.room}")
        try:
            async for message in self.ws:
                if message.type == WSMsgType.TEXT:
                    self._on_control(message.data)
                elif message.type == WSMsgType.BINARY:
                    raise leg_wire.BadMessage("a leg sends no binary messages to its origin")
        except leg_wire.BadMessage as exc:
            log.warning("leg of room %s from %s: %s", self.room, self.downstream, exc)
            await self.ws.close(code=CLOSE_BAD_MESSAGE, message=str(exc)[:100].encode())
        finally:
            self.registry.unlisten(self.room, self._changed)
            self.registry.feeds.discard(self)
            for task in (syncer, watchdog, *self._pumps.values()):
                task.cancel()
            for slot in SLOTS:
                self._drop(slot)

    # --- what the leg says --------------------------------------------------------------------
    def _on_control(self, text: str) -> None:
        message = leg_wire.control(text)
        if message["type"] == "ack":
            frames = message.get("frames")
            if not isinstance(frames, int) or isinstance(frames, bool):
                raise leg_wire.BadMessage("ack: frames must be a number")
            if frames > self.acked:
                self.acked = frames
                self._progress_at = time.monotonic()
        elif message["type"] == "keyframe":
            track = message.get("track")
            if not isinstance(track, int) or isinstance(track, bool):
                raise leg_wire.BadMessage("keyframe: track must be a track id")
            entry = self.tracks.get(track)  # gone meanwhile: nothing to ask for
            if entry is not None and entry[1].source is not None:
                entry[1].source.request_keyframe()  # throttled by the source
        else:
            raise leg_wire.BadMessage(f"unknown message type {message['type']!r}")

    # --- which tracks it carries --------------------------------------------------------------
    def _changed(self, slot: str) -> None:
        self._dirty.set()

    async def _keep_in_sync(self) -> None:
        self._dirty.set()
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await self._sync()
            except (ConnectionError, RuntimeError):
                return  # the socket is closing; run() ends the rest

    async def _sync(self) -> None:
        """Follow the room's local publishers: the tracks message first, then their frames."""
        changed: list[str] = []
        for slot in SLOTS:
            publisher = self.registry.publishers.get((self.room, slot))
            sources = dict(publisher.sources) if publisher is not None and not (
                publisher.closed) else {}
            if sources != self._bound.get(slot, {}):
                self._drop(slot)
                self._bound[slot] = sources
                changed.append(slot)
        if not changed:
            return
        fresh: list[tuple[int, ForwardTrack, Source]] = []
        for slot in changed:
            for source in self._bound[slot].values():
                self._next_id = (self._next_id + 1) % 0x10000
                track = ForwardTrack(source.codec)
                self.tracks[self._next_id] = (slot, track)
                fresh.append((self._next_id, track, source))
        listing = [(track_id, slot, track.kind, track.codec)
                   for track_id, (slot, track) in self.tracks.items()]
        async with self._send_lock:
            await self.ws.send_str(leg_wire.tracks_message(listing))
        for track_id, track, source in fresh:
            source.attach(track)
            self._pumps[track_id] = asyncio.create_task(self._pump(track_id, track))

    def _drop(self, slot: str) -> None:
        for track_id, (s, track) in list(self.tracks.items()):
            if s == slot:
                del self.tracks[track_id]
                self.skipped_before += track.dropped
                track.stop()
                pump = self._pumps.pop(track_id, None)
                if pump is not None:
                    pump.cancel()
        self._bound.pop(slot, None)

    async def _pump(self, track_id: int, track: ForwardTrack) -> None:
        while True:
            try:
                frame, ts = await track.next_frame()
            except MediaStreamError:
                return
            message = leg_wire.frame(track_id, frame.key, ts, frame.data)
            if self.sent == self.acked:
                self._progress_at = time.monotonic()  # caught up: the wait starts now
            async with self._send_lock:
                try:
                    await self.ws.send_bytes(message)
                except (ConnectionError, RuntimeError):
                    return  # closing; run() ends the rest
            self.sent += 1

    # --- a leg that stops reading -------------------------------------------------------------
    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(min(0.5, self.stall_timeout / 4))
            waited = time.monotonic() - self._progress_at
            if self.sent > self.acked and waited > self.stall_timeout:
                self.cut = True
                log.warning("leg of room %s to %s: nothing acknowledged for %.1f s (%d frames "
                            "waiting); cutting it", self.room, self.downstream, waited,
                            self.sent - self.acked)
                await self.close(CLOSE_TOO_SLOW, "too slow")
                return

    async def close(self, code: int, reason: str) -> None:
        """Say why, if the socket takes it within a second; either way, the end."""
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()), 1)
        except (asyncio.TimeoutError, ConnectionError, RuntimeError):
            pass
        self._abort_transport()  # a full socket takes nothing more: drop the connection


async def leg_endpoint(request: web.Request) -> web.StreamResponse:
    room = request.match_info["room"]
    settings = request.app[SETTINGS]
    downstream = leg_auth.check(settings.signing_secret, room,
                                request.headers.get("Authorization"))
    if downstream == settings.instance_id:
        raise LiveroomError("bad_request", "an instance opens no leg to itself")
    # Encoded video does not deflate: no compression, whatever the other end offers.
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=leg_wire.MAX_CONTROL_BYTES,
                               compress=False)
    await ws.prepare(request)

    def abort() -> None:
        transport = request.transport
        if transport is not None and not transport.is_closing():
            transport.abort()

    feed = Feed(ws, request.app[REGISTRY], room, downstream,
                request.app[MEDIA_SETTINGS].leg_stall_timeout, abort)
    log.info("room %s: leg to instance %s opened", room, downstream)
    try:
        await feed.run()
    finally:
        with contextlib.suppress(Exception):
            await ws.close()
        log.info("room %s: leg to instance %s closed", room, downstream)
    return ws


async def close_feeds(app: web.Application) -> None:
    """On shutdown (a drain), before the requests in flight are waited for: legs are open for
    as long as their instance has viewers, so close them now (1012, as the room channel does);
    their instances look for the room's origin again."""
    if REGISTRY not in app:
        return
    feeds = list(app[REGISTRY].feeds)
    await asyncio.gather(*(feed.close(WSCloseCode.SERVICE_RESTART, "draining")
                           for feed in feeds), return_exceptions=True)

