"""The replays API: a room's recorded sessions listed, read (playlist, duration, timeline) and
deleted by staff; retention deletes the oldest and /metrics shows each room's disk use."""

from __future__ import annotations

import time

from prometheus_client.parser import text_string_to_metric_families

from liveroom.client import RoomClient
from liveroom.engine import ENGINE
from signaling.hls import service
from signaling.hls.keys import HLS
from signaling.hls.segmenter import new_session_id
from signaling.hls.service import STALE_AFTER

from ..helpers import bearer, eventually, token
from ..signaling.clients import answer, local_offer, post_sdp, publisher_pc
from .media import ROOM, live_segments

HOST = token(ROOM, "host", user="siam", name="Siam")


async def _session(srv, http, peers, *, pin: str | None = None) -> None:
    """A short live session, recorded; returns once its recording has ended."""
    before = len(srv.app[HLS].store.sessions(ROOM))
    pc = peers(publisher_pc(video="H264"))
    response = await post_sdp(http, f"{srv.base_url}/whip/rooms/{ROOM}", await local_offer(pc),
                              HOST)
    await answer(pc, response)
    await eventually(lambda: len(srv.app[HLS].store.sessions(ROOM)) == before + 1,
                     what="a new recording")
    await live_segments(http, srv, count=2)
    if pin:
        async with RoomClient(srv.base_url, ROOM, token=HOST) as room:
            await room.command("product.pin", product_id=pin)
            await room.command("chat.send", text="Ripe today")
            said = await room.command("chat.send", text="Oops, wrong room")
            await room.command("chat.delete", message_id=said["message_id"])
        await live_segments(http, srv, count=3)
    async with http.delete(srv.base_url + response.headers["Location"],
                           headers=bearer(HOST)) as stopped:
        assert stopped.status == 200
    await eventually(lambda: ROOM not in srv.app[HLS].recorders, what="the recording ended")


async def _replays(http, srv) -> list[dict]:
    async with http.get(f"{srv.base_url}/api/rooms/{ROOM}/replays") as response:
        assert response.status == 200
        return (await response.json())["replays"]


async def test_replays_are_listed_read_and_deleted_by_staff_only(media_server, http, peers):
    srv = await media_server()
    await _session(srv, http, peers, pin="mango")
    [replay] = await _replays(http, srv)
    assert replay["playlist"] == f"/hls/rooms/{ROOM}/{replay['id']}/index.m3u8"
    assert replay["page"] == f"/rooms/{ROOM}/replays/{replay['id']}"
    assert replay["publisher"] == "Siam" and replay["duration"] > 2
    assert not replay["recording"] and not replay["interrupted"]

    async with http.get(f"{srv.base_url}/api/rooms/{ROOM}/replays/{replay['id']}") as response:
        full = await response.json()
    # The chat as it was, without what a moderator deleted.
    chat = [e["message"]["text"] for e in full["timeline"] if e["type"] == "chat.message"]
    assert chat == ["Ripe today"]
    [pinned] = [e for e in full["timeline"] if e["type"] == "product.pinned"]
    assert pinned["product"]["id"] == "mango" and 0 < pinned["t"] < full["duration"]
    async with http.get(srv.base_url + replay["playlist"]) as response:
        text = await response.text()
        assert response.headers["Cache-Control"] == "public, max-age=60"
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")

    url = f"{srv.base_url}/api/rooms/{ROOM}/replays/{replay['id']}"
    async with http.delete(url) as response:
        assert response.status == 401  # a guest
    async with http.delete(url, headers=bearer(token(ROOM, "viewer"))) as response:
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "forbidden"
    async with http.delete(url, headers=bearer(token(ROOM, "moderator"))) as response:
        assert response.status == 204
    assert await _replays(http, srv) == []
    async with http.get(srv.base_url + replay["playlist"]) as response:
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "replay_not_found"
    async with http.delete(url, headers=bearer(token(ROOM, "moderator"))) as response:
        assert response.status == 404


async def test_retention_keeps_the_newest_sessions_and_metrics_show_disk_use(media_server,
                                                                             http, peers):
    srv = await media_server(replay_keep=1)
    await _session(srv, http, peers)
    await _session(srv, http, peers)
    first, second = srv.app[HLS].store.sessions(ROOM)
    assert len(await _replays(http, srv)) == 2

    assert await srv.app[HLS].retain() == 1  # the pass the service makes every minute
    assert [r["id"] for r in await _replays(http, srv)] == [second]
    on_disk = srv.app[HLS].store.usage(ROOM)
    assert on_disk > 1_000  # (the test pattern compresses to almost nothing)
    async with http.get(f"{srv.base_url}/metrics") as response:
        text = await response.text()
    disk = {s.labels["room"]: s.value for f in text_string_to_metric_families(text)
            for s in f.samples if s.name == "liveroom_hls_disk_bytes"}
    assert disk == {ROOM: on_disk}


async def test_a_recording_whose_instance_is_gone_is_no_longer_listed_nor_followed(
        media_server, http, peers):
    """Another instance's recordings are listed while it vouches for them (it does every
    minute); one it stopped vouching for (the instance is gone, its disk with it) is not
    listed, and its playlist is answered here rather than asked of a dead address."""
    srv = await media_server()
    await _session(srv, http, peers)
    [ours] = await _replays(http, srv)
    now = time.time()
    theirs = {"room": ROOM, "started_at": now - 900, "publisher": "Siam", "duration": 60.0,
              "recording": False, "interrupted": False, "instance": "elsewhere",
              "url": "http://127.0.0.1:9"}
    alive = {**theirs, "id": new_session_id(now - 900), "vouched_at": now - 30}
    gone = {**theirs, "id": new_session_id(now - 800), "vouched_at": now - STALE_AFTER - 60}
    for record in (alive, gone):
        await srv.app[ENGINE].media.put_replay(ROOM, record)
    assert [r["id"] for r in await _replays(http, srv)] == [ours["id"], alive["id"]]
    async with http.get(f"{srv.base_url}/hls/rooms/{ROOM}/{gone['id']}/index.m3u8") as response:
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "replay_not_found"


async def test_an_instance_vouches_for_its_recordings_again_and_again(media_server, http, peers,
                                                                      monkeypatch):
    monkeypatch.setattr(service, "VOUCH_EVERY", 0.5)
    srv = await media_server()
    await _session(srv, http, peers)

    async def vouched_at() -> float:
        [record] = await srv.app[ENGINE].media.replays(ROOM)
        return record["vouched_at"]

    first = await vouched_at()
    assert time.time() - first < service.STALE_AFTER

    async def vouched_again() -> bool:
        return await vouched_at() > first

    await eventually(vouched_again, timeout=5, what="the recording vouched for again")
