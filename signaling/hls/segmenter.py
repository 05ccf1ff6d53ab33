"""The segmenter: a room's live stream, remuxed into ~1 s fMP4 segments as it arrives.

A `Recorder` reads the room's host publisher's Sources the way a viewer does (a `Tap` is
attached like a ForwardTrack, so the publisher and its viewers do not notice it) and hands
every encoded frame to a `Fragmenter` (fmp4.py): nothing is decoded or encoded. Segments start
at keyframes: once a segment is about a target duration long the recorder asks the publisher
for a keyframe (the same throttled request a new viewer makes) and cuts at the next one.
Publishers that ignore keyframe requests (OBS) get segments as long as their keyframe interval.

Timestamps: each track's frames keep their own spacing (their RTP clock), and each track is
placed on the session's clock by when its first frame arrived, so audio and video line up
within the network's jitter. A track whose timestamps jump back or far ahead (a publisher
whose encoder restarted) is placed again by its arrival.

Every segment is written to the Recordings store as it completes; the live playlist is the
last few of them.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import av

from ..relay import Codec, ForwardTrack, Frame, Source
from .fmp4 import AUDIO_CLOCK, VIDEO_CLOCK, Fragmenter, parameter_sets
from .store import Recordings, Segment

log = logging.getLogger(__name__)

TARGET = 1.0  # seconds a segment aims at
ASK_AHEAD = 0.15  # ask for the keyframe this long before the target, for its round trip
LIVE_WINDOW = 6  # segments in the live playlist
REANCHOR = 2.0  # seconds a track may drift from its arrival before it is placed again


def hls_compatible(codecs: dict[str, Codec]) -> bool:
    """H.264 video (and Opus, or no audio): what an fMP4 HLS player plays. VP8 is not."""
    video = codecs.get("video")
    audio = codecs.get("audio")
    return (video is not None and video.mime.lower() == "video/h264"
            and (audio is None or audio.mime.lower() == "audio/opus"))


def new_session_id(now: float | None = None) -> str:
    """Sortable by start: 20261130T231500Z-1a2b3c."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{secrets.token_hex(3)}"


class Tap(ForwardTrack):
    """Reads a Source like a viewer's track, but hands each frame on at once (no queue)."""

    def __init__(self, codec: Codec, on_frame: Callable[[Tap, Frame], None]) -> None:
        super().__init__(codec)
        self._on_frame = on_frame

    def start_with(self, gop: list[Frame]) -> None:
        # The cached group's frames arrived before we did: their times are unknown, so start
        # at the next keyframe, and ask for one now.
        if self.source is not None:
            self.source.request_keyframe()

    def skip_to_keyframe(self) -> None:
        pass  # the recorder waits for a keyframe itself

    def put(self, frame: Frame) -> None:
        self._on_frame(self, frame)


class _Clock:
    """One track's frames on the session's clock (see the module's docstring)."""

    def __init__(self, clock_rate: int, out_rate: int, started: float) -> None:
        self.rate, self.out, self.started = clock_rate, out_rate, started
        self.anchor: tuple[int, float] | None = None  # (source ts, session seconds)
        self.last = -1

    def place(self, ts: int) -> int:
        now = time.monotonic() - self.started
        if self.anchor is not None:
            at = self.anchor[1] + (ts - self.anchor[0]) / self.rate
            if ts < self.anchor[0] or abs(at - now) > REANCHOR:
                self.anchor = None
        if self.anchor is None:
            self.anchor = (ts, max(now, (self.last + 1) / self.out))
            at = self.anchor[1]
        out = max(int(round(at * self.out)), self.last + 1)
        self.last = out
        return out


class Recorder:
    """One publisher's session of a room, segmented and kept."""

    def __init__(self, room: str, store: Recordings, sources: dict[str, Source],
                 meta: dict[str, Any], *, keep: bool = True, target: float = TARGET,
                 session: str | None = None) -> None:
        self.room = room
        self.session = session or new_session_id()
        self.store = store
        self.keep = keep  # False: deleted when it ends (the demo host's)
        self.target = target
        self.sources = dict(sources)
        self.started = time.monotonic()
        self.started_at = time.time()
        self._video_clock = _Clock(sources["video"].codec.clock_rate, VIDEO_CLOCK,
                                   self.started)
        self._audio_clock = _Clock(sources["audio"].codec.clock_rate if "audio" in sources
                                   else AUDIO_CLOCK, AUDIO_CLOCK, self.started)
        self._taps = {kind: Tap(source.codec, self._frame) for kind, source in sources.items()}
        self._fragmenter: Fragmenter | None = None
        self._parameters: bytes | None = None
        self.period = -1
        self._init_written = -1
        self._first_cut: float | None = None  # session seconds of the recording's first frame
        self.seq = 0
        self._cuts: deque[tuple[int, int]] = deque()  # (video ts, period) of fragments to come
        self._last_video = (0, 0)  # (ts, step) of the last video frame
        self.live: deque[Segment] = deque(maxlen=LIVE_WINDOW)
        self.duration = 0.0
        self.bytes = 0
        self.closed = False
        store.start(room, self.session, {**meta, "room": room, "session": self.session,
                                         "started_at": self.started_at, "kept": keep})
        for kind, source in sources.items():
            source.attach(self._taps[kind])

    @property
    def attached(self) -> bool:
        """Still reading its publisher's sources (a publisher that ends detaches its tracks)."""
        return all(tap.source is self.sources[kind] for kind, tap in self._taps.items())

    def media_time(self) -> float:
        """Seconds into the recording now: where an event happening now is on its timeline.
        A player's time 0 is the first segment's start (the first keyframe), not the moment
        the recorder attached."""
        return max(0.0, time.monotonic() - self.started - (self._first_cut or 0.0))

    # --- frames in ----------------------------------------------------------------------------
    def _frame(self, tap: Tap, frame: Frame) -> None:
        if self.closed:
            return
        try:
            if tap.kind == "video":
                self._video(frame)
            elif self._fragmenter is not None:
                self._fragmenter.audio(frame.data, self._audio_clock.place(frame.ts))
            self._collect()
        except (ValueError, av.FFmpegError) as exc:
            # A frame the muxer will not take (garbage from a publisher): start a new period
            # at the next keyframe rather than stop recording.
            log.warning("room %s: segmenter: %s; starting again at the next keyframe",
                        self.room, exc)
            self._end_period()

    def _video(self, frame: Frame) -> None:
        ts = self._video_clock.place(frame.ts)
        if frame.key:
            parameters = parameter_sets(frame.data)
            if parameters is not None and parameters != self._parameters:
                self._end_period()  # the picture changed (size, profile): a new init segment
                self._parameters = parameters
                self._fragmenter = Fragmenter(frame.data, "audio" in self.sources)
                self.period += 1
        if self._fragmenter is None:
            self.sources["video"].request_keyframe()
            return
        since = (ts - self._cuts[-1][0]) / VIDEO_CLOCK if self._cuts else None
        cut = frame.key and (since is None or since >= self.target / 2)
        if not cut and since is not None and since >= self.target - ASK_AHEAD:
            self.sources["video"].request_keyframe()
        if cut:
            self._cuts.append((ts, self.period))
            if self._first_cut is None:
                self._first_cut = ts / VIDEO_CLOCK
        self._fragmenter.video(frame.data, ts, cut)
        self._last_video = (ts, ts - self._last_video[0] if self._last_video[0] else 3000)

    def _collect(self, closing: bool = False) -> None:
        fragmenter = self._fragmenter
        if fragmenter is None:
            return
        fragments = fragmenter.close() if closing else fragmenter.take()
        if fragments and self._init_written != self.period:
            init = fragmenter.init
            if init is None:
                raise ValueError("the muxer wrote a fragment before its init segment")
            self.store.put_init(self.room, self.session, self.period, init)
            self._init_written = self.period
        for data in fragments:
            start, period = self._cuts.popleft()
            if self._cuts:
                end = self._cuts[0][0]
            else:  # the period's last fragment: up to the end of its last frame
                end = self._last_video[0] + self._last_video[1]
            segment = Segment(self.seq, max(end - start, 1) / VIDEO_CLOCK, period)
            self.store.put_segment(self.room, self.session, segment, data)
            self.seq += 1
            self.duration += segment.duration
            self.bytes += len(data)
            if not self.keep and len(self.live) == self.live.maxlen:
                # Not recorded: what rolls off the live window (and a little slack for
                # players still fetching it) is deleted.
                self.store.drop_segment(self.room, self.session, self.live[0].seq - LIVE_WINDOW)
            self.live.append(segment)

    def _end_period(self) -> None:
        if self._fragmenter is not None:
            try:
                self._collect(closing=True)
            except (ValueError, av.FFmpegError) as exc:
                log.warning("room %s: segmenter: the period's last segment is lost: %s",
                            self.room, exc)
            self._fragmenter = None
        self._cuts.clear()
        self._parameters = None
        self._last_video = (0, 0)

    # --- the end ------------------------------------------------------------------------------
    def close(self) -> None:
        if self.closed:
            return
        self._end_period()
        self.closed = True
        for tap in self._taps.values():
            tap.stop()
        if self.keep:
            self.store.finish(self.room, self.session)
        else:
            self.store.delete(self.room, self.session)
