"""One viewer, tabs on two instances: a load balancer sends each tab where it likes, and the
viewer count (every instance's, and the REST API's) counts the person once, not per instance."""

from __future__ import annotations

import aiohttp

from ..helpers import create_room, eventually, token

ROOM = "thailand"


async def _watch(http: aiohttp.ClientSession, url: str, user: str):
    """A tab, live once its snapshot came (its presence is written before the snapshot)."""
    ws = await http.ws_connect(f"{url}/ws/rooms/{ROOM}?access_token={token(ROOM, user=user)}")
    while (await ws.receive_json(timeout=10))["type"] != "snapshot":
        pass
    return ws


async def _count(http: aiohttp.ClientSession, url: str) -> int:
    async with http.get(f"{url}/api/rooms/{ROOM}") as response:
        return (await response.json())["viewers"]


async def test_a_viewer_with_tabs_on_two_instances_counts_once(shared_redis, start_servers):
    one, two = start_servers(shared_redis)
    await create_room(one.url)
    async with aiohttp.ClientSession() as http:
        tabs = [await _watch(http, one.url, "ann"), await _watch(http, two.url, "ann"),
                await _watch(http, two.url, "bo")]
        try:
            assert [await _count(http, one.url), await _count(http, two.url)] == [2, 2]
            await tabs[0].close()  # ann still has her tab on instance two
            assert await _count(http, one.url) == 2
            await tabs[1].close()

            async def ann_left() -> bool:
                return await _count(http, one.url) == 1
            await eventually(ann_left, what="ann to leave the count with her last tab")
        finally:
            for ws in tabs:
                await ws.close()
