"""The demo host: with --demo, a server-side publisher in each demo room, streaming a test card
(the country's name and flag colours, a running clock) and a beep each second, through the
same Sources, ForwardTracks and live state as a real host. A real host who goes live replaces
it; when the room has been without a publisher for a while it comes back, in H.264
constrained baseline (so demo rooms have HLS too: HLS carries H.264, not VP8), or in VP8 when
the players still waiting from a VP8 host need it (a WHEP player cannot be asked to
renegotiate: it keeps its connection and sees the card).

Cost is kept near nothing on a small machine: it encodes only while someone watches (the first
viewer starts it, and it stops a few seconds after the last one leaves), at 640x360 and 15
frames a second, from a card drawn once whose clock is redrawn once a second, so the encoder
spends its time on one small region: about 3.5% of a core per watched room in VP8, encoding
and forwarding included, and nothing for rooms nobody watches (bench/media.py --demo,
BENCHMARKS.md; that figure is VP8's, H.264's is not measured yet).
The audio is one second of Opus packets encoded once per process and replayed.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import math
import struct
import time
from functools import lru_cache
from typing import Any

import av

from .peers import Broadcast
from .relay import Codec, Source
from .sdp import h264_codec
from .testcard import TestCard

log = logging.getLogger(__name__)

WIDTH, HEIGHT, FPS = 640, 360, 15
BITRATE = 400_000
KEYFRAME_SECONDS = 2
IDLE_STOP = 5.0  # stop encoding this long after the last viewer left
AUDIO_FRAME = 960  # 20 ms at 48 kHz
VP8 = Codec("video", "video/VP8", 90000)
H264 = h264_codec("42e01f")  # constrained baseline: every H.264 player decodes it
DEMO_VIDEO = (H264, VP8)  # the first unless the waiting players take the other
OPUS = Codec("audio", "audio/opus", 48000, 2)


@lru_cache(maxsize=1)
def beep_packets() -> tuple[bytes, ...]:
    """One second of Opus: a short 660 Hz beep, then silence; 50 packets that loop cleanly."""
    rate = 48000
    samples = bytearray()
    for second in range(3):
        for n in range(rate):
            level = 0.2 if n < rate * 0.12 else 0.0
            value = level * 32767 * math.sin(2 * math.pi * 660 * n / rate)
            samples += struct.pack("<h", int(value))
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = rate
    codec.layout = "mono"
    codec.format = "s16"
    codec.bit_rate = 32000
    codec.time_base = fractions.Fraction(1, rate)
    packets = []
    for i in range(len(samples) // (2 * AUDIO_FRAME)):
        frame = av.AudioFrame(format="s16", layout="mono", samples=AUDIO_FRAME)
        frame.planes[0].update(bytes(samples[i * 2 * AUDIO_FRAME:(i + 1) * 2 * AUDIO_FRAME]))
        frame.sample_rate = rate
        frame.pts = i * AUDIO_FRAME
        frame.time_base = codec.time_base
        packets += [bytes(p) for p in codec.encode(frame)]
    # The middle second: the encoder is past its start-up, and the loop joins silence to beep.
    return tuple(packets[50:100])


def _encoder(codec: Codec) -> av.VideoCodecContext:
    h264 = codec.mime.lower() == "video/h264"
    encoder = av.CodecContext.create("libx264" if h264 else "libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    encoder.bit_rate = BITRATE
    encoder.time_base = fractions.Fraction(1, FPS)
    encoder.framerate = fractions.Fraction(FPS, 1)
    encoder.gop_size = FPS * KEYFRAME_SECONDS
    encoder.thread_count = 1
    if h264:  # Annex B out, as the relay forwards it
        encoder.profile = "Baseline"
        encoder.options = {"preset": "ultrafast", "tune": "zerolatency", "bf": "0"}
    else:
        encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
                           "static-thresh": "100"}
    return encoder


class DemoHost(Broadcast):
    """A publisher without a peer connection: its Sources are fed by a local encoder."""

    def __init__(self, session_id: str, room: dict[str, Any], video: Codec | None = None
                 ) -> None:
        super().__init__(session_id, room["id"], "host",
                         {"user_id": f"demo-{room['id']}", "name": room.get("host_name") or "Demo",
                          "role": "host", "guest": False}, "demo")
        self.title = room.get("country") or room.get("title") or room["id"]
        self.country_code = room.get("country_code") or "ZZ"
        self.codecs = {"video": video or H264, "audio": OPUS}
        self.sources = {kind: Source(codec, request_keyframe=self._want_keyframe)
                        for kind, codec in self.codecs.items()}
        for source in self.sources.values():
            source.on_attach = self._demand
        self.connected_at = time.monotonic()  # nothing to connect
        self.encoding = False
        self.frames_encoded = 0
        self._task: asyncio.Task | None = None
        self._keyframe = False

    def last_frame_at(self) -> float:
        return time.monotonic()  # never silent: it encodes on demand

    def _want_keyframe(self) -> None:
        self._keyframe = True

    def _demand(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    def _watched(self) -> bool:
        return any(source.tracks for source in self.sources.values())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        encoder = _encoder(self.codecs["video"])
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        y, u, v = (plane.line_size for plane in frame.planes)
        card = TestCard(WIDTH, HEIGHT, (y, u, v), self.title, self.country_code)
        audio = await loop.run_in_executor(None, beep_packets)
        video, sound = self.sources["video"], self.sources["audio"]
        start, vi, ai, idle_since = loop.time(), 0, 0, None
        self.encoding = True
        self._keyframe = True
        log.info("demo host of %s: encoding for its viewers", self.room)
        try:
            while not self.closed:
                now = loop.time()
                wake = min(start + vi / FPS, start + ai * AUDIO_FRAME / 48000)
                if wake > now:
                    await asyncio.sleep(wake - now)
                now = loop.time()
                while start + ai * AUDIO_FRAME / 48000 <= now:
                    sound.push(audio[ai % len(audio)], ai * AUDIO_FRAME)
                    ai += 1
                if start + vi / FPS <= now:
                    planes = card.planes_at(time.time())
                    if planes is not None:
                        for plane, data in zip(frame.planes, planes):
                            plane.update(data)
                    frame.pts = vi
                    frame.pict_type = (av.video.frame.PictureType.I if self._keyframe
                                       else av.video.frame.PictureType.NONE)
                    self._keyframe = False
                    packets = await loop.run_in_executor(None, encoder.encode, frame)
                    for packet in packets:
                        video.push(bytes(packet), vi * (90000 // FPS))
                    vi += 1
                    self.frames_encoded += 1
                if self._watched():
                    idle_since = None
                elif idle_since is None:
                    idle_since = now
                elif now - idle_since > IDLE_STOP:
                    break
        finally:
            self.encoding = False
            video.gop = []  # the next run starts over with a keyframe and new timestamps
            log.info("demo host of %s: idle", self.room)
            if self._watched() and not self.closed:  # a viewer came as it was stopping
                loop.call_soon(self._demand)

    def stop_media(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for source in self.sources.values():
            source.end()
