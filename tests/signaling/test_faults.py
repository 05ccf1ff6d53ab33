"""Bad input and faults: every refusal has a precise code, and peers that vanish or never
connect are cleaned up."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from liveroom.client import RoomClient

from ..helpers import eventually, token
from .clients import (
    Watcher,
    answer,
    connected,
    local_offer,
    post_sdp,
    publisher_pc,
    viewer_pc,
)

ROOM = "thailand"
ROOT = Path(__file__).resolve().parents[2]

FINGERPRINT = "a=fingerprint:sha-256 " + ":".join(["AB"] * 32)
VP9_ONLY = f"""v=0\r
o=- 1 1 IN IP4 0.0.0.0\r
s=-\r
t=0 0\r
a=group:BUNDLE 0\r
m=video 9 UDP/TLS/RTP/SAVPF 98\r
c=IN IP4 0.0.0.0\r
a=mid:0\r
a=sendonly\r
a=rtcp-mux\r
a=ice-ufrag:abcd\r
a=ice-pwd:abcdefghijklmnopqrstuvwx\r
{FINGERPRINT}\r
a=setup:actpass\r
a=rtpmap:98 VP9/90000\r
a=rtpmap:99 AV1/90000\r
"""
DATA_ONLY = f"""v=0\r
o=- 1 1 IN IP4 0.0.0.0\r
s=-\r
t=0 0\r
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r
c=IN IP4 0.0.0.0\r
a=mid:0\r
a=ice-ufrag:abcd\r
a=ice-pwd:abcdefghijklmnopqrstuvwx\r
{FINGERPRINT}\r
a=setup:actpass\r
a=sctp-port:5000\r
"""


def whip(srv) -> str:
    return f"{srv.base_url}/whip/rooms/{ROOM}"


def whep(srv) -> str:
    return f"{srv.base_url}/whep/rooms/{ROOM}"


async def _error(response) -> tuple[int, str]:
    body = await response.json()
    return response.status, body["error"]["code"]


@pytest.mark.parametrize("body, status, code", [
    ("hello", 400, "invalid_sdp"),
    ("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96\r\n", 400, "invalid_sdp"),
    ("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n", 400, "invalid_sdp"),
    (DATA_ONLY, 400, "no_media"),
    (VP9_ONLY, 422, "unsupported_codec"),
])
async def test_bad_offers_are_refused_precisely(media_server, http, body, status, code):
    srv = await media_server()
    response = await post_sdp(http, whip(srv), body, token(ROOM, "host"))
    assert await _error(response) == (status, code)
    assert srv.registry.sessions == {}
    assert await srv.app_engine.media.claims(ROOM) == []


async def test_who_may_publish_and_how(media_server, http, peers):
    srv = await media_server()
    offer = await local_offer(peers(publisher_pc()))
    assert await _error(await post_sdp(http, whip(srv), offer)) == (401, "unauthorized")
    assert await _error(await post_sdp(http, whip(srv), offer, token(ROOM, "viewer"))) == (
        403, "forbidden")
    assert await _error(await post_sdp(http, whip(srv), offer, token("chile", "host"))) == (
        403, "wrong_room")
    wrong_type = await http.post(whip(srv), data=offer, headers={
        "Content-Type": "text/plain", "Authorization": f"Bearer {token(ROOM, 'host')}"})
    assert await _error(wrong_type) == (415, "unsupported_media_type")
    nowhere = await post_sdp(http, f"{srv.base_url}/whip/rooms/atlantis", offer,
                             token("atlantis", "host"))
    assert await _error(nowhere) == (404, "room_not_found")


async def test_a_second_publisher_is_refused_and_the_first_keeps_the_room(media_server, http,
                                                                         peers):
    srv = await media_server()
    first = peers(publisher_pc())
    await answer(first, await post_sdp(http, whip(srv), await local_offer(first),
                                       token(ROOM, "host", user="siam")))
    second = peers(publisher_pc())
    refused = await post_sdp(http, whip(srv), await local_offer(second),
                             token(ROOM, "host", user="other-exporter"))
    status, code = await _error(refused)
    assert (status, code) == (409, "publisher_exists")
    assert len(srv.registry.publishers) == 1


async def test_only_the_owner_may_end_or_patch_a_session(media_server, http, peers):
    srv = await media_server()
    pc = peers(publisher_pc())
    response = await post_sdp(http, whip(srv), await local_offer(pc),
                              token(ROOM, "host", user="siam"))
    await answer(pc, response)
    url = srv.base_url + response.headers["Location"]
    async with http.delete(url) as r:
        assert await _error(r) == (401, "unauthorized")
    someone = {"Authorization": f"Bearer {token(ROOM, 'host', user='someone-else')}"}
    async with http.delete(url, headers=someone) as r:
        assert await _error(r) == (403, "forbidden")
    async with http.patch(url, data="a=end-of-candidates\r\n", headers={
            **someone, "Content-Type": "application/trickle-ice-sdpfrag"}) as r:
        assert await _error(r) == (403, "forbidden")
    async with http.delete(url + "x", headers=someone) as r:
        assert await _error(r) == (404, "session_not_found")
    operator = {"Authorization": f"Bearer {token('*', 'admin', user='operator')}"}
    async with http.delete(url, headers=operator) as r:
        assert r.status == 200
    assert srv.registry.sessions == {}


async def test_players_get_not_live_and_codec_refusals(media_server, http, peers):
    srv = await media_server()
    viewer = peers(viewer_pc())
    offer = await local_offer(viewer)
    assert await _error(await post_sdp(http, whep(srv), offer)) == (409, "not_live")
    assert await _error(await post_sdp(http, whep(srv) + "?slot=side", offer)) == (
        400, "bad_request")
    host = peers(publisher_pc(video="H264"))
    await answer(host, await post_sdp(http, whip(srv), await local_offer(host),
                                      token(ROOM, "host")))
    response = await post_sdp(http, whep(srv), _only_codec(offer, "VP8"))
    assert await _error(response) == (422, "unsupported_codec")


def _only_codec(sdp: str, name: str) -> str:
    """The offer with its video section offering one codec (and no RTX)."""
    keep = {line.split(":")[1].split(" ")[0] for line in sdp.splitlines()
            if line.startswith("a=rtpmap:") and f" {name}/" in line}
    out, kind = [], None
    for line in sdp.splitlines():
        if line.startswith("m="):
            kind = line[2:].split(" ")[0]
            if kind == "video":
                parts = line.split(" ")
                line = " ".join(parts[:3] + [p for p in parts[3:] if p in keep])
        elif kind == "video" and line.startswith(("a=rtpmap:", "a=fmtp:", "a=rtcp-fb:")):
            if line.split(":")[1].split(" ")[0] not in keep:
                continue
        out.append(line)
    return "\r\n".join(out) + "\r\n"


async def test_a_viewer_that_never_completes_ice_is_cleaned_up(media_server, http, peers):
    srv = await media_server(ice_timeout=1.5)
    host = peers(publisher_pc())
    await answer(host, await post_sdp(http, whip(srv), await local_offer(host),
                                      token(ROOM, "host")))
    await eventually(lambda: _live(srv), what="the room to go live")
    ghost = peers(viewer_pc())
    response = await post_sdp(http, whep(srv), await local_offer(ghost))
    assert response.status == 201
    await ghost.close()  # it never applies the answer: no ICE ever reaches the server
    assert len(srv.registry.sessions) == 2
    await eventually(lambda: len(srv.registry.sessions) == 1, timeout=5,
                     what="the viewer's session to be closed")
    assert srv.registry.viewers == {}


async def _live(srv) -> bool:
    return (await srv.app_engine.media.state(ROOM))["live"]


async def test_a_publisher_that_never_connects_leaves_no_claim(media_server, http, peers):
    srv = await media_server(ice_timeout=1.5)
    host = peers(publisher_pc())
    response = await post_sdp(http, whip(srv), await local_offer(host), token(ROOM, "host"))
    assert response.status == 201
    await host.close()
    await eventually(lambda: not srv.registry.sessions, timeout=5, what="no sessions")
    assert await srv.app_engine.media.claims(ROOM) == []


async def test_a_publisher_that_vanishes_goes_offline_within_ten_seconds(media_server):
    """SIGKILL: no DELETE, no DTLS close, nothing; the server notices its media stop."""
    srv = await media_server()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.signaling.publisher_process", f"{srv.base_url}/whip/rooms/"
         f"{ROOM}", token(ROOM, "host")], cwd=ROOT, env=env, stdout=subprocess.PIPE)
    try:
        async with RoomClient(srv.base_url, ROOM) as room:
            line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
            assert line.strip() == b"connected"
            await room.next_event("media.live", timeout=10)
            proc.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            offline = await room.next_event("media.offline", timeout=15)
            assert time.monotonic() - killed < 10
            assert offline["reason"] == "failed"
    finally:
        proc.kill()
        proc.wait()
    assert srv.registry.sessions == {}


async def test_a_publisher_is_not_dropped_because_the_servers_loop_was_late(media_server, http,
                                                                            peers):
    """Under CPU starvation the server reads nothing for a while; the publisher's media was
    there all along, unread. Its silence must not count until the server has caught up."""
    srv = await media_server(media_timeout=2)
    host = peers(publisher_pc())
    await answer(host, await post_sdp(http, whip(srv), await local_offer(host),
                                      token(ROOM, "host")))
    viewer = peers(viewer_pc())
    await answer(viewer, await post_sdp(http, whep(srv), await local_offer(viewer)))
    watcher = Watcher(viewer)
    await eventually(lambda: watcher.counts_up(10), timeout=15, what="frames")
    publisher = next(iter(srv.registry.publishers.values()))

    # The whole process (the server's loop) is held up longer than the media timeout.
    await asyncio.get_running_loop().run_in_executor(None, lambda: None)  # a loop turn
    time.sleep(3)  # a fault injected on purpose: the loop is starved, not waiting for anything
    seen = len(watcher.valid())
    await eventually(lambda: len(watcher.valid()) > seen + 30, timeout=15,
                     what="frames again after the stall")
    assert srv.registry.publishers.get((ROOM, "host")) is publisher and not publisher.closed
    watcher.stop()


async def test_a_publisher_the_server_drops_is_told_and_its_resource_is_gone(media_server, http,
                                                                            peers):
    srv = await media_server(media_timeout=1.5)
    host = peers(publisher_pc(audio=False))
    response = await post_sdp(http, whip(srv), await local_offer(host), token(ROOM, "host"))
    await answer(host, response)
    await connected(host)
    await eventually(lambda: _live(srv), what="the room to go live")
    host.getSenders()[0].replaceTrack(None)  # its camera stops: no media any more
    # The server ends the session and tells the client (DTLS close), which can publish anew.
    await eventually(lambda: host.connectionState == "closed", timeout=15,
                     what="the publisher to learn its session ended")
    url = srv.base_url + response.headers["Location"]
    auth = {"Authorization": f"Bearer {token(ROOM, 'host')}"}
    async with http.patch(url, data="a=end-of-candidates\r\n", headers={
            **auth, "Content-Type": "application/trickle-ice-sdpfrag"}) as r:
        assert await _error(r) == (404, "session_not_found")
    async with http.delete(url, headers=auth) as r:
        assert await _error(r) == (404, "session_not_found")
