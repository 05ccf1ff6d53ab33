"""Sales, orders and webhooks over REST, and webhook deliveries to a real HTTP receiver."""

from __future__ import annotations

import asyncio
import csv
import datetime
import io
import json
import re

import aiohttp
import pytest
from aiohttp import web

from liveroom.client import RoomClient
from liveroom.webhooks import verify

from ..helpers import admin_token, bearer, eventually, token

ROOM = "thailand"
HOOK_SECRET = "hook-secret-0123456789"
LOOPBACK = ("127.0.0.0/8",)  # where the receivers listen: allowed in these tests


class Receiver:
    """A shop system's webhook endpoint: records what it is sent, fails on request."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.failures_left = 0
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.failures_left > 0:
            self.failures_left -= 1
            return web.Response(status=503)
        self.received.append({
            "body": json.loads(body),
            "valid": verify(HOOK_SECRET, request.headers["Liveroom-Signature"], body),
            "delivery": request.headers["Liveroom-Delivery"],
            "event": request.headers["Liveroom-Event"],
        })
        return web.Response(status=204)

    def of_type(self, kind: str) -> list[dict]:
        return [r for r in self.received if r["event"] == kind]


@pytest.fixture
async def receiver(aiohttp_server):
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", rec.handle)
    srv = await aiohttp_server(app)
    rec.url = str(srv.make_url("/hooks"))
    return rec


async def _sale(api, stock=10, limit=2, **fields) -> dict:
    response = await api.post(f"/api/rooms/{ROOM}/sales", headers=bearer(token(ROOM, "host")),
                              json={"product_id": "durian", "stock": stock,
                                    "per_user_limit": limit, "duration": 60, **fields})
    assert response.status == 201, await response.text()
    return await response.json()


async def _buy(api, sale: dict, user: str, quantity: int = 1) -> dict:
    async with RoomClient(api.srv.base_url, ROOM, token=token(ROOM, user=user)) as client:
        return (await client.buy(sale["id"], quantity))["order"]


async def test_sales_are_created_listed_and_ended_over_rest(api):
    sale = await _sale(api)
    assert sale["state"] == "live" and sale["remaining"] == 10
    listed = await (await api.get(f"/api/rooms/{ROOM}/sales")).json()
    assert [s["id"] for s in listed["sales"]] == [sale["id"]]
    lobby = await (await api.get("/api/rooms")).json()
    assert [s["id"] for s in lobby["rooms"][0]["sales"]] == [sale["id"]]
    response = await api.post(f"/api/rooms/{ROOM}/sales/{sale['id']}/end",
                              headers=bearer(token(ROOM, "moderator")))
    assert (await response.json())["state"] == "ended"
    active = await (await api.get(f"/api/rooms/{ROOM}/sales?active=1")).json()
    assert active["sales"] == []
    viewer = await api.post(f"/api/rooms/{ROOM}/sales", headers=bearer(token(ROOM)),
                            json={"product_id": "durian", "stock": 1, "duration": 60})
    assert viewer.status == 403


async def test_staff_read_orders_as_json_and_csv_and_buyers_read_their_own(api):
    sale = await _sale(api)
    ann = await _buy(api, sale, "ann", 2)
    bo = await _buy(api, sale, "bo")
    host = bearer(token(ROOM, "host"))
    orders = (await (await api.get(f"/api/rooms/{ROOM}/orders", headers=host)).json())["orders"]
    assert [o["id"] for o in orders] == [ann["id"], bo["id"]]
    by_sale = await api.get(f"/api/rooms/{ROOM}/sales/{sale['id']}/orders?format=csv",
                            headers=bearer(token(ROOM, "moderator")))
    assert by_sale.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await by_sale.text())))
    assert [(r["user_id"], r["quantity"], r["total"], r["status"]) for r in rows] == [
        ("ann", "2", "1780.00", "reserved"), ("bo", "1", "890.00", "reserved")]
    # Times as a spreadsheet reads them: ISO 8601 in UTC, to the millisecond.
    assert rows[0]["created_at"] == datetime.datetime.fromtimestamp(
        ann["created_at"] / 1000, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rows[1]["expires_at"])
    assert rows[0]["settled_at"] == ""
    mine = await api.get(f"/api/rooms/{ROOM}/orders/mine", headers=bearer(token(ROOM,
                                                                            user="bo")))
    assert [o["id"] for o in (await mine.json())["orders"]] == [bo["id"]]
    assert (await api.get(f"/api/rooms/{ROOM}/orders", headers=bearer(token(ROOM)))).status \
        == 403
    others = await api.get(f"/api/rooms/{ROOM}/orders/{ann['id']}",
                           headers=bearer(token(ROOM, user="bo")))
    assert others.status == 404  # another buyer's order is not there for you


async def test_the_shop_settles_orders_and_cancelled_stock_returns(api):
    sale = await _sale(api, stock=3, limit=3)
    paid = await _buy(api, sale, "ann")
    dropped = await _buy(api, sale, "bo", 2)
    shop = bearer(admin_token())
    response = await api.post(f"/api/rooms/{ROOM}/orders/{paid['id']}/pay", headers=shop)
    assert (await response.json())["status"] == "paid"
    response = await api.post(f"/api/rooms/{ROOM}/orders/{dropped['id']}/cancel", headers=shop)
    assert (await response.json())["status"] == "cancelled"
    view = await (await api.get(f"/api/rooms/{ROOM}/sales/{sale['id']}")).json()
    assert (view["remaining"], view["sold"]) == (2, 1)
    conflict = await api.post(f"/api/rooms/{ROOM}/orders/{dropped['id']}/pay", headers=shop)
    assert conflict.status == 409 and (await conflict.json())["error"]["code"] == "conflict"
    moderator = await api.post(f"/api/rooms/{ROOM}/orders/{paid['id']}/cancel",
                               headers=bearer(token(ROOM, "moderator")))
    assert moderator.status == 403
    missing = await api.post(f"/api/rooms/{ROOM}/orders/ord_nope/pay", headers=shop)
    assert (await missing.json())["error"]["code"] == "order_not_found"


async def test_webhooks_deliver_every_order_event_signed_and_retry_failures(api, receiver):
    admin = bearer(admin_token())
    response = await api.put(f"/api/rooms/{ROOM}/webhook", headers=admin,
                             json={"url": receiver.url, "secret": HOOK_SECRET})
    assert response.status == 200
    shown = await (await api.get(f"/api/rooms/{ROOM}/webhook", headers=admin)).json()
    assert shown == {"url": receiver.url}  # the secret is never read back
    receiver.failures_left = 2  # the shop system is down for a moment
    sale = await _sale(api)
    order = await _buy(api, sale, "ann")
    await api.post(f"/api/rooms/{ROOM}/orders/{order['id']}/pay", headers=admin)
    await api.post(f"/api/rooms/{ROOM}/sales/{sale['id']}/end", headers=admin)
    await eventually(lambda: len(receiver.received) >= 3, timeout=20,
                     what="created, paid and ended delivered despite two failures")
    assert all(r["valid"] for r in receiver.received)
    created = receiver.of_type("order.created")[0]["body"]
    assert created["data"]["id"] == order["id"] and created["room"] == ROOM
    assert receiver.of_type("order.paid")[0]["body"]["data"]["status"] == "paid"
    assert receiver.of_type("sale.ended")[0]["body"]["data"]["state"] == "ended"
    log = (await (await api.get(f"/api/rooms/{ROOM}/webhook/deliveries",
                                headers=admin)).json())["deliveries"]
    failed = [d for d in log if not d["delivered"]]
    assert len(failed) == 2 and {d["status"] for d in failed} == {503}
    # A replay sends a delivered event again, with the same delivery id.
    delivery = receiver.of_type("order.created")[0]["delivery"]
    replay = await api.post(f"/api/rooms/{ROOM}/webhook/deliveries/{delivery}/replay",
                            headers=admin)
    assert replay.status == 202
    await eventually(lambda: len(receiver.of_type("order.created")) == 2, timeout=10,
                     what="the replayed delivery")
    assert receiver.of_type("order.created")[1]["delivery"] == delivery
    unknown = await api.post(f"/api/rooms/{ROOM}/webhook/deliveries/{ROOM}.999999/replay",
                             headers=admin)
    assert unknown.status == 404


async def test_a_reservation_left_unpaid_expires_and_says_so(server, receiver):
    srv = await server(reservation_ttl=0.5, webhook_allowed_networks=LOOPBACK)
    async with aiohttp.ClientSession(base_url=srv.base_url) as api:
        api.srv = srv
        await api.put(f"/api/rooms/{ROOM}/webhook", headers=bearer(admin_token()),
                      json={"url": receiver.url, "secret": HOOK_SECRET})
        sale = await _sale(api, stock=1, limit=1)
        order = await _buy(api, sale, "ann")
        await eventually(lambda: receiver.of_type("order.cancelled"), timeout=10,
                         what="the expiry to be reported")
        expired = receiver.of_type("order.cancelled")[0]["body"]["data"]
        assert (expired["id"], expired["status"]) == (order["id"], "expired")
        view = await (await api.get(f"/api/rooms/{ROOM}/sales/{sale['id']}")).json()
        assert (view["remaining"], view["state"]) == (1, "live")


@pytest.mark.parametrize("body, field", [
    ({"url": "ftp://x", "secret": HOOK_SECRET}, "url"),
    ({"url": "https://shop.example/hooks", "secret": "short"}, "secret"),
    ({"url": "https://shop.example/hooks"}, "secret"),
])
async def test_bad_webhook_settings_are_refused(api, body, field):
    response = await api.put(f"/api/rooms/{ROOM}/webhook", headers=bearer(admin_token()),
                             json=body)
    assert response.status == 400 and (await response.json())["error"]["field"] == field
    host = await api.put(f"/api/rooms/{ROOM}/webhook", headers=bearer(token(ROOM, "host")),
                         json={"url": "https://shop.example/hooks", "secret": HOOK_SECRET})
    assert host.status == 403


async def test_sales_over_rest_refuse_bad_input(api):
    host = bearer(token(ROOM, "host"))
    for body, code in [({"stock": 5, "duration": 60}, "invalid_field"),
                       ({"product_id": "nope", "stock": 5, "duration": 60}, "product_not_found"),
                       ({"product_id": "durian", "stock": 5, "duration": 60, "x": 1},
                        "invalid_field")]:
        response = await api.post(f"/api/rooms/{ROOM}/sales", headers=host, json=body)
        assert (await response.json())["error"]["code"] == code
    missing = await api.get(f"/api/rooms/{ROOM}/sales/sale_nope")
    assert (await missing.json())["error"]["code"] == "sale_not_found"


async def test_two_instances_never_deliver_the_same_entry_at_once(server, receiver):
    """Both dispatchers poll the same outbox; leases give each entry to one of them."""
    from liveroom.webhooks import Dispatcher, TargetPolicy, client_session

    srv = await server()
    engine = srv.app_engine
    await engine.sales.set_webhook(ROOM, {"url": receiver.url, "secret": HOOK_SECRET})
    async with aiohttp.ClientSession(base_url=srv.base_url) as api:
        api.srv = srv
        sale = await _sale(api, stock=50, limit=1)
        for i in range(20):
            await _buy(api, sale, f"u{i}")
    targets = TargetPolicy(LOOPBACK)
    async with client_session(targets) as session:
        first, second = (Dispatcher(engine, session, name, targets=targets)
                         for name in ("a", "b"))
        await asyncio.gather(first.deliver_due(), second.deliver_due(), first.deliver_due())
    await eventually(lambda: len(receiver.of_type("order.created")) >= 20, timeout=10,
                     what="20 deliveries")
    deliveries = [r["delivery"] for r in receiver.of_type("order.created")]
    assert len(deliveries) == len(set(deliveries)) == 20
