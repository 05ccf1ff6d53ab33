"""In-process broker for the embedded engine; see broker.py for the guarantees.

It behaves like the Redis one where it matters: events are msgpack-encoded on publish and handed
to the handler on a later loop turn (never inside the publisher's call), in order.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..domain.codec import pack, unpack
from .broker import Broker, Position


@dataclass
class _Stream:
    epoch: str
    history: deque
    seq: int = 0
    latest: dict[str, tuple[bytes, float]] = field(default_factory=dict)


class MemoryBroker(Broker):
    def __init__(self, history_size: int, instance_id: str = "") -> None:
        self._history_size = history_size
        self.instance_id = instance_id
        self._streams: dict[str, _Stream] = {}
        self._subscribed: set[str] = set()

    def _stream(self, room: str) -> _Stream:
        stream = self._streams.get(room)
        if stream is None:
            stream = _Stream(
                epoch=secrets.token_hex(4), history=deque(maxlen=self._history_size)
            )
            self._streams[room] = stream
        return stream

    def publish_now(self, room: str, event: dict[str, Any]) -> int:
        """Publish synchronously: the store calls this inside its critical sections."""
        body = pack(event)
        stream = self._stream(room)
        stream.seq += 1
        stream.history.append((stream.seq, body))
        if room in self._subscribed:
            loop = asyncio.get_running_loop()
            loop.call_soon(self._deliver, room, stream.seq, body)
        return stream.seq

    def _deliver(self, room: str, seq: int, body: bytes) -> None:
        if room in self._subscribed:
            self.handler.on_event(room, seq, unpack(body))

    async def send_to_instance(self, instance: str, message: dict[str, Any]) -> bool:
        if instance != self.instance_id or self.instance_handler is None:
            return False
        body = pack(message)
        handler = self.instance_handler
        asyncio.get_running_loop().call_soon(lambda: handler(unpack(body)))
        return True

    def drop(self, room: str) -> None:
        """Forget a deleted room's stream: if it is created again it starts a new epoch."""
        self._streams.pop(room, None)

    async def publish(self, room: str, event: dict[str, Any]) -> int:
        return self.publish_now(room, event)

    async def publish_latest(
        self, room: str, slot: str, event: dict[str, Any], interval: float
    ) -> int | None:
        stream = self._stream(room)
        body = pack(event)
        now = time.monotonic()
        last = stream.latest.get(slot)
        if last is not None and (now - last[1] < interval or last[0] == body):
            return None
        stream.latest[slot] = (body, now)
        return self.publish_now(room, event)

    def position_now(self, room: str) -> Position:
        stream = self._stream(room)
        return Position(stream.epoch, stream.seq)

    async def position(self, room: str) -> Position:
        return self.position_now(room)

    async def history(self, room: str, since: Position) -> list[tuple[int, dict]] | None:
        stream = self._stream(room)
        if since.epoch != stream.epoch or since.seq > stream.seq:
            return None
        missed = stream.seq - since.seq
        if missed > len(stream.history):
            return None
        kept = list(stream.history)[len(stream.history) - missed:] if missed else []
        return [(seq, unpack(body)) for seq, body in kept]

    async def subscribe(self, room: str) -> Position:
        self._subscribed.add(room)
        return self.position_now(room)

    async def unsubscribe(self, room: str) -> None:
        self._subscribed.discard(room)
