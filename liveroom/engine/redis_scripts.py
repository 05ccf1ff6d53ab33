"""The Lua scripts of the Redis engine, each prepended with lua/prelude.lua and registered once.

redis-py's Script runs EVALSHA and falls back to EVAL after a Redis restart flushed the script
cache, so callers never see NOSCRIPT.
"""

from __future__ import annotations

from importlib import resources

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

NAMES = (
    "publish", "position", "history", "publish_latest", "chat_post", "chat_delete", "pin",
    "likes", "write_and_publish", "product_put", "product_delete", "room_update", "snapshot",
    "presence_join", "presence_heartbeat", "presence_count",
)


def _source(name: str) -> str:
    return resources.files(__package__).joinpath("lua", f"{name}.lua").read_text("utf-8")


class Scripts:
    def __init__(self, redis: Redis) -> None:
        prelude = _source("prelude")
        for name in NAMES:
            setattr(self, name, redis.register_script(prelude + "\n" + _source(name)))

    publish: AsyncScript
    position: AsyncScript
    history: AsyncScript
    publish_latest: AsyncScript
    chat_post: AsyncScript
    chat_delete: AsyncScript
    pin: AsyncScript
    likes: AsyncScript
    write_and_publish: AsyncScript
    product_put: AsyncScript
    product_delete: AsyncScript
    room_update: AsyncScript
    snapshot: AsyncScript
    presence_join: AsyncScript
    presence_heartbeat: AsyncScript
    presence_count: AsyncScript
