"""Redis key names. Every key and channel starts with the deployment's namespace
(LIVEROOM_REDIS_NAMESPACE, "lr" by default), so deployments (or test runs) can share a Redis.
Every key of a room carries the room in a hash tag, `lr:{room}:...`, so a Redis Cluster keeps a
room on one shard and a Lua script can touch all of a room's keys."""

from __future__ import annotations


class Keyspace:
    """The names of one deployment's keys and channels."""

    def __init__(self, namespace: str = "lr") -> None:
        self.namespace = ns = namespace
        self.rooms = f"{ns}:rooms"  # the room index
        self.sale_rooms = f"{ns}:sales:rooms"  # rooms with sale work: the sale clocks visit them
        self.webhook_rooms = f"{ns}:webhook:rooms"  # rooms with a webhook: dispatchers visit them
        self.media_rooms = f"{ns}:media:rooms"  # rooms with a publisher's claim: swept
        self.archives = f"{ns}:archives"  # deleted rooms whose orders are kept until purged
        self._rooms: dict[str, RoomKeys] = {}

    def room(self, room: str) -> RoomKeys:
        keys = self._rooms.get(room)
        if keys is None:
            keys = self._rooms[room] = RoomKeys(room, self.namespace)
        return keys

    def forget(self, room: str) -> None:
        self._rooms.pop(room, None)

    def instance_channel(self, instance: str) -> str:
        """Where messages for one instance go (Broker.send_to_instance)."""
        return f"{self.namespace}:instance:{instance}"


class RoomKeys:
    __slots__ = (
        "room", "prefix", "seq", "epoch", "history", "channel", "latest", "record", "products",
        "state", "chat", "mutes", "bans", "presence", "staff", "presence_instances",
        "presence_users",
        "sales", "sale_stock", "sale_flags", "sale_told", "sales_active", "sale_buyers",
        "sale_idem", "product_idem", "orders", "order_index", "order_expiry", "outbox", "outbox_due",
        "outbox_seq", "webhook", "deliveries", "media", "media_deadlines", "thumbnail", "archived",
    )

    def __init__(self, room: str, namespace: str = "lr") -> None:
        self.room = room
        self.prefix = p = f"{namespace}:{{{room}}}:"
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
        # hash: viewer -> how many instances have a row for them; its HLEN is the count
        self.presence_users = p + "pusers"
        # Flash sales (see engine/redis_sales.py).
        self.sales = p + "sales"  # hash: sale id -> record
        self.sale_stock = p + "sale:stock"  # hash: sale id -> units remaining
        self.sale_flags = p + "sale:flags"  # hash: sale id -> ended | cancelled, when forced
        self.sale_told = p + "sale:told"  # hash: sale id -> state last announced
        self.sales_active = p + "sale:active"  # set of sales not yet ended or cancelled
        self.sale_buyers = p + "sale:buyers"  # hash: "sale|user" -> units held
        self.sale_idem = p + "sale:idem"  # hash: "sale|user|key" -> order id
        self.product_idem = p + "product:idem"  # hash: "product|user|key" -> order id
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
        self.thumbnail = p + "thumbnail"  # the live video's latest still (JPEG), with a TTL
        # A deleted room's archive: hash {record, deleted_at, exported_at} (redis_archives.py).
        self.archived = p + "archived"

    def slow(self, user_id: str) -> str:
        return f"{self.prefix}slow:{user_id}"

    def user_orders(self, user_id: str) -> str:
        return f"{self.prefix}orders:user:{user_id}"

    def sale_orders(self, sale_id: str) -> str:
        return f"{self.prefix}orders:sale:{sale_id}"

    @property
    def live_keys(self) -> list[str]:
        """What a room's deletion removes besides its record, stream and sales (lua/
        room_delete.lua): every fixed name but those. Per-user slow-mode keys expire alone."""
        return [self.products, self.state, self.chat, self.mutes, self.bans, self.presence,
                self.staff, self.presence_instances, self.presence_users, self.latest, self.media,
                self.media_deadlines, self.thumbnail]

    @property
    def archive_keys(self) -> list[str]:
        """The fixed names of what a deleted room keeps until its archive is purged; with
        each sale's and each buyer's order index (sale_orders, user_orders) and `archived`.
        The stream's keys too: settling an archived order tells its buyer (order.updated)."""
        return [self.sales, self.sale_stock, self.sale_flags, self.sale_told, self.sales_active,
                self.sale_buyers, self.sale_idem, self.product_idem, self.orders,
                self.order_index, self.order_expiry, self.outbox, self.outbox_due,
                self.outbox_seq, self.webhook, self.deliveries, *self.stream]

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
