"""GET /metrics: what an operator's Prometheus sees while people watch, chat and buy."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from liveroom import __version__
from liveroom.channel.connection import Connection
from liveroom.client import CommandError, RoomClient
from liveroom.config import SETTINGS
from liveroom.domain.auth import Identity
from liveroom.metrics import Metrics, set_peer_connections

from .helpers import admin_token, eventually, token

ROOM = "thailand"


@pytest.fixture
def engine_kind():
    """Counting does not depend on the engine; the Redis side of latency is in tests/multi."""
    return "memory"


async def scrape(base_url: str) -> dict[tuple[str, frozenset], float]:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_connections_events_commands_and_buys_are_counted(server):
    srv = await server(buys_per_second=100)
    moderator = RoomClient(srv.base_url, ROOM, token=token(ROOM, "moderator", user="mod"))
    viewer = RoomClient(srv.base_url, ROOM, token=token(ROOM, user="ann"))
    await moderator.connect()
    await viewer.connect()
    try:
        samples = await scrape(srv.base_url)
        assert value(samples, "liveroom_connections", room=ROOM, role="viewer") == 1
        assert value(samples, "liveroom_connections", room=ROOM, role="moderator") == 1
        assert value(samples, "liveroom_info", version=__version__, engine="memory",
                     instance=srv.app[SETTINGS].instance_id) == 1

        sale = await moderator.create_sale("durian", stock=5, duration=60, per_user_limit=2)
        await viewer.next_event("sale.started")
        await viewer.chat("hello")
        await moderator.next_event("chat.message")
        await viewer.buy(sale["id"], 2, idempotency_key="k1")
        await viewer.buy(sale["id"], 2, idempotency_key="k1")  # a retry: the same order
        with pytest.raises(CommandError):
            await viewer.buy(sale["id"], 1, idempotency_key="k2")  # over the limit of 2

        samples = await scrape(srv.base_url)
        assert value(samples, "liveroom_buys_total", outcome="created") == 1
        assert value(samples, "liveroom_buys_total", outcome="repeated") == 1
        assert value(samples, "liveroom_buys_total", outcome="over_limit") == 1
        assert value(samples, "liveroom_command_duration_seconds_count", command="sale.buy") == 3
        assert value(samples, "liveroom_events_published_total", type="chat.message") == 1
        assert value(samples, "liveroom_events_published_total", type="sale.started") == 1
        # Every event of the room went to both sockets.
        published = sum(v for (name, _), v in samples.items()
                        if name == "liveroom_events_published_total")
        assert value(samples, "liveroom_events_delivered_total") == 2 * published
        assert value(samples, "liveroom_commands_in_flight") == 0
    finally:
        await viewer.close()
        await moderator.close()

    async def gone():
        samples = await scrape(srv.base_url)
        return value(samples, "liveroom_connections", room=ROOM, role="viewer") == 0
    await eventually(gone, what="the viewer gauge to drop to 0")


async def test_rest_requests_engine_pings_and_peer_connections_are_measured(server):
    srv = await server()
    async with aiohttp.ClientSession() as http:
        assert (await http.get(f"{srv.base_url}/readyz")).status == 200
        assert (await http.get(f"{srv.base_url}/api/rooms/{ROOM}")).status == 200
        assert (await http.get(f"{srv.base_url}/api/rooms/nowhere")).status == 404
    set_peer_connections(srv.app, "viewer", 3)
    with pytest.raises(ValueError):
        set_peer_connections(srv.app, "spectator", 1)
    samples = await scrape(srv.base_url)
    assert value(samples, "liveroom_engine_latency_seconds_count", operation="ping") >= 1
    assert value(samples, "liveroom_engine_up") == 1
    assert value(samples, "liveroom_http_requests_total", method="GET",
                 route="/api/rooms/{room}", status="200") == 1
    assert value(samples, "liveroom_http_requests_total", method="GET",
                 route="/api/rooms/{room}", status="404") == 1
    assert value(samples, "liveroom_http_request_duration_seconds_count", method="GET",
                 route="/readyz") == 1
    assert value(samples, "liveroom_peer_connections", kind="viewer") == 3
    assert value(samples, "liveroom_peer_connections", kind="publisher") == 0
    assert any(name == "process_resident_memory_bytes" for name, _ in samples)


def test_a_client_that_stops_reading_is_counted_with_the_bytes_it_left():
    class Stalled:
        def __init__(self) -> None:
            self.buffered = 0

        def write(self, data: bytes) -> None:
            self.buffered += len(data)

        def get_write_buffer_size(self) -> int:
            return self.buffered

        def is_closing(self) -> bool:
            return False

        def abort(self) -> None:
            pass

    metrics = Metrics()
    conn = Connection(None, Stalled(), room=ROOM, fmt="json",
                      identity=Identity(user_id="u", name="U", role="viewer", room=ROOM),
                      send_buffer_bytes=100, commands_per_second=10,
                      metrics=metrics)
    conn.write(b"x" * 60)
    assert metrics.slow_clients._value.get() == 0
    conn.write(b"x" * 60)
    assert conn.closed
    assert metrics.slow_clients._value.get() == 1 and metrics.dropped_bytes._value.get() == 120


async def test_a_failing_webhook_receiver_shows_in_metrics_and_in_the_delivery_log(
    server, aiohttp_server
):
    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500, text="receiver is down")

    receiver = web.Application()
    receiver.router.add_post("/hooks", broken)
    hooks = await aiohttp_server(receiver)
    srv = await server(webhook_allowed_networks=("127.0.0.1",))
    admin = {"Authorization": f"Bearer {admin_token()}"}
    async with aiohttp.ClientSession() as http:
        response = await http.put(f"{srv.base_url}/api/rooms/{ROOM}/webhook", headers=admin,
                                  json={"url": str(hooks.make_url("/hooks")),
                                        "secret": "s" * 20})
        assert response.status == 200, await response.text()
        async with RoomClient(srv.base_url, ROOM, token=token(ROOM, "moderator")) as mod, \
                RoomClient(srv.base_url, ROOM, token=token(ROOM, user="ann")) as buyer:
            sale = await mod.create_sale("durian", stock=3, duration=60)
            await buyer.next_event("sale.started")
            await buyer.buy(sale["id"], 1)

        async def failed():
            samples = await scrape(srv.base_url)
            return value(samples, "liveroom_webhook_deliveries_total", event="order.created",
                         result="failed") >= 1
        await eventually(failed, what="a failed delivery in /metrics")
        log = await (await http.get(f"{srv.base_url}/api/rooms/{ROOM}/webhook/deliveries",
                                    headers=admin)).json()
        attempt = log["deliveries"][0]
        assert attempt["status"] == 500 and attempt["error"] == "HTTP 500"
        assert not attempt["delivered"]
