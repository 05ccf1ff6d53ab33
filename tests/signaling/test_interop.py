"""WHIP and WHEP as clients the project did not write use them: peers with RSA certificates,
H.264 in every profile a player can decode, CORS for browser clients on other origins, the
RFC 6750 challenge, sessions that end without a DELETE. (GStreamer's own clients run in
test_gstreamer.py; OBS Studio's offer in test_obs_offer.py.)"""

from __future__ import annotations

import pytest

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
