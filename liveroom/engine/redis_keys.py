"""Redis key names. Every key of a room carries the room in a hash tag, `lr:{room}:...`, so a
Redis Cluster keeps a room on one shard and a Lua script can touch all of a room's keys."""

from __future__ import annotations

ROOM_INDEX = "lr:rooms"


class RoomKeys:
    __slots__ = (
        "room", "prefix", "seq", "epoch", "history", "channel", "latest", "record", "products",
        "state", "chat", "mutes", "bans", "presence", "staff", "presence_instances",
    )

    def __init__(self, room: str) -> None:
        self.room = room
        self.prefix = p = f"lr:{{{room}}}:"
        self.seq = p + "seq"
        self.epoch = p + "epoch"
        self.history = p + "history"
        self.channel = p + "events"
        self.latest = p + "latest"
        self.record = p + "room"
        self.products = p + "products"
        self.state = p + "state"  # hash: pin, slow, likes
        self.chat = p + "chat"
        self.mutes = p + "mutes"
        self.bans = p + "bans"
        self.presence = p + "presence"  # hash: "<instance>|<user>" -> member, viewers
        self.staff = p + "staff"  # the same for hosts, moderators, admins
        self.presence_instances = p + "pinst"  # zset: instance -> expiry (ms, Redis clock)

    def slow(self, user_id: str) -> str:
        return f"{self.prefix}slow:{user_id}"

    @property
    def stream(self) -> list[str]:
        """The first three keys of every script that publishes."""
        return [self.seq, self.epoch, self.history]


def room_of_channel(channel: bytes) -> str:
    text = channel.decode()
    return text[text.index("{") + 1 : text.rindex("}")]
