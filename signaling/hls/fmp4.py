"""Encoded H.264 and Opus frames in, fragmented MP4 (CMAF) out: an init segment, then one
media fragment (moof + mdat) per cut, without decoding or encoding anything.

PyAV's mp4 muxer does the boxes. It is told to start a fragment at each video frame flagged
key (movflags frag_keyframe), and only the frames the caller cuts at are flagged, so fragment
n is exactly the frames from cut n to cut n+1. The muxer writes through `_Sink`, which splits
its byte stream at box boundaries: ftyp + moov is the init segment, each moof + mdat a
fragment.
"""

from __future__ import annotations

import fractions
import re
import struct

import av

VIDEO_CLOCK = 90000
AUDIO_CLOCK = 48000
MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof+skip_trailer"
# How long (µs) the muxer waits for one track's frames to interleave with the other's: a
# publisher whose audio stops must not hold its video back by ffmpeg's default 10 s.
INTERLEAVE_DELTA = "300000"
# Opus in MP4 needs its identification header (RFC 7845 5.1): version 1, two channels as
# WebRTC negotiates, 312 samples of pre-skip, 48 kHz, no gain, mapping family 0.
OPUS_HEAD = b"OpusHead" + struct.pack("<BBHIhB", 1, 2, 312, AUDIO_CLOCK, 0, 0)
_START_CODE = re.compile(b"\x00\x00\x00\x01|\x00\x00\x01")


def nal_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B frame."""
    return [unit for unit in _START_CODE.split(data) if unit]


def parameter_sets(keyframe: bytes) -> bytes | None:
    """The SPS and PPS a keyframe carries, as Annex B (what the muxer turns into avcC)."""
    units = nal_units(keyframe)
    sps = [u for u in units if u[0] & 0x1F == 7]
    pps = [u for u in units if u[0] & 0x1F == 8]
    if not sps or not pps:
        return None
    return b"".join(b"\x00\x00\x00\x01" + u for u in (sps[0], *pps))


def picture_size(keyframe: bytes) -> tuple[int, int]:
    """Width and height of the picture: the one keyframe a session decodes, once, because the
    sample entry states them (reading them from the SPS by hand means cropping and every
    profile's syntax; ffmpeg's decoder already knows)."""
    decoder = av.CodecContext.create("h264", "r")
    frames = [*decoder.decode(av.Packet(keyframe)), *decoder.decode(None)]
    if not frames:
        raise ValueError("the keyframe decoded to no picture")
    return frames[0].width, frames[0].height


class _Sink:
    """What the muxer writes to: complete top-level boxes, in order."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.boxes: list[tuple[bytes, bytes]] = []  # (type, whole box)

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) >= 8:
            size = int.from_bytes(self._buffer[:4], "big")
            if size < 8:
                raise ValueError(f"the muxer wrote a box of size {size}")
            if len(self._buffer) < size:
                break
            self.boxes.append((bytes(self._buffer[4:8]), bytes(self._buffer[:size])))
            del self._buffer[:size]
        return len(data)

    def seekable(self) -> bool:
        return False


class Fragmenter:
    """One period of a stream: a fixed pair of codecs (a publisher), one init segment.

    `video(data, ts, cut)` and `audio(data, ts)` take frames with timestamps in 90 kHz and
    48 kHz that only move forward; the first video frame must be a keyframe and a cut.
    `take()` returns the fragments completed so far."""

    def __init__(self, keyframe: bytes, audio: bool) -> None:
        extradata = parameter_sets(keyframe)
        if extradata is None:
            raise ValueError("the keyframe carries no SPS/PPS")
        width, height = picture_size(keyframe)
        self._sink = _Sink()
        self._container = av.open(self._sink, "w", format="mp4",
                                  options={"movflags": MOVFLAGS,
                                           "max_interleave_delta": INTERLEAVE_DELTA})
        self._video = self._container.add_stream("h264")
        self._video.codec_context.extradata = extradata
        self._video.width, self._video.height = width, height
        self._video.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._audio = None
        if audio:
            self._audio = self._container.add_stream("opus", rate=AUDIO_CLOCK)
            self._audio.codec_context.extradata = OPUS_HEAD
            self._audio.time_base = fractions.Fraction(1, AUDIO_CLOCK)
        self._init: bytes | None = None
        self._fragment: list[bytes] = []
        self._done: list[bytes] = []
        self.width, self.height = width, height

    def video(self, data: bytes, ts: int, cut: bool) -> None:
        self._mux(self._video, data, ts, cut)

    def audio(self, data: bytes, ts: int) -> None:
        if self._audio is not None:
            self._mux(self._audio, data, ts, True)

    def _mux(self, stream, data: bytes, ts: int, key: bool) -> None:
        packet = av.Packet(data)
        packet.stream = stream
        packet.pts = packet.dts = ts
        packet.time_base = stream.time_base
        packet.is_keyframe = key
        self._container.mux(packet)

    @property
    def init(self) -> bytes | None:
        """ftyp + moov, once the muxer has written them (with its first fragment)."""
        self._split()
        return self._init

    def take(self) -> list[bytes]:
        """The fragments (moof + mdat) the muxer completed since the last call."""
        self._split()
        done, self._done = self._done, []
        return done

    def close(self) -> list[bytes]:
        """Flush the last fragment; the fragments not taken yet."""
        self._container.close()
        return self.take()

    def _split(self) -> None:
        boxes, self._sink.boxes = self._sink.boxes, []
        for kind, box in boxes:
            if kind in (b"ftyp", b"moov"):
                self._init = (self._init or b"") + box
            elif kind == b"moof":
                self._fragment = [box]
            elif kind == b"mdat" and self._fragment:
                self._done.append(b"".join(self._fragment) + box)
                self._fragment = []
