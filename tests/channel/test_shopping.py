"""Shopping outside flash sales on the room channel: a signed-in viewer buys a product at its
price, gets a signed pay link, and hears of the order's settlement on every tab of theirs,
while nobody else in the room does. Both engines."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from liveroom.client import CommandError, RoomClient
from liveroom.domain import checkout
from liveroom.domain.codec import from_json

from ..helpers import admin_token, bearer, token

ROOM = "thailand"
CHECKOUT = "https://shop.example/pay?order={order}&room={room}&total={total}&sig={signature}"
CHECKOUT_SECRET = "shop-secret-0123456789"


@pytest.fixture
async def shop(server):
    return await server(checkout_url=CHECKOUT, checkout_secret=CHECKOUT_SECRET)


@pytest.fixture
async def connect(shop):
    clients = []

    async def open_client(user: str, role: str = "viewer", tok: str | None = None):
        client = RoomClient(shop.base_url, ROOM, token=tok or token(ROOM, role, user=user))
        clients.append(client)
        await client.connect()
        return client

    yield open_client
    for client in clients:
        await client.close()


async def test_a_viewer_buys_a_product_at_its_price_and_gets_a_signed_pay_link(shop, connect):
    ann, watcher = await connect("ann"), await connect("bo")
    ack = await ann.buy_product("durian", 2, idempotency_key="tap-1")
    order = ack["order"]
    assert ack["created"]
    assert (order["kind"], order["product_id"], order["quantity"], order["unit_price"],
            order["total"], order["currency"], order["status"]) == (
        "product", "durian", 2, "890.00", "1780.00", "THB", "reserved")

    link = urlsplit(order["pay_url"])
    query = {k: v[0] for k, v in parse_qs(link.query).items()}
    assert (link.scheme, link.netloc, link.path) == ("https", "shop.example", "/pay")
    assert (query["order"], query["room"], query["total"]) == (order["id"], ROOM, "1780.00")
    assert checkout.verify(CHECKOUT_SECRET, room=ROOM, order_id=order["id"], total="1780.00",
                           currency="THB", given=query["sig"])
    assert not checkout.verify(CHECKOUT_SECRET, room=ROOM, order_id=order["id"],
                               total="1.00", currency="THB", given=query["sig"])

    updated = await watcher.next_event("product.updated")
    assert (updated["product"]["id"], updated["product"]["stock"]) == ("durian", 98)
    again = await ann.buy_product("durian", 2, idempotency_key="tap-1")
    assert not again["created"] and again["order"]["id"] == order["id"]
    mine = await ann.my_orders()
    assert [(o["id"], o["pay_url"]) for o in mine] == [(order["id"], order["pay_url"])]


async def test_product_buys_are_refused_precisely(connect):
    ann = await connect("ann")
    with pytest.raises(CommandError) as unknown:
        await ann.buy_product("ghost")
    assert unknown.value.code == "product_not_found"
    with pytest.raises(CommandError) as too_many:
        await ann.buy_product("durian", 101)
    assert (too_many.value.code, too_many.value.frame["remaining"]) == ("not_enough_stock", 100)
    with pytest.raises(CommandError) as bad:
        await ann.command("product.buy", product_id="durian", quantity=0, idempotency_key="k")
    assert (bad.value.code, bad.value.frame["field"]) == ("invalid_field", "quantity")
    moderator = await connect("mod", role="moderator")
    with pytest.raises(CommandError) as staff:
        await moderator.buy_product("durian")
    assert staff.value.code == "forbidden"


async def test_a_guest_cannot_buy(shop):
    async with RoomClient(shop.base_url, ROOM) as guest:
        with pytest.raises(CommandError) as refused:
            await guest.buy_product("durian")
        assert refused.value.code == "forbidden"


async def test_a_settled_order_reaches_every_tab_of_its_buyer_and_nobody_else(shop, connect):
    ann, ann_tab, bo = await connect("ann"), await connect("ann"), await connect("bo")
    order = (await ann.buy_product("durian", 1))["order"]
    async with aiohttp.ClientSession(base_url=shop.base_url) as http:
        paid = await http.post(f"/api/rooms/{ROOM}/orders/{order['id']}/pay",
                               headers=bearer(admin_token()))
        assert paid.status == 200, await paid.text()

    for tab in (ann, ann_tab):
        told = await tab.next_event("order.updated")
        assert (told["to"], told["order"]["id"], told["order"]["status"]) == (
            "ann", order["id"], "paid")
    marker = await connect("cy")
    await marker.like()
    # bo gets the events around it, never the order.
    while True:
        event = await bo.next_event()
        assert event["type"] != "order.updated", event
        if event["type"] == "likes":
            break


async def test_a_resuming_connection_is_not_replayed_other_buyers_orders(shop, connect):
    ann = await connect("ann")
    bo = await connect("bo")
    epoch, since = bo.epoch, bo.seq
    await bo.close()
    order = (await ann.buy_product("durian", 1))["order"]
    await shop.app_engine.sales.settle(ROOM, order["id"], "cancelled", "shop")
    await ann.next_event("order.updated")
    await ann.like()
    await ann.next_event("likes")  # in the history after the settlement: where replay stops

    for user, sees_it in (("bo", False), ("ann", True)):
        url = (f"{shop.base_url}/ws/rooms/{ROOM}?access_token={token(ROOM, user=user)}"
               f"&epoch={epoch}&since={since}")
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
            frames = []
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                frame = from_json((await ws.receive(timeout=10)).data)
                frames.append(frame)
                if frame["type"] == "likes":
                    break
            types = [f["type"] for f in frames]
            assert types[:2] == ["welcome", "resumed"]
            assert ("order.updated" in types) is sees_it, (user, types)
