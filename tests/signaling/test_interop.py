"""WHIP and WHEP as clients the project did not write use them: peers with RSA certificates,
H.264 in every profile a player can decode, CORS for browser clients on other origins, the
RFC 6750 challenge, sessions that end without a DELETE. (GStreamer's own clients run in
test_gstreamer.py; OBS Studio's offer in test_obs_offer.py.)"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from liveroom.client import RoomClient
from signaling import aiortc_forwarding
from signaling.keys import ICE_HOSTS

from ..helpers import eventually, token
from .clients import (
    Watcher,
    answer,
    answer_as_baseline,
    connected,
    declare_h264,
    h264_profiles,
    local_offer,
    post_sdp,
    publisher_pc,
    viewer_pc,
)

ROOM = "thailand"
ROOT = Path(__file__).resolve().parents[2]


def whip(srv) -> str:
    return f"{srv.base_url}/whip/rooms/{ROOM}"


def whep(srv) -> str:
    return f"{srv.base_url}/whep/rooms/{ROOM}"


def setup_of(sdp: str) -> set[str]:
    return {line.split(":", 1)[1] for line in sdp.splitlines() if line.startswith("a=setup:")}


async def test_peers_with_rsa_certificates_publish_and_play(media_server, http, peers):
    """GStreamer's webrtcbin signs DTLS with RSA: the server must not be the DTLS client, whose
    ECDSA-only cipher list such a peer cannot serve."""
    srv = await media_server()
    host = peers(publisher_pc(rsa=True))
    response = await post_sdp(http, whip(srv), await local_offer(host), token(ROOM, "host"))
    assert response.status == 201, await response.text()
    assert setup_of(await response.text()) == {"passive"}  # the offer said actpass
    await answer(host, response)
    await connected(host)

    viewer = peers(viewer_pc(rsa=True))
    response = await post_sdp(http, whep(srv), await local_offer(viewer))
    assert setup_of(await response.text()) == {"passive"}
    await answer(viewer, response)
    watcher = Watcher(viewer)
    await eventually(lambda: watcher.counts_up(20), timeout=15, what="the host's pattern")
    watcher.stop()


@pytest.mark.parametrize("profile", ["4d001f", "640028"])  # Main 3.1, High 4.0
async def test_h264_main_and_high_reach_every_player_that_decodes_them(media_server, http, peers,
                                                                       profile):
    srv = await media_server()
    host = peers(publisher_pc(video="H264"))
    response = await post_sdp(http, whip(srv), declare_h264(await local_offer(host), profile),
                              token(ROOM, "host"))
    assert response.status == 201, await response.text()
    assert h264_profiles(await response.text()) == [profile]
    await answer_as_baseline(host, response)
    await connected(host)

    # A player of the same profile is answered with the publisher's profile-level-id; a High
    # player (which decodes Main) with its own; each gets the stream.
    for offered, answered in [(profile, profile), ("640032", "640032" if profile == "4d001f"
                                                   else profile)]:
        player = peers(viewer_pc())
        response = await post_sdp(http, whep(srv), declare_h264(await local_offer(player),
                                                                offered))
        assert response.status == 201, await response.text()
        assert h264_profiles(await response.text()) == [answered]
        await answer_as_baseline(player, response)
        watcher = Watcher(player)
        await eventually(lambda: watcher.counts_up(10), timeout=15, what="the host's pattern")
        watcher.stop()

    # Constrained baseline decoders cannot take Main or High: the documented refusal.
    player = peers(viewer_pc())
    refused = await post_sdp(http, whep(srv), declare_h264(await local_offer(player), "42e01f"))
    assert refused.status == 422
    assert (await refused.json())["error"] == {
        "code": "unsupported_codec", "kind": "video",
        "message": (await refused.json())["error"]["message"]}


async def test_a_401_challenges_for_a_bearer_token(media_server, http, peers):
    """RFC 6750: every 401 says how to authenticate (WHIP clients look for it)."""
    srv = await media_server()
    offer = await local_offer(peers(publisher_pc()))
    missing = await post_sdp(http, whip(srv), offer)
    assert missing.status == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="liveroom"'
    forged = await post_sdp(http, whip(srv), offer, "not.a.token")
    assert forged.status == 401
    assert forged.headers["WWW-Authenticate"] == 'Bearer realm="liveroom", error="invalid_token"'
    async with http.get(f"{srv.base_url}/api/rooms/{ROOM}/orders") as rest:  # REST too
        assert rest.status == 401 and rest.headers["WWW-Authenticate"].startswith("Bearer ")


SHOP = "https://shop.example"


async def preflight(http, url: str, origin: str | None, method: str = "POST"):
    headers = {"Access-Control-Request-Method": method,
               "Access-Control-Request-Headers": "authorization,content-type"}
    if origin is not None:
        headers["Origin"] = origin
    return await http.options(url, headers=headers)


async def test_browser_clients_on_allowed_origins_pass_the_preflight(media_server, http, peers):
    srv = await media_server(media_origins=(SHOP,), ice_servers=("stun:stun.example.net:3478",))
    allowed = await preflight(http, whep(srv), SHOP)
    assert allowed.status == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == SHOP
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert {"authorization", "content-type"} <= {
        h.strip().lower() for h in allowed.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed.headers.getall("Link") == ['<stun:stun.example.net:3478>; rel="ice-server"']

    refused = await preflight(http, whep(srv), "https://elsewhere.example")
    assert refused.status == 403 and "Access-Control-Allow-Origin" not in refused.headers
    assert (await refused.json())["error"]["code"] == "forbidden"

    # A WHIP client outside a browser sends no Origin and reads the ICE servers here too.
    plain = await preflight(http, whip(srv), None)
    assert plain.status == 204 and plain.headers["Accept-Post"] == "application/sdp"
    assert plain.headers.getall("Link") == ['<stun:stun.example.net:3478>; rel="ice-server"']

    # The request itself: an allowed page reads the answer's headers, errors included; another
    # page is refused even if it skipped the preflight.
    offer = await local_offer(peers(viewer_pc()))
    not_live = await post_sdp(http, whep(srv), offer, headers={"Origin": SHOP})
    assert not_live.status == 409 and not_live.headers["Access-Control-Allow-Origin"] == SHOP
    exposed = {h.strip() for h in not_live.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"Location", "ETag", "Link", "Accept-Patch"} <= exposed
    other = await post_sdp(http, whep(srv), offer, headers={"Origin": "https://elsewhere.example"})
    assert other.status == 403


async def test_pages_of_the_server_itself_need_no_setting(media_server, http):
    srv = await media_server()
    same = await preflight(http, whep(srv), srv.base_url)
    assert same.status == 204
    assert (await preflight(http, whep(srv), SHOP)).status == 403  # by default no other origin


def candidate_addresses(sdp: str) -> set[str]:
    return {line.split()[4] for line in sdp.splitlines() if line.startswith("a=candidate:")}


async def test_a_server_on_loopback_offers_the_machines_addresses_too(media_server, http, peers):
    """The quickstart listens on 127.0.0.1; libnice (GStreamer's ICE) never uses loopback, so
    the server must also offer an address such a client reaches."""
    aiortc_forwarding.restrict_host_addresses(())
    machine = [a for a in aiortc_forwarding.host_addresses() if ":" not in a]
    assert machine, "the tests need a non-loopback IPv4 address on this machine"
    srv = await media_server(ice_addresses=())  # as configured by default: nothing
    assert srv.app[ICE_HOSTS][0] == "127.0.0.1"
    host = peers(publisher_pc())
    response = await post_sdp(http, whip(srv), await local_offer(host), token(ROOM, "host"))
    offered = candidate_addresses(await response.text())
    assert "127.0.0.1" in offered and set(machine) <= offered


async def viewers(http, srv) -> int:
    async with http.get(f"{srv.base_url}/api/rooms/{ROOM}") as response:
        return (await response.json())["viewers"]


async def test_whep_players_are_in_the_viewer_count(media_server, http, peers):
    srv = await media_server()
    host = peers(publisher_pc())
    await answer(host, await post_sdp(http, whip(srv), await local_offer(host),
                                      token(ROOM, "host")))
    async with RoomClient(srv.base_url, ROOM):  # a viewer on the room page
        await eventually(lambda: _count_is(http, srv, 1), what="one viewer")
        player = peers(viewer_pc())
        response = await post_sdp(http, whep(srv), await local_offer(player))
        await answer(player, response)
        await eventually(lambda: _count_is(http, srv, 2), what="the WHEP player counted")
        async with http.delete(srv.base_url + response.headers["Location"]) as gone:
            assert gone.status == 200
        await eventually(lambda: _count_is(http, srv, 1), what="the player gone from the count")


async def _count_is(http, srv, n: int) -> bool:
    return await viewers(http, srv) == n


async def test_a_session_is_a_resource_of_its_own_endpoint_only(media_server, http, peers):
    srv = await media_server()
    host = peers(publisher_pc())
    response = await post_sdp(http, whip(srv), await local_offer(host), token(ROOM, "host"))
    await answer(host, response)
    session = response.headers["Location"].rsplit("/", 1)[1]
    auth = {"Authorization": f"Bearer {token(ROOM, 'host')}"}
    elsewhere = f"{whep(srv)}/sessions/{session}"
    async with http.patch(elsewhere, data="a=end-of-candidates\r\n", headers={
            **auth, "Content-Type": "application/trickle-ice-sdpfrag"}) as r:
        assert r.status == 404 and (await r.json())["error"]["code"] == "session_not_found"
    async with http.delete(elsewhere, headers=auth) as r:
        assert r.status == 404
    assert srv.registry.publishers  # still publishing
    async with http.delete(srv.base_url + response.headers["Location"], headers=auth) as r:
        assert r.status == 200


async def test_a_player_that_vanishes_without_a_delete_is_ended_soon(media_server):
    """SIGKILL: no DELETE, no DTLS close. Its RTCP reports stop, and so does its session."""
    srv = await media_server(player_timeout=3)
    async with aiohttp.ClientSession() as http:
        host = publisher_pc()
        try:
            await answer(host, await post_sdp(http, whip(srv), await local_offer(host),
                                              token(ROOM, "host")))
            await connected(host)
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.signaling.player_process", whep(srv)], cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE)
            try:
                line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
                session = line.decode().strip().rsplit("/", 1)[1]
                assert session in srv.registry.sessions
                await eventually(lambda: _counted(srv, session), timeout=10, what="counted")
                proc.send_signal(signal.SIGKILL)
            finally:
                proc.kill()
                proc.wait()
            # Before, only ICE consent (30 s) noticed; LIVEROOM_PLAYER_TIMEOUT is 3 s here.
            await eventually(lambda: session not in srv.registry.sessions, timeout=12,
                             what="the vanished player's session to end")
            await eventually(lambda: _count_is(http, srv, 0), what="and leave the count")
        finally:
            await host.close()


def _counted(srv, session: str) -> bool:
    viewer = srv.registry.sessions.get(session)
    return viewer is not None and viewer.counted
