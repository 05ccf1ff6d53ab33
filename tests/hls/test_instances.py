"""HLS from real `liveroom serve` processes: any instance serves the origin's segments, and a
recording outlives a restart and a crash."""

from __future__ import annotations

import aiohttp
import pytest

from ..helpers import ServerProcess, create_room, eventually, token
from ..multi.cascade import LOOPBACK, live
from ..signaling.clients import answer, local_offer, post_sdp, publisher_pc
from .media import ROOM, init_uri, read_segment, uris

pytestmark = [pytest.mark.multi, pytest.mark.usefixtures("loopback_peers")]


async def _publish(url: str, peers) -> None:
    pc = publisher_pc(video="H264")
    peers(pc)
    async with aiohttp.ClientSession() as http:
        response = await post_sdp(http, f"{url}/whip/rooms/{ROOM}", await local_offer(pc),
                                  token(ROOM, "host"))
        await answer(pc, response)


async def _get(http, url: str) -> tuple[int, bytes, dict]:
    async with http.get(url) as response:
        return response.status, await response.read(), dict(response.headers)


async def _playlist(http, url: str, count: int) -> str:
    async def ready():
        status, body, _ = await _get(http, url)
        return body.decode() if status == 200 and len(uris(body.decode())) >= count else None

    return await eventually(ready, timeout=20, what=f"{count} segments at {url}")


async def test_every_instance_serves_the_rooms_segments_from_its_origin(shared_redis,
                                                                        start_servers, peers):
    a, b = start_servers(shared_redis, n=2, extra_env=LOOPBACK)
    await create_room(a.url)
    await _publish(a.url, peers)
    await eventually(lambda: live(b.url), timeout=10, what="the room live on B")
    async with aiohttp.ClientSession() as http:
        text = await _playlist(http, f"{b.url}/hls/rooms/{ROOM}/live.m3u8", 2)
        base = f"/hls/rooms/{ROOM}/"
        status, init, _ = await _get(http, b.url + base + init_uri(text))
        assert status == 200
        for uri in uris(text):
            status, via_b, headers = await _get(http, b.url + base + uri)
            assert status == 200 and "immutable" in headers["Cache-Control"]
            status, at_a, _ = await _get(http, a.url + base + uri)
            assert via_b == at_a  # the origin's own file
            assert read_segment(init, via_b)["key_first"]
        # Nothing was written on B: it holds no recording of its own.
        assert not (b.data_dir / "recordings" / ROOM).exists()


async def test_a_crash_mid_session_leaves_a_replay_that_ends_where_it_stopped(peers):
    server = ServerProcess(None, extra_env=LOOPBACK).start()
    try:
        await create_room(server.url)
        await _publish(server.url, peers)
        async with aiohttp.ClientSession() as http:
            await _playlist(http, f"{server.url}/hls/rooms/{ROOM}/live.m3u8", 3)
            server.kill()  # SIGKILL, mid-segment
            server.start()  # the same data dir
            async with http.get(f"{server.url}/api/rooms/{ROOM}/replays") as response:
                replays = (await response.json())["replays"]
            assert len(replays) == 1
            replay = replays[0]
            assert replay["interrupted"] and not replay["recording"]
            assert replay["duration"] >= 2.0
            status, body, headers = await _get(http, server.url + replay["playlist"])
            assert status == 200
            text = body.decode()
            assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith(
                "#EXT-X-ENDLIST")
            base = server.url + replay["playlist"].rsplit("/", 1)[0] + "/"
            status, init, _ = await _get(http, base + init_uri(text))
            assert status == 200
            names = uris(text)
            assert len(names) >= 3
            total = 0.0
            for name in names:  # every segment it names is whole and decodes
                status, data, _ = await _get(http, base + name)
                assert status == 200
                segment = read_segment(init, data)
                assert segment["key_first"] and segment["pictures"]
                total += len(segment["pictures"]) / 30
            assert abs(total - replay["duration"]) < 1.0
    finally:
        server.stop()


async def test_every_instance_lists_serves_and_deletes_a_recording_held_by_another(
        shared_redis, start_servers, peers):
    a, b = start_servers(shared_redis, n=2, extra_env=LOOPBACK)
    await create_room(a.url)
    pc = publisher_pc(video="H264")
    peers(pc)
    host = token(ROOM, "host")
    async with aiohttp.ClientSession() as http:
        response = await post_sdp(http, f"{a.url}/whip/rooms/{ROOM}", await local_offer(pc), host)
        await answer(pc, response)
        await _playlist(http, f"{a.url}/hls/rooms/{ROOM}/live.m3u8", 3)
        async with http.delete(a.url + response.headers["Location"],
                               headers={"Authorization": f"Bearer {host}"}) as stopped:
            assert stopped.status == 200

        async def listed_on_b():
            async with http.get(f"{b.url}/api/rooms/{ROOM}/replays") as got:
                replays = (await got.json())["replays"]
            return replays if replays and not replays[0]["recording"] else None

        [replay] = await eventually(listed_on_b, timeout=10, what="the replay listed on B")
        assert replay["duration"] > 2 and "url" not in replay  # no instance address leaks
        async with http.get(f"{b.url}/api/rooms/{ROOM}/replays/{replay['id']}") as got:
            assert got.status == 200
            assert (await got.json())["id"] == replay["id"]
        status, body, _ = await _get(http, b.url + replay["playlist"])
        assert status == 200 and body.decode().rstrip().endswith("#EXT-X-ENDLIST")
        base = b.url + replay["playlist"].rsplit("/", 1)[0] + "/"
        status, init, _ = await _get(http, base + init_uri(body.decode()))
        status, segment, _ = await _get(http, base + uris(body.decode())[0])
        assert status == 200 and read_segment(init, segment)["key_first"]
        assert not (b.data_dir / "recordings" / ROOM).exists()

        moderator = {"Authorization": f"Bearer {token(ROOM, 'moderator')}"}
        async with http.delete(f"{b.url}/api/rooms/{ROOM}/replays/{replay['id']}") as got:
            assert got.status == 401  # B checks the grant before it asks A
        async with http.delete(f"{b.url}/api/rooms/{ROOM}/replays/{replay['id']}",
                               headers=moderator) as got:
            assert got.status == 204
        assert not (a.data_dir / "recordings" / ROOM / replay["id"]).exists()
        async with http.get(f"{b.url}/api/rooms/{ROOM}/replays") as got:
            assert (await got.json())["replays"] == []
