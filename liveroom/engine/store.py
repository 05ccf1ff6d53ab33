"""Store: rooms, products and each room's live state (pin, chat tail, likes, moderation).

Guarantees every implementation keeps (tests/engine/test_store_contract.py checks them):
- Rooms and products are durable: in Redis with the deployment's persistence, on disk under
  data_dir in the embedded engine. A restart loses none of them, nor a room's pin, slow mode
  and bans.
- A change to a room's live state and the event that announces it happen in one atomic step: no
  snapshot sees one without the other, and no crash leaves one without the other. Methods that
  change state return the sequence number of the event they published (None when nothing
  changed).
- Moderation is enforced inside that step: a banned or muted user's chat, or a message sent too
  soon in slow mode, is refused with a LiveroomError (banned / muted / slow_mode) and leaves no
  trace.
- snapshot() reads a room's state and its stream position atomically: every event after the
  snapshot's position is a change the snapshot does not contain yet.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from .broker import Position


@dataclass
class Snapshot:
    position: Position
    room: dict[str, Any]
    pin: dict[str, Any] | None
    products: list[dict[str, Any]]
    chat: list[dict[str, Any]]
    likes: int = 0
    slow_mode: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Store(ABC):
    # --- rooms -------------------------------------------------------------------------------
    @abstractmethod
    async def list_rooms(self) -> list[dict[str, Any]]: ...

    @abstractmethod
    async def get_room(self, room: str) -> dict[str, Any] | None: ...

    @abstractmethod
    async def create_room(self, record: dict[str, Any]) -> None:
        """Add a room; LiveroomError("conflict") if its id is taken, by a room or by the
        archive of a deleted one that is not purged yet."""

    @abstractmethod
    async def update_room(self, record: dict[str, Any]) -> int:
        """Replace a room's record and announce it (room.updated); room_not_found if absent."""

    @abstractmethod
    async def delete_room(self, room: str) -> bool:
        """End the room's running and scheduled sales (sale.ended, and its webhook), announce
        room.deleted and remove the room: its record, products and live state. What was sold
        in it stays as its archive (sales.py) until purged: orders are never deleted with
        their room. A room that never had a sale leaves nothing behind. One step on Redis, by
        the keys' names (never a scan), all in the room's hash slot. False for no room."""

    # --- products ----------------------------------------------------------------------------
    @abstractmethod
    async def list_products(self, room: str) -> list[dict[str, Any]]: ...

    @abstractmethod
    async def get_product(self, room: str, product_id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    async def put_product(self, room: str, record: dict[str, Any], *, create: bool,
                          keep_stock: bool = False) -> int:
        """Add (create) or replace a product and announce it (product.added / product.updated).
        conflict if create finds the id taken; product_not_found if an update finds none.
        With `keep_stock`, an update keeps the stock the product has now (purchases may have
        taken some since the caller read it) instead of the record's."""

    @abstractmethod
    async def delete_product(self, room: str, product_id: str) -> int:
        """Remove a product, unpinning it if pinned; product_not_found if absent."""

    # --- live state: each call changes state and publishes its event atomically -------------
    @abstractmethod
    async def post_chat(self, room: str, message: dict[str, Any], *, privileged: bool,
                        sender: str | None = None) -> int:
        """Append a chat message (a dict with id, user_id, name, role, text, ts) to the tail and
        publish chat.message. Refused for banned or muted users and in slow mode, unless
        `privileged` (staff: moderators, hosts and admins are none of these). `sender` is who
        else the message speaks for (a guest's address): its bans and mutes apply too, and slow
        mode counts the message against it instead of the user, so users sharing a sender
        share one message per interval."""

    @abstractmethod
    async def delete_chat(self, room: str, message_id: str, by: str) -> int:
        """Remove a message from the tail and publish chat.deleted; message_not_found if it is
        not in the tail."""

    @abstractmethod
    async def pin(self, room: str, product_id: str | None, by: str) -> int | None:
        """Pin a product (publishing product.pinned with the product) or, with None, unpin
        (product.unpinned; None when nothing was pinned)."""

    @abstractmethod
    async def add_likes(self, room: str, count: int) -> int:
        """Add to the room's like total and publish likes {added, total}."""

    @abstractmethod
    async def set_slow_mode(self, room: str, seconds: int, by: str) -> int: ...

    @abstractmethod
    async def mute(self, room: str, user_id: str, until_ms: int, by: str) -> int: ...

    @abstractmethod
    async def unmute(self, room: str, user_id: str, by: str) -> int: ...

    @abstractmethod
    async def ban(self, room: str, user_id: str, by: str) -> int: ...

    @abstractmethod
    async def unban(self, room: str, user_id: str, by: str) -> int: ...

    @abstractmethod
    async def is_banned(self, room: str, user_id: str) -> bool: ...

    @abstractmethod
    async def muted_until(self, room: str, user_id: str) -> int | None:
        """Unix ms until which the user is muted, or None."""

    @abstractmethod
    async def snapshot(self, room: str) -> Snapshot | None:
        """The room's state at a stream position, or None for an unknown room."""
