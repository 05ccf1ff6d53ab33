"""Redis Cluster: rooms spread over the shards by their hash tag, and a shard that fails over
costs only its own rooms a moment."""

from __future__ import annotations

import asyncio
import time

from liveroom.client import RoomClient
from liveroom.engine import create_engine

from ..conftest import Recorder, demo_room
from ..engine.test_redis_room_keys import _busy_room
from ..helpers import create_room, token
from .conftest import in_thread
from .test_sentinel_failover import Follower, _chatter, _until

ROOM = "thailand"


def _keys(cluster, pattern: str) -> list[str]:
    """Every key matching `pattern` on every live node of the cluster."""
    found = []
    for node in cluster.nodes:
        if node.alive and node.client().info("replication")["role"] == "master":
            found += [k.decode() for k in node.client().keys(pattern)]
    return sorted(found)


async def test_a_room_created_used_and_deleted_leaves_no_key_on_any_shard(cluster,
                                                                         make_settings):
    settings = make_settings("cluster").core
    ns = settings.redis_namespace
    engine = create_engine(settings)
    engine.broker.attach(Recorder())
    await engine.start()
    try:
        await engine.broker.subscribe(ROOM)
        order = await _busy_room(engine)  # every kind of key a room has; no CROSSSLOT error
        await engine.store.create_room(demo_room("chile", title="Chile", country="Chile",
                                                 country_code="CL"))
        room_keys = _keys(cluster, f"{ns}:{{{ROOM}}}:*")
        assert len(room_keys) > 20
        shard = cluster.node_of(room_keys[0])
        assert all(cluster.node_of(k) is shard for k in room_keys)  # one shard holds the room
        assert await engine.store.delete_room(ROOM)
        await engine.sales.settle(ROOM, order["id"], "paid", "shop")
        assert await engine.sales.mark_exported(ROOM)
        await engine.sales.set_webhook(ROOM, None)
        await engine.sales.purge_archive(ROOM)
        assert _keys(cluster, f"{ns}:{{{ROOM}}}:*") == []
        await engine.broker.unsubscribe(ROOM)
        assert await engine.store.delete_room("chile")
        await engine.presence.leave_all()
        await engine.media.sweep()  # takes deleted rooms off the media index, as it runs
        assert _keys(cluster, f"{ns}:*") == []  # not a key left, indexes included
    finally:
        await engine.close()


def _rooms_by_shard(cluster, namespace: str, count: int) -> dict[int, list[str]]:
    """Room ids, grouped by the port of the shard primary that holds them."""
    shards: dict[int, list[str]] = {}
    for i in range(count):
        room = f"room{i}"
        shards.setdefault(cluster.node_of(f"{namespace}:{{{room}}}:events").port, []).append(room)
    return shards


async def test_a_killed_shard_primary_pauses_only_its_own_rooms(cluster, start_instances):
    one, two = start_instances(cluster.url)
    namespace = one.redis.namespace
    shards = _rooms_by_shard(cluster, namespace, 12)
    victim = cluster.primaries()[0]
    doomed = shards[victim.port][:2]
    spared = [room for port, rooms in shards.items() if port != victim.port for room in rooms[:1]]
    assert doomed and len(spared) == 2
    followers, chatter = {}, []
    for room in doomed + spared:
        await create_room(one.url, room)
        speaker = RoomClient(one.url, room, token=token(room, "moderator", user="mod"))
        await speaker.connect()
        followers[room] = await Follower(RoomClient(two.url, room,
                                                    token=token(room, user="ann"))).start()
        sent: list = []
        chatter.append((speaker, asyncio.create_task(_chatter(speaker, room, sent))))
    try:
        await _until(lambda: all(len(f.chats) > 10 for f in followers.values()), 15,
                     "chat flowing in every room")
        killed_at = time.monotonic()
        victim.kill()
        await in_thread(cluster.wait_promoted, victim)
        promoted = time.monotonic()
        for room in doomed:  # back after the replica took over
            await _until(lambda: any(at > promoted for at, _ in followers[room].chats), 10,
                         f"chat in {room} after the promotion")
        for room in spared:  # never paused: chat kept arriving all along
            times = [at for at, _ in followers[room].chats if at > killed_at - 1]
            gaps = [b - a for a, b in zip(times, times[1:])]
            # Chat goes every 50 ms: no gap even near the 1 s the shard's failure detection
            # took (sharded pub/sub, and a pipeline per shard in redis_batch.py).
            assert times[-1] > promoted and max(gaps) < 0.5, (room, max(gaps))
    finally:
        for speaker, task in chatter:
            task.cancel()
            await speaker.close()
        for follower in followers.values():
            await follower.close()
    for room, follower in followers.items():
        assert follower.faults == [], (room, follower.faults)
    for room in spared:
        assert followers[room].resyncs == 0, room  # their streams were never in doubt
