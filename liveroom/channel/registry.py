"""Every room-channel connection of this instance: admitted within the operator's limits,
counted per room and role for /metrics, and moved elsewhere together when the instance drains.

A connection takes its place (`admit`) before any work is done for it, so a full instance or
room refuses at once, with `too_many_connections` and close code 1013, without asking the
engine anything; it gives the place back when it ends, however it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter

from aiohttp import web

from ..domain.errors import LiveroomError
from ..metrics import Metrics
from .connection import CLOSE_SERVICE_RESTART, Connection

log = logging.getLogger(__name__)

RETRY_AFTER_MS = 3000


class Connections:
    def __init__(self, metrics: Metrics, *, max_total: int = 0, max_per_room: int = 0,
                 max_per_address: int = 0) -> None:
        self._metrics = metrics
        self._max_total = max_total
        self._max_per_room = max_per_room
        self._max_per_address = max_per_address
        self._places: Counter[str] = Counter()  # room -> admitted connections
        self._addresses: Counter[str | None] = Counter()  # client address -> admitted
        self._total = 0
        self._open: dict[Connection, None] = {}
        self._by_role: Counter[tuple[str, str]] = Counter()  # (room, role) -> open
        self._drain_deadline: float | None = None
        self._tasks: set[asyncio.Task] = set()

    def __len__(self) -> int:
        return len(self._open)

    def __iter__(self):
        return iter(list(self._open))

    # --- places --------------------------------------------------------------------------------
    def admit(self, room: str, address: str | None = None) -> None:
        """Take a place for a new connection to `room` from `address`, or refuse with
        too_many_connections."""
        if self._max_total and self._total >= self._max_total:
            self._metrics.refused.labels(reason="instance_limit").inc()
            raise LiveroomError(
                "too_many_connections",
                f"this server is at its limit of {self._max_total} connections; try again",
                scope="instance", limit=self._max_total, retry_after_ms=RETRY_AFTER_MS,
            )
        if self._max_per_room and self._places[room] >= self._max_per_room:
            self._metrics.refused.labels(reason="room_limit").inc()
            raise LiveroomError(
                "too_many_connections",
                f"room {room!r} is at its limit of {self._max_per_room} connections on this "
                "server; try again", scope="room", limit=self._max_per_room,
                retry_after_ms=RETRY_AFTER_MS,
            )
        if (self._max_per_address and address is not None
                and self._addresses[address] >= self._max_per_address):
            self._metrics.refused.labels(reason="address_limit").inc()
            raise LiveroomError(
                "too_many_connections",
                f"your address has {self._max_per_address} connections to this server "
                "already; close some first", scope="address", limit=self._max_per_address,
                retry_after_ms=RETRY_AFTER_MS,
            )
        self._total += 1
        self._places[room] += 1
        if address is not None:
            self._addresses[address] += 1

    def release(self, room: str, address: str | None = None) -> None:
        self._total -= 1
        self._places[room] -= 1
        if self._places[room] <= 0:
            del self._places[room]
        if address is not None:
            self._addresses[address] -= 1
            if self._addresses[address] <= 0:
                del self._addresses[address]

    # --- open connections ----------------------------------------------------------------------
    def add(self, conn: Connection) -> None:
        self._open[conn] = None
        key = (conn.room, conn.identity.role)
        self._by_role[key] += 1
        self._metrics.connections.labels(*key).set(self._by_role[key])
        if self._drain_deadline is not None:  # arrived while draining: send it on too
            task = asyncio.create_task(self._move(conn, self._drain_deadline))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def discard(self, conn: Connection) -> None:
        if conn in self._open:
            del self._open[conn]
            key = (conn.room, conn.identity.role)
            self._by_role[key] -= 1
            if self._by_role[key]:
                self._metrics.connections.labels(*key).set(self._by_role[key])
            else:  # no series left behind for rooms nobody watches any more
                del self._by_role[key]
                self._metrics.connections.remove(*key)

    # --- draining ------------------------------------------------------------------------------
    async def drain(self, deadline: float) -> None:
        """Let each connection finish its command in flight (until `deadline`, loop time), then
        tell it to reconnect elsewhere and close it with 1012. Connections that arrive while
        this runs go the same way; an instance that drains has stopped accepting by then."""
        self._drain_deadline = deadline  # connections arriving meanwhile are moved too
        try:
            conns = list(self._open)
            for conn in conns:
                conn.draining = True
            await asyncio.gather(*(self._move(conn, deadline) for conn in conns),
                                 return_exceptions=True)
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
        finally:
            self._drain_deadline = None

    async def _move(self, conn: Connection, deadline: float) -> None:
        conn.draining = True
        if not conn.idle.is_set():
            timeout = max(0.0, deadline - asyncio.get_running_loop().time())
            try:
                await asyncio.wait_for(conn.idle.wait(), timeout)
            except asyncio.TimeoutError:
                log.warning("connection %s: command still running at the drain deadline",
                            conn.id)
        # Until now every command read was answered (`draining` while one ran). From here the
        # client's frames stay unread until the close: a command not read is not run, and the
        # client sends it again after reconnecting. Those read before the hold whose handler has
        # not run yet have their turn queued ahead of this one: they are answered (at once,
        # with `draining`) before the close frame.
        conn.hold_reads()
        await asyncio.sleep(0)
        with contextlib.suppress(Exception):
            conn.send_error(LiveroomError(
                "draining", "this server is restarting: reconnect to resume where you are"))
        await conn.close(CLOSE_SERVICE_RESTART, "draining")


CONNECTIONS = web.AppKey("connections", Connections)
