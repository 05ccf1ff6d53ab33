"""Fixtures that start real `liveroom serve` processes."""

from __future__ import annotations

import pytest

from ..helpers import ServerProcess
from .cascade import loopback_peers, peers  # noqa: F401  (the media tests' fixtures)


@pytest.fixture
def start_servers():
    started: list[ServerProcess] = []

    def start(redis, n: int = 2, **kwargs) -> list[ServerProcess]:
        servers = [ServerProcess(redis, **kwargs).start() for _ in range(n)]
        started.extend(servers)
        return servers

    yield start
    for server in started:
        server.stop()
