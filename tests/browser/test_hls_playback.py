"""HLS in the room page: hls.js (vendored) plays the room's live playlist, chosen by
?playback=hls or by itself when the server's WebRTC places are taken. The host is an aiortc
WHIP publisher sending H.264; everything runs on loopback."""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import expect

from tests.conftest import demo_room
from tests.helpers import token
from tests.hls.media import publish_h264
from tests.signaling.clients import answer, local_offer, post_sdp, viewer_pc

from .conftest import until
from .test_live_video import connected, playing

ROOM = "thailand"
MEDIA = {"ice_addresses": ("127.0.0.1",)}


@pytest.fixture
async def peers():
    opened = []

    def track(pc):
        opened.append(pc)
        return pc

    yield track
    for pc in opened:
        await pc.close()


async def test_the_room_page_plays_the_live_stream_as_hls_on_request(server, open_page, peers):
    srv = await server(**MEDIA)
    async with aiohttp.ClientSession() as http:
        await publish_h264(srv, http, peers)
    viewer = await connected(await open_page(f"{srv.base_url}/rooms/{ROOM}?playback=hls"))
    await playing(viewer, "[data-video]")
    assert await viewer.evaluate("document.querySelector('[data-video]').dataset.playback") == "hls"
    # Played from Media Source Extensions (hls.js), not a peer connection.
    assert await viewer.evaluate("document.querySelector('[data-video]').srcObject") is None
    assert (await viewer.evaluate("document.querySelector('[data-video]').currentSrc")
            ).startswith("blob:")
    await expect(viewer.locator("#video")).to_have_attribute("data-video-state", "playing")
    # Everything else on the page is the same: the product list is there.
    await expect(viewer.locator("[data-products] li").first).to_be_visible()


async def test_a_viewer_past_the_webrtc_places_gets_hls_by_itself(server, open_page, peers):
    srv = await server(**MEDIA, webrtc_viewers_per_instance=1)
    async with aiohttp.ClientSession() as http:
        await publish_h264(srv, http, peers)
        # Somebody takes the one WebRTC place.
        pc = peers(viewer_pc())
        response = await post_sdp(http, f"{srv.base_url}/whep/rooms/{ROOM}",
                                  await local_offer(pc))
        await answer(pc, response)
        # A second WebRTC player is refused with the documented error.
        second = peers(viewer_pc())
        async with http.post(f"{srv.base_url}/whep/rooms/{ROOM}", data=await local_offer(second),
                             headers={"Content-Type": "application/sdp"}) as refused:
            assert refused.status == 503
            error = (await refused.json())["error"]
        assert error["code"] == "media_busy" and error["scope"] == "webrtc"
        assert error["hls"] == f"/hls/rooms/{ROOM}/live.m3u8"

    viewer = await connected(await open_page(f"{srv.base_url}/rooms/{ROOM}"))
    await until(viewer, "() => document.querySelector('[data-video]').dataset.playback === 'hls'")
    await playing(viewer, "[data-video]")


async def test_hls_of_a_vp8_host_says_why_it_cannot_play(server, open_page, peers):
    srv = await server(**MEDIA)
    async with aiohttp.ClientSession() as http:
        await publish_h264(srv, http, peers, video="VP8")
    viewer = await connected(await open_page(f"{srv.base_url}/rooms/{ROOM}?playback=hls"))
    await expect(viewer.get_by_text("This stream cannot be played here")).to_be_visible()
    await expect(viewer.get_by_text("The host streams in VP8")).to_be_visible()
    await expect(viewer.locator("#video")).to_have_attribute("data-video-state", "no_hls")


async def test_a_private_room_plays_as_hls_through_its_signed_urls(server, open_page, peers):
    srv = await server(**MEDIA)
    await srv.app_engine.store.create_room(demo_room("vault", public=False))
    async with aiohttp.ClientSession() as http:
        await publish_h264(srv, http, peers, room="vault")
    viewer_token = token("vault", "viewer", user="ann", name="Ann")
    viewer = await connected(await open_page(
        f"{srv.base_url}/rooms/vault?playback=hls&token={viewer_token}"))
    await playing(viewer, "[data-video]")
    assert await viewer.evaluate("document.querySelector('[data-video]').dataset.playback") == "hls"
