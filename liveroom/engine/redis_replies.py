"""The one reading of a script's reply: every script in lua/ answers ok(value) or
err(code, details...) (see lua/prelude.lua). ok gives the value; err raises the LiveroomError
clients see for that refusal, with the protocol's code and extra fields.

A script knows ids, not what a message should call them, so its caller says what the call is
about ({"room": ..., "product": ...}); a refusal that names a room, product, message or order
needs that name from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain.errors import LiveroomError
from ..domain.sales import buy_refusal
from ..domain.validation import invalid
from .redis_types import as_text
from .sales import archived_conflict

About = Mapping[str, str]

def script_result(reply: Any, about: About | None = None) -> Any:
    """The value of an ok reply (None when it has none); raises the refusal of an err reply."""
    if isinstance(reply, list) and reply:
        if reply[0] == b"ok":
            return reply[1] if len(reply) > 1 else None
        if reply[0] == b"err" and len(reply) > 1:
            raise refusal(as_text(reply[1]), reply[2:], about or {})
    raise ValueError(f"a script answered outside the ok/err convention: {reply!r}")


def refusal(code: str, details: list[Any], about: About) -> LiveroomError:
    match code:
        case "room_not_found":
            return LiveroomError("room_not_found", f"no room {about['room']!r}")
        case "room_exists":
            return LiveroomError("conflict", f"room {about['room']!r} already exists")
        case "room_archived":
            return archived_conflict(about["room"])
        case "unknown_cursor":
            return invalid("after", f"no order {about['after']!r} in this room to continue "
                           "after")
        case "product_not_found":
            return LiveroomError("product_not_found",
                                 f"no product {about['product']!r} in {about['room']!r}")
        case "product_exists":
            return LiveroomError("conflict", f"product {about['product']!r} already exists")
        case "message_not_found":
            return LiveroomError("message_not_found", f"no recent message {about['message']!r}")
        case "banned":
            return LiveroomError("banned", "you are banned from this room")
        case "muted":
            return LiveroomError("muted", "you are muted in this room", until=int(details[0]))
        case "slow_mode":
            # PTTL answers 0 in the key's last millisecond: a client must still wait a little.
            return LiveroomError("slow_mode", "slow mode: wait before your next message",
                                 retry_after_ms=max(int(details[0]), 1))
        case "sale_finished":
            return LiveroomError("conflict", "the sale has already finished")
        # Refused buys (and an unknown sale) read as the embedded engine's do.
        case ("sale_not_found" | "sale_ended" | "sale_cancelled" | "sold_out"
              | "idempotency_conflict"):
            return buy_refusal(code, None)
        case "price_changed":
            return buy_refusal(code, None, price=as_text(details[0]),
                               currency=as_text(details[1]))
        case "sale_not_started":
            return buy_refusal(code, None, starts_at=int(details[0]))
        case "not_enough_stock":
            return buy_refusal(code, None, remaining=int(details[0]))
        case "over_limit":
            return buy_refusal(code, None, held=int(details[0]), limit=int(details[1]))
        case "order_not_found":
            return LiveroomError("order_not_found",
                                 f"no order {about['order']!r} in {about['room']!r}")
        case "order_settled":
            status = as_text(details[0])
            return LiveroomError("conflict", f"the order is already {status}", status=status)
    raise ValueError(f"a script refused with an unknown code {code!r}")
