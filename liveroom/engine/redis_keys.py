"""Redis key names. Every key of a room carries the room in a hash tag, `lr:{room}:...`, so a
Redis Cluster keeps a room on one shard and a Lua script can touch all of a room's keys."""

from __future__ import annotations

ROOM_INDEX = "lr:rooms"
SALE_ROOMS = "lr:sales:rooms"  # rooms with sale work: the sale clocks visit them
WEBHOOK_ROOMS = "lr:webhook:rooms"  # rooms with a webhook: the outbox dispatchers visit them
MEDIA_ROOMS = "lr:media:rooms"  # rooms with a publisher's claim: every instance sweeps them


class RoomKeys:
    __slots__ = (
        "room", "prefix", "seq", "epoch", "history", "channel", "latest", "record", "products",
        "state", "chat", "mutes", "bans", "presence", "staff", "presence_instances",
        "sales", "sale_stock", "sale_flags", "sale_told", "sales_active", "sale_buyers",
        "sale_idem", "orders", "order_index", "order_expiry", "outbox", "outbox_due",
        "outbox_seq", "webhook", "deliveries", "media", "media_deadlines",
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
        # Flash sales (see engine/redis_sales.py).
        self.sales = p + "sales"  # hash: sale id -> record
        self.sale_stock = p + "sale:stock"  # hash: sale id -> units remaining
        self.sale_flags = p + "sale:flags"  # hash: sale id -> ended | cancelled, when forced
        self.sale_told = p + "sale:told"  # hash: sale id -> state last announced
        self.sales_active = p + "sale:active"  # set of sales not yet ended or cancelled
        self.sale_buyers = p + "sale:buyers"  # hash: "sale|user" -> units held
        self.sale_idem = p + "sale:idem"  # hash: "sale|user|key" -> order id
        self.orders = p + "orders"  # hash: order id -> record
        self.order_index = p + "orders:all"  # zset: order id by creation time
        self.order_expiry = p + "orders:expiry"  # zset: reserved order id -> expiry (ms)
        self.outbox = p + "outbox"  # hash: entry id -> {type, payload, attempts}
        self.outbox_due = p + "outbox:due"  # zset: entry id -> next attempt (ms)
        self.outbox_seq = p + "outbox:seq"
        self.webhook = p + "webhook"  # the room's webhook {url, secret}
        self.deliveries = p + "deliveries"  # list: newest webhook delivery attempts first
        # Live video (see engine/redis_media.py).
        self.media = p + "media"  # hash: slot -> publisher's claim
        self.media_deadlines = p + "media:ttl"  # zset: slot -> claim deadline (ms, Redis clock)

    def slow(self, user_id: str) -> str:
        return f"{self.prefix}slow:{user_id}"

    def user_orders(self, user_id: str) -> str:
        return f"{self.prefix}orders:user:{user_id}"

    def sale_orders(self, sale_id: str) -> str:
        return f"{self.prefix}orders:sale:{sale_id}"

    @property
    def outbox_keys(self) -> list[str]:
        return [self.outbox, self.outbox_due, self.outbox_seq]

    @property
    def stream(self) -> list[str]:
        """The first three keys of every script that publishes."""
        return [self.seq, self.epoch, self.history]


def room_of_channel(channel: bytes) -> str:
    text = channel.decode()
    return text[text.index("{") + 1 : text.rindex("}")]
