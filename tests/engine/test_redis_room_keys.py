"""Deleting a room and purging its archive on Redis: one step by the keys' names, never a scan
of the keyspace (which on a busy Redis blocks everyone, and on a cluster sees one shard), and
nothing of the room left behind but its archive, then nothing at all."""

from __future__ import annotations

from liveroom.engine import create_engine

from ..conftest import Recorder, demo_product, demo_room
from .test_media_contract import TTL, _claim
from .test_sales_contract import _order, _sale

ROOM = "thailand"


def _keyspace_scans(client) -> int:
    stats = client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("scan", "keys"))


async def _busy_room(engine) -> dict:
    """A room that used every kind of key a room has."""
    store = engine.store
    await store.create_room(demo_room())
    await store.put_product(ROOM, demo_product(), create=True)
    await store.pin(ROOM, "durian", "mod")
    await store.post_chat(ROOM, {"id": "m1", "user_id": "ann", "name": "Ann", "role": "viewer",
                                 "text": "hi", "ts": 1}, privileged=False)
    await store.add_likes(ROOM, 3)
    await store.mute(ROOM, "bo", 2**40, "mod")
    await store.ban(ROOM, "cy", "mod")
    await engine.presence.join(ROOM, "c1", {"user_id": "ann", "role": "viewer"})
    await engine.presence.join(ROOM, "c2", {"user_id": "mod", "role": "moderator"})
    await engine.media.claim(ROOM, _claim("s1", instance="me"), TTL)
    await engine.media.go_live(ROOM, "host", "s1")
    sale = await engine.sales.create_sale(ROOM, _sale())
    await engine.sales.tick(ROOM)  # the stock's coalesced event: the `latest` hash
    await engine.sales.set_webhook(ROOM, {"url": "https://shop.example/h", "secret": "s" * 20})
    return (await engine.sales.buy(ROOM, sale["id"], _order(sale, "ann"))).order


async def test_deleting_and_purging_a_room_never_scans_and_leaves_no_key(private_redis,
                                                                         make_settings):
    engine = create_engine(make_settings("redis", redis_url=private_redis.url,
                                         redis_namespace="lr").core)
    engine.broker.attach(Recorder())
    await engine.start()
    client = private_redis.client()
    try:
        order = await _busy_room(engine)
        await engine.store.create_room(demo_room("chile", title="Chile", country="Chile",
                                                 country_code="CL"))
        client.config_resetstat()
        assert await engine.store.delete_room(ROOM)
        assert _keyspace_scans(client) == 0
        prefix = "lr:{thailand}:"
        left = {key.decode()[len(prefix):] for key in client.keys(prefix + "*")}
        assert left == {"archived", "sales", "sale:stock", "sale:told", "sale:flags",
                        "sale:buyers", "sale:idem", "orders", "orders:all", "orders:expiry",
                        "orders:user:ann", f"orders:sale:{order['sale_id']}", "outbox",
                        "outbox:due", "outbox:seq", "webhook"}
        await engine.sales.settle(ROOM, order["id"], "paid", "shop")
        assert await engine.sales.mark_exported(ROOM)
        await engine.sales.set_webhook(ROOM, None)
        client.config_resetstat()
        await engine.sales.purge_archive(ROOM)
        assert _keyspace_scans(client) == 0
        assert client.keys(prefix + "*") == []
        assert {m.decode() for m in client.smembers("lr:rooms")} == {"chile"}
        for index in ("lr:archives", "lr:webhook:rooms", "lr:sales:rooms"):
            assert not client.sismember(index, ROOM), index
        assert client.keys("lr:{chile}:*")  # the other room untouched
    finally:
        client.close()
        await engine.close()
