"""A deleted room's orders (liveroom/engine/sales.py, store.py), on both engines: never lost
with their room, kept as its archive until settled, exported and purged; and no sale or buy in
a room that does not exist."""

from __future__ import annotations

import pytest

from liveroom.domain.errors import LiveroomError
from liveroom.engine import create_engine

from ..conftest import Recorder, demo_product, demo_room
from .test_product_sales_contract import _order as _product_order
from .test_sales_contract import _order, _sale

ROOM = "thailand"


async def _refused(awaitable, code: str) -> LiveroomError:
    with pytest.raises(LiveroomError) as refused:
        await awaitable
    assert refused.value.code == code, refused.value.message
    return refused.value


async def _deliver_everything(engine, room: str = ROOM) -> int:
    delivered = 0
    while entries := await engine.sales.claim_outbox(room, limit=50, lease=30):
        for entry in entries:
            await engine.sales.finish_outbox(room, entry.id, delivered=True)
            delivered += 1
    return delivered


async def test_deleting_a_room_keeps_its_acknowledged_orders_until_settled_and_exported(
        engine, room):
    sales = engine.sales
    sale = await sales.create_sale(room, _sale())
    ann = (await sales.buy(room, sale["id"], _order(sale, "ann", 2))).order
    bo = (await sales.buy(room, sale["id"], _order(sale, "bo"))).order
    await sales.settle(room, ann["id"], "paid", "shop")
    await sales.set_webhook(room, {"url": "https://shop.example/hooks", "secret": "s" * 20})

    assert await engine.store.delete_room(room) is True
    assert await engine.store.get_room(room) is None
    assert room not in [r["id"] for r in await engine.store.list_rooms()]
    # Every acknowledged order is still there, as it was.
    orders = await sales.list_orders(room)
    assert {o["id"]: o["status"] for o in orders} == {ann["id"]: "paid", bo["id"]: "reserved"}
    assert await sales.get_order(room, bo["id"]) == bo
    archive = await sales.archive(room)
    assert archive.room["id"] == room and archive.deleted_at > 0
    assert (archive.orders, archive.reserved, archive.exported_at) == (2, 1, None)
    assert archive.undelivered == 4  # order.created twice, order.paid, sale.ended
    assert [a.room["id"] for a in await sales.archives()] == [room]
    # Not before it is settled: a reserved order, then pending deliveries, and not exported.
    refusal = await _refused(sales.purge_archive(room), "not_purgeable")
    assert refusal.extra == {"reserved": 1, "undelivered": 4, "exported": False}
    assert await sales.mark_exported(room) is False  # a reserved order can still change
    await _refused(engine.store.create_room(demo_room()), "conflict")  # the id stays taken
    # The shop system still settles it, and its webhook is still delivered.
    await sales.settle(room, bo["id"], "paid", "shop")
    assert (await sales.archive(room)).reserved == 0
    assert await sales.mark_exported(room) is True
    refusal = await _refused(sales.purge_archive(room), "not_purgeable")
    assert refusal.extra == {"reserved": 0, "undelivered": 5, "exported": True}
    assert await _deliver_everything(engine) == 5
    assert (await sales.archive(room)).purgeable

    await sales.purge_archive(room)
    assert await sales.archive(room) is None and await sales.archives() == []
    assert await sales.list_orders(room) == []
    assert await sales.get_webhook(room) is None
    await _refused(sales.purge_archive(room), "room_not_found")
    # The id is free again, and the new room starts without the old one's sales or orders.
    await engine.store.create_room(demo_room())
    assert await sales.list_sales(room) == [] and await sales.list_orders(room) == []


async def test_deleting_a_room_ends_its_sales_and_puts_that_in_the_outbox(engine, room):
    recorder = engine.broker.handler
    await engine.broker.subscribe(room)
    live = await engine.sales.create_sale(room, _sale())
    scheduled = await engine.sales.create_sale(room, _sale(starts_in=600))
    await engine.store.delete_room(room)

    def seen():
        return [e["type"] for r, _, e in recorder.events
                if r == room and e["type"] in ("sale.ended", "room.deleted")]
    from ..helpers import eventually
    await eventually(lambda: "room.deleted" in seen(), what="room.deleted")
    assert seen() == ["sale.ended", "sale.ended", "room.deleted"]  # the deletion is last
    for sale in (live, scheduled):
        assert (await engine.sales.get_sale(room, sale["id"]))["state"] == "ended"
    entries = await engine.sales.claim_outbox(room, limit=10, lease=30)
    assert sorted(e.payload["id"] for e in entries if e.type == "sale.ended") == sorted(
        [live["id"], scheduled["id"]])
    # Nothing more is sold in it, and the clock has nothing left to do there.
    await _refused(engine.sales.buy(room, live["id"], _order(live, "ann")), "room_not_found")
    await engine.sales.tick(room)
    await engine.sales.tick(room)
    assert room not in await engine.sales.sale_rooms()


async def test_a_sale_or_a_buy_in_a_room_that_does_not_exist_is_refused(engine):
    await _refused(engine.sales.create_sale("nowhere", _sale()), "room_not_found")
    await engine.store.create_room(demo_room())
    await engine.store.put_product(ROOM, demo_product(), create=True)
    sale = await engine.sales.create_sale(ROOM, _sale())
    await engine.store.delete_room(ROOM)
    await _refused(engine.sales.create_sale(ROOM, _sale()), "room_not_found")
    await _refused(engine.sales.buy(ROOM, sale["id"], _order(sale, "ann")), "room_not_found")
    assert await engine.sales.list_orders(ROOM) == []


async def test_a_room_that_never_sold_anything_leaves_nothing_behind(engine, room):
    await engine.sales.set_webhook(room, {"url": "https://shop.example/hooks", "secret": "s" * 20})
    await engine.store.delete_room(room)
    assert await engine.sales.archive(room) is None
    assert await engine.sales.get_webhook(room) is None
    assert room not in await engine.sales.webhook_rooms()
    await engine.store.create_room(demo_room())  # free at once


async def test_a_room_whose_only_sales_were_products_keeps_those_orders(engine, room):
    """Products bought at their own price, outside any flash sale, are orders like the others:
    deleting their room keeps them as its archive, and a settlement still reaches them."""
    product = await engine.store.get_product(room, "durian")
    paid = (await engine.sales.buy_product(room, _product_order(product, "ann"))).order
    reserved = (await engine.sales.buy_product(room, _product_order(product, "bo", 2))).order
    await engine.sales.settle(room, paid["id"], "paid", "shop")

    await engine.store.delete_room(room)
    orders = await engine.sales.list_orders(room)
    assert {o["id"]: o["status"] for o in orders} == {paid["id"]: "paid",
                                                      reserved["id"]: "reserved"}
    assert (await engine.sales.archive(room)).reserved == 1
    settled = await engine.sales.settle(room, reserved["id"], "cancelled", "shop")
    assert settled["status"] == "cancelled"  # its product is gone: nothing to give back to
    assert (await engine.sales.archive(room)).reserved == 0


async def test_reservations_in_a_deleted_room_still_expire(engine, room):
    sale = await engine.sales.create_sale(room, _sale())
    order = (await engine.sales.buy(room, sale["id"], _order(sale, "ann", ttl=0))).order
    await engine.store.delete_room(room)
    assert room in await engine.sales.sale_rooms()  # the clock still visits it
    await engine.sales.tick(room)
    assert (await engine.sales.get_order(room, order["id"]))["status"] == "expired"
    assert (await engine.sales.archive(room)).reserved == 0


async def test_an_archive_and_its_purge_survive_a_restart(engine_kind, make_settings, tmp_path):
    settings = make_settings(engine_kind).core

    async def started():
        engine = create_engine(settings)
        engine.broker.attach(Recorder())
        await engine.start()
        return engine

    first = await started()
    await first.store.create_room(demo_room())
    await first.store.put_product(ROOM, demo_product(), create=True)
    sale = await first.sales.create_sale(ROOM, _sale())
    order = (await first.sales.buy(ROOM, sale["id"], _order(sale, "ann"))).order
    await first.store.delete_room(ROOM)
    await first.close()

    second = await started()
    try:
        assert await second.store.get_room(ROOM) is None
        assert [o["id"] for o in await second.sales.list_orders(ROOM)] == [order["id"]]
        await second.sales.settle(ROOM, order["id"], "cancelled", "shop")
        assert await second.sales.mark_exported(ROOM)
        await second.sales.purge_archive(ROOM)
    finally:
        await second.close()

    third = await started()
    try:
        assert await third.sales.archive(ROOM) is None
        assert await third.sales.list_orders(ROOM) == []
        await third.store.create_room(demo_room())
    finally:
        await third.close()
    if engine_kind == "memory":  # purged from the disk too, not only from memory
        for path in settings.data_dir.rglob("*"):
            if path.is_file():
                assert order["id"].encode() not in path.read_bytes(), path


async def test_orders_are_listed_in_pages_that_join_up_exactly(engine, room):
    first = await engine.sales.create_sale(room, _sale(stock=100, limit=5))
    second = await engine.sales.create_sale(room, _sale(stock=100, limit=5))
    made = []
    for i in range(23):
        sale = first if i % 3 else second
        made.append((await engine.sales.buy(room, sale["id"], _order(sale, f"u{i % 4}"))).order)
    everything = await engine.sales.list_orders(room)
    assert sorted(o["id"] for o in everything) == sorted(o["id"] for o in made)
    assert [(o["created_at"], o["id"]) for o in everything] == sorted(
        (o["created_at"], o["id"]) for o in everything)

    async def pages(**which):
        got, after = [], None
        while page := await engine.sales.list_orders(room, after=after, limit=5, **which):
            assert len(page) <= 5
            got += page
            after = page[-1]["id"]
        return got

    assert await pages() == everything
    assert await pages(sale_id=second["id"]) == [o for o in everything
                                                 if o["sale_id"] == second["id"]]
    assert await pages(user_id="u1") == [o for o in everything if o["user_id"] == "u1"]
    # A cursor is a position: an order of another buyer continues after where it stands.
    middle = everything[10]
    assert await engine.sales.list_orders(room, user_id="u1", after=middle["id"]) == [
        o for o in everything[11:] if o["user_id"] == "u1"]
    refused = await _refused(engine.sales.list_orders(room, after="ord_nope"), "invalid_field")
    assert refused.extra["field"] == "after"
