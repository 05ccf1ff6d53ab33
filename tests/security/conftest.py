"""Fixtures of the attack tests: real `liveroom serve` processes, one or several."""

from __future__ import annotations

import pytest

from ..helpers import ServerProcess
from ..multi.conftest import start_servers  # noqa: F401  (several instances on one Redis)


@pytest.fixture
def guarded_server():
    """A real `liveroom serve` (embedded engine) with short guard deadlines."""
    started: list[ServerProcess] = []

    def start(**env: str) -> ServerProcess:
        server = ServerProcess(None, extra_env={
            "LIVEROOM_HEADER_TIMEOUT": "1", "LIVEROOM_BODY_TIMEOUT": "1",
            "LIVEROOM_IDLE_TIMEOUT": "1", **env}).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
