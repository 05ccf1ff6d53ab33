"""The sales guarantees (liveroom/engine/sales.py), checked on both engines."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from liveroom.domain.errors import LiveroomError
from liveroom.domain.sales import new_order, sale_from_input
from liveroom.engine import Position, create_engine

from ..conftest import Recorder, demo_product, demo_room

ROOM = "thailand"


def _sale(stock=10, limit=2, starts_in=0, duration=300, **extra) -> dict:
    return sale_from_input({"stock": stock, "per_user_limit": limit, "starts_in": starts_in,
                            "duration": duration, **extra},
                           demo_product(), room=ROOM, by="mod")


_keys = itertools.count()


def _order(sale: dict, user: str, quantity: int = 1, key: str | None = None,
           ttl: float = 900) -> dict:
    return new_order(sale, user_id=user, user_name=user.title(), quantity=quantity,
                     idempotency_key=key or f"key-{next(_keys)}", reservation_ttl=ttl)


async def _events(engine, types: tuple[str, ...]) -> list[dict]:
    position = await engine.broker.position(ROOM)
    history = await engine.broker.history(ROOM, Position(position.epoch, 0))
    return [e for _, e in history if e["type"] in types]


async def test_a_sale_is_announced_and_listed_with_its_state(engine, room):
    scheduled = await engine.sales.create_sale(room, _sale(starts_in=60))
    live = await engine.sales.create_sale(room, _sale())
    assert (scheduled["state"], live["state"]) == ("scheduled", "live")
    assert live["remaining"] == 10 and live["sold"] == 0 and live["price"] == "890.00"
    assert [e["type"] for e in await _events(engine, ("sale.scheduled", "sale.started"))] == [
        "sale.scheduled", "sale.started"]
    assert await engine.sales.get_sale(room, live["id"]) == live
    listed = await engine.sales.list_sales(room)
    assert {s["id"] for s in listed} == {scheduled["id"], live["id"]}
    assert [s["created_at"] for s in listed] == sorted(s["created_at"] for s in listed)
    assert await engine.sales.get_sale(room, "sale_nope") is None


async def test_buying_takes_stock_and_makes_a_reserved_order(engine, room):
    sale = await engine.sales.create_sale(room, _sale())
    order = _order(sale, "ann", 2)
    result = await engine.sales.buy(room, sale["id"], order)
    assert result.created and result.order == order
    assert result.order["status"] == "reserved" and result.order["total"] == "1780.00"
    assert (await engine.sales.get_sale(room, sale["id"]))["remaining"] == 8
    assert await engine.sales.get_order(room, order["id"]) == order
    assert await engine.sales.list_orders(room, user_id="ann") == [order]
    assert await engine.sales.list_orders(room, sale_id=sale["id"]) == [order]


@pytest.mark.parametrize("setup, buy, code", [
    ({"starts_in": 60}, {"quantity": 1}, "sale_not_started"),
    ({"stock": 1, "limit": 1}, {"quantity": 1, "twice": True}, "sold_out"),
    ({"stock": 3, "limit": 3}, {"quantity": 4}, "not_enough_stock"),
    ({"limit": 2}, {"quantity": 3}, "over_limit"),
])
async def test_refusals_are_precise_and_change_nothing(engine, room, setup, buy, code):
    sale = await engine.sales.create_sale(room, _sale(**setup))
    if buy.get("twice"):
        await engine.sales.buy(room, sale["id"], _order(sale, "first"))
    before = await engine.sales.get_sale(room, sale["id"])
    with pytest.raises(LiveroomError) as refused:
        await engine.sales.buy(room, sale["id"], _order(sale, "ann", buy["quantity"]))
    assert refused.value.code == code
    assert await engine.sales.get_sale(room, sale["id"]) == before
    assert await engine.sales.list_orders(room, user_id="ann") == []


async def test_the_per_user_limit_counts_every_order_of_the_buyer(engine, room):
    sale = await engine.sales.create_sale(room, _sale(limit=2))
    await engine.sales.buy(room, sale["id"], _order(sale, "ann", 1))
    await engine.sales.buy(room, sale["id"], _order(sale, "ann", 1))
    with pytest.raises(LiveroomError) as refused:
        await engine.sales.buy(room, sale["id"], _order(sale, "ann", 1))
    assert refused.value.code == "over_limit" and refused.value.extra == {"held": 2, "limit": 2}
    await engine.sales.buy(room, sale["id"], _order(sale, "bo", 2))


async def test_a_retried_buy_returns_the_same_order_and_a_changed_one_is_refused(engine, room):
    sale = await engine.sales.create_sale(room, _sale())
    first = await engine.sales.buy(room, sale["id"], _order(sale, "ann", 1, key="k1"))
    again = await engine.sales.buy(room, sale["id"], _order(sale, "ann", 1, key="k1"))
    assert not again.created and again.order == first.order
    with pytest.raises(LiveroomError) as refused:
        await engine.sales.buy(room, sale["id"], _order(sale, "ann", 2, key="k1"))
    assert refused.value.code == "idempotency_conflict"
    # Another buyer's key is another order, even when the text is the same.
    other = await engine.sales.buy(room, sale["id"], _order(sale, "bo", 1, key="k1"))
    assert other.created and other.order["id"] != first.order["id"]
    assert (await engine.sales.get_sale(room, sale["id"]))["remaining"] == 8


async def test_concurrent_buyers_never_oversell(engine, room):
    sale = await engine.sales.create_sale(room, _sale(stock=25, limit=2))
    buys = [engine.sales.buy(room, sale["id"], _order(sale, f"u{i % 40}", 1, key=f"k{i}"))
            for i in range(120)]
    results = await asyncio.gather(*buys, return_exceptions=True)
    orders = [r.order for r in results if not isinstance(r, Exception)]
    refusals = {r.code for r in results if isinstance(r, Exception)}
    assert sum(o["quantity"] for o in orders) == 25
    assert refusals <= {"sold_out", "over_limit", "not_enough_stock"}
    per_user = {}
    for order in orders:
        per_user[order["user_id"]] = per_user.get(order["user_id"], 0) + order["quantity"]
    assert max(per_user.values()) <= 2
    view = await engine.sales.get_sale(room, sale["id"])
    assert (view["remaining"], view["sold"], view["state"]) == (0, 25, "sold_out")


async def test_settling_pays_or_cancels_once_and_cancelling_returns_stock(engine, room):
    sale = await engine.sales.create_sale(room, _sale())
    paid = (await engine.sales.buy(room, sale["id"], _order(sale, "ann", 2))).order
    dropped = (await engine.sales.buy(room, sale["id"], _order(sale, "bo", 2))).order
    assert (await engine.sales.settle(room, paid["id"], "paid", "shop"))["status"] == "paid"
    assert (await engine.sales.settle(room, paid["id"], "paid", "shop"))["status"] == "paid"
    cancelled = await engine.sales.settle(room, dropped["id"], "cancelled", "shop")
    assert cancelled["status"] == "cancelled" and cancelled["settled_by"] == "shop"
    assert (await engine.sales.get_sale(room, sale["id"]))["remaining"] == 8
    with pytest.raises(LiveroomError) as late:
        await engine.sales.settle(room, dropped["id"], "paid", "shop")
    assert late.value.code == "conflict" and late.value.extra["status"] == "cancelled"
    with pytest.raises(LiveroomError) as unknown:
        await engine.sales.settle(room, "ord_nope", "paid", "shop")
    assert unknown.value.code == "order_not_found"
    # The cancelled units are the buyer's to buy again.
    await engine.sales.buy(room, sale["id"], _order(sale, "bo", 2))


async def test_unpaid_reservations_expire_and_their_stock_returns(engine, room):
    sale = await engine.sales.create_sale(room, _sale(stock=2, limit=2))
    order = (await engine.sales.buy(room, sale["id"], _order(sale, "ann", 2, ttl=0))).order
    assert (await engine.sales.get_sale(room, sale["id"]))["state"] == "sold_out"
    await engine.sales.tick(room)
    assert (await engine.sales.get_order(room, order["id"]))["status"] == "expired"
    view = await engine.sales.get_sale(room, sale["id"])
    assert (view["remaining"], view["state"]) == (2, "live")
    types = [e["type"] for e in await _events(engine, ("sale.sold_out", "sale.started"))]
    assert types[-1] == "sale.started"  # live again


async def test_the_clock_visits_a_room_only_while_it_has_sale_work(engine, room):
    assert room not in await engine.sales.sale_rooms()
    sale = await engine.sales.create_sale(room, _sale(stock=5, starts_in=60))
    assert room in await engine.sales.sale_rooms()  # scheduled: its start is still to announce
    await engine.sales.finish_sale(room, sale["id"], "cancelled", "mod")
    await engine.sales.tick(room)
    assert room not in await engine.sales.sale_rooms()

    sale = await engine.sales.create_sale(room, _sale(stock=5))
    order = (await engine.sales.buy(room, sale["id"], _order(sale, "ann", 1))).order
    await engine.sales.finish_sale(room, sale["id"], "ended", "mod")
    await engine.sales.tick(room)
    assert room in await engine.sales.sale_rooms()  # the reservation can still expire
    await engine.sales.settle(room, order["id"], "paid", "shop")
    await engine.sales.tick(room)
    assert room not in await engine.sales.sale_rooms()


async def test_each_transition_is_announced_once_and_stock_is_coalesced(engine, room):
    sale = await engine.sales.create_sale(room, _sale(stock=2, limit=2, starts_in=0))
    for _ in range(3):
        await engine.sales.tick(room)
    await engine.sales.buy(room, sale["id"], _order(sale, "ann", 2))
    for _ in range(3):
        await engine.sales.tick(room)
    await engine.sales.finish_sale(room, sale["id"], "ended", "mod")
    for _ in range(3):
        await engine.sales.tick(room)
    kinds = [e["type"] for e in await _events(
        engine, ("sale.started", "sale.sold_out", "sale.ended", "sale.stock"))]
    assert kinds.count("sale.sold_out") == 1 and kinds.count("sale.ended") == 1
    stock = [e for e in await _events(engine, ("sale.stock",))]
    assert stock[0]["remaining"] == 2 and len(stock) <= 2
    ended = (await _events(engine, ("sale.ended",)))[0]["sale"]
    assert (ended["state"], ended["sold"]) == ("ended", 2)
    with pytest.raises(LiveroomError) as again:
        await engine.sales.finish_sale(room, sale["id"], "cancelled", "mod")
    assert again.value.code == "conflict"
    with pytest.raises(LiveroomError) as closed:
        await engine.sales.buy(room, sale["id"], _order(sale, "bo", 1))
    assert closed.value.code == "sale_ended"


async def test_a_cancelled_sale_refuses_buyers(engine, room):
    sale = await engine.sales.create_sale(room, _sale())
    view = await engine.sales.finish_sale(room, sale["id"], "cancelled", "mod")
    assert view["state"] == "cancelled"
    with pytest.raises(LiveroomError) as refused:
        await engine.sales.buy(room, sale["id"], _order(sale, "ann"))
    assert refused.value.code == "sale_cancelled"
    assert [e["type"] for e in await _events(engine, ("sale.cancelled",))] == ["sale.cancelled"]


async def test_every_order_change_goes_through_the_outbox_once_per_lease(engine, room):
    sale = await engine.sales.create_sale(room, _sale())
    order = (await engine.sales.buy(room, sale["id"], _order(sale, "ann"))).order
    await engine.sales.settle(room, order["id"], "paid", "shop")
    first = await engine.sales.claim_outbox(room, limit=10, lease=30)
    assert [(e.type, e.payload["id"], e.payload["status"]) for e in first] == [
        ("order.created", order["id"], "reserved"), ("order.paid", order["id"], "paid")]
    assert await engine.sales.claim_outbox(room, limit=10, lease=30) == []  # leased
    await engine.sales.finish_outbox(room, first[0].id, delivered=True)
    await engine.sales.finish_outbox(room, first[1].id, delivered=False, retry_in=0)
    retry = await engine.sales.claim_outbox(room, limit=10, lease=30)
    assert [(e.id, e.attempts) for e in retry] == [(first[1].id, 1)]
    await engine.sales.finish_outbox(room, first[1].id, delivered=True)
    await engine.sales.log_delivery(room, {"delivery_id": first[0].id, "type": first[0].type,
                                           "payload": first[0].payload, "created_at": 1,
                                           "status": 200})
    assert await engine.sales.requeue_outbox(room, first[0].id)
    assert [e.id for e in await engine.sales.claim_outbox(room, limit=10, lease=30)] == [
        first[0].id]
    assert not await engine.sales.requeue_outbox(room, f"{room}.999")


async def test_a_sale_that_ends_puts_sale_ended_in_the_outbox(engine, room):
    sale = await engine.sales.create_sale(room, _sale())
    await engine.sales.finish_sale(room, sale["id"], "ended", "mod")
    entries = await engine.sales.claim_outbox(room, limit=10, lease=30)
    assert [(e.type, e.payload["id"], e.payload["state"]) for e in entries] == [
        ("sale.ended", sale["id"], "ended")]


async def test_orders_stock_and_keys_survive_a_restart(engine_kind, make_settings):
    settings = make_settings(engine_kind).core
    first = create_engine(settings)
    first.broker.attach(Recorder())
    await first.start()
    await first.store.create_room(demo_room())
    sale = await first.sales.create_sale(ROOM, _sale(stock=5))
    order = (await first.sales.buy(ROOM, sale["id"], _order(sale, "ann", 2, key="k"))).order
    await first.sales.settle(ROOM, order["id"], "paid", "shop")
    await first.sales.set_webhook(ROOM, {"url": "http://127.0.0.1:1/hook", "secret": "s" * 32})
    await first.close()

    second = create_engine(settings)
    second.broker.attach(Recorder())
    await second.start()
    try:
        assert (await second.sales.get_sale(ROOM, sale["id"]))["remaining"] == 3
        assert (await second.sales.get_order(ROOM, order["id"]))["status"] == "paid"
        again = await second.sales.buy(ROOM, sale["id"], _order(sale, "ann", 2, key="k"))
        assert not again.created and again.order["id"] == order["id"]
        with pytest.raises(LiveroomError) as limit:
            await second.sales.buy(ROOM, sale["id"], _order(sale, "ann", 1))
        assert limit.value.code == "over_limit"
        assert (await second.sales.get_webhook(ROOM))["url"] == "http://127.0.0.1:1/hook"
        assert ROOM in await second.sales.webhook_rooms()
        assert ROOM in await second.sales.sale_rooms()
        pending = await second.sales.claim_outbox(ROOM, limit=10, lease=30)
        assert [e.type for e in pending] == ["order.created", "order.paid"]
    finally:
        await second.close()
