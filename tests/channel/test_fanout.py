"""The fan-out's promise: each event encoded once per instance, the same bytes written to every
local socket, events queued in one loop turn joined into one write."""

from __future__ import annotations

import asyncio

import aiohttp

from liveroom.channel.connection import Connection
from liveroom.channel.fanout import Fanout
from liveroom.client import RoomClient
from liveroom.domain.auth import Identity
from liveroom.engine import create_engine

from ..conftest import demo_room
from ..helpers import eventually, token


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return False

    def abort(self) -> None:
        raise AssertionError("nobody should be cut off here")


def _connection(user: str, fmt: str = "json") -> tuple[Connection, RecordingTransport]:
    transport = RecordingTransport()
    conn = Connection(
        None, transport, room="thailand", fmt=fmt,
        identity=Identity(user_id=user, name=user, role="viewer", room="thailand"),
        send_buffer_bytes=1 << 20, commands_per_second=10,
    )
    return conn, transport


async def _joined_fanout(engine, sockets):
    fanout = Fanout(engine)
    await engine.start()
    await engine.store.create_room(demo_room())
    for conn, _ in sockets:
        await fanout.join(conn, None)
    return fanout


async def test_every_local_socket_is_written_the_very_same_bytes(engine_kind, make_settings):
    engine = create_engine(make_settings(engine_kind).core)
    sockets = [_connection(f"u{i}") for i in range(3)] + [_connection("m", "msgpack")]
    fanout = await _joined_fanout(engine, sockets)
    try:
        joined = [len(t.writes) for _, t in sockets]
        for n in range(3):
            await engine.broker.publish("thailand", {"type": "t", "n": n})
        await eventually(lambda: sum(w.count(b'"type":"t"') for w in sockets[0][1].writes) == 3,
                         what="three events on the first socket")
        writes = [t.writes[j:] for (_, t), j in zip(sockets, joined)]
        for same in zip(*writes[:3]):
            assert same[0] is same[1] is same[2]  # encoded once, one object for all
        assert b"".join(writes[3]) != b"".join(writes[0])  # msgpack has its own encoding
    finally:
        await fanout.stop()
        await engine.close()


async def test_events_of_one_loop_turn_go_out_in_one_write(make_settings):
    engine = create_engine(make_settings("memory").core)
    sockets = [_connection(f"u{i}") for i in range(3)]
    fanout = await _joined_fanout(engine, sockets)
    try:
        joined = [len(t.writes) for _, t in sockets]
        for n in range(3):  # no await in between: one loop turn
            engine.broker.publish_now("thailand", {"type": "t", "n": n})
        await eventually(lambda: all(len(t.writes) > j for (_, t), j in zip(sockets, joined)),
                         what="a write on every socket")
        bursts = [t.writes[j:] for (_, t), j in zip(sockets, joined)]
        assert [len(b) for b in bursts] == [1, 1, 1]
        assert bursts[0][0].count(b'"type":"t"') == 3
    finally:
        await fanout.stop()
        await engine.close()


async def test_frames_of_every_length_class_arrive_intact(server):
    """RFC 6455 has three length encodings (7-bit, 16-bit, 64-bit); all must parse."""
    srv = await server()
    async with RoomClient(srv.base_url, "thailand", token=token("thailand")) as client:
        for size in (0, 100, 125, 126, 65_535, 65_536, 300_000):
            await srv.app_engine.broker.publish("thailand",
                                                {"type": "test.blob", "pad": "y" * size})
            event = await client.next_event("test.blob")
            assert event["pad"] == "y" * size


async def test_a_late_joiner_sees_each_event_once_whatever_the_timing(server):
    """Joins racing a stream of events: every joiner's view continues its snapshot exactly."""
    srv = await server()
    published: list[tuple[int, int]] = []  # (seq, n)
    publisher = asyncio.create_task(_publish_steadily(srv, 200, published))
    joiners = []
    try:
        for i in range(10):
            client = RoomClient(srv.base_url, "thailand", token=token("thailand", user=f"j{i}"))
            await client.connect()
            joiners.append(client)
            await asyncio.sleep(0.005)
        await publisher
        for client in joiners:
            numbers: list[int] = []
            while not numbers or numbers[-1] < 199:
                numbers.append((await client.next_event("test.n"))["n"])
            # What was published before its snapshot it never sees; the rest exactly once.
            expected = [n for seq, n in published if seq > client.snapshot["seq"]]
            assert numbers == expected
    finally:
        for client in joiners:
            await client.close()


async def _publish_steadily(srv, count: int, published: list) -> None:
    for n in range(count):
        seq = await srv.app_engine.broker.publish("thailand", {"type": "test.n", "n": n})
        published.append((seq, n))
        await asyncio.sleep(0.001)


async def test_the_http_server_still_answers_plain_requests_during_fanout(server):
    srv = await server()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{srv.base_url}/healthz") as response:
            assert response.status == 200


async def test_a_room_left_and_joined_again_at_once_keeps_its_subscription(
    engine_kind, make_settings
):
    """Retiring an idle room unsubscribes it; a join racing that must end up subscribed."""
    engine = create_engine(make_settings(engine_kind).core)
    fanout = Fanout(engine, idle_grace=0)
    await engine.start()
    try:
        await engine.store.create_room(demo_room())
        for _ in range(20):
            conn, _transport = _connection("u")
            await fanout.join(conn, None)
            fanout.leave(conn)
            await asyncio.sleep(0)  # let the retire timer fire and start unsubscribing
        conn, transport = _connection("u")
        await fanout.join(conn, None)
        await engine.broker.publish("thailand", {"type": "t", "n": "last"})
        await eventually(lambda: any(b'"n":"last"' in w for w in transport.writes),
                         what="the event after all that churn")
    finally:
        await fanout.stop()
        await engine.close()
