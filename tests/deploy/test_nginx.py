"""deploy/nginx/ in a real nginx in front of three real instances sharing one Redis: routing,
the room channel through the load balancer, and a rolling restart that loses no viewer's place
and no buy."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import time

import aiohttp
import pytest

from liveroom.client import RoomClient

from ..helpers import admin_token, eventually, redis_stalled, stall_redis, token

pytestmark = pytest.mark.deploy
ROOM = "thailand"
FAST = {"LIVEROOM_CHAT_PER_SECOND": "1000", "LIVEROOM_CHAT_BURST": "1000",
        "LIVEROOM_COMMANDS_PER_SECOND": "1000", "LIVEROOM_DRAIN_TIMEOUT": "10"}


async def _setup_room(http: aiohttp.ClientSession, base: str) -> dict:
    headers = {"Authorization": f"Bearer {admin_token()}"}
    response = await http.post(f"{base}/api/rooms", headers=headers, json={
        "id": ROOM, "title": "Thailand live", "country": "Thailand", "country_code": "TH"})
    assert response.status == 201, await response.text()
    response = await http.post(f"{base}/api/rooms/{ROOM}/products", headers=headers, json={
        "id": "durian", "name": "Durian", "price": "890", "currency": "THB", "stock": 100})
    assert response.status == 201, await response.text()
    response = await http.post(f"{base}/api/rooms/{ROOM}/sales", headers=headers, json={
        "product_id": "durian", "stock": 50, "per_user_limit": 5, "duration": 600})
    assert response.status == 201, await response.text()
    return await response.json()


async def _metric(http: aiohttp.ClientSession, base: str, name: str, **labels: str) -> float:
    """One sample of an instance's /metrics (0 when absent)."""
    text = await (await http.get(f"{base}/metrics")).text()
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        sample, _, value = line.rpartition(" ")
        if sample == (f"{name}{{{want}}}" if labels else name):
            return float(value)
    return 0.0


def _accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


async def test_nginx_routes_the_api_the_room_channel_and_its_own_refusals(deployment):
    dep = deployment(3)
    async with aiohttp.ClientSession() as http:
        await _setup_room(http, dep.url)
        # Every instance gets requests; nginx's request id reaches the instance and comes back.
        instances = set()
        for _ in range(9):
            response = await http.get(f"{dep.url}/readyz")
            assert response.status == 200
            assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])
            instances.add((await response.json())["instance"])
        assert len(instances) == 3

        # A browser on the load balancer's address passes the Origin check (Host is kept).
        origin = {"Origin": dep.url}
        async with http.ws_connect(f"{dep.url}/ws/rooms/{ROOM}", headers=origin) as ws:
            welcome = await ws.receive_json(timeout=5)
            assert welcome["type"] == "welcome"
            assert (await ws.receive_json(timeout=5))["type"] == "snapshot"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{dep.url}/ws/rooms/{ROOM}",
                                  headers={"Origin": "https://evil.example"})
        assert refused.value.status == 403

        # nginx's own refusals speak the API's error format.
        response = await http.post(f"{dep.url}/api/rooms", data=b"x" * (300 * 1024),
                                   headers={"Content-Type": "application/json"})
        assert response.status == 413
        assert (await response.json())["error"]["code"] == "payload_too_large"
        response = await http.get(f"{dep.url}/metrics")
        assert response.status == 404 and (await response.json())["error"]["code"] == "not_found"
        assert (await http.get(f"{dep.servers[0].url}/metrics")).status == 200

    lines = [json.loads(line) for line in dep.nginx.access_log.read_text().splitlines()]
    assert {"request_id", "status", "upstream", "duration"} <= set(lines[0])


async def test_a_draining_instance_moves_its_viewers_through_nginx_without_losing_an_event(
    deployment,
):
    dep = deployment(3, extra_env=FAST)
    http = aiohttp.ClientSession()
    clients: list[RoomClient] = []
    try:
        sale = await _setup_room(http, dep.url)
        # A viewer and five buyers through the load balancer (least_conn spreads them out).
        viewer = RoomClient(dep.url, ROOM, token=token(ROOM, user="watcher"))
        buyers = [RoomClient(dep.url, ROOM, token=token(ROOM, user=f"buyer{i}"))
                  for i in range(5)]
        clients += [viewer, *buyers]
        await viewer.connect()
        for buyer in buyers:
            await buyer.connect()

        instances = {server: await _instance(http, server) for server in dep.servers}
        victim = next(s for s, i in instances.items() if i == viewer.welcome["instance"])
        victims_buyers = [b for b in buyers if b.welcome["instance"] == instances[victim]]
        assert victims_buyers, "least_conn should have put a buyer beside the viewer"
        survivor = next(s for s in dep.servers if s is not victim)
        speaker = RoomClient(survivor.url, ROOM, token=token(ROOM, "moderator", user="host"))
        clients.append(speaker)
        await speaker.connect()

        sent: list[str] = []

        async def say(text: str) -> None:
            await speaker.chat(text)
            sent.append(text)

        for i in range(5):
            await say(f"before-{i}")

        # Redis stalls, so that the buys are still running when SIGTERM arrives.
        stall_redis(dep.redis.port, 3)
        await eventually(lambda: redis_stalled(dep.redis.port), what="Redis to stall")
        acks: dict[int, tuple[dict, int]] = {}

        async def buy(i: int) -> None:
            ack = await buyers[i].buy(sale["id"], 1)
            acks[i] = (ack, buyers[i].reconnects)  # reconnects so far: who answered

        buying = [asyncio.create_task(buy(i)) for i in range(len(buyers))]
        await eventually(
            lambda: _at_least(_metric(http, victim.url, "liveroom_commands_in_flight"),
                              len(victims_buyers)), what="the victim's buys to be in flight")
        stop_chatting = asyncio.Event()
        chatting = asyncio.create_task(_keep_saying(say, "during", stop_chatting))
        terminated = time.monotonic()
        victim.proc.send_signal(signal.SIGTERM)

        # It stops accepting at once, while it still finishes the buys stuck in Redis.
        await eventually(lambda: not _accepting(victim.port), what="the listener to close")
        assert victim.proc.poll() is None, "the victim should still be finishing its buys"

        await asyncio.wait_for(asyncio.gather(*buying), 20)
        await eventually(lambda: viewer.reconnects == 1, timeout=15, what="the viewer to move")
        await eventually(lambda: len([t for t in sent if t.startswith("during")]) >= 5,
                         what="chats after the move")
        stop_chatting.set()
        await chatting  # not cancelled: a chat it was sending would reach the viewer unrecorded
        for i in range(3):
            await say(f"after-{i}")

        # The viewer saw every event once, in order, across the move, and no resync.
        events = []
        while not events or events[-1].get("message", {}).get("text") != "after-2":
            events.append(await viewer.next_event(timeout=10))
        assert all(e["type"] != "snapshot" for e in events)
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
        texts = [e["message"]["text"] for e in events if e["type"] == "chat.message"]
        assert texts == sent
        assert viewer.last_close_code == 1012 and viewer.last_error["code"] == "draining"
        assert viewer.welcome["instance"] in set(instances.values()) - {instances[victim]}

        # Every buy was answered; those in flight on the victim by the victim, before moving.
        await eventually(lambda: all(b.reconnects == 1 for b in victims_buyers),
                         what="the victim's buyers to move")
        for i, buyer in enumerate(buyers):
            ack, reconnects_then = acks[i]
            assert ack["created"]
            if buyer in victims_buyers:
                assert reconnects_then == 0 and buyer.reconnects == 1
        orders = await (await http.get(f"{dep.url}/api/rooms/{ROOM}/orders", headers={
            "Authorization": f"Bearer {admin_token()}"})).json()
        assert sorted(o["id"] for o in orders["orders"]) == sorted(
            a["order"]["id"] for a, _ in acks.values())

        victim.proc.wait(15)
        assert victim.proc.returncode == 0, victim.log.read_text()
        assert time.monotonic() - terminated < 10 + 1  # LIVEROOM_DRAIN_TIMEOUT
        assert "drained in" in victim.log.read_text()
    finally:
        for client in clients:
            await client.close()
        await http.close()


async def _instance(http: aiohttp.ClientSession, server) -> str:
    return (await (await http.get(f"{server.url}/readyz")).json())["instance"]


async def _at_least(value, threshold: float) -> bool:
    return await value >= threshold


async def _keep_saying(say, prefix: str, stop: asyncio.Event) -> None:
    i = 0
    while not stop.is_set():
        await say(f"{prefix}-{i}")
        i += 1
        await asyncio.sleep(0.02)  # pacing, about 50 messages a second
