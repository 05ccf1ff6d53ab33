"""The origin's end of relay legs: `GET /internal/media/legs/{room}`, a WebSocket another
instance opens to serve the room's viewers it holds (legs.py is that end; leg_wire.py the
format; leg_auth.py who may open one).

A leg reads the room's local publishers like one more viewer: each of their Sources gets a
ForwardTrack bound to the leg, so a leg starts at the cached keyframe group, and a leg that
falls behind (its socket has held unsent bytes for BACKLOG_SECONDS) has frames refused, and
its video skips to the next keyframe, exactly as a slow viewer's does; nothing waits for it
and nothing grows. A leg that stops reading altogether (it acknowledges nothing for
LIVEROOM_LEG_STALL_TIMEOUT while frames wait) is cut; its instance opens a new one.

Frames travel in batches where the leg reads them (leg_wire.BATCHED): a video frame goes at
once, with whatever waits; an audio frame waits for the next video frame, at most AUDIO_HOLD.
Most of what a leg costs the origin goes per send (the kernel's TCP path, the other end woken),
so a video frame and the audio before it go as one: about 30 sends a second rather than 80,
for audio up to one video frame interval later. The batches are written to the connection's
transport as WebSocket frames of our own (leg_wire.binary_frame), from the track's call, with
no task, lock or coroutine per batch: the write never waits (asyncio keeps what the socket
does not take, and the backlog check above bounds that), and aiohttp's own writes (the tracks
message, pings, the close) go to the same transport whole, so frames never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiohttp import WSCloseCode, WSMsgType, web

from liveroom.config import SETTINGS
from liveroom.domain.errors import LiveroomError

from . import leg_auth, leg_wire
from .config import MEDIA_SETTINGS
from .keys import REGISTRY
from .registry import Registry
from .relay import ForwardTrack, Frame, Sink, Source

log = logging.getLogger(__name__)

HEARTBEAT = 5.0  # WebSocket pings: a leg whose instance vanished is noticed
CLOSE_TOO_SLOW = 4008
CLOSE_BAD_MESSAGE = 4400
SLOTS = ("host", "cohost")
AUDIO_HOLD = 0.04  # seconds audio waits for a video frame to travel with (25 fps and up)
BACKLOG_SECONDS = 1.0  # the socket held unsent bytes this long: the leg is behind, refuse more
BATCH_BYTES = 1024 * 1024  # at most this in one message (and a frame more), far below the
# leg's message limit (leg_wire.MAX_FRAME_BYTES)


class Feed:
    """One leg's sending end: every track of the room's local publishers onto its socket."""

    def __init__(self, ws: web.WebSocketResponse, registry: Registry, room: str,
                 downstream: str, stall_timeout: float, transport: asyncio.Transport) -> None:
        self.ws = ws
        self._transport = transport
        self.registry = registry
        self.room = room
        self.downstream = downstream  # the instance that opened it
        self.stall_timeout = stall_timeout
        self.tracks: dict[int, tuple[str, ForwardTrack]] = {}  # id -> (slot, track)
        self._bound: dict[str, dict[str, Source]] = {}  # slot -> the sources its tracks read
        self._next_id = 0
        self._dirty = asyncio.Event()
        self.batched = ws.ws_protocol == leg_wire.BATCHED
        self._outbox: list[leg_wire.Record] = []  # frames to write at the next flush
        self._flush_due = False  # a flush is scheduled for this turn of the loop
        self._hold: asyncio.TimerHandle | None = None  # audio's wait for video, bounded
        self._behind_since: float | None = None  # since when the socket holds unsent bytes
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
            for task in (syncer, watchdog):
                task.cancel()
            if self._hold is not None:
                self._hold.cancel()
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
        await self.ws.send_str(leg_wire.tracks_message(listing))
        for track_id, track, source in fresh:
            source.attach(track)  # queues the cached keyframe group
            track.bind(self._sink(track_id, track.kind))  # hands it over, then live frames

    def _drop(self, slot: str) -> None:
        for track_id, (s, track) in list(self.tracks.items()):
            if s == slot:
                del self.tracks[track_id]
                self.skipped_before += track.dropped
                track.stop()
        self._bound.pop(slot, None)

    # --- its frames ---------------------------------------------------------------------------
    def _sink(self, track_id: int, kind: str) -> Sink:
        """What a track of this leg hands its frames to: the outbox, unless the leg is behind
        (then False: the track drops the frame, and video skips to the next keyframe)."""
        held = kind == "audio" and self.batched
        loop = asyncio.get_running_loop()

        def put(frame: Frame, ts: int, ntp: int | None) -> bool:
            if self._behind_since is not None and self._behind():
                return False
            self._outbox.append((track_id, frame.key, ts, time.time(), frame.data))
            if not held:
                if not self._flush_due:  # once this turn of the loop is done
                    self._flush_due = True
                    loop.call_soon(self._flush)
            elif self._hold is None:
                self._hold = loop.call_later(AUDIO_HOLD, self._flush)
            return True
        return put

    def _behind(self) -> bool:
        """Whether the socket has held unsent bytes for BACKLOG_SECONDS (asked again: it may
        have drained since the last write)."""
        if not self._transport.get_write_buffer_size():
            self._behind_since = None
            return False
        return self._behind_since is not None and (
            time.monotonic() - self._behind_since > BACKLOG_SECONDS)

    def _flush(self) -> None:
        """Write what the outbox holds."""
        self._flush_due = False
        if self._hold is not None:
            self._hold.cancel()
            self._hold = None
        batch, self._outbox = self._outbox, []
        if not batch or self.ws.closed or self._transport.is_closing():
            return  # closing: run() ends the rest
        if self.sent == self.acked:
            self._progress_at = time.monotonic()  # caught up: the wait starts now
        self.sent += len(batch)
        for message in self._messages(batch):
            self._transport.write(leg_wire.binary_frame(message))
        if not self._transport.get_write_buffer_size():
            self._behind_since = None
        elif self._behind_since is None:
            self._behind_since = time.monotonic()

    def _messages(self, batch: list[leg_wire.Record]) -> list[bytes]:
        if not self.batched:
            return [leg_wire.frame(track, key, ts, data, sent_at)
                    for track, key, ts, sent_at, data in batch]
        messages, start, size = [], 0, 0
        for i, record in enumerate(batch):
            size += len(record[4])
            if size > BATCH_BYTES:
                messages.append(leg_wire.frames(batch[start:i + 1]))
                start, size = i + 1, 0
        if start < len(batch):
            messages.append(leg_wire.frames(batch[start:]))
        return messages

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
        if not self._transport.is_closing():
            self._transport.abort()  # a full socket takes nothing more: drop the connection


async def leg_endpoint(request: web.Request) -> web.StreamResponse:
    room = request.match_info["room"]
    settings = request.app[SETTINGS]
    downstream = leg_auth.check(settings.signing_secret, room,
                                request.headers.get("Authorization"))
    if downstream == settings.instance_id:
        raise LiveroomError("bad_request", "an instance opens no leg to itself")
    # Encoded video does not deflate: no compression, whatever the other end offers.
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=leg_wire.MAX_CONTROL_BYTES,
                               compress=False, protocols=(leg_wire.BATCHED,))
    await ws.prepare(request)
    transport = request.transport
    assert transport is not None, "a prepared WebSocket has its connection"
    feed = Feed(ws, request.app[REGISTRY], room, downstream,
                request.app[MEDIA_SETTINGS].leg_stall_timeout, transport)
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

