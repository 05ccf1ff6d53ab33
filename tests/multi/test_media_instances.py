"""Live video across real server processes sharing a Redis: a room's media lives on the
instance its host publishes to; viewers on any other instance are served there (from a relay
leg), a publisher's signaling that lands elsewhere is routed over the engine (or answered with
a WHIP 307 with redirect routing), and a crashed instance's room goes offline by itself."""

from __future__ import annotations

import aiohttp
import pytest
from aiortc import RTCSessionDescription

from liveroom.client import RoomClient

from ..helpers import create_room, eventually, token
from ..signaling.clients import (
    Watcher,
    answer,
    local_offer,
    post_sdp,
    publisher_pc,
    viewer_pc,
)
from .cascade import instance_id, metrics, sample

pytestmark = [pytest.mark.multi, pytest.mark.usefixtures("loopback_peers")]
ROOM = "thailand"
LOOPBACK = {"LIVEROOM_ICE_ADDRESSES": "127.0.0.1"}


async def _live(base_url: str) -> bool:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base_url}/api/rooms/{ROOM}") as response:
            return (await response.json())["live"]


async def _publish(url: str, peers) -> object:
    pc = publisher_pc()
    peers(pc)
    async with aiohttp.ClientSession() as http:
        await answer(pc, await post_sdp(http, f"{url}/whip/rooms/{ROOM}", await local_offer(pc),
                                        token(ROOM, "host")))
    return pc


async def test_a_viewer_on_another_instance_gets_the_video(shared_redis, start_servers, peers):
    one, two = start_servers(shared_redis, extra_env=LOOPBACK)
    await create_room(one.url)
    await _publish(one.url, peers)
    await eventually(lambda: _live(two.url), timeout=10, what="instance two to show live")

    # The room channel on instance two: media.subscribe is answered there, and instance two
    # serves the player from its leg from instance one.
    async with RoomClient(two.url, ROOM, token=token(ROOM, user="ann")) as room:
        assert room.snapshot["media"]["live"] is True
        pc = viewer_pc()
        peers(pc)
        ack = await room.command("media.subscribe", offer=await local_offer(pc))
        assert ack["session"].rsplit("-", 1)[0] == await instance_id(two.url)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=ack["answer"], type="answer"))
        watcher = Watcher(pc)
        await eventually(lambda: watcher.counts_up(20), timeout=15, what="relayed frames")
        watcher.stop()
        await room.command("media.stop", session=ack["session"])

    # WHEP on instance two, behind a load balancer that does not know where media lives.
    pc = viewer_pc()
    peers(pc)
    async with aiohttp.ClientSession() as http:
        response = await post_sdp(http, f"{two.url}/whep/rooms/{ROOM}", await local_offer(pc))
        await answer(pc, response)
        watcher = Watcher(pc)
        await eventually(lambda: watcher.counts_up(10), timeout=15, what="WHEP frames")
        watcher.stop()
        async with http.delete(two.url + response.headers["Location"]) as gone:
            assert gone.status == 200

    # Instance one crashes: its claim lapses and instance two announces the room offline.
    async with RoomClient(two.url, ROOM) as room:
        one.kill()
        offline = await room.next_event("media.offline", timeout=15)
        assert offline["reason"] == "expired"
    assert not await _live(two.url)


async def test_whip_redirects_to_the_instance_holding_the_media(shared_redis, start_servers,
                                                                peers):
    """Redirect routing is for publishers: a co-host's WHIP offer that reaches instance two is
    sent to instance one, which holds the room's media; a player is served where it landed."""
    one, two = start_servers(shared_redis,
                             extra_env={**LOOPBACK, "LIVEROOM_MEDIA_ROUTING": "redirect"})
    await create_room(one.url)
    await _publish(one.url, peers)
    await eventually(lambda: _live(two.url), timeout=10, what="live")
    cohost = publisher_pc()
    peers(cohost)
    offer = await local_offer(cohost)
    async with aiohttp.ClientSession() as http:
        redirect = await post_sdp(http, f"{two.url}/whip/rooms/{ROOM}", offer,
                                  token(ROOM, "cohost"), allow_redirects=False)
        assert redirect.status == 307
        assert redirect.headers["Location"] == f"{one.url}/whip/rooms/{ROOM}"
        followed = await post_sdp(http, redirect.headers["Location"], offer,
                                  token(ROOM, "cohost"))
        await answer(cohost, followed)

        pc = viewer_pc()
        peers(pc)
        played = await post_sdp(http, f"{two.url}/whep/rooms/{ROOM}", await local_offer(pc),
                                allow_redirects=False)
        assert played.status == 201 and str(played.url).startswith(two.url)
        await answer(pc, played)
    watcher = Watcher(pc)
    await eventually(lambda: watcher.counts_up(10), timeout=15, what="frames")
    watcher.stop()

    # The co-host's media reaches instance two over the same leg as the host's.
    pc = viewer_pc()
    peers(pc)
    async with aiohttp.ClientSession() as http:
        played = await post_sdp(http, f"{two.url}/whep/rooms/{ROOM}?slot=cohost",
                                await local_offer(pc))
        await answer(pc, played)
    watcher = Watcher(pc)
    await eventually(lambda: watcher.counts_up(10), timeout=15, what="the co-host's frames")
    watcher.stop()
    samples = await metrics(one.url)
    assert sample(samples, "liveroom_media_legs", room=ROOM, direction="out") == 1
