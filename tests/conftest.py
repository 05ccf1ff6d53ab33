"""Shared fixtures. Anything marked with an engine runs against both engines, the Redis one
against a real Redis server: LIVEROOM_TEST_REDIS_URL, else 127.0.0.1:6379 database 9, else a
private redis-server started for the session. With none of these the tests fail; they never skip."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
import redis

from liveroom.config import Settings
from liveroom.server.settings import ServerSettings
from liveroom.domain.models import product_from_input, room_from_input
from liveroom.engine import create_engine
from liveroom.server.app import create_app

from .helpers import SECRET, RedisServer

ENGINES = ["memory", "redis"]


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


@pytest.fixture
def clean_redis(redis_url):
    """The test Redis database, emptied for this test."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    return redis_url


@pytest.fixture(params=ENGINES)
def engine_kind(request):
    return request.param


@pytest.fixture
def make_settings(tmp_path: Path, redis_url):
    """Settings for one engine kind; the Redis database is emptied on first use per test."""
    flushed = []

    def make(kind: str, **overrides) -> ServerSettings:
        settings = ServerSettings(core=Settings(secret=SECRET, data_dir=tmp_path / "data"))
        if kind == "redis":
            if not flushed:
                client = redis.Redis.from_url(redis_url)
                client.flushdb()
                client.close()
                flushed.append(True)
            settings = settings.replace(redis_url=redis_url)
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
