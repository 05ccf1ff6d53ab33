"""Buying a product at its own price outside a flash sale (Sales.buy_product), and how every
settled order reaches its buyer (order.updated), checked on both engines."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from liveroom.domain.errors import LiveroomError
from liveroom.domain.sales import new_order, new_product_order, sale_from_input
from liveroom.engine import Position, create_engine

from ..conftest import Recorder, demo_product, demo_room

ROOM = "thailand"
_keys = itertools.count()


def _order(product: dict, user: str, quantity: int = 1, key: str | None = None,
           ttl: float = 900) -> dict:
    return new_product_order(product, room=ROOM, user_id=user, user_name=user.title(),
                             quantity=quantity, idempotency_key=key or f"pk-{next(_keys)}",
                             reservation_ttl=ttl)


async def _events(engine, *types: str) -> list[dict]:
    position = await engine.broker.position(ROOM)
    history = await engine.broker.history(ROOM, Position(position.epoch, 0))
    return [e for _, e in history if e["type"] in types]


async def _stock(engine, product_id: str = "durian") -> int:
    return (await engine.store.get_product(ROOM, product_id))["stock"]


async def test_buying_a_product_takes_its_stock_and_makes_a_reserved_order(engine, room):
    product = await engine.store.get_product(room, "durian")
    order = _order(product, "ann", 3)
    result = await engine.sales.buy_product(room, order)

    assert result.created and result.order == order
    assert (order["kind"], order["status"], order["total"]) == ("product", "reserved", "2670.00")
    assert "sale_id" not in order
    assert await _stock(engine) == 97
    assert await engine.sales.get_order(room, order["id"]) == order
    assert await engine.sales.list_orders(room, user_id="ann") == [order]
    # Everyone sees the stock move: the product, as stored now, announced in the same step.
    updated = await _events(engine, "product.updated")
    assert [e["product"]["stock"] for e in updated] == [97]
    # The shop hears of it like of any order.
    entries = await engine.sales.claim_outbox(room, limit=10, lease=30)
    assert [(e.type, e.payload["id"], e.payload["kind"]) for e in entries] == [
        ("order.created", order["id"], "product")]


@pytest.mark.parametrize("stock, quantity, change, code, extra", [
    (0, 1, {}, "sold_out", {}),
    (2, 3, {}, "not_enough_stock", {"remaining": 2}),
    (100, 1, {"price": "990.00"}, "price_changed", {"price": "990.00", "currency": "THB"}),
])
async def test_refused_product_buys_are_precise_and_change_nothing(
        engine, room, stock, quantity, change, code, extra):
    shown = await engine.store.get_product(room, "durian")  # what the buyer was shown
    now = {**shown, "stock": stock, **change}
    await engine.store.put_product(room, now, create=False)
    with pytest.raises(LiveroomError) as refused:
        await engine.sales.buy_product(room, _order({**shown, "stock": stock}, "ann", quantity))
    assert refused.value.code == code and refused.value.extra == extra
    assert await engine.store.get_product(room, "durian") == now
    assert await engine.sales.list_orders(room, user_id="ann") == []
    assert await engine.sales.claim_outbox(room, limit=10, lease=30) == []


async def test_an_unknown_product_is_refused(engine, room):
    ghost = {**await engine.store.get_product(room, "durian"), "id": "ghost"}
    with pytest.raises(LiveroomError) as refused:
        await engine.sales.buy_product(room, _order(ghost, "ann"))
    assert refused.value.code == "product_not_found"


async def test_a_retried_product_buy_returns_the_same_order(engine, room):
    product = await engine.store.get_product(room, "durian")
    first = await engine.sales.buy_product(room, _order(product, "ann", 2, key="k1"))
    again = await engine.sales.buy_product(room, _order(product, "ann", 2, key="k1"))
    assert not again.created and again.order == first.order
    with pytest.raises(LiveroomError) as refused:
        await engine.sales.buy_product(room, _order(product, "ann", 1, key="k1"))
    assert refused.value.code == "idempotency_conflict"
    other = await engine.sales.buy_product(room, _order(product, "bo", 2, key="k1"))
    assert other.created and other.order["id"] != first.order["id"]
    assert await _stock(engine) == 96


async def test_product_keys_and_sale_keys_do_not_meet(engine, room):
    """The same key text, once in a sale and once outside it, is two orders."""
    product = await engine.store.get_product(room, "durian")
    sale = await engine.sales.create_sale(room, sale_from_input(
        {"stock": 5, "duration": 300}, product, room=room, by="mod"))
    in_sale = await engine.sales.buy(room, sale["id"], new_order(
        sale, user_id="ann", user_name="Ann", quantity=1, idempotency_key="same",
        reservation_ttl=900))
    outside = await engine.sales.buy_product(room, _order(product, "ann", 1, key="same"))
    assert in_sale.created and outside.created
    assert in_sale.order["id"] != outside.order["id"]


async def test_concurrent_product_buyers_never_oversell(engine, room):
    product = {**await engine.store.get_product(room, "durian"), "stock": 25}
    await engine.store.put_product(room, product, create=False)
    buys = [engine.sales.buy_product(room, _order(product, f"u{i}", 1 + i % 2))
            for i in range(60)]
    results = await asyncio.gather(*buys, return_exceptions=True)
    orders = [r.order for r in results if not isinstance(r, Exception)]
    refusals = {r.code for r in results if isinstance(r, Exception)}
    assert sum(o["quantity"] for o in orders) == 25
    assert refusals <= {"sold_out", "not_enough_stock"}
    assert await _stock(engine) == 0


async def test_a_cancelled_or_expired_product_order_gives_its_units_back(engine, room):
    product = await engine.store.get_product(room, "durian")
    paid = (await engine.sales.buy_product(room, _order(product, "ann", 2))).order
    cancelled = (await engine.sales.buy_product(room, _order(product, "bo", 3))).order
    expiring = (await engine.sales.buy_product(room, _order(product, "cy", 4, ttl=0))).order
    assert await _stock(engine) == 91
    assert room in await engine.sales.sale_rooms()  # the clock expires reservations

    await engine.sales.settle(room, paid["id"], "paid", "shop")
    await engine.sales.settle(room, cancelled["id"], "cancelled", "shop")
    await engine.sales.tick(room)

    assert (await engine.sales.get_order(room, expiring["id"]))["status"] == "expired"
    assert await _stock(engine) == 98  # 3 + 4 back; the paid 2 stay sold
    stocks = [e["product"]["stock"] for e in await _events(engine, "product.updated")]
    assert stocks[-2:] == [94, 98]
    await engine.sales.tick(room)
    assert room not in await engine.sales.sale_rooms()


async def test_every_settlement_is_told_to_its_buyer_alone(engine, room):
    product = await engine.store.get_product(room, "durian")
    sale = await engine.sales.create_sale(room, sale_from_input(
        {"stock": 5, "duration": 300}, product, room=room, by="mod"))
    in_sale = (await engine.sales.buy(room, sale["id"], new_order(
        sale, user_id="ann", user_name="Ann", quantity=1, idempotency_key="k",
        reservation_ttl=900))).order
    outside = (await engine.sales.buy_product(room, _order(product, "bo", 1))).order
    assert await _events(engine, "order.updated") == []  # a buy is answered, not announced

    await engine.sales.settle(room, in_sale["id"], "paid", "shop")
    await engine.sales.settle(room, outside["id"], "cancelled", "shop")

    told = await _events(engine, "order.updated")
    assert [(e["to"], e["order"]["id"], e["order"]["status"]) for e in told] == [
        ("ann", in_sale["id"], "paid"), ("bo", outside["id"], "cancelled")]


async def test_a_staff_edit_keeps_the_stock_purchases_took(engine, room):
    read = await engine.store.get_product(room, "durian")  # a moderator opens the form
    await engine.sales.buy_product(room, _order(read, "ann", 5))
    await engine.store.put_product(room, {**read, "name": "Durian, ripe"}, create=False,
                                   keep_stock=True)
    product = await engine.store.get_product(room, "durian")
    assert (product["name"], product["stock"]) == ("Durian, ripe", 95)
    assert (await _events(engine, "product.updated"))[-1]["product"] == product


async def test_product_orders_stock_and_keys_survive_a_restart(engine_kind, make_settings):
    settings = make_settings(engine_kind).core
    first = create_engine(settings)
    first.broker.attach(Recorder())
    await first.start()
    await first.store.create_room(demo_room())
    await first.store.put_product(ROOM, demo_product(), create=True)
    product = await first.store.get_product(ROOM, "durian")
    order = (await first.sales.buy_product(ROOM, _order(product, "ann", 2, key="k"))).order
    await first.close()

    second = create_engine(settings)
    second.broker.attach(Recorder())
    await second.start()
    try:
        assert (await second.store.get_product(ROOM, "durian"))["stock"] == 98
        assert await second.sales.get_order(ROOM, order["id"]) == order
        again = await second.sales.buy_product(ROOM, _order(product, "ann", 2, key="k"))
        assert not again.created and again.order["id"] == order["id"]
        await second.sales.settle(ROOM, order["id"], "cancelled", "shop")
        assert (await second.store.get_product(ROOM, "durian"))["stock"] == 100
    finally:
        await second.close()
