"""The room events, built in one place so both engines publish the same shapes.

A few events are built inside Redis Lua scripts because they carry a value only the script knows
(the like total, the pinned product as stored); their shape is written next to them there and
checked against these by the engine contract tests. docs/protocol.md documents every one.
"""

from __future__ import annotations

from typing import Any


def chat_message(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": "chat.message", "message": message}


def chat_deleted(message_id: str, by: str) -> dict[str, Any]:
    return {"type": "chat.deleted", "message_id": message_id, "by": by}


def product_pinned(product: dict[str, Any], by: str) -> dict[str, Any]:
    return {"type": "product.pinned", "product": product, "by": by}


def product_unpinned(by: str) -> dict[str, Any]:
    return {"type": "product.unpinned", "by": by}


def product_added(product: dict[str, Any]) -> dict[str, Any]:
    return {"type": "product.added", "product": product}


def product_updated(product: dict[str, Any]) -> dict[str, Any]:
    return {"type": "product.updated", "product": product}


def product_removed(product_id: str) -> dict[str, Any]:
    return {"type": "product.removed", "product_id": product_id}


def likes(added: int, total: int) -> dict[str, Any]:
    return {"type": "likes", "added": added, "total": total}


def viewers(count: int) -> dict[str, Any]:
    return {"type": "viewers", "count": count}


def slow_mode(seconds: int, by: str) -> dict[str, Any]:
    return {"type": "room.slow_mode", "seconds": seconds, "by": by}


def user_muted(user_id: str, until_ms: int, by: str) -> dict[str, Any]:
    return {"type": "user.muted", "user_id": user_id, "until": until_ms, "by": by}


def user_unmuted(user_id: str, by: str) -> dict[str, Any]:
    return {"type": "user.unmuted", "user_id": user_id, "by": by}


def user_banned(user_id: str, by: str) -> dict[str, Any]:
    return {"type": "user.banned", "user_id": user_id, "by": by}


def user_unbanned(user_id: str, by: str) -> dict[str, Any]:
    return {"type": "user.unbanned", "user_id": user_id, "by": by}


def room_updated(room: dict[str, Any]) -> dict[str, Any]:
    return {"type": "room.updated", "room": room}


def room_deleted(room_id: str) -> dict[str, Any]:
    return {"type": "room.deleted", "room_id": room_id}


def sale_event(kind: str, sale: dict[str, Any]) -> dict[str, Any]:
    """sale.scheduled, sale.started, sale.sold_out, sale.ended, sale.cancelled: the sale's view
    (record, remaining, sold, state). Built in lua/sale_tick.lua too."""
    return {"type": kind, "sale": sale}


def sale_stock(sale_id: str, remaining: int, sold: int) -> dict[str, Any]:
    return {"type": "sale.stock", "sale_id": sale_id, "remaining": remaining, "sold": sold}


def sale_purchases(sale_id: str, buyers: list[dict[str, Any]], count: int, units: int
                   ) -> dict[str, Any]:
    """The "just bought" ticker: a few masked buyers and how many orders and units since the
    last one (per instance and half second)."""
    return {"type": "sale.purchases", "sale_id": sale_id, "buyers": buyers, "orders": count,
            "units": units}


def order_updated(order: dict[str, Any]) -> dict[str, Any]:
    """An order was settled (paid, cancelled, expired): addressed to its buyer alone ("to"),
    so the room channel delivers it only to the buyer's connections. Built in
    lua/order_settle.lua too."""
    return {"type": "order.updated", "to": order["user_id"], "order": order}


def media_live(slot: str, publisher: dict[str, Any]) -> dict[str, Any]:
    """A publisher's media arrived: the room is live (engine/media.py public() fields)."""
    return {"type": "media.live", "slot": slot, "publisher": publisher}


def media_offline(slot: str, session: str, reason: str) -> dict[str, Any]:
    """A live publisher left: stopped, failed, replaced or expired. Built in lua/media_claim.lua
    and lua/media_sweep.lua too."""
    return {"type": "media.offline", "slot": slot, "session": session, "reason": reason}
