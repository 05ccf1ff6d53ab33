"""Broker: each room's ordered event stream, its bounded history, and delivery to subscribers.

Guarantees every implementation keeps (tests/engine/test_broker_contract.py checks them):
- publish() gives the event the room's next sequence number (1, 2, 3, ... within an epoch) and
  appends it to the room's history in the same atomic step, so history and stream never disagree.
- An event is msgpack from the moment it is published: a payload that cannot be encoded fails in
  publish(), on a laptop as in production, and every receiver gets its own decoded copy.
- Every instance subscribed to a room gets `handler.on_event(room, seq, event)` for each event, in
  sequence order, exactly once. When continuity cannot be kept (the epoch changed, or a gap is older
  than the history) the instance gets `handler.on_reset(room, position)` instead, and delivery goes
  on after that position; it is the subscriber's job to resynchronise its clients.
- The instance that publishes receives its own events back through its subscription, like every
  other instance: there is one delivery path.
- Instance messages (send_to_instance) are the other kind of traffic: one instance to one other,
  fire and forget, not numbered, not kept. send_to_instance() says whether an instance by that id
  is listening; a message to oneself comes back through the same path as any other.
- An epoch names one life of a stream. A stream that lost its state (room deleted and created
  again, data lost) starts a new epoch, so an old sequence number is never mistaken for a new one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Position:
    """A point in a room's stream: the epoch and the last sequence number in it."""

    epoch: str
    seq: int


class EventHandler(Protocol):
    def on_event(self, room: str, seq: int, event: dict[str, Any]) -> None: ...

    def on_reset(self, room: str, position: Position) -> None:
        """Continuity is lost; delivery goes on with the events after `position`."""


InstanceHandler = Callable[[dict[str, Any]], None]


class Broker(ABC):
    instance_id: str  # this instance, as send_to_instance() names it
    instance_handler: InstanceHandler | None = None

    def attach(self, handler: EventHandler) -> None:
        """Set who receives the events of subscribed rooms (one handler per instance)."""
        self.handler = handler

    def attach_instance(self, handler: InstanceHandler) -> None:
        """Set who receives the messages other instances send to this one."""
        self.instance_handler = handler

    @abstractmethod
    async def send_to_instance(self, instance: str, message: dict[str, Any]) -> bool:
        """Send a message to the instance with that id, once, on a later loop turn there;
        False when no such instance is listening (it is gone, or never was)."""

    @abstractmethod
    async def publish(self, room: str, event: dict[str, Any]) -> int:
        """Append the event to the room's stream; return its sequence number."""

    @abstractmethod
    async def publish_latest(
        self, room: str, slot: str, event: dict[str, Any], interval: float
    ) -> int | None:
        """Publish a state event only if it differs from the slot's last one and the slot was not
        published within `interval` seconds, across all instances. Return its seq, or None.

        For state that changes often but only its latest value matters (viewer counts): callers
        offer the current value periodically and the broker keeps the room's stream quiet.
        """

    @abstractmethod
    async def position(self, room: str) -> Position:
        """The room's current epoch and last sequence number."""

    @abstractmethod
    async def history(self, room: str, since: Position) -> list[tuple[int, dict[str, Any]]] | None:
        """The events after `since`, oldest first; None if they are no longer all in history
        (other epoch, or trimmed), in which case the caller must resynchronise."""

    @abstractmethod
    async def subscribe(self, room: str) -> Position:
        """Start delivering the room's events to the handler: every event after the returned
        position (some may be delivered before this returns)."""

    @abstractmethod
    async def unsubscribe(self, room: str) -> None:
        """Stop delivering the room's events."""
