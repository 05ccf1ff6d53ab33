"""A Redis that is slow, not down (DEBUG SLEEP on a private redis-server): readiness says so
within its bound, requests and commands are refused within LIVEROOM_REQUEST_TIMEOUT instead of
hanging, and /metrics shows the engine's latency."""

from __future__ import annotations

import time

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from liveroom.client import CommandError, RoomClient

from ..helpers import (
    RedisServer,
    ServerProcess,
    create_room,
    eventually,
    redis_stalled,
    stall_redis,
    token,
)

pytestmark = pytest.mark.multi
ROOM = "thailand"


async def _timed(http: aiohttp.ClientSession, url: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    async with http.get(url) as response:
        return response.status, await response.json(), time.monotonic() - started


async def _samples(http: aiohttp.ClientSession, base: str) -> dict[tuple, float]:
    text = await (await http.get(f"{base}/metrics")).text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_a_slow_redis_shows_in_readiness_and_metrics_and_requests_do_not_hang():
    redis = RedisServer("--enable-debug-command", "local")
    redis.start()
    server = ServerProcess(redis, extra_env={"LIVEROOM_REQUEST_TIMEOUT": "1"})
    client = None
    try:
        server.start()
        async with aiohttp.ClientSession() as http:
            await create_room(server.url, ROOM)
            client = await RoomClient(server.url, ROOM, token=token(ROOM, user="ann"),
                                      reconnect=False).connect()

            stall = stall_redis(redis.port, 5)
            await eventually(lambda: redis_stalled(redis.port), what="Redis to stall")
            status, body, took = await _timed(http, f"{server.url}/readyz")
            assert (status, body["status"]) == (503, "unavailable") and took < 3  # ping: 2 s
            status, body, took = await _timed(http, f"{server.url}/api/rooms/{ROOM}")
            assert (status, body["error"]["code"]) == (503, "unavailable") and took < 2
            started = time.monotonic()
            with pytest.raises(CommandError) as refused:
                await client.chat("anyone there?")
            assert refused.value.code == "unavailable" and time.monotonic() - started < 2

            samples = await _samples(http, server.url)  # /metrics needs no Redis
            slow = samples[("liveroom_engine_latency_seconds_count", (("operation", "ping"),))] \
                - samples[("liveroom_engine_latency_seconds_bucket",
                           (("le", "1.0"), ("operation", "ping")))]
            assert slow >= 1, "a ping over a second"
            assert samples[("liveroom_command_duration_seconds_bucket",
                            (("command", "chat.send"), ("le", "0.5")))] == 0
            await eventually(lambda: _engine_up(http, server.url, 0),
                             what="the probe to report the engine down")

            stall.join()
            status, _, _ = await _timed(http, f"{server.url}/readyz")
            assert status == 200
            await eventually(lambda: _engine_up(http, server.url, 1), what="engine up again")
            assert (await client.chat("back"))["seq"]
    finally:
        if client is not None:
            await client.close()
        server.stop()
        redis.cleanup()


async def _engine_up(http, base: str, expected: int) -> bool:
    return (await _samples(http, base))[("liveroom_engine_up", ())] == expected
