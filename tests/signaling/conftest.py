"""Media tests: the whole app on a real 127.0.0.1 port, real aiortc peers on loopback."""

from __future__ import annotations

import gc

import aiohttp
import pytest

from signaling.keys import REGISTRY

# The server, and the test's own peers (aioice's choice is per process), offer loopback
# addresses only.
MEDIA = {"ice_addresses": ("127.0.0.1",)}


@pytest.fixture
def engine_kind():
    """Media does not depend on the engine beyond engine/media.py, whose contract runs on both
    (tests/engine/test_media_contract.py): the memory engine here, unless a test asks."""
    return "memory"


@pytest.fixture
async def media_server(server):
    async def start(**overrides):
        srv = await server(**{**MEDIA, **overrides})
        srv.registry = srv.app[REGISTRY]
        return srv

    return start


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def peers():
    """Peer connections a test opens; all closed at its end."""
    opened = []

    def track(pc):
        opened.append(pc)
        return pc

    yield track
    for pc in opened:
        await pc.close()


@pytest.fixture(autouse=True)
def collect_garbage():
    """Collect a test's peer connections now: their finalizers running in a later garbage
    collection, in the middle of CPython 3.11 compiling a module, trip its AST recursion
    check ("AST constructor recursion depth mismatch")."""
    yield
    gc.collect()
