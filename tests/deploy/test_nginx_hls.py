"""The deploy nginx caching HLS in front of three instances: a crowd of players asking for the
same files at once costs the instances one request per file."""

from __future__ import annotations

import asyncio
import collections

import aiohttp

from signaling.aiortc_forwarding import restrict_host_addresses

from ..helpers import create_room, eventually, token
from ..signaling.clients import answer, local_offer, post_sdp, publisher_pc

ROOM = "thailand"
LOOPBACK = {"LIVEROOM_ICE_ADDRESSES": "127.0.0.1"}
PLAYERS = 40


async def test_nginx_serves_a_crowd_of_hls_players_with_one_origin_request_per_segment(
        deployment):
    restrict_host_addresses(["127.0.0.1"])
    site = deployment(3, extra_env=LOOPBACK)
    origin = site.servers[0]
    await create_room(origin.url)
    pc = publisher_pc(video="H264")
    try:
        async with aiohttp.ClientSession() as http:
            response = await post_sdp(http, f"{origin.url}/whip/rooms/{ROOM}",
                                      await local_offer(pc), token(ROOM, "host"))
            await answer(pc, response)
            playlist_url = f"{site.url}/hls/rooms/{ROOM}/live.m3u8"

            async def segments():
                async with http.get(playlist_url) as got:
                    text = await got.text()
                    names = [line for line in text.splitlines()
                             if line and not line.startswith("#")]
                    return names if got.status == 200 and len(names) >= 3 else None

            names = await eventually(segments, timeout=20, what="segments through nginx")
            assert all(not name.startswith("/") and ".." not in name for name in names)

            statuses: collections.Counter = collections.Counter()
            bodies: dict[str, set[bytes]] = collections.defaultdict(set)

            async def fetch(name: str) -> None:
                async with http.get(f"{site.url}/hls/rooms/{ROOM}/{name}") as got:
                    assert got.status == 200
                    assert got.headers["Cache-Control"] == "public, max-age=31536000, immutable"
                    statuses[(name, got.headers["X-Cache-Status"])] += 1
                    bodies[name].add(await got.read())

            # Every player asks for every segment at the same moment.
            await asyncio.gather(*(fetch(name) for name in names for _ in range(PLAYERS)))
            for name in names:
                assert len(bodies[name]) == 1  # one file, the same for everyone
                misses = statuses[(name, "MISS")]
                assert misses == 1, dict(statuses)  # one request reached an instance
                assert statuses[(name, "HIT")] == PLAYERS - 1
            # And later players too: from the cache.
            async with http.get(f"{site.url}/hls/rooms/{ROOM}/{names[0]}") as got:
                assert got.headers["X-Cache-Status"] == "HIT"
            # The live playlist is cached for its second, no longer.
            async with http.get(playlist_url) as first:
                assert first.headers["Cache-Control"] == "public, max-age=1"
    finally:
        await pc.close()
        restrict_host_addresses([])
