"""After a failover the promoted replica may lack the last events the old primary published, and
numbers new ones with sequence numbers already delivered. A follower must then resynchronise
its clients, never take the new events for ones it has (a silent gap)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from liveroom.engine import create_engine

from ..conftest import Recorder, demo_room
from ..helpers import eventually
from .conftest import in_thread

ROOM = "thailand"


@pytest.fixture(params=["sentinel", "cluster"])
def deployment(request):
    """(kind, servers, the node holding a key, that node's replicas)."""
    servers = request.getfixturevalue(request.param)
    if request.param == "sentinel":
        def primary(_key):
            return servers.primary()

        def replicas(node):
            return [n for n in servers.nodes if n is not node]
    else:
        def primary(key):
            return servers.node_of(key)

        def replicas(node):
            return [n for n in servers.nodes if n.alive and n is not node
                    and n.client().info("replication").get("master_port") == node.port]
    return request.param, servers, primary, replicas


async def test_events_lost_in_a_failover_reset_the_followers(deployment, make_settings):
    kind, servers, primary_of, replicas_of = deployment
    settings = make_settings(kind).core
    a, b = create_engine(settings), create_engine(settings)
    for engine in (a, b):
        engine.broker.attach(Recorder())
        await engine.start()
    try:
        await a.store.create_room(demo_room())
        # A room nobody follows, on the same primary (on a cluster: the same shard).
        home = primary_of(a.broker.keys(ROOM).seq)
        other = next(f"quiet{i}" for i in range(1000)
                     if primary_of(a.broker.keys(f"quiet{i}").seq) is home)
        await a.store.create_room(demo_room(other, title="Quiet", country="Chile",
                                            country_code="CL"))
        quiet = await a.broker.position(other)
        await b.broker.subscribe(ROOM)
        for i in range(3):
            await a.broker.publish(ROOM, {"type": "t", "n": i})
        await eventually(lambda: b.broker.handler.seqs(ROOM) == [1, 2, 3], what="3 events")
        # The replicas stall and lose their links: what follows stays on the primary alone.
        primary = primary_of(a.broker.keys(ROOM).seq)
        stalls = [threading.Thread(target=lambda n=n: n.client(socket_timeout=5)
                                   .execute_command("DEBUG", "SLEEP", 0.8))
                  for n in replicas_of(primary)]
        for thread in stalls:
            thread.start()
        await asyncio.sleep(0.05)
        primary.client().client_kill_filter(_type="replica")
        for i in range(3, 5):
            await a.broker.publish(ROOM, {"type": "t", "n": i})
        await eventually(lambda: b.broker.handler.seqs(ROOM) == [1, 2, 3, 4, 5],
                         what="5 events")
        primary.kill()
        await in_thread(servers.wait_promoted, primary)
        for thread in stalls:
            thread.join()

        async def published(n):  # once the instances reach the new primary
            try:
                await a.broker.publish(ROOM, {"type": "t", "n": n})
                return True
            except Exception:
                return False

        await eventually(lambda: published("after-1"), what="a publish after the failover")
        await a.broker.publish(ROOM, {"type": "t", "n": "after-2"})
        # The new primary numbered these 4 and 5 again (its counter stopped at 3). b has
        # delivered 4 and 5 already: only a reset makes them reach its clients.
        await eventually(lambda: b.broker.handler.resets, timeout=15, what="a reset")
        # The room nobody followed was renewed too: a client coming back to it with a
        # position from before the failover resyncs.
        assert (await a.broker.position(other)).epoch != quiet.epoch
        await a.broker.publish(ROOM, {"type": "t", "n": "after-3"})
        await eventually(lambda: b.broker.handler.events[-1][2]["n"] == "after-3",
                         what="delivery after the reset")
    finally:
        for engine in (a, b):
            await engine.close()
