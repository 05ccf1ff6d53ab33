"""What the media cascade tests share: instances on loopback, a publisher, players that decode
the pattern, and each instance's metrics."""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from signaling import leg_auth
from signaling.aiortc_forwarding import restrict_host_addresses

from ..helpers import SECRET, create_room, eventually, token
from ..signaling.clients import (
    Watcher,
    answer,
    local_offer,
    post_sdp,
    publisher_pc,
    viewer_pc,
)

ROOM = "thailand"
LOOPBACK = {"LIVEROOM_ICE_ADDRESSES": "127.0.0.1", "LIVEROOM_LEG_LINGER": "1"}


async def live(base_url: str, room: str = ROOM) -> bool:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base_url}/api/rooms/{room}") as response:
            return (await response.json())["live"]


async def publish(url: str, peers, **kwargs) -> tuple[object, str]:
    """A pattern publisher over WHIP on `url`; its peer connection and session URL."""
    pc = publisher_pc(**kwargs)
    peers(pc)
    async with aiohttp.ClientSession() as http:
        response = await post_sdp(http, f"{url}/whip/rooms/{ROOM}", await local_offer(pc),
                                  token(ROOM, "host"))
        await answer(pc, response)
        return pc, str(response.url.origin()) + response.headers["Location"]


async def live_origin(start_servers, redis, peers, extra_env: dict | None = None,
                      **publish_kwargs):
    """One instance with the room live on it (a publisher over WHIP): the origin a test opens
    a leg to itself, standing in for another instance."""
    (origin,) = start_servers(redis, n=1, extra_env={**LOOPBACK, **(extra_env or {})})
    await create_room(origin.url)
    await publish(origin.url, peers, **publish_kwargs)
    await eventually(lambda: live(origin.url), timeout=10, what="live")
    return origin


def open_leg(http: aiohttp.ClientSession, base_url: str, **kwargs):
    """A leg of the room from the instance at `base_url`, signed with the instances' secret as
    instance b0b0 (`async with` it, or await it)."""
    return http.ws_connect(f"{base_url}/internal/media/legs/{ROOM}", headers={
        "Authorization": leg_auth.header(SECRET, ROOM, "b0b0")}, **kwargs)


async def play(url: str, peers) -> tuple[Watcher, str]:
    """A WHEP player on `url` that decodes the pattern; its watcher and session URL."""
    pc = viewer_pc()
    peers(pc)
    async with aiohttp.ClientSession() as http:
        response = await post_sdp(http, f"{url}/whep/rooms/{ROOM}", await local_offer(pc))
        await answer(pc, response)
        return Watcher(pc), url + response.headers["Location"]


async def stop(session_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.delete(session_url) as response:
            assert response.status == 200, await response.text()


async def metrics(url: str) -> dict[tuple[str, tuple], float]:
    """Every sample an instance exports: (name, sorted labels) -> value."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/metrics") as response:
            text = await response.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def sample(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def instance_id(url: str) -> str:
    samples = await metrics(url)
    return next(dict(labels)["instance"] for (name, labels) in samples if name == "liveroom_info")


def session_instance(session_url: str) -> str:
    return session_url.rsplit("/", 1)[1].rsplit("-", 1)[0]


# Fixtures of the tests with in-process peers (conftest.py of tests/multi and tests/hls offer
# them): this process's peers gather loopback candidates only; peers are closed after a test.
@pytest.fixture
def loopback_peers():
    restrict_host_addresses(["127.0.0.1"])
    yield
    restrict_host_addresses([])


@pytest.fixture
async def peers():
    opened = []
    yield opened.append
    for pc in opened:
        await pc.close()
