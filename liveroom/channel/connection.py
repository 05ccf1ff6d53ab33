"""One client on the room channel: who it is, how it wants its frames, and a bounded way to write.

Writes go straight to the socket's transport as prebuilt frames (see frames.py). The transport
buffers what the kernel will not take yet; when that buffer passes the limit the client is not
reading, and it is cut off at once: memory stays bounded and the room never waits for it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import replace
from typing import Any

from aiohttp import web

from ..domain.auth import Identity
from ..domain.errors import LiveroomError
from ..metrics import Metrics
from .encoded import Encoded
from .ratelimit import TokenBucket

log = logging.getLogger(__name__)

# Close codes of the room channel (docs/protocol.md). 1xxx are RFC 6455's, 4xxx ours, chosen to
# echo the HTTP status of the same refusal.
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_INVALID_TEXT = 1007  # a text frame that is not UTF-8 (aiohttp's reader closes with it)
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_SERVICE_RESTART = 1012  # this instance drains: reconnect now, through the load balancer
CLOSE_TRY_AGAIN = 1013
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_SLOW_CONSUMER = 4408

CLOSE_CODE_OF_ERROR = {
    "bad_request": CLOSE_BAD_REQUEST,
    "invalid_field": CLOSE_BAD_REQUEST,
    "unauthorized": CLOSE_UNAUTHORIZED,
    "invalid_token": CLOSE_UNAUTHORIZED,
    "token_expired": CLOSE_UNAUTHORIZED,
    "forbidden": CLOSE_FORBIDDEN,
    "wrong_room": CLOSE_FORBIDDEN,
    "banned": CLOSE_FORBIDDEN,
    "room_not_found": CLOSE_NOT_FOUND,
    "unavailable": CLOSE_TRY_AGAIN,
    "too_many_connections": CLOSE_TRY_AGAIN,
    "draining": CLOSE_SERVICE_RESTART,
}


class Connection:
    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport,
        *,
        room: str,
        identity: Identity,
        fmt: str,
        send_buffer_bytes: int,
        commands_per_second: float,
        buys_per_second: float = 5.0,
        metrics: Metrics | None = None,
        address: str | None = None,
        guest_address: str | None = None,
    ) -> None:
        self.id = secrets.token_hex(6)
        self.ws = ws
        # The client's address (addresses.py): per-address limits count by it.
        self.address = address
        # For a guest, the guest of their address (guests.py), whom they speak for too: its
        # slow mode, bans and mutes hold for them.
        self.guest_address = guest_address
        self.room = room
        self.identity = identity
        self.fmt = fmt
        self.closed = False
        # In presence, the room's live audience; a replay page's connection is not (handler.py).
        self.counted = True
        # Set while no command of this connection is running; a drain waits for it.
        self.idle = asyncio.Event()
        self.idle.set()
        self.draining = False
        self._metrics = metrics
        self._transport = transport
        self._limit = send_buffer_bytes
        self.commands = TokenBucket(commands_per_second, commands_per_second * 2)
        self.buys = TokenBucket(buys_per_second, buys_per_second * 2)

    def member(self) -> dict[str, Any]:
        member = {
            "user_id": self.identity.user_id,
            "name": self.identity.name,
            "role": self.identity.role,
        }
        if self.guest_address is not None:  # a moderator may ban every guest from there
            member["via"] = self.guest_address
        return member

    def rename(self, name: str) -> None:
        self.identity = replace(self.identity, name=name)

    # --- writing -----------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Write prebuilt frames; cut the client off if it has stopped reading."""
        if self.closed:
            return
        transport = self._transport
        if transport.is_closing():
            self.closed = True
            return
        transport.write(data)
        if transport.get_write_buffer_size() > self._limit:
            log.info(
                "connection %s in %s stopped reading (%d bytes unsent); disconnecting",
                self.id, self.room, transport.get_write_buffer_size(),
            )
            if self._metrics is not None:
                self._metrics.slow_clients.inc()
                self._metrics.dropped_bytes.inc(transport.get_write_buffer_size())
            self.abort()

    def send(self, message: dict[str, Any] | Encoded) -> None:
        encoded = message if isinstance(message, Encoded) else Encoded(message)
        self.write(encoded.frame(self.fmt))

    def send_error(self, error: LiveroomError, command_id: Any = None) -> None:
        self.send({"type": "error", "id": command_id, **error.as_dict()})

    def abort(self) -> None:
        """Drop the TCP connection now: for a client that cannot be told anything any more."""
        self.closed = True
        self._transport.abort()

    def hold_reads(self) -> None:
        """Read nothing more from the client until the close: what was read is what a drain
        answers, and a command not read is never run (the client sends it again elsewhere)."""
        self._transport.pause_reading()

    async def close(self, code: int, reason: str) -> None:
        """Close the WebSocket politely (close frame, wait briefly for the client's)."""
        if self.closed:
            return
        self.closed = True
        self._transport.resume_reading()  # the client's close frame must be read
        try:
            # Awaited here, not in a task of its own: the close frame is written in this very
            # step, so no answer falls between the flag above and the frame.
            async with asyncio.timeout(2.0):
                await self.ws.close(code=code, message=reason.encode()[:120])
        except (TimeoutError, ConnectionError):
            self._transport.abort()
