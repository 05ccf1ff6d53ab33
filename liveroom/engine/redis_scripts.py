"""The Lua scripts of the Redis engine, each prepended with lua/prelude.lua and registered once.

A call joins the loop turn's batch (redis_batch.py), which loads the script again when a
restarted or flushed Redis answers NOSCRIPT, so callers never see that error; it comes back as
the script's value, or raises its refusal (redis_replies.py).
"""

from __future__ import annotations

from importlib import resources

from redis.asyncio import Redis

from .redis_batch import BatchedScript, Batcher, Shards

NAMES = (
    "publish", "position", "history", "publish_latest", "chat_post", "chat_delete", "pin",
    "likes", "write_and_publish", "product_put", "product_delete", "room_update", "snapshot",
    "presence_join", "presence_leave", "presence_heartbeat", "presence_count",
    "sale_create", "sale_buy", "product_buy", "sale_tick", "sale_finish", "order_settle", "outbox_claim",
    "media_claim", "media_live", "media_release", "media_refresh", "media_sweep", "media_claims",
    "room_create", "room_delete", "orders_page", "archive_exported", "stream_renew",
)


def _source(name: str) -> str:
    return resources.files(__package__).joinpath("lua", f"{name}.lua").read_text("utf-8")


# What a buyer is told is confirmed: with min_replicas, acknowledged only once on the replicas.
BUYS = ("sale_buy", "product_buy")


class Scripts:
    """Each script as an attribute: `await scripts.pin(keys=..., args=..., about=...)`."""

    def __init__(self, redis: Redis, *, min_replicas: int = 0, wait_timeout: float = 1.0,
                 shards: Shards | None = None) -> None:
        """`shards` (a cluster's) makes events go by sharded pub/sub and calls go to each
        shard apart (redis_batch.py)."""
        sharded = shards is not None
        prelude = _source("prelude")
        if sharded:  # a cluster: events stay on the room's shard (redis_connect.py)
            prelude = prelude.replace("redis.call('PUBLISH'", "redis.call('SPUBLISH'")
            assert "SPUBLISH" in prelude
        batcher = Batcher(redis, shards=shards)
        # Buys get batches of their own, so the wait for replicas delays no chat or count.
        buys = Batcher(redis, replicas=min_replicas, wait_timeout=wait_timeout, shards=shards
                       ) if min_replicas else batcher
        for name in NAMES:
            script = redis.register_script(prelude + "\n" + _source(name))
            setattr(self, name, BatchedScript(script, buys if name in BUYS else batcher))

    publish: BatchedScript
    position: BatchedScript
    history: BatchedScript
    publish_latest: BatchedScript
    chat_post: BatchedScript
    chat_delete: BatchedScript
    pin: BatchedScript
    likes: BatchedScript
    write_and_publish: BatchedScript
    product_put: BatchedScript
    product_delete: BatchedScript
    room_update: BatchedScript
    snapshot: BatchedScript
    presence_join: BatchedScript
    presence_leave: BatchedScript
    presence_heartbeat: BatchedScript
    presence_count: BatchedScript
    sale_create: BatchedScript
    sale_buy: BatchedScript
    product_buy: BatchedScript
    sale_tick: BatchedScript
    sale_finish: BatchedScript
    order_settle: BatchedScript
    outbox_claim: BatchedScript
    media_claim: BatchedScript
    media_live: BatchedScript
    media_release: BatchedScript
    media_refresh: BatchedScript
    media_sweep: BatchedScript
    media_claims: BatchedScript
    room_create: BatchedScript
    room_delete: BatchedScript
    orders_page: BatchedScript
    archive_exported: BatchedScript
    stream_renew: BatchedScript
