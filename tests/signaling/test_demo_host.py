"""The demo host: with --demo every demo room is live at once with a test card, encoded only
while someone watches, through the same relay as a real host, and a real host replaces it."""

from __future__ import annotations

import time

import pytest

from liveroom.client import RoomClient
from liveroom.engine import ENGINE
from liveroom.server.app import create_app
from liveroom.server.demo import DEMO_ROOMS
from signaling import demo_host
from signaling import registry as registry_module
from signaling.keys import REGISTRY

from ..helpers import eventually, token
from .clients import Watcher, answer, local_offer, post_sdp, publisher_pc, viewer_pc
from .conftest import MEDIA


@pytest.fixture
async def demo_server(make_settings, aiohttp_server, monkeypatch):
    monkeypatch.setattr(demo_host, "IDLE_STOP", 0.5)
    app = create_app(make_settings("memory", demo=True, heartbeat_interval=0.3, **MEDIA))
    srv = await aiohttp_server(app)
    srv.base_url = str(srv.make_url("")).rstrip("/")
    return srv


async def _live_rooms(http, srv) -> set[str]:
    async with http.get(f"{srv.base_url}/api/rooms") as response:
        return {r["id"] for r in (await response.json())["rooms"] if r["live"]}


async def test_every_demo_room_is_live_and_encodes_only_while_watched(demo_server, http, peers):
    srv = demo_server
    registry = srv.app[REGISTRY]
    everyone = {room["id"] for room, _products in DEMO_ROOMS}
    await eventually(lambda: _live_rooms(http, srv), what="live rooms")
    await eventually(lambda: _all_live(http, srv, everyone), timeout=5, what="all demo rooms")
    demo = registry.publishers[("thailand", "host")]
    assert demo.transport == "demo" and not demo.encoding
    state = await srv.app[ENGINE].media.state("thailand")
    assert state["publishers"]["host"]["source"] == "demo"
    assert state["publishers"]["host"]["name"] == "Siam Orchard Exports"

    pc = peers(viewer_pc())
    await answer(pc, await post_sdp(http, f"{srv.base_url}/whep/rooms/thailand",
                                    await local_offer(pc)))
    watcher = Watcher(pc)
    await eventually(lambda: len(watcher.numbers) >= 15, timeout=10, what="test card frames")
    assert watcher.first_frame_after < 2.0
    assert demo.encoding and not any(registry.publishers[(r, "host")].encoding
                                     for r in everyone - {"thailand"})

    # A real host replaces the demo; the viewer, still connected, now sees the host's picture
    # (in H.264, the demo's codec: a WHEP player keeps the codec it negotiated).
    async with RoomClient(srv.base_url, "thailand") as room:
        host = peers(publisher_pc(video="H264"))
        await answer(host, await post_sdp(http, f"{srv.base_url}/whip/rooms/thailand",
                                          await local_offer(host), token("thailand", "host")))
        offline = await room.next_event("media.offline")
        assert offline["reason"] == "replaced"
        live = await room.next_event("media.live")
        assert live["publisher"]["source"] == "whip"
    await eventually(lambda: watcher.counts_up(15), timeout=15, what="the host's frames")
    assert demo.closed
    watcher.stop()
    await pc.close()
    await host.close()
    await eventually(lambda: ("thailand", "host") not in registry.publishers, what="host gone")


async def _all_live(http, srv, rooms) -> bool:
    return await _live_rooms(http, srv) == rooms


async def test_the_demo_host_stops_encoding_when_nobody_watches(demo_server, http, peers):
    srv = demo_server
    registry = srv.app[REGISTRY]
    await eventually(lambda: ("chile", "host") in registry.publishers, timeout=5, what="demo")
    demo = registry.publishers[("chile", "host")]
    pc = peers(viewer_pc())
    await answer(pc, await post_sdp(http, f"{srv.base_url}/whep/rooms/chile",
                                    await local_offer(pc)))
    watcher = Watcher(pc)
    await eventually(lambda: len(watcher.numbers) >= 5, timeout=10, what="frames")
    watcher.stop()
    await pc.close()
    await eventually(lambda: not demo.encoding, timeout=10, what="the encoder to stop")
    assert not demo.closed  # still live, just idle


async def test_the_demo_host_waits_its_time_and_comes_back_in_the_codec_players_wait_with(
        demo_server, http, peers, monkeypatch):
    """An H.264 host who reconnects once and later stops: the demo host returns only after
    DEMO_RETURN, and a WHEP player that was watching the host keeps playing, the test card in
    H.264 now (it cannot be asked to renegotiate)."""
    monkeypatch.setattr(registry_module, "DEMO_RETURN", 2.0)
    srv = demo_server
    registry = srv.app[REGISTRY]
    await eventually(lambda: ("thailand", "host") in registry.publishers, timeout=5, what="demo")

    async def go_live():
        host = peers(publisher_pc(video="H264"))
        await answer(host, await post_sdp(http, f"{srv.base_url}/whip/rooms/thailand",
                                          await local_offer(host), token("thailand", "host")))
        await eventually(lambda: registry.publishers[("thailand", "host")].transport == "whip",
                         what="the host to replace the demo host")
        return host

    host = await go_live()
    pc = peers(viewer_pc())  # offers VP8 and H.264: answered in the host's H.264
    await answer(pc, await post_sdp(http, f"{srv.base_url}/whep/rooms/thailand",
                                    await local_offer(pc)))
    watcher = Watcher(pc)
    await eventually(lambda: watcher.counts_up(10), timeout=15, what="the host's frames")
    await host.close()  # a dropped connection ...
    await eventually(lambda: ("thailand", "host") not in registry.publishers, what="host gone")
    beat = registry._last_beat  # the room was seen vacant by a heartbeat
    await eventually(lambda: registry._last_beat > beat, what="a heartbeat")
    host = await go_live()  # ... and the host is back soon, for longer than DEMO_RETURN
    seen = len(watcher.valid())
    await eventually(lambda: len(watcher.valid()) > seen + 90, timeout=20, what="3 s of video")
    await host.close()
    stopped = time.monotonic()
    await eventually(lambda: registry.publishers.get(("thailand", "host")) is not None
                     and registry.publishers[("thailand", "host")].transport == "demo",
                     timeout=10, what="the demo host back")
    assert time.monotonic() - stopped >= 2.0
    demo = registry.publishers[("thailand", "host")]
    assert demo.codecs["video"].mime == "video/H264"
    frames = len(watcher.numbers)
    await eventually(lambda: len(watcher.numbers) > frames + 15, timeout=10,
                     what="the test card on the same player")
    assert not pc.connectionState == "closed" and len(registry.viewers[("thailand", "host")]) == 1
    watcher.stop()
