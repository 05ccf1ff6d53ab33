"""Demo rooms have HLS too: the demo host encodes H.264, segmented while somebody asks for the
room's HLS, and not kept as a replay."""

from __future__ import annotations

import pytest

from liveroom.server.app import create_app
from signaling import demo_host
from signaling.hls.keys import HLS

from ..helpers import eventually
from ..signaling.conftest import MEDIA
from .media import init_uri, live_segments, read_segment, uris


@pytest.fixture
async def demo_server(make_settings, aiohttp_server, monkeypatch):
    monkeypatch.setattr(demo_host, "IDLE_STOP", 0.5)
    app = create_app(make_settings("memory", demo=True, heartbeat_interval=0.3, **MEDIA))
    srv = await aiohttp_server(app)
    srv.base_url = str(srv.make_url("")).rstrip("/")
    srv.app = app
    return srv


async def test_a_demo_room_plays_as_hls_and_leaves_no_replay(demo_server, http):
    srv = demo_server
    text = await live_segments(http, srv, room="chile", count=2)
    base = f"{srv.base_url}/hls/rooms/chile/"
    async with http.get(base + init_uri(text)) as response:
        init = await response.read()
    async with http.get(base + uris(text)[-1]) as response:
        segment = read_segment(init, await response.read())
    assert segment["key_first"] and segment["size"] == (640, 360) and segment["pictures"]
    async with http.get(f"{srv.base_url}/api/rooms/chile/replays") as response:
        assert (await response.json())["replays"] == []  # the test card is not recorded
    # Nobody else's room was touched: only the room asked for is segmented.
    service = srv.app[HLS]
    assert set(service.recorders) == {"chile"}
    assert not service.recorders["chile"].keep


async def test_the_demo_hosts_live_window_rolls_off_the_disk(demo_server, http, monkeypatch):
    from signaling.hls import segmenter

    monkeypatch.setattr(segmenter, "LIVE_WINDOW", 2)  # a short window: a quick test
    srv = demo_server
    url = f"{srv.base_url}/hls/rooms/chile/live.m3u8"

    async def moved_on():
        async with http.get(url) as response:
            text = await response.text()
        if response.status != 200:
            return None  # the demo host is starting
        first = int(text.split("#EXT-X-MEDIA-SEQUENCE:")[1].split()[0])
        return text if first >= 3 else None

    text = await eventually(moved_on, timeout=20, what="the live window past segment 3")
    session = init_uri(text).split("/")[0]
    async with http.get(f"{srv.base_url}/hls/rooms/chile/{session}/0.m4s") as response:
        assert response.status == 404  # rolled off, and deleted
    recording = srv.app[HLS].store.root / "chile" / session
    kept = sorted(int(p.stem) for p in recording.glob("*.m4s"))
    assert kept and kept[0] > 0 and len(kept) <= 2 * 2 + 1  # the window and its slack
