"""Shared fixtures. Anything marked with an engine runs against both engines, the Redis one
against a real Redis server: LIVEROOM_TEST_REDIS_URL, else 127.0.0.1:6379 database 9, else a
private redis-server started for the session. With none of these the tests fail; they never skip.

Each test that uses the shared Redis gets a namespace of its own (LIVEROOM_REDIS_NAMESPACE), so
tests never see each other's keys, nothing needs flushing, and two suites can run at once on one
Redis. The run's keys are deleted when it ends."""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import shutil
from pathlib import Path

import pytest
import redis

from liveroom.config import Settings
from liveroom.domain.models import product_from_input, room_from_input
from liveroom.engine import create_engine
from liveroom.server.app import create_app
from liveroom.server.settings import ServerSettings

from .ha.servers import Cluster, SentinelGroup
from .helpers import SECRET, RedisServer, SharedRedis

ENGINES = ["memory", "redis"]
pytest_plugins = ["tests.never_skip"]


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("LIVEROOM_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.ConnectionError as exc:
        if shutil.which("redis-server") is None:
            pytest.fail(
                f"the tests need a real Redis and none answers at {url} ({exc}); install "
                "redis-server or point LIVEROOM_TEST_REDIS_URL at one", pytrace=False,
            )
        server = RedisServer()
        server.start()
        yield server.url
        server.cleanup()
        return
    yield url


@pytest.fixture
def private_redis():
    """A redis-server of this test's own, for tests that stop, restart or reconfigure it."""
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


def _start_ha(make):
    """A highly available Redis for the session; missing binaries fail the run, never skip."""
    try:
        return make().start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def sentinel_group():
    """A primary, two replicas and three sentinels for the session (tests/ha/servers.py). A
    test that kills a node revives it before it ends."""
    group = _start_ha(SentinelGroup)
    yield group
    group.cleanup()


@pytest.fixture(scope="session")
def redis_cluster():
    """A six-node Redis Cluster (three primaries, three replicas) for the session."""
    cluster = _start_ha(Cluster)
    yield cluster
    cluster.cleanup()


RUN = secrets.token_hex(3)  # this test run, so that two runs on one Redis never meet
_namespaces = itertools.count(1)


@pytest.fixture(scope="session")
def _run_keys(redis_url):
    """At the end of the run, delete every key its tests left (servers may still write while
    a test's fixtures are torn down, so this waits for the end)."""
    yield
    client = redis.Redis.from_url(redis_url)
    doomed = list(client.scan_iter(match=f"t{RUN}-*", count=1000))
    for start in range(0, len(doomed), 1000):
        client.unlink(*doomed[start:start + 1000])
    client.close()


@pytest.fixture
def shared_redis(redis_url, _run_keys):
    """The shared test Redis, with a namespace of this test's own."""
    return SharedRedis(redis_url, f"t{RUN}-{next(_namespaces)}")


@pytest.fixture(params=ENGINES)
def engine_kind(request):
    return request.param


@pytest.fixture
def make_settings(tmp_path: Path, request):
    """Settings for one engine kind; Redis ones in the test's own namespace."""

    namespaces: dict[str, str] = {}

    def make(kind: str, **overrides) -> ServerSettings:
        settings = ServerSettings(core=Settings(secret=SECRET, data_dir=tmp_path / "data"))
        if kind == "redis":
            shared = request.getfixturevalue("shared_redis")
            settings = settings.replace(redis_url=shared.url, redis_namespace=shared.namespace)
        elif kind in ("sentinel", "cluster"):
            ha = request.getfixturevalue("sentinel_group" if kind == "sentinel"
                                         else "redis_cluster")
            # One namespace per test, as shared_redis gives: two engines of a test share it.
            namespace = namespaces.setdefault(kind, f"t{RUN}-{next(_namespaces)}")
            settings = settings.replace(redis_url=ha.url, redis_namespace=namespace)
        return settings.replace(**overrides)

    return make


class Recorder:
    """An engine handler that records what the broker delivers."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, dict]] = []
        self.resets: list[tuple[str, object]] = []
        self.changed = asyncio.Event()

    def on_event(self, room, seq, event):
        self.events.append((room, seq, event))
        self.changed.set()

    def on_reset(self, room, position):
        self.resets.append((room, position))
        self.changed.set()

    def seqs(self, room: str) -> list[int]:
        return [seq for r, seq, _ in self.events if r == room]


@pytest.fixture
async def engine(engine_kind, make_settings):
    eng = create_engine(make_settings(engine_kind).core)
    eng.broker.attach(Recorder())
    await eng.start()
    yield eng
    await eng.close()


def demo_room(room_id: str = "thailand", **fields) -> dict:
    return room_from_input({
        "id": room_id, "title": "Thailand live", "country": "Thailand", "country_code": "TH",
        "host_name": "Siam Orchard", **fields,
    })


def demo_product(product_id: str = "durian", **fields) -> dict:
    return product_from_input({
        "id": product_id, "name": "Monthong durian", "price": "890.00", "currency": "THB",
        "stock": 100, "origin": "Thailand", **fields,
    })


@pytest.fixture
async def room(engine) -> str:
    await engine.store.create_room(demo_room())
    await engine.store.put_product("thailand", demo_product(), create=True)
    await engine.store.put_product("thailand", demo_product("mango", name="Mango"), create=True)
    return "thailand"


@pytest.fixture
async def server(engine_kind, make_settings, aiohttp_server):
    """A real HTTP server on 127.0.0.1 running the whole app on one engine, with a room."""

    async def start(**overrides):
        app = create_app(make_settings(engine_kind, **overrides))
        srv = await aiohttp_server(app)
        from liveroom.engine import ENGINE

        store = app[ENGINE].store
        await store.create_room(demo_room())
        await store.put_product("thailand", demo_product(), create=True)
        await store.put_product("thailand", demo_product("mango", name="Mango"), create=True)
        srv.base_url = str(srv.make_url("")).rstrip("/")
        srv.app_engine = app[ENGINE]
        return srv

    return start
