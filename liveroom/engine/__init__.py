"""The engine: everything instances share (broker, presence, store, sales, media, the
revocation list), behind one small interface.

`create_engine` picks the implementation once, by whether a Redis URL is configured; nothing
else in the code base asks which one it got.
"""

from __future__ import annotations

from aiohttp import web

from ..config import Settings
from .broker import Broker, EventHandler, Position
from .media import Media
from .presence import Presence
from .revocations import Revocations
from .sales import Archive, BuyResult, OutboxEntry, Sales
from .store import Snapshot, Store

__all__ = [
    "Archive", "Broker", "BuyResult", "Engine", "EventHandler", "Media", "OutboxEntry", "Position",
    "Presence", "Revocations", "Sales", "Snapshot", "Store", "create_engine", "ENGINE",
]


class Engine:
    """Broker, presence, store, sales and media of one implementation, started and closed
    together."""

    kind: str
    broker: Broker
    presence: Presence
    store: Store
    sales: Sales
    media: Media
    revocations: Revocations

    async def start(self) -> None:
        """Connect; raise EngineUnavailable if the backing service cannot be reached."""

    async def close(self) -> None:
        """Stop background work and release connections."""

    async def ping(self) -> None:
        """Raise EngineUnavailable unless the engine can serve requests right now."""


ENGINE = web.AppKey("engine", Engine)


def create_engine(settings: Settings) -> Engine:
    if settings.redis_url:
        from .redis_engine import RedisEngine

        return RedisEngine(settings)
    from .memory_engine import MemoryEngine

    return MemoryEngine(settings)
