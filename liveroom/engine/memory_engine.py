"""The embedded engine: one process, state in memory, durable records under data_dir."""

from __future__ import annotations

from ..config import Settings
from ..files import private_dir
from . import Engine
from .memory_broker import MemoryBroker
from .memory_media import MemoryMedia
from .memory_presence import MemoryPresence
from .memory_revocations import MemoryRevocations
from .memory_sales import MemorySales
from .memory_store import MemoryStore


class MemoryEngine(Engine):
    kind = "memory"
    store: MemoryStore  # flushed and closed here, beyond what Store and Sales offer
    sales: MemorySales

    def __init__(self, settings: Settings) -> None:
        private_dir(settings.data_dir)  # orders and rooms: for this server's user only
        self.broker = MemoryBroker(settings.history_size, settings.instance_id)
        self.presence = MemoryPresence()
        self.sales = MemorySales(self.broker, settings.data_dir)
        self.store = MemoryStore(self.broker, settings.data_dir, settings.chat_tail, self.sales)
        self.sales.rooms = self.store
        # A deletion that reached the journal but not the room's file (a crash in between)
        # is finished here.
        for archive in self.sales.archived_rooms():
            if self.store.has_room(archive):
                self.store.forget(archive, from_disk=True)
        self.media = MemoryMedia(self.broker, self.store)
        self.revocations = MemoryRevocations(settings.data_dir)

    async def close(self) -> None:
        self.store.flush()
        await self.sales.close()
