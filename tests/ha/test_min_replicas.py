"""LIVEROOM_REDIS_MIN_REPLICAS: a buy is acknowledged only once its order is on that many
replicas (of the primary behind Sentinel; of the room's shard primary on a cluster); when they
do not confirm in time the buyer is told not_replicated, and the retry with the same
idempotency key returns the same order, never a second."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

import pytest

from liveroom.domain.errors import LiveroomError
from liveroom.domain.sales import new_product_order
from liveroom.engine import create_engine

from ..conftest import Recorder, demo_product, demo_room

ROOM = "thailand"


@pytest.fixture(params=["sentinel", "cluster"])
def deployment(request):
    """(kind, the deployment, a function giving the replicas of the primary holding a key)."""
    if request.param == "sentinel":
        group = request.getfixturevalue("sentinel")

        def replicas(_key: str):
            primary = group.primary()
            return [n for n in group.nodes if n is not primary]
        return "sentinel", group, replicas
    cluster = request.getfixturevalue("cluster")

    def shard_replicas(key: str):
        primary = cluster.node_of(key)
        return [n for n in cluster.nodes if n.alive and n is not primary
                and n.client().info("replication").get("master_port") == primary.port]
    return "cluster", cluster, shard_replicas


@pytest.fixture
async def engine(deployment, make_settings):
    kind, _servers, replicas = deployment
    settings = make_settings(kind, redis_wait_timeout=0.3).core
    # Every replica the room's primary has: a stalled one cannot be made up for by another.
    wanted = len(replicas(f"{settings.redis_namespace}:{{{ROOM}}}:orders"))
    eng = create_engine(replace(settings, redis_min_replicas=wanted))
    eng.broker.attach(Recorder())
    await eng.start()
    await eng.store.create_room(demo_room())
    await eng.store.put_product(ROOM, demo_product(stock=10), create=True)
    yield eng
    await eng.close()


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


async def test_an_acknowledged_buy_is_already_on_the_replicas(engine, deployment):
    kind, _servers, replicas = deployment
    product = await engine.store.get_product(ROOM, "durian")
    result = await engine.sales.buy_product(ROOM, _order(product, "k1"))
    assert result.created
    orders = engine.broker.keys(ROOM).orders
    for replica in replicas(orders):  # every one of them, without waiting
        pipe = replica.client().pipeline(transaction=False)
        if kind == "cluster":
            pipe.execute_command("READONLY")  # a cluster replica answers reads after this
        pipe.hexists(orders, result.order["id"])
        assert pipe.execute()[-1]


async def test_unconfirmed_buy_is_refused_and_its_retry_returns_the_same_order(engine,
                                                                              deployment):
    _kind, _servers, replicas = deployment
    product = await engine.store.get_product(ROOM, "durian")
    stalled = _stall(replicas(engine.broker.keys(ROOM).orders), 1.5)
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
