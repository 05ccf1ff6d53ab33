"""Relay legs under faults: a crashed instance with viewers, a crashed origin and its publisher
coming back through another instance, and a leg that stops reading. Real `liveroom serve`
processes on a real Redis, real aiortc peers that decode the pattern."""

from __future__ import annotations

import asyncio
import base64
import fractions
import json
import os
import signal
import socket
import time
from functools import lru_cache

import aiohttp
import av
import pytest
from aiortc import RTCPeerConnection

from liveroom.client import RoomClient
from signaling import leg_auth

from ..helpers import SECRET, create_room, eventually, token
from ..signaling.clients import (
    CLOCK,
    FPS,
    PacketTrack,
    answer,
    local_offer,
    post_sdp,
    prefer,
    viewer_pc,
)
from .cascade import (
    LOOPBACK,
    ROOM,
    live,
    live_origin,
    metrics,
    open_leg,
    play,
    publish,
    sample,
)

pytestmark = [pytest.mark.multi, pytest.mark.usefixtures("loopback_peers")]

TTL = 3.0  # LIVEROOM_PRESENCE_TTL of the test servers (tests/helpers.py)
HEARTBEAT = 1.0


def new_frames(watcher, since: int, count: int = 10) -> bool:
    """`count` decoded pattern frames, counting up, arrived after the first `since`."""
    numbers = [n for n in watcher.numbers[since:] if n is not None][-count:]
    return len(numbers) == count and all(0 < (b - a) % 256 <= 8
                                         for a, b in zip(numbers, numbers[1:]))


async def legs_out(url: str) -> float:
    return sample(await metrics(url), "liveroom_media_legs", room=ROOM, direction="out")


async def test_viewers_of_a_killed_instance_play_again_on_another_within_3_s(
        shared_redis, start_servers, peers):
    a, b, c = start_servers(shared_redis, n=3, extra_env=LOOPBACK)
    await create_room(a.url)
    await publish(a.url, peers)
    await eventually(lambda: live(c.url), timeout=10, what="live on C")
    on_b, _ = await play(b.url, peers)
    on_c, _ = await play(c.url, peers)
    await eventually(lambda: on_b.counts_up(10), timeout=15, what="frames on B")
    await eventually(lambda: on_c.counts_up(10), timeout=15, what="frames on C")
    assert await legs_out(a.url) == 2

    b.kill()
    # The player of B comes back through C (its page's load balancer sends it there).
    started = time.monotonic()
    again, _ = await play(c.url, peers)
    await eventually(lambda: again.counts_up(10), timeout=10, what="frames after moving")
    assert again.first_frame_after is not None and again.first_frame_after < 3.0
    assert time.monotonic() - started < 5.0
    # C's own player never noticed; the origin let go of B's leg.
    seen = len(on_c.numbers)
    await eventually(lambda: new_frames(on_c, seen), timeout=5, what="C's player going on")
    await eventually(lambda: _is(legs_out(a.url), 1), timeout=15, what="B's leg gone at A")
    for watcher in (on_b, on_c, again):
        watcher.stop()


async def _whep_status(url: str) -> int:
    pc = viewer_pc()
    try:
        async with aiohttp.ClientSession() as http:
            response = await post_sdp(http, f"{url}/whep/rooms/{ROOM}", await local_offer(pc))
            return response.status
    finally:
        await pc.close()


async def _is(value, expected) -> bool:
    return await value == expected


async def test_a_killed_origin_goes_offline_and_viewers_resume_through_the_new_one(
        shared_redis, start_servers, peers):
    a, b, c = start_servers(shared_redis, n=3, extra_env=LOOPBACK)
    await create_room(a.url)
    await publish(a.url, peers)
    await eventually(lambda: live(c.url), timeout=10, what="live on C")
    on_b, _ = await play(b.url, peers)
    on_c, _ = await play(c.url, peers)
    await eventually(lambda: on_b.counts_up(10), timeout=15, what="frames on B")
    await eventually(lambda: on_c.counts_up(10), timeout=15, what="frames on C")

    async with RoomClient(b.url, ROOM) as room_b, RoomClient(c.url, ROOM) as room_c:
        killed = time.monotonic()
        a.kill()
        # Until its claims lapse the room is live but out of reach: a new player is told to
        # retry (503 unavailable), not that nobody is live.
        await eventually(lambda: _is(_whep_status(c.url), 503), timeout=2,
                         what="a retry-later answer while the origin's claim holds")
        # The room goes offline everywhere within the presence TTL (and a sweep).
        for room in (room_b, room_c):
            offline = await room.next_event("media.offline", timeout=15)
            assert offline["reason"] == "expired"
        assert time.monotonic() - killed < TTL + 2 * HEARTBEAT
        assert not await live(b.url) and not await live(c.url)
        assert await _whep_status(c.url) == 409  # not_live now

        # The host comes back through B: B is the origin now, and the players of B and C,
        # connected all along, play again within 3 s of its first frame (media.live is
        # announced when it arrives), without a new offer.
        await publish(b.url, peers)
        await room_c.next_event("media.live", timeout=15)
        first_frame = time.monotonic()
        seen_b, seen_c = len(on_b.numbers), len(on_c.numbers)
        await eventually(lambda: new_frames(on_c, seen_c), timeout=10, what="C resuming")
        await eventually(lambda: new_frames(on_b, seen_b), timeout=10, what="B resuming")
        # Ten frames at 30 fps take a third of a second of the three.
        assert time.monotonic() - first_frame < 3.0
    assert await legs_out(b.url) == 1  # C's leg, now from B
    for watcher in (on_b, on_c):
        watcher.stop()


async def test_a_leg_that_stops_reading_is_cut_and_its_instance_recovers(
        shared_redis, start_servers, peers):
    a, b = start_servers(shared_redis, n=2,
                         extra_env={**LOOPBACK, "LIVEROOM_LEG_STALL_TIMEOUT": "2"})
    await create_room(a.url)
    await publish(a.url, peers)
    await eventually(lambda: live(b.url), timeout=10, what="live on B")
    on_a, _ = await play(a.url, peers)
    on_b, _ = await play(b.url, peers)
    await eventually(lambda: on_b.counts_up(10), timeout=15, what="frames on B")

    # B stops (as a stuck process would): it reads nothing and acknowledges nothing.
    b.proc.send_signal(signal.SIGSTOP)
    try:
        async def cut() -> bool:
            return sample(await metrics(a.url), "liveroom_media_legs_cut_total") >= 1
        await eventually(cut, timeout=10, what="A to cut B's leg")
        # Nobody else waited for it.
        seen = len(on_a.numbers)
        await eventually(lambda: new_frames(on_a, seen), timeout=5, what="A's player going on")
    finally:
        b.proc.send_signal(signal.SIGCONT)
    # B opens a new leg by itself and its player, connected all along, plays again.
    await eventually(lambda: _is(legs_out(a.url), 1), timeout=15, what="B's new leg")
    seen = len(on_b.numbers)
    await eventually(lambda: new_frames(on_b, seen), timeout=15, what="B's player resuming")
    for watcher in (on_a, on_b):
        watcher.stop()


async def test_a_leg_client_that_never_reads_is_cut_without_holding_memory(
        shared_redis, start_servers, peers):
    a = await live_origin(start_servers, shared_redis, peers,
                          extra_env={"LIVEROOM_LEG_STALL_TIMEOUT": "2"},
                          obs=True)  # ~500 kbit/s of H.264, like OBS
    async with aiohttp.ClientSession() as http:
        ws = await open_leg(http, a.url)
        await asyncio.sleep(0)  # sends no acknowledgement, ever
        opened = time.monotonic()

        async def cut() -> bool:
            return sample(await metrics(a.url), "liveroom_media_legs_cut_total") >= 1
        await eventually(cut, timeout=10, what="the silent leg to be cut")
        assert time.monotonic() - opened < 2 + 3
        # What it was sent is what the origin read from its bounded queues: the socket was
        # closed, not left to fill.
        while True:
            message = await ws.receive(timeout=5)
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.ERROR):
                break
        await ws.close()
    assert await legs_out(a.url) == 0


async def test_an_origin_that_drains_lets_go_of_its_legs_at_once(shared_redis, start_servers,
                                                                 peers):
    a, b = start_servers(shared_redis, n=2, extra_env=LOOPBACK)
    await create_room(a.url)
    await publish(a.url, peers)
    await eventually(lambda: live(b.url), timeout=10, what="live on B")
    on_b, _ = await play(b.url, peers)
    await eventually(lambda: on_b.counts_up(10), timeout=15, what="frames on B")
    assert await legs_out(a.url) == 1
    async with RoomClient(b.url, ROOM) as room:
        started = time.monotonic()
        a.stop()  # SIGTERM: a drain, which open legs must not hold up
        assert time.monotonic() - started < 3.0
        offline = await room.next_event("media.offline", timeout=10)
        assert offline["reason"] == "shutdown"
    on_b.stop()


class SlowLeg:
    """A leg's client end on a socket with a tiny receive buffer that reads nothing after the
    handshake and the tracks (so the origin's writes soon block), yet acknowledges: a link
    too slow for the stream, not a dead one. A raw WebSocket, so nothing reads behind it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.acked = 0

    async def open(self, room: str) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.port))
        self.reader, self.writer = await asyncio.open_connection(sock=sock, limit=4096)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write((
            f"GET /internal/media/legs/{room} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {key}\r\n"
            f"Authorization: {leg_auth.header(SECRET, room, 'b0b0')}\r\n\r\n").encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head

    async def ack(self) -> None:
        self.acked += 100
        payload = json.dumps({"type": "ack", "frames": self.acked}).encode()
        mask = os.urandom(4)
        self.writer.write(bytes([0x81, 0x80 | len(payload)]) + mask
                          + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        await self.writer.drain()

    def close(self) -> None:
        self.writer.transport.abort()


@lru_cache(maxsize=1)
def noise_packets() -> tuple[bytes, ...]:
    """A second of H.264 noise at 30 fps, about 1.4 MB: a stream no buffer hides for long."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = 320, 240, "yuv420p"
    codec.time_base = fractions.Fraction(1, 30)
    codec.framerate = fractions.Fraction(30, 1)
    codec.bit_rate = 8_000_000
    codec.options = {"preset": "ultrafast", "tune": "zerolatency", "g": "30",
                     "keyint_min": "30", "sc_threshold": "0", "bf": "0"}
    packets = []
    for n in range(30):
        frame = av.VideoFrame(320, 240, "yuv420p")
        for plane in frame.planes:
            plane.update(os.urandom(plane.buffer_size))
        frame.pts = n
        packets += [bytes(p) for p in codec.encode(frame)]
    return tuple(packets + [bytes(p) for p in codec.encode(None)])


async def test_a_leg_that_falls_behind_skips_to_keyframes_and_holds_no_more(
        shared_redis, start_servers, peers):
    """A leg that keeps acknowledging but cannot take the stream (a slow link): the origin
    neither cuts it nor buffers for it without bound: it loses what waits and skips to the
    next keyframe, as a slow viewer does."""
    (a,) = start_servers(shared_redis, n=1, extra_env=LOOPBACK)
    await create_room(a.url)
    pc = RTCPeerConnection()
    peers(pc)
    prefer(pc.addTransceiver(PacketTrack("video", noise_packets(), CLOCK, CLOCK // FPS,
                                         1 / FPS), direction="sendonly"),
           "video/H264", "42e01f")
    async with aiohttp.ClientSession() as http:
        await answer(pc, await post_sdp(http, f"{a.url}/whip/rooms/{ROOM}",
                                        await local_offer(pc), token(ROOM, "host")))
    await eventually(lambda: live(a.url), timeout=10, what="live")
    leg = SlowLeg(a.port)
    await leg.open(ROOM)
    try:
        async def skipping() -> bool:
            await leg.ack()  # "still here"
            samples = await metrics(a.url)
            return sample(samples, "liveroom_media_frames_skipped_total", room=ROOM,
                          path="leg") > 0

        await eventually(skipping, timeout=30, interval=0.5, what="the leg to skip")
        samples = await metrics(a.url)
        assert sample(samples, "liveroom_media_legs_cut_total") == 0
        assert sample(samples, "liveroom_media_legs", room=ROOM, direction="out") == 1
        # What it was sent stays far below what was published: the rest was skipped.
        sent = sample(samples, "liveroom_media_frames_forwarded_total", room=ROOM, path="leg")
        skipped = sample(samples, "liveroom_media_frames_skipped_total", room=ROOM, path="leg")
        assert skipped > 0 and sent < 200
    finally:
        leg.close()
