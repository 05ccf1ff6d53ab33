"""The relay: a publisher's encoded frames, fanned out to every viewer's sender undecoded.

A `Source` is one track (audio or video) of one publisher. It is fed encoded frames (by a
tapped receiver, see aiortc_forwarding.py, or by the demo host's encoder) and hands each one to
every `ForwardTrack` attached to it. A ForwardTrack hands each frame to its viewer's lean
sender (aiortc_forwarding.Wire), which writes the frame's RTP packets, made once per source
(`Frame.payloads`), under this viewer's headers; or, with LIVEROOM_MEDIA_FORWARD=aiortc, it is
what aiortc's RTCRtpSender reads: `av.Packet`s, which aiortc packetizes without encoding. A
relay leg to another instance reads a ForwardTrack too (leg_feed.py), bound to the leg's outbox.
The bytes of a frame are shared by all viewers; per viewer there is only a queue of references
and a timestamp offset.

- **Late joiners start at once.** A video source keeps its latest keyframe group (the keyframe
  and the frames after it, bounded); a new viewer gets it first, stamped a millisecond apart so
  the browser decodes it in a blink and is at the live edge, then the live frames.
- **Keyframe requests travel upstream, throttled.** A viewer's PLI/FIR, or a source without a
  cached group, asks the publisher for a keyframe at most once a second. Publishers that
  ignore such requests (OBS) are covered by the cached group.
- **Slow viewers cannot grow memory.** A viewer whose queue passes its bound loses what is
  queued (with a lean sender: whose socket holds too much unsent, or a frame it could not
  write); video then skips to the next keyframe (and asks for one). Nobody else waits for it.
- **Timestamps are the viewer's own.** Each ForwardTrack maps source timestamps to a stream
  that only moves forward, across a publisher that leaves and comes back (or is replaced by
  another with the same codec), so a viewer's decoder never sees time run backwards.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import RTCRtpCodecCapability
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from . import aiortc_forwarding as forwarding

KEYFRAME_REQUEST_INTERVAL = 1.0  # seconds between keyframe requests to one publisher
GOP_MAX_FRAMES = 150  # 5 s at 30 fps
GOP_MAX_BYTES = 4 * 1024 * 1024
VIDEO_QUEUE_FRAMES = GOP_MAX_FRAMES + 60
AUDIO_QUEUE_FRAMES = 50  # one second of 20 ms Opus frames
FAST_FORWARD_STEP = 0.001  # seconds between the cached frames a new viewer gets at once


@dataclass(frozen=True)
class Codec:
    """The codec of a source, as negotiated with its publisher."""

    kind: str  # audio | video
    mime: str  # video/VP8, video/H264, audio/opus
    clock_rate: int
    channels: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def name(self) -> str:
        return self.mime.split("/")[1]

    def same_as(self, other: Codec) -> bool:
        return (self.mime.lower(), self.clock_rate, self.fmtp) == (
            other.mime.lower(), other.clock_rate, other.fmtp)

    @property
    def fmtp(self) -> tuple:
        return tuple(sorted((str(k), str(v)) for k, v in self.parameters.items()))

    def capability(self) -> RTCRtpCodecCapability:
        return RTCRtpCodecCapability(mimeType=self.mime, clockRate=self.clock_rate,
                                     channels=self.channels, parameters=dict(self.parameters))


def is_keyframe(mime: str, data: bytes) -> bool:
    """Whether an encoded frame can be decoded on its own."""
    name = mime.lower()
    if name == "video/vp8":
        return bool(data) and not data[0] & 0x01  # frame tag: P bit 0 means key frame
    if name == "video/h264":
        return _has_h264_idr(data)
    return True  # audio frames stand alone


def _has_h264_idr(data: bytes) -> bool:
    """Annex B stream (as aiortc reassembles it): any NAL unit of type 5 (IDR slice)."""
    start = data.find(b"\x00\x00\x01")
    while start != -1 and start + 3 < len(data):
        if data[start + 3] & 0x1F == 5:
            return True
        start = data.find(b"\x00\x00\x01", start + 3)
    return False


class Frame:
    """One encoded frame of a source, shared by all its viewers; `payloads()` packetizes it
    for RTP once, the first time a viewer's lean sender asks (aiortc_forwarding.Wire)."""

    __slots__ = ("data", "ts", "key", "index", "origin", "at", "ntp", "_payloads")

    def __init__(self, data: bytes, ts: int, key: bool, index: int = 0,
                 origin: Source | None = None, at: float = 0.0, ntp: int | None = None) -> None:
        self.data = data
        self.ts = ts  # in the codec's clock, from the publisher's first frame
        self.key = key
        self.index = index  # the source's frame count: VP8's picture id
        self.origin = origin
        self.at = at  # when it arrived (time.monotonic())
        self.ntp = ntp  # and in NTP time: the send time stamped on its packets, when live
        self._payloads: list[bytes] | None = None

    def payloads(self) -> list[bytes]:
        if self._payloads is None:
            assert self.origin is not None, "a frame is packetized by its source"
            self._payloads = self.origin.packetize(self.data, self.index)
        return self._payloads


class Source:
    """One publisher track: frames in, to every attached ForwardTrack."""

    def __init__(self, codec: Codec, *, request_keyframe: Callable[[], None] | None = None) -> None:
        self.codec = codec
        self.kind = codec.kind
        self.tracks: set[ForwardTrack] = set()
        self.gop: list[Frame] = []
        self._gop_bytes = 0
        self._request_keyframe = request_keyframe
        self._last_request = -1e9
        self.frames_in = 0
        self.last_frame_at: float | None = None
        self.on_first_frame: Callable[[], None] | None = None
        self.on_attach: Callable[[], None] | None = None  # a viewer is reading (demo host)
        self.ended = False
        self.packetize = forwarding.packetizer(codec.mime)

    def push(self, data: bytes, ts: int) -> None:
        """A frame from the publisher (called on the event loop)."""
        if self.ended:
            return
        now = time.monotonic()
        frame = Frame(data, ts, is_keyframe(self.codec.mime, data), self.frames_in, self, now,
                      forwarding.ntp_now())
        self.frames_in += 1
        self.last_frame_at = now
        if self.frames_in == 1 and self.on_first_frame is not None:
            self.on_first_frame()
        if self.kind == "video":
            self._keep(frame)
        for track in self.tracks:
            track.put(frame)

    def _keep(self, frame: Frame) -> None:
        if frame.key:
            self.gop, self._gop_bytes = [frame], len(frame.data)
            return
        if not self.gop:
            return
        self.gop.append(frame)
        self._gop_bytes += len(frame.data)
        if len(self.gop) > GOP_MAX_FRAMES or self._gop_bytes > GOP_MAX_BYTES:
            # The publisher sends keyframes rarely (browsers do, until asked): ask for one
            # rather than keep an ever longer group for late joiners.
            self.gop, self._gop_bytes = [], 0
            self.request_keyframe()

    def request_keyframe(self) -> None:
        now = time.monotonic()
        if self._request_keyframe is None or now - self._last_request < KEYFRAME_REQUEST_INTERVAL:
            return
        self._last_request = now
        self._request_keyframe()

    def attach(self, track: ForwardTrack) -> None:
        self.tracks.add(track)
        track.source = self
        if self.on_attach is not None:
            self.on_attach()
        if self.kind == "video":
            if self.gop:
                track.start_with(self.gop)
            else:
                track.skip_to_keyframe()
                self.request_keyframe()

    def detach(self, track: ForwardTrack) -> None:
        self.tracks.discard(track)
        if track.source is self:
            track.source = None

    def end(self) -> None:
        """The publisher is gone: its viewers keep their tracks, waiting for the next one."""
        self.ended = True
        for track in list(self.tracks):
            self.detach(track)
        self.gop = []


# Where a bound track hands its frames (a viewer's lean sender, aiortc_forwarding.Wire.send,
# or a relay leg, leg_feed.Feed): the frame, this track's timestamp for it, and the send time
# to stamp (None: now); False when the frame could not be written.
Sink = Callable[[Frame, int, "int | None"], bool]


class ForwardTrack(MediaStreamTrack):
    """What one viewer's sender reads: the frames of whichever source it is attached to, as
    av.Packets with this viewer's timestamps, through a bounded queue; or, once `bind` gave it
    a lean sender (or a relay leg), handed to it as they come (their packets shared, see
    Frame)."""

    def __init__(self, codec: Codec) -> None:
        super().__init__()
        self.kind = codec.kind
        self.codec = codec
        self.source: Source | None = None
        self._time_base = fractions.Fraction(1, codec.clock_rate)
        self._clock = codec.clock_rate
        self._limit = VIDEO_QUEUE_FRAMES if codec.kind == "video" else AUDIO_QUEUE_FRAMES
        self._queue: deque[tuple[Frame, int]] = deque()
        self._sink: Sink | None = None
        self._waiter: asyncio.Future | None = None
        self._skipping = False
        self._offset: int | None = None  # viewer ts = source ts + offset
        self._last_ts: int | None = None  # last viewer timestamp queued
        self._last_at = 0.0  # when it was queued
        self.frames_out = 0
        self.dropped = 0
        self.first_frame_at: float | None = None

    # --- fed by the source --------------------------------------------------------------------
    def start_with(self, gop: list[Frame]) -> None:
        """Queue a cached keyframe group, compressed in time, then go on live."""
        step = max(1, int(self._clock * FAST_FORWARD_STEP))
        base = self._next_ts()
        self._skipping = False
        self._offset = base + (len(gop) - 1) * step - gop[-1].ts
        for i, frame in enumerate(gop):
            self._enqueue(frame, base + i * step)

    def skip_to_keyframe(self) -> None:
        self._skipping = True
        self._offset = None

    def put(self, frame: Frame) -> None:
        sink = self._sink
        if sink is not None and self._offset is not None and not self._skipping:
            # The hot path (a live frame, a viewer on a lean sender, nothing to mend): straight
            # to _deliver, stamped with the frame's own send time.
            ts = frame.ts + self._offset
            self._last_ts, self._last_at = ts, frame.at
            self._deliver(sink, frame, ts, frame.ntp)
            return
        if self._skipping:
            if not frame.key:
                return
            self._skipping = False
        if len(self._queue) >= self._limit:
            # Not keeping up: drop what waits rather than hold more.
            self.dropped += len(self._queue)
            self._queue.clear()
            if self.kind == "video" and not frame.key:
                self._skipping = True
                if self.source is not None:
                    self.source.request_keyframe()
                return
        if self._offset is None:
            self._offset = self._next_ts() - frame.ts
        self._enqueue(frame, frame.ts + self._offset)

    def rebase(self) -> None:
        """The next frame comes from another source (or after a gap): continue from here."""
        self._offset = None

    def _next_ts(self) -> int:
        if self._last_ts is None:
            return 0
        elapsed = int((time.monotonic() - self._last_at) * self._clock)
        return self._last_ts + max(elapsed, 1)

    def _enqueue(self, frame: Frame, ts: int) -> None:
        self._last_ts, self._last_at = ts, time.monotonic()
        if self._sink is not None:
            self._deliver(self._sink, frame, ts)
            return
        self._queue.append((frame, ts))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # --- written by a lean sender or a leg ------------------------------------------------------
    def bind(self, sink: Sink) -> None:
        """From now on hand frames to `sink` as they come (what was queued first); nothing
        reads recv() any more."""
        self._sink = sink
        while self._queue and self._sink is sink:
            frame, ts = self._queue.popleft()
            self._deliver(sink, frame, ts)

    def _deliver(self, sink: Sink, frame: Frame, ts: int, ntp: int | None = None) -> None:
        """Hand a frame to the sink; `ntp` None (a cached or queued frame): sent now."""
        if self._skipping and not frame.key:
            return  # a frame could not be written: nothing decodes until the next keyframe
        if sink(frame, ts, ntp):
            self._skipping = False
            self.frames_out += 1
            if self.first_frame_at is None:
                self.first_frame_at = time.monotonic()
            return
        self.dropped += 1
        if self.kind == "video":
            self._skipping = True
            if self.source is not None:
                self.source.request_keyframe()

    # --- read by the sender -------------------------------------------------------------------
    async def recv(self) -> av.Packet:
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.readyState != "live":
            raise MediaStreamError
        frame, ts = self._queue.popleft()
        self.frames_out += 1
        if self.first_frame_at is None:
            self.first_frame_at = time.monotonic()
        packet = av.Packet(frame.data)
        packet.pts = ts
        packet.time_base = self._time_base
        return packet

    def queued(self) -> int:
        return len(self._queue)

    def stop(self) -> None:
        super().stop()
        self._queue.clear()
        self._sink = None
        if self.source is not None:
            self.source.detach(self)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
