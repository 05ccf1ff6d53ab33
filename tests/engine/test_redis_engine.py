"""What only the Redis engine has to do: several instances on one Redis, and surviving Redis
itself misbehaving (restarts, cut subscribers, lost data). Real Redis servers throughout; the
fault tests start private ones so they can stop and reconfigure them."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from urllib.parse import urlsplit

import pytest

from liveroom.domain.codec import pack
from liveroom.engine import create_engine
from liveroom.engine.redis_keys import RoomKeys
from liveroom.engine.redis_scripts import _source

from ..conftest import Recorder, demo_room
from ..helpers import RedisServer, eventually


@pytest.fixture
async def instances(make_settings):
    """Start Redis engines as separate instances (each its own instance id)."""
    started = []

    async def start(n=1, **overrides):
        engines = []
        for _ in range(n):
            engine = create_engine(make_settings("redis", **overrides).core)
            engine.broker.attach(Recorder())
            await engine.start()
            started.append(engine)
            engines.append(engine)
        return engines

    yield start
    for engine in started:
        await engine.close()


async def test_events_published_on_one_instance_reach_another(instances):
    a, b = await instances(2)
    await b.broker.subscribe("r")
    for i in range(20):
        await a.broker.publish("r", {"type": "t", "n": i})
    await eventually(lambda: len(b.broker.handler.events) == 20, what="20 events on b")
    assert b.broker.handler.seqs("r") == list(range(1, 21))


async def test_the_media_sweep_visits_a_room_only_while_a_slot_is_held(instances):
    (engine,) = await instances(1)
    await engine.store.create_room(demo_room())
    claim = {"slot": "host", "session": "s1", "user_id": "siam", "name": "Siam",
             "instance": "me", "url": "http://127.0.0.1:1", "source": "browser",
             "replaceable": False, "video": "VP8", "audio": "opus"}

    async def listed() -> bool:
        return await engine.redis.sismember(engine.broker.keyspace.media_rooms, "thailand") == 1

    assert await engine.media.claim("thailand", claim, 30) is None
    await engine.media.sweep()
    assert await listed()  # held: every instance's sweep must look for it lapsing
    await engine.media.release("thailand", "host", "s1", "stopped")
    await engine.media.sweep()
    assert not await listed()
    assert await engine.media.claim("thailand", {**claim, "session": "s2"}, 30) is None
    assert await listed()


async def test_presence_is_shared_and_a_silent_instance_drops_out(instances):
    a, b = await instances(2, heartbeat_interval=0.2, presence_ttl=1.0)
    await a.presence.join("r", "a1", {"user_id": "u1", "role": "viewer"})
    await b.presence.join("r", "b1", {"user_id": "u2", "role": "viewer"})
    await b.presence.join("r", "b2", {"user_id": "u3", "role": "viewer"})
    assert await a.presence.count("r") == 3
    assert await b.presence.count("r") == 3
    # b stops heartbeating without leaving, as a SIGKILLed process would.
    b._heartbeat.cancel()
    await eventually(lambda: _is(a.presence.count("r"), 1), timeout=5,
                     what="b's viewers to drop out of the count")
    # a keeps heartbeating: its viewer stays counted well past the TTL.
    await asyncio.sleep(1.5)
    assert await a.presence.count("r") == 1


async def test_an_instance_registers_its_rows_again_after_they_were_lost(instances, make_settings):
    (a,) = await instances(1, heartbeat_interval=0.2, presence_ttl=1.0)
    await a.presence.join("r", "a1", {"user_id": "u1", "role": "viewer"})
    keys = a.broker.keys("r")
    # As if Redis lost them.
    await a.redis.delete(keys.presence, keys.presence_instances, keys.presence_users)
    assert await a.presence.count("r") == 0
    await eventually(lambda: _is(a.presence.count("r"), 1), timeout=5,
                     what="the instance to restore its presence rows")


async def test_a_subscriber_cut_for_falling_behind_heals_from_history(private_redis, make_settings):
    """Redis disconnects a subscriber whose output buffer passes its limit, silently dropping
    what was queued; the sequence numbers reveal the gap and history fills it."""
    private_redis.client().config_set("client-output-buffer-limit", "pubsub 256kb 0 0")
    engine = create_engine(make_settings("redis", redis_url=private_redis.url,
                                         history_size=5000).core)
    recorder = Recorder()
    engine.broker.attach(recorder)
    await engine.start()
    try:
        await engine.broker.subscribe("r")
        subscriber = _subscriber_id(private_redis)
        # Freeze this instance's event loop while another process floods the room.
        total = 3000
        publisher = threading.Thread(target=_flood, args=(private_redis, engine.broker.keys("r"), total, 5000))
        publisher.start()
        time.sleep(0.1)
        publisher.join()
        assert _subscriber_id(private_redis) != subscriber, "Redis did not cut the subscriber"
        await eventually(lambda: len(recorder.events) >= total, timeout=20,
                         what="every event after the cut")
        assert recorder.seqs("r") == list(range(1, total + 1))
        assert recorder.resets == []
    finally:
        await engine.close()


async def test_a_gap_older_than_history_resets_the_room(private_redis, make_settings):
    private_redis.client().config_set("client-output-buffer-limit", "pubsub 256kb 0 0")
    engine = create_engine(make_settings("redis", redis_url=private_redis.url, history_size=100).core)
    recorder = Recorder()
    engine.broker.attach(recorder)
    await engine.start()
    try:
        await engine.broker.subscribe("r")
        publisher = threading.Thread(target=_flood, args=(private_redis, engine.broker.keys("r"), 3000, 100))
        publisher.start()
        time.sleep(0.1)
        publisher.join()
        await eventually(lambda: recorder.resets, timeout=20, what="a reset")
        room, position = recorder.resets[0]
        assert room == "r"
        # Delivery goes on after the reset position, in order.
        await engine.broker.publish("r", {"type": "after"})
        await eventually(lambda: recorder.events and recorder.events[-1][2]["type"] == "after",
                         what="the next event")
        assert recorder.events[-1][1] == 3001
        after_reset = [seq for _, seq, _ in recorder.events if seq > position.seq]
        assert after_reset == list(range(position.seq + 1, 3002))
    finally:
        await engine.close()


async def test_a_restarted_redis_is_reconnected_and_nothing_is_lost(private_redis, make_settings):
    a = create_engine(make_settings("redis", redis_url=private_redis.url).core)
    b = create_engine(make_settings("redis", redis_url=private_redis.url).core)
    for engine in (a, b):
        engine.broker.attach(Recorder())
        await engine.start()
    try:
        await b.broker.subscribe("r")
        await a.broker.publish("r", {"type": "t", "n": 0})
        await eventually(lambda: b.broker.handler.events, what="first event")
        private_redis.stop()
        await eventually(lambda: not b.broker.connected.is_set(), what="b noticing")
        private_redis.start()  # same port, same append-only file
        await eventually(lambda: _ready(a), timeout=10, what="a reconnecting")
        for i in range(1, 6):
            await a.broker.publish("r", {"type": "t", "n": i})
        await eventually(lambda: len(b.broker.handler.events) == 6, timeout=10,
                         what="events after the restart")
        assert b.broker.handler.seqs("r") == [1, 2, 3, 4, 5, 6]
        assert b.broker.handler.resets == []
    finally:
        await a.close()
        await b.close()


async def test_a_redis_that_lost_its_data_resets_subscribed_rooms(private_redis, make_settings):
    a = create_engine(make_settings("redis", redis_url=private_redis.url).core)
    a.broker.attach(Recorder())
    await a.start()
    try:
        await a.broker.subscribe("r")
        await a.broker.publish("r", {"type": "t"})
        await eventually(lambda: a.broker.handler.events, what="first event")
        private_redis.stop()
        shutil.rmtree(private_redis.dir)  # the data is gone
        private_redis.dir.mkdir()
        private_redis.start()
        await eventually(lambda: a.broker.handler.resets, timeout=10, what="a reset")
        await a.broker.publish("r", {"type": "t", "n": "new life"})
        await eventually(lambda: a.broker.handler.events[-1][2].get("n") == "new life",
                         what="delivery in the new epoch")
        assert a.broker.handler.events[-1][1] == 1
    finally:
        await a.close()


async def test_redis_unreachable_at_start_is_a_clear_error(make_settings):
    from liveroom.domain.errors import EngineUnavailable

    from ..helpers import free_port

    engine = create_engine(make_settings("redis", redis_url=f"redis://127.0.0.1:{free_port()}").core)
    with pytest.raises(EngineUnavailable, match="unreachable"):
        await engine.start()
    await engine.close()


# --- helpers --------------------------------------------------------------------------------
async def _is(awaitable, expected) -> bool:
    return await awaitable == expected


async def _ready(engine) -> bool:
    try:
        await engine.ping()
        return True
    except Exception:
        return False


def _subscriber_id(server: RedisServer) -> int | None:
    """The client id of the (only) engine's pub/sub connection, None if it has none."""
    for client in server.client().client_list():
        if client["name"].startswith("liveroom-sub-"):
            return int(client["id"])
    return None


def _flood(server: RedisServer, keys: RoomKeys, count: int, history_size: int) -> None:
    """Publish `count` 4 KB events the way the engine does, from a plain synchronous client."""
    client = server.client()
    script = client.register_script(_source("prelude") + "\n" + _source("publish"))
    body = pack({"type": "t", "pad": "x" * 4096})
    # Block the subscriber's loop: this thread runs while the test's loop sleeps in time.sleep.
    pipe = client.pipeline(transaction=False)
    for _ in range(count):
        script(keys=keys.stream, args=[keys.channel, history_size, "e0", body], client=pipe)
    pipe.execute()
    client.close()


async def test_scripts_flushed_from_redis_are_loaded_again(instances):
    (a,) = await instances(1)
    await a.broker.publish("r", {"type": "t"})
    await a.redis.script_flush()  # what a Redis restart or SCRIPT FLUSH does to the cache
    results = await asyncio.gather(*(a.broker.publish("r", {"type": "t"}) for _ in range(5)))
    assert sorted(results) == [2, 3, 4, 5, 6]


async def test_a_message_of_a_stale_epoch_is_dropped_not_synced_forever(instances):
    (a,) = await instances(1)
    await a.broker.subscribe("r")
    await a.broker.publish("r", {"type": "t", "n": 1})
    stale = pack(["an-old-epoch", 99, {"type": "t", "n": "stale"}])
    await a.redis.publish(a.broker.keys("r").channel, stale)
    await a.broker.publish("r", {"type": "t", "n": 2})
    recorder = a.broker.handler
    await eventually(lambda: [e["n"] for _, _, e in recorder.events] == [1, 2],
                     what="the real events, without the stale one")
    await eventually(lambda: a.broker._streams["r"].sync_task is None, what="syncing to end")
    assert recorder.resets == []


async def test_reloading_flushed_scripts_runs_no_call_twice(instances):
    """A batch where one script is known and another was flushed: only the refused call runs
    again, so the known one takes effect once."""
    (a,) = await instances(1)
    await a.broker.publish("r", {"type": "t"})  # publish is loaded
    await a.redis.script_flush()
    await a.broker.publish("r", {"type": "t"})  # loads publish again
    seqs = await asyncio.gather(
        a.broker.publish("r", {"type": "t"}),  # known
        a.broker.position("r"),  # flushed: NOSCRIPT, loaded, run again
    )
    assert seqs[0] == 3
    assert (await a.broker.position("r")).seq == 3


class _ReplyHoldingProxy:
    """A TCP proxy to Redis that, once armed, forwards the next script call but holds its
    reply back until released: the script ran, its caller waits past its socket timeout."""

    def __init__(self, redis_port: int) -> None:
        self._redis_port = redis_port
        self.armed = False
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def _serve(self, client_reader, client_writer) -> None:
        redis_reader, redis_writer = await asyncio.open_connection("127.0.0.1", self._redis_port)
        slowed = False  # this connection sent the script call the proxy was armed for

        async def requests() -> None:
            nonlocal slowed
            while data := await client_reader.read(65536):
                if self.armed and b"EVALSHA" in data:
                    self.armed, slowed = False, True
                redis_writer.write(data)

        async def replies() -> None:
            nonlocal slowed
            while data := await redis_reader.read(65536):
                if slowed:
                    slowed = False
                    self.held.set()
                    await self.release.wait()
                client_writer.write(data)

        await asyncio.gather(requests(), replies(), return_exceptions=True)
        client_writer.close()
        redis_writer.close()

    async def close(self) -> None:
        self.release.set()
        self._server.close()


async def test_a_script_call_that_timed_out_is_not_sent_again(instances, redis_url):
    """A publish that Redis ran but whose reply came too late fails with EngineUnavailable; it
    is not sent again behind the caller's back (that would be a second chat message)."""
    from liveroom.domain.errors import EngineUnavailable
    from liveroom.engine.redis_connect import SOCKET_TIMEOUT

    real = urlsplit(redis_url)
    proxy = _ReplyHoldingProxy(real.port)
    port = await proxy.start()
    try:
        # No heartbeat meanwhile: the next script call is the test's own.
        (a,) = await instances(1, redis_url=real._replace(netloc=f"127.0.0.1:{port}").geturl(),
                               heartbeat_interval=3600)
        assert await a.broker.publish("r", {"type": "t"}) == 1
        proxy.armed = True
        started = time.monotonic()
        with pytest.raises(EngineUnavailable):
            await a.broker.publish("r", {"type": "t"})
        assert proxy.held.is_set() and time.monotonic() - started >= SOCKET_TIMEOUT * 0.9
        proxy.release.set()
        assert (await a.broker.position("r")).seq == 2  # it ran, once
    finally:
        await proxy.close()


async def test_a_stream_that_went_back_resets_its_followers_instead_of_skipping(instances):
    # What a failover that lost the old primary's last writes leaves: the counter behind what
    # was delivered, so new events reuse delivered sequence numbers.
    a, b = await instances(2)
    await b.broker.subscribe("r")
    for i in range(5):
        await a.broker.publish("r", {"type": "t", "n": i})
    await eventually(lambda: b.broker.handler.seqs("r") == [1, 2, 3, 4, 5], what="5 events")
    await a.redis.set(a.broker.keys("r").seq, 2)
    await a.broker.publish("r", {"type": "t", "n": "after"})  # seq 3 again, another event
    await b.broker.audit()
    await eventually(lambda: b.broker.handler.resets, what="a reset of the room")
    assert b.broker.handler.resets[-1][1].seq == 3
    await a.broker.publish("r", {"type": "t", "n": "next"})
    await eventually(lambda: b.broker.handler.events[-1][2]["n"] == "next", what="delivery")
    assert b.broker.handler.events[-1][1] == 4
