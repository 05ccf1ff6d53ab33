"""In-process store for the embedded engine; see store.py for the guarantees.

Atomicity comes from the event loop: each method checks, changes state and publishes without an
`await` in between, so no other coroutine sees a half-done step. Rooms, products, pins, slow mode,
bans and like totals are written to data_dir (likes at most once a second); the chat tail and
mutes live in memory, as short-lived as the conversation they belong to.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..domain import events
from ..domain.errors import LiveroomError
from .disk import RoomFiles
from .memory_broker import MemoryBroker
from .memory_sales import MemorySales
from .sales import archived_conflict
from .store import Snapshot, Store

LIKES_SAVE_DELAY = 1.0


@dataclass
class _Room:
    record: dict[str, Any]
    chat: deque
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    pin: str | None = None
    slow_mode: int = 0
    likes: int = 0
    bans: set[str] = field(default_factory=set)
    mutes: dict[str, int] = field(default_factory=dict)
    last_chat: dict[str, float] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        return {
            "record": self.record,
            "products": list(self.products.values()),
            "pin": self.pin,
            "slow_mode": self.slow_mode,
            "likes": self.likes,
            "bans": sorted(self.bans),
        }


def _now_ms() -> int:
    return int(time.time() * 1000)


class MemoryStore(Store):
    def __init__(self, broker: MemoryBroker, data_dir: Path, chat_tail: int,
                 sales: MemorySales) -> None:
        self._broker = broker
        self._sales = sales  # deleting a room ends its sales and keeps their orders
        self._chat_tail = chat_tail
        self._files = RoomFiles(data_dir)
        self._rooms: dict[str, _Room] = {}
        self._likes_save: dict[str, asyncio.TimerHandle] = {}
        for room_id, doc in self._files.load_all().items():
            self._rooms[room_id] = _Room(
                record=doc["record"],
                chat=deque(maxlen=chat_tail),
                products={p["id"]: p for p in doc.get("products", [])},
                pin=doc.get("pin"),
                slow_mode=doc.get("slow_mode", 0),
                likes=doc.get("likes", 0),
                bans=set(doc.get("bans", [])),
            )

    def _room(self, room: str) -> _Room:
        state = self._rooms.get(room)
        if state is None:
            raise LiveroomError("room_not_found", f"no room {room!r}")
        return state

    def _save(self, room: str) -> None:
        self._files.save(room, self._rooms[room].document())

    def _save_likes_soon(self, room: str) -> None:
        if room not in self._likes_save:
            loop = asyncio.get_running_loop()
            self._likes_save[room] = loop.call_later(LIKES_SAVE_DELAY, self._save_likes, room)

    def _save_likes(self, room: str) -> None:
        self._likes_save.pop(room, None)
        if room in self._rooms:
            self._save(room)

    def flush(self) -> None:
        """Write what is waiting for its timer (called on shutdown)."""
        for room, handle in list(self._likes_save.items()):
            handle.cancel()
            self._save_likes(room)

    # --- rooms -------------------------------------------------------------------------------
    async def list_rooms(self) -> list[dict[str, Any]]:
        return [dict(r.record) for r in self._rooms.values()]

    async def get_room(self, room: str) -> dict[str, Any] | None:
        state = self._rooms.get(room)
        return dict(state.record) if state else None

    def has_room(self, room: str) -> bool:
        return room in self._rooms

    async def create_room(self, record: dict[str, Any]) -> None:
        if record["id"] in self._rooms:
            raise LiveroomError("conflict", f"room {record['id']!r} already exists")
        if self._sales.has_archive(record["id"]):
            raise archived_conflict(record["id"])
        self._rooms[record["id"]] = _Room(record=dict(record), chat=deque(maxlen=self._chat_tail))
        self._save(record["id"])

    async def update_room(self, record: dict[str, Any]) -> int:
        state = self._room(record["id"])
        state.record = dict(record)
        self._save(record["id"])
        return self._broker.publish_now(record["id"], events.room_updated(record))

    async def delete_room(self, room: str) -> bool:
        state = self._rooms.get(room)
        if state is None:
            return False
        # One step on the loop: the sales end (announced), the room goes; then the disk.
        archived = self._sales.close_room(room, state.record)
        self._broker.publish_now(room, events.room_deleted(room))
        self.forget(room)
        await archived
        if room not in self._rooms:  # not created again meanwhile (a room without sales)
            self._files.remove(room)
        return True

    def forget(self, room: str, *, from_disk: bool = False) -> None:
        """Drop a room from memory (and, if asked, its file), without announcing anything."""
        self._rooms.pop(room, None)
        handle = self._likes_save.pop(room, None)
        if handle:
            handle.cancel()
        self._broker.drop(room)
        if from_disk:
            self._files.remove(room)

    # --- products ----------------------------------------------------------------------------
    async def list_products(self, room: str) -> list[dict[str, Any]]:
        return [dict(p) for p in self._room(room).products.values()]

    async def get_product(self, room: str, product_id: str) -> dict[str, Any] | None:
        product = self._room(room).products.get(product_id)
        return dict(product) if product else None

    async def put_product(self, room: str, record: dict[str, Any], *, create: bool,
                          keep_stock: bool = False) -> int:
        state = self._room(room)
        exists = record["id"] in state.products
        if create and exists:
            raise LiveroomError("conflict", f"product {record['id']!r} already exists")
        if not create and not exists:
            raise LiveroomError("product_not_found", f"no product {record['id']!r} in {room!r}")
        if keep_stock and exists:
            record = {**record, "stock": state.products[record["id"]]["stock"]}
        state.products[record["id"]] = dict(record)
        self._save(room)
        event = events.product_added(record) if create else events.product_updated(record)
        return self._broker.publish_now(room, event)

    async def delete_product(self, room: str, product_id: str) -> int:
        state = self._room(room)
        if state.products.pop(product_id, None) is None:
            raise LiveroomError("product_not_found", f"no product {product_id!r} in {room!r}")
        seq = self._broker.publish_now(room, events.product_removed(product_id))
        if state.pin == product_id:
            state.pin = None
            seq = self._broker.publish_now(room, events.product_unpinned("system"))
        self._save(room)
        return seq

    def take_stock(self, room: str, product_id: str, change: int) -> dict[str, Any] | None:
        """Add `change` (negative: take) to a product's stock, write the room's document and
        announce product.updated, all at once; the product as it is now, or None if it is
        gone. Only for the embedded sales (memory_sales.py), which check the stock first."""
        state = self._rooms.get(room)
        product = state.products.get(product_id) if state else None
        if product is None:
            return None
        product["stock"] = max(0, product["stock"] + change)
        self._save(room)
        self._broker.publish_now(room, events.product_updated(product))
        return dict(product)

    def product_now(self, room: str, product_id: str) -> dict[str, Any] | None:
        """The product as it is at this instant (no copy: read it without awaiting)."""
        state = self._rooms.get(room)
        return state.products.get(product_id) if state else None

    # --- live state --------------------------------------------------------------------------
    async def post_chat(self, room: str, message: dict[str, Any], *, privileged: bool,
                        sender: str | None = None) -> int:
        state = self._room(room)
        user = message["user_id"]
        if not privileged:  # staff are exempt from bans, mutes and slow mode
            for who in (user, sender) if sender else (user,):
                if who in state.bans:
                    raise LiveroomError("banned", "you are banned from this room")
                until = state.mutes.get(who, 0)
                if until > _now_ms():
                    raise LiveroomError("muted", "you are muted in this room", until=until)
                state.mutes.pop(who, None)
        sender = sender or user
        if state.slow_mode and not privileged:
            now = time.monotonic()
            wait = state.last_chat.get(sender, -1e18) + state.slow_mode - now
            if wait > 0:
                raise LiveroomError(
                    "slow_mode",
                    f"slow mode: one message every {state.slow_mode} s",
                    retry_after_ms=int(wait * 1000) + 1,
                )
            state.last_chat[sender] = now
        state.chat.append(dict(message))
        return self._broker.publish_now(room, events.chat_message(message))

    async def delete_chat(self, room: str, message_id: str, by: str) -> int:
        state = self._room(room)
        for message in state.chat:
            if message["id"] == message_id:
                state.chat.remove(message)
                return self._broker.publish_now(room, events.chat_deleted(message_id, by))
        raise LiveroomError("message_not_found", f"no recent message {message_id!r}")

    async def pin(self, room: str, product_id: str | None, by: str) -> int | None:
        state = self._room(room)
        if product_id is None:
            if state.pin is None:
                return None
            state.pin = None
            self._save(room)
            return self._broker.publish_now(room, events.product_unpinned(by))
        product = state.products.get(product_id)
        if product is None:
            raise LiveroomError("product_not_found", f"no product {product_id!r} in {room!r}")
        state.pin = product_id
        self._save(room)
        return self._broker.publish_now(room, events.product_pinned(product, by))

    async def add_likes(self, room: str, count: int) -> int:
        state = self._room(room)
        state.likes += count
        self._save_likes_soon(room)
        return self._broker.publish_now(room, events.likes(count, state.likes))

    async def set_slow_mode(self, room: str, seconds: int, by: str) -> int:
        state = self._room(room)
        state.slow_mode = seconds
        state.last_chat.clear()
        self._save(room)
        return self._broker.publish_now(room, events.slow_mode(seconds, by))

    async def mute(self, room: str, user_id: str, until_ms: int, by: str) -> int:
        self._room(room).mutes[user_id] = until_ms
        return self._broker.publish_now(room, events.user_muted(user_id, until_ms, by))

    async def unmute(self, room: str, user_id: str, by: str) -> int:
        self._room(room).mutes.pop(user_id, None)
        return self._broker.publish_now(room, events.user_unmuted(user_id, by))

    async def ban(self, room: str, user_id: str, by: str) -> int:
        self._room(room).bans.add(user_id)
        self._save(room)
        return self._broker.publish_now(room, events.user_banned(user_id, by))

    async def unban(self, room: str, user_id: str, by: str) -> int:
        self._room(room).bans.discard(user_id)
        self._save(room)
        return self._broker.publish_now(room, events.user_unbanned(user_id, by))

    async def is_banned(self, room: str, user_id: str) -> bool:
        return user_id in self._room(room).bans

    async def muted_until(self, room: str, user_id: str) -> int | None:
        until = self._room(room).mutes.get(user_id, 0)
        return until if until > _now_ms() else None

    async def snapshot(self, room: str) -> Snapshot | None:
        state = self._rooms.get(room)
        if state is None:
            return None
        pin = state.products.get(state.pin) if state.pin else None
        return Snapshot(
            position=self._broker.position_now(room),
            room=dict(state.record),
            pin=dict(pin) if pin else None,
            products=[dict(p) for p in state.products.values()],
            chat=[dict(m) for m in state.chat],
            likes=state.likes,
            slow_mode=state.slow_mode,
        )
