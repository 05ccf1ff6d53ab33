"""Slow, idle and too many connections, cut off below the app: what aiohttp does not bound.

aiohttp waits for a request head as long as its client cares to dribble it, and keeps a
connection that never sends a byte open forever; a few hundred such sockets hold every file
descriptor of a server. The guard wraps the protocol factory of the running server:

- a new connection must deliver its first request head within LIVEROOM_HEADER_TIMEOUT, and a
  kept-alive connection its next one within LIVEROOM_IDLE_TIMEOUT; otherwise it is closed
  (nothing is owed to a client that has not finished asking);
- a request's body must arrive whole within LIVEROOM_BODY_TIMEOUT, else 408
  `request_timeout` and the connection is closed;
- one client address holds at most LIVEROOM_CONNECTIONS_PER_ADDRESS TCP connections; past it
  a new one is answered 503 `too_many_connections` and closed before any parsing. The
  operator's proxies (LIVEROOM_TRUSTED_PROXIES) are exempt: their connections are many
  clients', counted per forwarded address where it matters (the room channel).

A WebSocket or an event stream is one long request: once its handler runs, the guard leaves
it to the room channel's heartbeat.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from typing import Any

from aiohttp import web

from ..addresses import ClientAddresses
from ..api.middleware import error_response
from ..domain.errors import LiveroomError

log = logging.getLogger(__name__)


def _refusal(status: str, code: str, message: str) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


class _Guarded(asyncio.Protocol):
    """One connection: aiohttp's protocol inside, a deadline outside."""

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol) -> None:
        self._guard = guard
        self._inner = inner
        self._transport: asyncio.Transport | None = None
        self._peer: str | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._refused = False

    # --- asyncio.Protocol, forwarded ------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self._peer = str(peer[0]) if isinstance(peer, (tuple, list)) and peer else None
        if not self._guard.take(self._peer):
            self._refused = True
            transport.write(self._guard.refusal)
            transport.close()
            return
        self._guard.by_transport[transport] = self
        self.arm(self._guard.header_timeout)
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        if self._refused:
            return
        self._guard.give_back(self._peer)
        if self._transport is not None:
            self._guard.by_transport.pop(self._transport, None)
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return None if self._refused else self._inner.eof_received()

    def pause_writing(self) -> None:
        if not self._refused:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if not self._refused:
            self._inner.resume_writing()

    # --- the deadline ---------------------------------------------------------------------------
    def arm(self, seconds: float) -> None:
        self.disarm()
        self._timer = asyncio.get_running_loop().call_later(seconds, self._expired, seconds)

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self, seconds: float) -> None:
        self._timer = None
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if transport.get_write_buffer_size():  # still sending a response: not idle yet
            self.arm(seconds)
            return
        log.info("closed a connection from %s that sent no complete request in %g s",
                 self._peer, seconds)
        transport.abort()


class ConnectionGuard:
    def __init__(self, addresses: ClientAddresses, *, header_timeout: float,
                 body_timeout: float, idle_timeout: float, per_address: int) -> None:
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.idle_timeout = idle_timeout
        self._addresses = addresses
        self._per_address = per_address
        self._open: Counter[str] = Counter()
        self.by_transport: dict[asyncio.BaseTransport, _Guarded] = {}
        self.refusal = _refusal(
            "503 Service Unavailable", "too_many_connections",
            f"your address has {per_address} connections to this server already")

    def wrap(self, runner: web.AppRunner) -> None:
        """Put the guard between the listening sockets and aiohttp: call after
        `runner.setup()`, before starting the sites."""
        server = runner.server
        assert server is not None
        # The sites ask the runner for its server to make their protocols; hand them ours.
        runner._server = _Factory(server, self)  # type: ignore[assignment]

    def take(self, peer: str | None) -> bool:
        if peer is None or not self._per_address or self._addresses.is_proxy(peer):
            return True
        if self._open[peer] >= self._per_address:
            log.info("refused a connection from %s: %d open already", peer, self._open[peer])
            return False
        self._open[peer] += 1
        return True

    def give_back(self, peer: str | None) -> None:
        if peer is not None and peer in self._open:
            self._open[peer] -= 1
            if self._open[peer] <= 0:
                del self._open[peer]

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """A request head has arrived: no deadline while its handler runs, except for its body;
        the idle deadline starts when it is answered."""
        guarded = self.by_transport.get(request.transport) if request.transport else None
        if guarded is None:
            return await handler(request)
        guarded.disarm()
        try:
            if request.body_exists and request.headers.get("Upgrade") is None:
                try:
                    async with asyncio.timeout(self.body_timeout):
                        await request.read()  # kept by aiohttp for the handler's own read
                except TimeoutError:
                    # What is left of the body will not be read: this connection is done.
                    response = error_response(LiveroomError(
                        "request_timeout",
                        f"the request body did not arrive within {self.body_timeout:g} s"))
                    response.force_close()
                    return response
            return await handler(request)
        finally:
            if request.transport is not None and not request.transport.is_closing():
                guarded.arm(self.idle_timeout)


class _Factory:
    """aiohttp's server (the protocol factory the sites use), making guarded protocols."""

    def __init__(self, server: Any, guard: ConnectionGuard) -> None:
        self._server = server
        self._guard = guard

    def __call__(self) -> asyncio.Protocol:
        return _Guarded(self._guard, self._server())

    def __getattr__(self, name: str) -> Any:  # shutdown(), connections, ...: aiohttp's own
        return getattr(self._server, name)
