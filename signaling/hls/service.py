"""Which rooms are segmented, and what becomes of their recordings.

Every tick the service looks at this instance's publishers (the registry): each host slot
publishing H.264 gets a Recorder (segmenter.py), and a new one when its publisher changes; a
recorder whose publisher ended is closed, which finishes its recording. The demo host is
segmented only while somebody asks for its room's HLS (it would otherwise encode for nobody)
and its segments are not kept.

While a room is recorded the service follows its events (the fanout's observers, as the room
channel delivers them) and appends the pins, sales and chat to the recording's timeline, at
the recording's clock.

Every few minutes it applies the retention settings to every room's recordings (newest
replay_keep, none older than replay_days, replay_max_bytes in all).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from liveroom.channel.fanout import Fanout
from liveroom.tasks import stop_tasks

from ..config import MediaSettings
from ..peers import Broadcast
from ..registry import Registry
from .segmenter import Recorder, hls_compatible
from .store import Recordings

log = logging.getLogger(__name__)

TICK = 0.5
CLEAN_EVERY = 60.0
DEMO_DEMAND = 30.0  # seconds the demo host stays segmented after its room's last HLS request
KEPT_EVENTS = ("chat.message", "chat.deleted", "product.pinned", "product.unpinned",
               "sale.scheduled", "sale.started", "sale.sold_out", "sale.ended", "sale.cancelled")


class HlsService:
    def __init__(self, registry: Registry, store: Recordings, media: MediaSettings,
                 fanout: Fanout | None = None) -> None:
        self.registry = registry
        self.store = store
        self.media = media
        self.fanout = fanout
        self.recorders: dict[str, Recorder] = {}
        self._wanted: dict[str, float] = {}  # room -> last HLS request (the demo host)
        self._watching: set[str] = set()
        self._task: asyncio.Task | None = None
        self._last_clean = 0.0
        self.disk: dict[str, int] = {}  # room -> bytes of its recordings, at the last pass
        if fanout is not None:
            fanout.observe(self._event)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hls")

    async def close(self) -> None:
        await stop_tasks(self._task)
        for room in list(self.recorders):
            self._stop(room)

    def want(self, room: str) -> None:
        """Someone asked for the room's live HLS."""
        self._wanted[room] = time.monotonic()

    async def _run(self) -> None:
        while True:
            try:
                self.sync()
                await self._follow()
                if time.monotonic() - self._last_clean > CLEAN_EVERY:
                    self._last_clean = time.monotonic()
                    await self.retain()
            except Exception:
                log.exception("hls: tick failed")
            await asyncio.sleep(TICK)

    # --- recorders ----------------------------------------------------------------------------
    def sync(self) -> None:
        now = time.monotonic()
        current: dict[str, Broadcast] = {}
        for (room, slot), publisher in list(self.registry.publishers.items()):
            if slot != "host" or publisher.closed or not hls_compatible(publisher.codecs):
                continue
            if not all(kind in publisher.sources for kind in publisher.codecs):
                continue  # still negotiating
            demo = publisher.transport == "demo"
            if demo and now - self._wanted.get(room, -1e9) > DEMO_DEMAND:
                continue
            if not demo and not publisher.live:
                continue
            current[room] = publisher
        for room, recorder in list(self.recorders.items()):
            now_publishing = current.get(room)
            if (now_publishing is None or not recorder.attached
                    or any(recorder.sources.get(k) is not s
                           for k, s in now_publishing.sources.items())):
                self._stop(room)
        for room, publisher in current.items():
            if room not in self.recorders:
                demo = publisher.transport == "demo"
                meta = {"publisher": publisher.owner.get("name") or publisher.owner.get("user_id"),
                        "source": publisher.transport}
                self.recorders[room] = Recorder(room, self.store, publisher.sources, meta,
                                                keep=not demo)
                log.info("room %s: segmenting%s as %s", room, "" if demo else " and recording",
                         self.recorders[room].session)

    def _stop(self, room: str) -> None:
        recorder = self.recorders.pop(room, None)
        if recorder is not None:
            recorder.close()
            log.info("room %s: recording %s ended after %.1f s", room, recorder.session,
                     recorder.duration)

    def recorder(self, room: str) -> Recorder | None:
        return self.recorders.get(room)

    # --- the timeline -------------------------------------------------------------------------
    async def _follow(self) -> None:
        if self.fanout is None:
            return
        for room in set(self.recorders) - self._watching:
            self._watching.add(room)
            await self.fanout.watch(room)
        for room in self._watching - set(self.recorders):
            self._watching.discard(room)
            self.fanout.unwatch(room)

    def _event(self, room: str, event: dict[str, Any]) -> None:
        recorder = self.recorders.get(room)
        if recorder is None or not recorder.keep or event.get("to") is not None:
            return
        if event.get("type") not in KEPT_EVENTS:
            return
        with contextlib.suppress(OSError):
            self.store.append_event(room, recorder.session,
                                    {"t": round(recorder.media_time(), 3), **event})

    # --- retention ----------------------------------------------------------------------------
    async def retain(self) -> int:
        """A retention pass (off the event loop: it walks the disk), and the disk use it
        leaves, for /metrics; how many recordings it deleted."""
        deleted = await asyncio.to_thread(self.clean)
        self.disk = await asyncio.to_thread(self.usage)
        return deleted

    def clean(self, now: float | None = None) -> int:
        """Delete the recordings past retention; how many."""
        now = time.time() if now is None else now
        media, deleted = self.media, 0
        recording = {r.session for r in self.recorders.values()}
        for room in self.store.rooms():
            sessions = [s for s in self.store.sessions(room) if s not in recording]
            doomed = {s for s in sessions  # the demo host's, left by a crash
                      if not (self.store.meta(room, s) or {}).get("kept", True)}
            if media.replay_keep:
                doomed |= set(sessions[:-media.replay_keep])
            if media.replay_days:
                for session in sessions:
                    meta = self.store.meta(room, session) or {}
                    if now - float(meta.get("started_at", now)) > media.replay_days * 86400:
                        doomed.add(session)
            for session in doomed:
                deleted += self.store.delete(room, session)
            if media.replay_max_bytes:
                for session in [s for s in sessions if s not in doomed]:
                    if self.store.usage(room) <= media.replay_max_bytes:
                        break
                    deleted += self.store.delete(room, session)  # oldest first
        return deleted

    def usage(self) -> dict[str, int]:
        return {room: self.store.usage(room) for room in self.store.rooms()}
