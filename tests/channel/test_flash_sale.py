"""Flash sales on the room channel, as moderators and shoppers live them. Both engines."""

from __future__ import annotations

import asyncio
import collections

import pytest

from liveroom.client import CommandError, RoomClient

from ..helpers import eventually, token
from ..swarm import swarm

ROOM = "thailand"


@pytest.fixture
async def room_server(server):
    # The crowds below all come from 127.0.0.1: no cap per client address.
    return await server(connections_per_address=0)


@pytest.fixture
async def connect(room_server):
    clients = []

    async def open_client(role: str = "viewer", user: str | None = None, tok: str | None = None):
        client = RoomClient(room_server.base_url, ROOM,
                            token=tok or token(ROOM, role, user=user or f"{role}-{len(clients)}"))
        clients.append(client)
        await client.connect()
        return client

    yield open_client
    for client in clients:
        await client.close()


async def test_a_sale_counts_down_opens_sells_and_every_viewer_follows_it(connect):
    moderator, ann, bo = await connect("moderator"), await connect(user="ann"), \
        await connect(user="bo")
    sale = await moderator.create_sale("durian", stock=5, per_user_limit=2, duration=60,
                                       starts_in=1, price="99")
    assert (sale["state"], sale["remaining"], sale["price"]) == ("scheduled", 5, "99.00")
    scheduled = await bo.next_event("sale.scheduled")
    assert scheduled["sale"]["starts_at"] == sale["starts_at"]
    with pytest.raises(CommandError) as early:
        await ann.buy(sale["id"])
    assert early.value.code == "sale_not_started"
    assert early.value.frame["starts_at"] == sale["starts_at"]
    started = await bo.next_event("sale.started", timeout=5)
    assert started["sale"]["state"] == "live"
    ack = await ann.buy(sale["id"], 2)
    order = ack["order"]
    assert ack["created"] and order["status"] == "reserved"
    assert (order["quantity"], order["unit_price"], order["total"], order["currency"]) == (
        2, "99.00", "198.00", "THB")
    seen = {}
    while len(seen) < 2:  # stock and ticker come on their own clocks, in either order
        event = await bo.next_event("sale.stock", "sale.purchases", timeout=5)
        seen[event["type"]] = event
    stock, ticker = seen["sale.stock"], seen["sale.purchases"]
    assert (stock["sale_id"], stock["remaining"], stock["sold"]) == (sale["id"], 3, 2)
    assert ticker["buyers"] == [{"name": "A***n", "units": 2}] and ticker["orders"] == 1
    assert await ann.my_orders() == [order]


async def test_the_last_units_sell_out_and_the_final_stock_is_exact(connect):
    moderator, watcher = await connect("moderator"), await connect(user="watcher")
    sale = await moderator.create_sale("mango", stock=3, per_user_limit=3, duration=60)
    buyers = [await connect(user=f"b{i}") for i in range(4)]
    results = await asyncio.gather(*(b.buy(sale["id"]) for b in buyers),
                                   return_exceptions=True)
    assert sum(not isinstance(r, Exception) for r in results) == 3
    assert [r.code for r in results if isinstance(r, Exception)] == ["sold_out"]
    sold_out = await watcher.next_event("sale.sold_out", timeout=5)
    assert (sold_out["sale"]["remaining"], sold_out["sale"]["sold"]) == (0, 3)
    remaining = None
    while remaining != 0:
        remaining = (await watcher.next_event("sale.stock", timeout=5))["remaining"]


async def test_a_viewer_who_joins_mid_sale_sees_its_stock_and_state(connect):
    moderator = await connect("moderator")
    sale = await moderator.create_sale("durian", stock=10, per_user_limit=5, duration=60)
    await (await connect(user="early")).buy(sale["id"], 4)
    late = await connect(user="late")
    [seen] = late.snapshot["sales"]
    assert (seen["id"], seen["state"], seen["remaining"], seen["ends_at"]) == (
        sale["id"], "live", 6, sale["ends_at"])


async def test_ending_or_cancelling_closes_the_sale_for_everyone(connect):
    moderator, viewer = await connect("moderator"), await connect(user="ann")
    sale = await moderator.create_sale("durian", stock=10, duration=60)
    ended = await moderator.end_sale(sale["id"])
    assert ended["state"] == "ended"
    assert (await viewer.next_event("sale.ended", timeout=5))["sale"]["id"] == sale["id"]
    with pytest.raises(CommandError) as closed:
        await viewer.buy(sale["id"])
    assert closed.value.code == "sale_ended"
    other = await moderator.create_sale("mango", stock=10, duration=60)
    assert (await moderator.cancel_sale(other["id"]))["state"] == "cancelled"
    assert (await viewer.next_event("sale.cancelled", timeout=5))["sale"]["id"] == other["id"]
    with pytest.raises(CommandError) as again:
        await moderator.end_sale(other["id"])
    assert again.value.code == "conflict"


async def test_a_retried_buy_returns_the_same_order(connect):
    moderator, ann = await connect("moderator"), await connect(user="ann")
    sale = await moderator.create_sale("durian", stock=10, per_user_limit=2, duration=60)
    first = await ann.buy(sale["id"], 1, idempotency_key="tap-1")
    again = await ann.buy(sale["id"], 1, idempotency_key="tap-1")
    assert again["order"] == first["order"] and again["created"] is False
    with pytest.raises(CommandError) as changed:
        await ann.buy(sale["id"], 2, idempotency_key="tap-1")
    assert changed.value.code == "idempotency_conflict"
    assert len(await ann.my_orders()) == 1


@pytest.mark.parametrize("fields, code, field", [
    ({"quantity": 0}, "invalid_field", "quantity"),
    ({"quantity": -1}, "invalid_field", "quantity"),
    ({"quantity": 1.5}, "invalid_field", "quantity"),
    ({"quantity": "2"}, "invalid_field", "quantity"),
    ({"quantity": 10**12}, "invalid_field", "quantity"),
    ({"idempotency_key": ""}, "invalid_field", "idempotency_key"),
    ({"idempotency_key": "x" * 65}, "invalid_field", "idempotency_key"),
    ({"idempotency_key": "has space"}, "invalid_field", "idempotency_key"),
    ({"sale_id": "sale_nonexistent"}, "sale_not_found", None),
    ({"over": "limit", "quantity": 3}, "over_limit", None),
])
async def test_bad_buys_are_refused_precisely_and_sell_nothing(connect, fields, code, field):
    moderator, ann = await connect("moderator"), await connect(user="ann")
    sale = await moderator.create_sale("durian", stock=10, per_user_limit=2, duration=60)
    frame = {"sale_id": sale["id"], "quantity": 1, "idempotency_key": "k1"} | fields
    frame.pop("over", None)
    with pytest.raises(CommandError) as refused:
        await ann.command("sale.buy", **frame)
    assert refused.value.code == code
    if field:
        assert refused.value.frame["field"] == field
    assert await ann.my_orders() == []


async def test_a_buy_for_another_rooms_sale_is_refused(connect, room_server):
    from ..conftest import demo_room

    engine = room_server.app_engine
    await engine.store.create_room(demo_room("chile", title="Chile", country="Chile",
                                             country_code="CL"))
    from ..conftest import demo_product

    await engine.store.put_product("chile", demo_product("cherries"), create=True)
    chile_mod = RoomClient(room_server.base_url, "chile", token=token("chile", "moderator"))
    await chile_mod.connect()
    try:
        chile_sale = await chile_mod.create_sale("cherries", stock=5, duration=60)
    finally:
        await chile_mod.close()
    ann = await connect(user="ann")
    with pytest.raises(CommandError) as refused:
        await ann.buy(chile_sale["id"])
    assert refused.value.code == "sale_not_found"


@pytest.mark.parametrize("fields, field", [
    ({"stock": -1}, "stock"),
    ({"stock": 0}, "stock"),
    ({"stock": 5, "per_user_limit": 6}, "per_user_limit"),
    ({"duration": 1}, "duration"),
    ({"price": "-5"}, "price"),
    ({"starts_in": -3}, "starts_in"),
])
async def test_bad_sales_are_refused_naming_the_field(connect, fields, field):
    moderator = await connect("moderator")
    with pytest.raises(CommandError) as refused:
        await moderator.command("sale.create", **({"product_id": "durian", "stock": 5,
                                                   "duration": 60} | fields))
    assert refused.value.code == "invalid_field" and refused.value.frame["field"] == field


async def test_only_staff_run_sales_and_only_signed_in_viewers_buy(connect, room_server):
    viewer = await connect(user="ann")
    with pytest.raises(CommandError) as refused:
        await viewer.create_sale("durian", stock=5, duration=60)
    assert refused.value.code == "forbidden"
    moderator = await connect("moderator")
    sale = await moderator.create_sale("durian", stock=5, duration=60)
    with pytest.raises(CommandError) as staff:
        await moderator.buy(sale["id"])
    assert staff.value.code == "forbidden"
    guest = RoomClient(room_server.base_url, ROOM)
    await guest.connect()
    try:
        with pytest.raises(CommandError) as anonymous:
            await guest.buy(sale["id"])
        assert anonymous.value.code == "forbidden"
    finally:
        await guest.close()


async def test_a_buy_flood_is_rate_limited_without_starving_others(connect):
    moderator, flood, calm = await connect("moderator"), await connect(user="flood"), \
        await connect(user="calm")
    sale = await moderator.create_sale("durian", stock=1000, per_user_limit=1000, duration=60)
    results = await asyncio.gather(*(flood.buy(sale["id"], idempotency_key=f"f{i}")
                                     for i in range(40)), return_exceptions=True)
    codes = collections.Counter(getattr(r, "code", "ok") for r in results)
    assert codes["rate_limited"] > 0 and codes["ok"] <= 10
    assert (await calm.buy(sale["id"]))["created"]


async def test_two_thousand_buyers_for_a_hundred_units_never_oversell(room_server, connect):
    moderator = await connect("moderator")
    sale = await moderator.create_sale("durian", stock=100, per_user_limit=2, duration=120)
    crowd = await swarm([room_server.base_url], ROOM, sale["id"], buyers=2000, quantity=2,
                        replays=300)
    _check_no_oversell(crowd, stock=100, limit=2)
    view = await room_server.app_engine.sales.get_sale(ROOM, sale["id"])
    assert (view["remaining"], view["sold"], view["state"]) == (0, 100, "sold_out")
    orders = await room_server.app_engine.sales.list_orders(ROOM, sale_id=sale["id"])
    assert sum(o["quantity"] for o in orders) == 100 and len(orders) == 50


def _check_no_oversell(crowd, *, stock: int, limit: int) -> None:
    """Exactly `stock` units acknowledged, nobody above `limit`, every replay the same order,
    every buyer answered."""
    sold = collections.Counter()
    for buyer in crowd:
        first = buyer.answers[0]
        assert first["type"] in ("ack", "error"), first
        if first["type"] == "ack":
            sold[buyer.user] += first["order"]["quantity"]
        else:
            assert first["code"] in ("sold_out", "not_enough_stock"), first
        for replay in buyer.answers[1:]:
            if first["type"] == "ack":
                assert replay["order"] == first["order"] and replay["created"] is False
            else:
                assert replay["type"] == "error"
    assert sum(sold.values()) == stock
    assert max(sold.values()) <= limit


async def test_orders_appear_in_the_buyers_list_and_survive_in_the_engine(connect, room_server):
    moderator, ann = await connect("moderator"), await connect(user="ann")
    sale = await moderator.create_sale("durian", stock=10, per_user_limit=2, duration=60)
    order = (await ann.buy(sale["id"]))["order"]
    await eventually(lambda: room_server.app_engine.sales.get_order(ROOM, order["id"]),
                     what="the order in the engine")
