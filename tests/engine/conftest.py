"""The engine contract runs on every engine configuration: embedded, one Redis, Redis behind
Sentinel (a primary, two replicas, three sentinels) and a Redis Cluster (tests/ha/servers.py)."""

from __future__ import annotations

import pytest

CONFIGURATIONS = ["memory", "redis", "sentinel", "cluster"]


@pytest.fixture(params=CONFIGURATIONS)
def engine_kind(request):
    return request.param
