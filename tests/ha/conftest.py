"""Fixtures for the high-availability tests: real `liveroom serve` processes on a Redis behind
Sentinel or on a Redis Cluster (the session's deployments, tests/conftest.py), each test in a
key namespace of its own, and any node a test killed revived before the next test."""

from __future__ import annotations

import asyncio
import itertools
import secrets

import pytest

from ..helpers import ServerProcess, SharedRedis

_namespaces = itertools.count(1)
RUN = secrets.token_hex(3)

# Chat as fast as the tests send it; short presence timings, as in tests/multi.
FAST = {"LIVEROOM_CHAT_PER_SECOND": "1000", "LIVEROOM_CHAT_BURST": "1000",
        "LIVEROOM_COMMANDS_PER_SECOND": "1000", "LIVEROOM_BUYS_PER_SECOND": "1000"}


@pytest.fixture
def sentinel(sentinel_group):
    """The session's Sentinel group, settled; the nodes a test killed come back after it."""
    sentinel_group.wait_settled()
    yield sentinel_group
    for node in sentinel_group.nodes:
        if not node.alive:
            sentinel_group.revive(node)


@pytest.fixture
def cluster(redis_cluster):
    redis_cluster.wait_settled()
    yield redis_cluster
    for node in redis_cluster.nodes:
        if not node.alive:
            redis_cluster.revive(node)


@pytest.fixture
def start_instances():
    """start(url, n, **env) -> n `liveroom serve` processes on the Redis at `url`, sharing a
    namespace of their own."""
    started: list[ServerProcess] = []

    def start(url: str, n: int = 2, **env: str) -> list[ServerProcess]:
        shared = SharedRedis(url, f"ha{RUN}-{next(_namespaces)}")
        servers = [ServerProcess(shared, extra_env={**FAST, **env}).start() for _ in range(n)]
        started.extend(servers)
        return servers

    yield start
    for server in started:
        server.stop()


async def in_thread(fn, *args):
    """A blocking helper (tests/ha/servers.py) off the event loop, so clients keep reading."""
    return await asyncio.to_thread(fn, *args)
