"""LIVEROOM_REDIS_MIN_REPLICAS: a buy is acknowledged only once its order is on that many
replicas; when they do not confirm in time the buyer is told not_replicated, and the retry with
the same idempotency key returns the same order, never a second."""

from __future__ import annotations

import asyncio
import threading

import pytest

from liveroom.domain.errors import LiveroomError
from liveroom.domain.sales import new_product_order
from liveroom.engine import create_engine

from ..conftest import Recorder, demo_product, demo_room

ROOM = "thailand"


@pytest.fixture
async def engine(sentinel, make_settings):
    eng = create_engine(make_settings("sentinel", redis_min_replicas=2,
                                      redis_wait_timeout=0.3).core)
    eng.broker.attach(Recorder())
    await eng.start()
    await eng.store.create_room(demo_room())
    await eng.store.put_product(ROOM, demo_product(stock=10), create=True)
    yield eng
    await eng.close()


def _replicas(sentinel):
    primary = sentinel.primary()
    return [n for n in sentinel.nodes if n is not primary]


def _stall(nodes, seconds: float) -> list[threading.Thread]:
    """Replicas that stop answering for a while (DEBUG SLEEP), so none confirms a write."""
    threads = [threading.Thread(target=lambda n=n: n.client(socket_timeout=seconds + 5)
                                .execute_command("DEBUG", "SLEEP", seconds)) for n in nodes]
    for thread in threads:
        thread.start()
    return threads


def _order(product: dict, key: str) -> dict:
    return new_product_order(product, room=ROOM, user_id="ann", user_name="Ann", quantity=2,
                             idempotency_key=key, reservation_ttl=900)


async def test_an_acknowledged_buy_is_already_on_the_replicas(engine, sentinel):
    product = await engine.store.get_product(ROOM, "durian")
    result = await engine.sales.buy_product(ROOM, _order(product, "k1"))
    assert result.created
    orders = engine.broker.keys(ROOM).orders
    for replica in _replicas(sentinel):  # both of them, without waiting
        assert replica.client().hexists(orders, result.order["id"])


async def test_unconfirmed_buy_is_refused_and_its_retry_returns_the_same_order(engine, sentinel):
    product = await engine.store.get_product(ROOM, "durian")
    stalled = _stall(_replicas(sentinel), 1.5)
    await asyncio.sleep(0.1)
    with pytest.raises(LiveroomError) as refused:
        await engine.sales.buy_product(ROOM, _order(product, "k2"))
    assert refused.value.code == "not_replicated" and refused.value.status == 503
    await asyncio.to_thread(lambda: [t.join() for t in stalled])
    retried = await engine.sales.buy_product(ROOM, _order(product, "k2"))
    assert not retried.created  # the order the first attempt made, once
    orders = await engine.sales.list_orders(ROOM)
    assert [o["id"] for o in orders] == [retried.order["id"]]
    assert (await engine.store.get_product(ROOM, "durian"))["stock"] == 8
