"""A room's video across instances in real pages: the studio publishes through instance A with
Chromium's fake camera, and room pages on instances B and C play it, each served by its own
instance from one relay leg from A. Three `liveroom serve` processes on a Redis of their own."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.helpers import ServerProcess, create_room, eventually
from tests.multi.cascade import LOOPBACK, ROOM, live, metrics, sample

from .test_live_video import connected, go_live_at, playing


@pytest.fixture
def instances(private_redis):
    started: list[ServerProcess] = []

    def start(n: int) -> list[ServerProcess]:
        for _ in range(n):
            started.append(ServerProcess(private_redis, extra_env=LOOPBACK).start())
        return started

    yield start
    for server in started:
        server.stop()


async def test_the_studio_on_one_instance_plays_in_room_pages_on_two_others(instances,
                                                                            open_page):
    a, b, c = instances(3)
    await create_room(a.url)
    studio = await go_live_at(open_page, a.url)
    for server in (b, c):
        await eventually(lambda: live(server.url), timeout=15, what="live everywhere")

    pages = [await connected(await open_page(f"{server.url}/rooms/{ROOM}")) for server in (b, c)]
    for page in pages:
        await playing(page, "[data-video]")
        await expect(page.locator("#video")).to_have_attribute("data-video-state", "playing")

    at_a, at_b, at_c = [await metrics(server.url) for server in (a, b, c)]
    assert sample(at_a, "liveroom_media_legs", room=ROOM, direction="out") == 2
    assert sample(at_a, "liveroom_peer_connections", kind="viewer") == 0
    assert sample(at_b, "liveroom_peer_connections", kind="viewer") == 1
    assert sample(at_c, "liveroom_peer_connections", kind="viewer") == 1
    await expect(studio.get_by_role("status").filter(has_text="You are live.")).to_be_visible()
