"""Real aiortc peers for the media tests: a publisher whose frames carry a known pattern, an
OBS-like WHIP client, and viewers that decode what they receive and check the pattern.

The pattern: a 320x240 picture whose top row of eight 40x40 blocks spells the frame number
(mod 256) in binary, bright for 1 and dark for 0, above a bright left and dark right half. A
viewer that reads a number with the halves right decoded a real picture of the stream; numbers
that count up show the frames arrive in order.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from functools import lru_cache

import aiohttp
import av
from aiortc import (
    RTCCertificate,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import (
    AudioStreamTrack,
    MediaStreamError,
    MediaStreamTrack,
    VideoStreamTrack,
)
from aiortc.rtcdtlstransport import generate_certificate
from cryptography.hazmat.primitives.asymmetric import rsa as rsa_keys

from signaling.demo_host import beep_packets

W, H, BLOCK = 320, 240, 40
FPS = 30
CLOCK = 90000


def pattern_frame(n: int) -> av.VideoFrame:
    frame = av.VideoFrame(W, H, "yuv420p")
    luma = bytearray([128]) * frame.planes[0].buffer_size
    line = frame.planes[0].line_size
    for row in range(H):
        base = row * line
        if row < BLOCK:
            for bit in range(8):
                value = 235 if (n >> bit) & 1 else 16
                luma[base + bit * BLOCK:base + (bit + 1) * BLOCK] = bytes([value]) * BLOCK
        elif row >= H // 2:
            luma[base:base + W // 2] = bytes([235]) * (W // 2)
            luma[base + W // 2:base + W] = bytes([16]) * (W // 2)
    frame.planes[0].update(bytes(luma))
    for plane in frame.planes[1:]:
        plane.update(bytes([128]) * plane.buffer_size)
    return frame


def read_pattern(frame: av.VideoFrame) -> int | None:
    """The frame number a decoded picture shows, or None if it is not the pattern."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    if (frame.width, frame.height) != (W, H):
        return None
    luma, line = bytes(frame.planes[0]), frame.planes[0].line_size
    if luma[(H * 3 // 4) * line + W // 4] < 180 or luma[(H * 3 // 4) * line + W * 3 // 4] > 70:
        return None
    n = 0
    for bit in range(8):
        if luma[(BLOCK // 2) * line + bit * BLOCK + BLOCK // 2] > 128:
            n |= 1 << bit
    return n


class PatternTrack(VideoStreamTrack):
    """Pattern frames at 30 fps, encoded by aiortc like any camera's."""

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = pattern_frame(self.n)
        self.n += 1
        frame.pts, frame.time_base = pts, time_base
        return frame


@lru_cache(maxsize=1)
def obs_packets() -> tuple[bytes, ...]:
    """256 pattern frames as OBS sends them: H.264 Main profile (though the SDP says
    42e01f), a keyframe every 32 frames, no B-frames; Annex B."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = W, H, "yuv420p"
    codec.time_base = fractions.Fraction(1, FPS)
    codec.framerate = fractions.Fraction(FPS, 1)
    codec.bit_rate = 500_000
    codec.profile = "Main"
    codec.options = {"preset": "ultrafast", "tune": "zerolatency", "g": "32",
                     "keyint_min": "32", "sc_threshold": "0", "bf": "0"}
    packets = []
    for n in range(256):
        frame = pattern_frame(n)
        frame.pts = n
        packets += [bytes(p) for p in codec.encode(frame)]
    packets += [bytes(p) for p in codec.encode(None)]
    assert len(packets) == 256
    return tuple(packets)


class PacketTrack(MediaStreamTrack):
    """Encoded packets in real time, looped: what aiortc sends without encoding, so keyframe
    requests change nothing (like OBS, which ignores them)."""

    def __init__(self, kind: str, packets: tuple[bytes, ...], clock: int, step: int,
                 interval: float) -> None:
        super().__init__()
        self.kind = kind
        self._packets, self._clock, self._step, self._interval = packets, clock, step, interval
        self._i = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._i * self._interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        packet = av.Packet(self._packets[self._i % len(self._packets)])
        packet.pts = self._i * self._step
        packet.time_base = fractions.Fraction(1, self._clock)
        self._i += 1
        return packet


def obs_video() -> PacketTrack:
    return PacketTrack("video", obs_packets(), CLOCK, CLOCK // FPS, 1 / FPS)


def obs_audio() -> PacketTrack:
    return PacketTrack("audio", beep_packets(), 48000, 960, 0.02)


def prefer(transceiver, mime: str, profile: str | None = None) -> None:
    codecs = [c for c in RTCRtpSender.getCapabilities(transceiver.kind).codecs
              if c.mimeType == mime and (profile is None
                                         or c.parameters.get("profile-level-id") == profile)]
    transceiver.setCodecPreferences(codecs)


def strip_candidates(sdp: str) -> str:
    return "".join(line + "\r\n" for line in sdp.splitlines()
                   if not line.startswith(("a=candidate:", "a=end-of-candidates")))


async def local_offer(pc: RTCPeerConnection) -> str:
    await pc.setLocalDescription(await pc.createOffer())
    return pc.localDescription.sdp


def rsa_signed(pc: RTCPeerConnection) -> RTCPeerConnection:
    """Make the peer's DTLS certificate an RSA one, as GStreamer's webrtcbin has (aiortc makes
    ECDSA ones). Call it before adding transceivers: their transports take the certificate."""
    key = rsa_keys.generate_private_key(public_exponent=65537, key_size=2048)
    pc._RTCPeerConnection__certificates = [  # type: ignore[attr-defined]
        RTCCertificate(key=key, cert=generate_certificate(key))]  # type: ignore[arg-type]
    return pc


def publisher_pc(*, video: str | None = "VP8", audio: bool = True, obs: bool = False,
                 rsa: bool = False) -> RTCPeerConnection:
    """A publishing peer connection: pattern video (VP8, or H.264 baseline), silent audio; or,
    with obs, pre-encoded H.264 Main and Opus the way OBS Studio's WHIP output sends them; with
    rsa, a DTLS certificate with an RSA key."""
    pc = rsa_signed(RTCPeerConnection()) if rsa else RTCPeerConnection()
    if video:
        track = obs_video() if obs else PatternTrack()
        transceiver = pc.addTransceiver(track, direction="sendonly")
        if obs or video == "H264":
            prefer(transceiver, "video/H264", "42e01f")
        else:
            prefer(transceiver, "video/VP8")
    if audio:
        transceiver = pc.addTransceiver(obs_audio() if obs else AudioStreamTrack(),
                                        direction="sendonly")
        prefer(transceiver, "audio/opus")
    return pc


def viewer_pc(*, video: bool = True, audio: bool = True, rsa: bool = False
              ) -> RTCPeerConnection:
    pc = rsa_signed(RTCPeerConnection()) if rsa else RTCPeerConnection()
    if video:
        pc.addTransceiver("video", direction="recvonly")
    if audio:
        pc.addTransceiver("audio", direction="recvonly")
    return pc


class Watcher:
    """Decodes a received video track and reads the pattern of every frame."""

    def __init__(self, pc: RTCPeerConnection) -> None:
        self.pc = pc
        self.numbers: list[int | None] = []
        self.started = time.monotonic()
        self.first_frame_after: float | None = None
        self._task: asyncio.Task | None = None
        receiver = next(t.receiver for t in pc.getTransceivers() if t.kind == "video")
        self._task = asyncio.ensure_future(self._read(receiver.track))

    async def _read(self, track) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if self.first_frame_after is None:
                self.first_frame_after = time.monotonic() - self.started
            self.numbers.append(read_pattern(frame))

    def valid(self) -> list[int]:
        return [n for n in self.numbers if n is not None]

    def counts_up(self, last: int = 30) -> bool:
        """The last `last` pattern frames count up by small steps (mod 256)."""
        numbers = self.valid()[-last:]
        return len(numbers) == last and all(
            0 < (b - a) % 256 <= 8 for a, b in zip(numbers, numbers[1:]))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


async def post_sdp(http: aiohttp.ClientSession, url: str, sdp: str, token: str | None = None,
                   headers: dict[str, str] | None = None, **kwargs) -> aiohttp.ClientResponse:
    headers = {"Content-Type": "application/sdp", **(headers or {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await http.post(url, data=sdp, headers=headers, **kwargs)


async def answer(pc: RTCPeerConnection, response: aiohttp.ClientResponse) -> None:
    assert response.status == 201, await response.text()
    assert response.content_type == "application/sdp"
    sdp = await response.text()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))


async def connected(pc: RTCPeerConnection, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while pc.connectionState != "connected":
        if time.monotonic() > deadline or pc.connectionState in ("failed", "closed"):
            raise AssertionError(f"peer connection is {pc.connectionState}")
        await asyncio.sleep(0.05)


def declare_h264(sdp: str, profile_level_id: str) -> str:
    """The offer with one video format: aiortc's H.264 constrained baseline one (and its
    retransmissions), declared as `profile_level_id`: how a camera or a player of another
    profile offers, for a peer whose encoder and decoder do not mind (aiortc's)."""
    lines = sdp.splitlines()
    pt = next(line.split(":")[1].split(" ")[0] for line in lines
              if line.startswith("a=fmtp:") and "profile-level-id=42e01f" in line)
    keep = {pt} | {line.split(":")[1].split(" ")[0] for line in lines
                   if line.startswith("a=fmtp:") and f"apt={pt}" in line}
    out, kind = [], None
    for line in lines:
        if line.startswith("m="):
            kind = line[2:].split(" ")[0]
            if kind == "video":
                fields = line.split(" ")
                line = " ".join(fields[:3] + [f for f in fields[3:] if f in keep])
        elif kind == "video" and line.startswith(("a=rtpmap:", "a=fmtp:", "a=rtcp-fb:")):
            if line.split(":")[1].split(" ")[0] not in keep:
                continue
            line = line.replace("profile-level-id=42e01f", f"profile-level-id={profile_level_id}")
        out.append(line)
    return "\r\n".join(out) + "\r\n"


def h264_profiles(sdp: str) -> list[str]:
    """The profile-level-ids an SDP's H.264 formats state."""
    return [line.split("profile-level-id=")[1].split(";")[0] for line in sdp.splitlines()
            if line.startswith("a=fmtp:") and "profile-level-id=" in line]


async def answer_as_baseline(pc: RTCPeerConnection, response: aiohttp.ClientResponse) -> None:
    """Apply an answer whatever H.264 profile it states: aiortc negotiates constrained baseline
    only, and its encoder and decoder do not mind."""
    assert response.status == 201, await response.text()
    sdp = await response.text()
    for profile in h264_profiles(sdp):
        sdp = sdp.replace(f"profile-level-id={profile}", "profile-level-id=42e01f")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
