"""Draining: an instance told to stop answers what is in flight, sends its clients elsewhere
(error `draining`, close 1012) and exits within LIVEROOM_DRAIN_TIMEOUT. The same behind a real
load balancer is in tests/deploy/test_nginx.py."""

from __future__ import annotations

import asyncio
import re
import signal
import time

import aiohttp
import pytest

from liveroom.channel.commands import COMMANDS, CommandTable
from liveroom.channel.registry import CONNECTIONS
from liveroom.client import RoomClient
from liveroom.lifecycle import LIFECYCLE
from liveroom.metrics import METRICS

from ..helpers import (
    RedisServer,
    ServerProcess,
    create_room,
    eventually,
    redis_stalled,
    stall_redis,
    token,
)

ROOM = "thailand"


@pytest.fixture
def engine_kind():
    return "memory"


async def test_a_draining_instance_is_not_ready_and_refuses_new_clients_before_the_upgrade(
    server,
):
    srv = await server()
    srv.app[LIFECYCLE].begin_drain()
    async with aiohttp.ClientSession() as http:
        response = await http.get(f"{srv.base_url}/readyz")
        assert response.status == 503 and (await response.json())["status"] == "draining"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{srv.base_url}/ws/rooms/{ROOM}")
        assert refused.value.status == 503  # a load balancer tries the next instance


async def test_a_command_in_flight_is_answered_before_the_client_is_sent_elsewhere(server):
    srv = await server()
    release = asyncio.Event()
    slow = CommandTable()

    @slow.command("test.slow", capability=None)
    async def slow_command(ctx, conn, message):
        await release.wait()
        return {"slow": True}

    srv.app[COMMANDS].include(slow)
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{srv.base_url}/ws/rooms/{ROOM}")
        assert (await ws.receive_json())["type"] == "welcome"
        assert (await ws.receive_json())["type"] == "snapshot"
        await ws.send_json({"id": 1, "cmd": "test.slow"})
        metrics = srv.app[METRICS]
        await eventually(lambda: metrics.in_flight._value.get() == 1, what="ping in flight")

        loop = asyncio.get_running_loop()
        drain = asyncio.create_task(srv.app[CONNECTIONS].drain(loop.time() + 5))
        await eventually(lambda: all(c.draining for c in srv.app[CONNECTIONS]),
                         what="the drain to begin")
        await ws.send_json({"id": 2, "cmd": "chat.send", "text": "too late"})
        release.set()
        frames = []
        while (msg := await ws.receive()).type != aiohttp.WSMsgType.CLOSE:
            frames.append(msg.json())
        assert ws.close_code == 1012
        await drain
        # The command in flight is answered first; the one sent after the drain began is
        # refused, to be sent again after reconnecting; the notice comes last but for that.
        assert frames[0] == {"type": "ack", "id": 1, "slow": True}
        assert sorted((f["id"] or 0, f["code"]) for f in frames[1:]) == [
            (0, "draining"), (2, "draining")]


async def test_sigterm_sends_clients_elsewhere_and_exits_cleanly(tmp_path):
    server = ServerProcess(None, data_dir=tmp_path, demo=True).start()
    client = RoomClient(server.url, ROOM, token=token(ROOM, user="ann"))
    await client.connect()
    try:
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        await eventually(lambda: client.last_close_code == 1012, what="the 1012 close")
        assert client.last_error["code"] == "draining"
        assert await asyncio.to_thread(server.proc.wait, 10) == 0
        assert time.monotonic() - started < 5
        assert "drained in" in server.log.read_text()
    finally:
        await client.close()
        server.stop()


async def test_a_drain_that_cannot_finish_is_cut_off_at_its_deadline():
    """A chat stuck in a stalled Redis keeps its connection; at LIVEROOM_DRAIN_TIMEOUT the
    process leaves anyway, with status 1."""
    redis_server = RedisServer("--enable-debug-command", "local")
    redis_server.start()
    server = ServerProcess(redis_server, extra_env={
        "LIVEROOM_DRAIN_TIMEOUT": "1", "LIVEROOM_REQUEST_TIMEOUT": "30"})
    client = None
    try:
        server.start()
        await create_room(server.url, ROOM)
        client = await RoomClient(server.url, ROOM, token=token(ROOM, user="ann"),
                                  reconnect=False).connect()
        stall = stall_redis(redis_server.port, 3)
        await eventually(lambda: redis_stalled(redis_server.port), what="Redis to stall")
        chatting = asyncio.create_task(client.chat("stuck"))
        async with aiohttp.ClientSession() as http:
            async def in_flight():
                text = await (await http.get(f"{server.url}/metrics")).text()
                return "liveroom_commands_in_flight 1.0" in text
            await eventually(in_flight, what="the chat to be in flight")
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(server.proc.wait, 10) == 1
        assert time.monotonic() - started < 2.5
        log = server.log.read_text()
        assert "drain did not finish within 1 s" in log
        # The log names what held the drain up: the connection still waiting on its chat.
        assert re.search(r"still running: .*Task-\d+ at \S+\.py:\d+", log), log
        chatting.cancel()
        stall.join()
    finally:
        if client is not None:
            await client.close()
        server.stop()
        redis_server.cleanup()
