"""A viewer WebRTC cannot reach gets the room's HLS by itself: here the server offers ICE
candidates at an address nothing routes to (TEST-NET-1, as when a firewall drops the
viewer's UDP), so the peer connection never connects, and the page plays HLS in its place.
The host is the demo host (H.264), which needs no network to publish."""

from __future__ import annotations

import pytest

from liveroom.server.app import create_app
from signaling import demo_host

from .conftest import until
from .test_live_video import playing


@pytest.fixture
async def unreachable_server(make_settings, aiohttp_server, monkeypatch):
    monkeypatch.setattr(demo_host, "IDLE_STOP", 0.5)
    app = create_app(make_settings("memory", demo=True, heartbeat_interval=0.3,
                                   ice_addresses=("192.0.2.1",)))
    srv = await aiohttp_server(app)
    srv.base_url = str(srv.make_url("")).rstrip("/")
    return srv


async def test_a_viewer_webrtc_cannot_reach_gets_hls_by_itself(unreachable_server, open_page):
    srv = unreachable_server
    page = await open_page(f"{srv.base_url}/rooms/chile")
    assert await page.evaluate("document.querySelector('[data-video]').dataset.playback") == (
        "webrtc")  # it tries WebRTC first
    await until(page, "() => document.querySelector('[data-video]').dataset.playback === 'hls'",
                timeout=30)
    await playing(page, "[data-video]")
    assert await page.evaluate("document.querySelector('[data-video]').srcObject") is None
