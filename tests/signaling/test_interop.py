"""WHIP and WHEP as clients the project did not write use them: peers with RSA certificates,
H.264 in every profile a player can decode, CORS for browser clients on other origins, the
RFC 6750 challenge, sessions that end without a DELETE. (GStreamer's own clients run in
test_gstreamer.py; OBS Studio's offer in test_obs_offer.py.)"""

from __future__ import annotations

import pytest

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
