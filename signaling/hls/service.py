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
from liveroom.domain.errors import EngineUnavailable
from liveroom.tasks import stop_tasks

from ..config import MediaSettings
from ..peers import Broadcast
from ..registry import Registry
from .segmenter import Recorder, hls_compatible
from .store import Recordings

log = logging.getLogger(__name__)

TICK = 0.5
CLEAN_EVERY = 60.0
INDEX_EVERY = 5.0  # seconds between updates of a recording's duration in the engine's index
# An instance vouches for the recordings on its disk this often (their index records, stamped
# anew); other instances stop listing a record not vouched for in STALE_AFTER seconds: its
# instance is gone, and its files with it (wall clocks, so with room for their skew).
VOUCH_EVERY = 60.0
STALE_AFTER = 300.0
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
        self._pending: set[asyncio.Task] = set()
        self._task: asyncio.Task | None = None
        self._last_clean = 0.0
        self._last_index = 0.0
        self._last_vouch = time.monotonic()  # index_all() at start vouches first
        self._indexed = False  # this instance's recordings put in the engine's index
        self.disk: dict[str, int] = {}  # room -> bytes of its recordings, at the last pass
        if fanout is not None:
            fanout.observe(self._event)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hls")

    async def close(self) -> None:
        await stop_tasks(self._task)
        for room in list(self.recorders):
            self._stop(room)
        if self._pending:  # the ended recordings' index records
            await asyncio.wait(self._pending, timeout=2)

    def want(self, room: str) -> None:
        """Someone asked for the room's live HLS."""
        self._wanted[room] = time.monotonic()

    async def _run(self) -> None:
        while True:
            try:
                self.sync()
                await self._follow()
                if not self._indexed or time.monotonic() - self._last_vouch > VOUCH_EVERY:
                    self._last_vouch = time.monotonic()
                    await self.index_all()
                if time.monotonic() - self._last_index > INDEX_EVERY:
                    self._last_index = time.monotonic()
                    for recorder in list(self.recorders.values()):
                        await self._index(recorder.room, recorder.session)
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
                if not demo:
                    self._spawn_index(room, self.recorders[room].session)
                log.info("room %s: segmenting%s as %s", room, "" if demo else " and recording",
                         self.recorders[room].session)

    def _stop(self, room: str) -> None:
        recorder = self.recorders.pop(room, None)
        if recorder is not None:
            recorder.close()
            if recorder.keep:
                self._spawn_index(room, recorder.session)
            log.info("room %s: recording %s ended after %.1f s", room, recorder.session,
                     recorder.duration)

    # --- the engine's index: which instance holds which recording -----------------------------
    def record(self, room: str, session: str) -> dict[str, Any] | None:
        """A recording as the replays API shows it (None: not here, or not a replay)."""
        meta = self.store.meta(room, session)
        segments = self.store.segments(room, session)
        if meta is None or segments is None or not meta.get("kept", True):
            return None
        recorder = self.recorders.get(room)
        recording = recorder is not None and recorder.session == session
        return {
            "id": session, "room": room, "started_at": meta.get("started_at"),
            "publisher": meta.get("publisher"),
            "duration": round(sum(s.duration for s in segments), 3),
            "recording": recording,
            # Neither ended nor recording: it stopped with its server (a crash); its playlist
            # ends where the last whole segment was written.
            "interrupted": not recording and not meta.get("ended"),
            "instance": self.registry.instance,
            "url": self.registry.media.instance_url or None,  # (the one setup.py worked out)
            "vouched_at": time.time(),
        }

    async def _index(self, room: str, session: str) -> None:
        record = await asyncio.to_thread(self.record, room, session)
        if record is not None:
            await self.registry.engine.media.put_replay(room, record)

    def _spawn_index(self, room: str, session: str) -> None:
        task = asyncio.ensure_future(self._index(room, session))
        self._pending.add(task)
        task.add_done_callback(self._indexed_one)

    def _indexed_one(self, task: asyncio.Task) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("hls: indexing a recording failed: %s", task.exception())

    async def index_all(self) -> None:
        """Put every recording on this instance's disk in the engine's index (at start: the
        embedded engine's index is in memory, and a recording interrupted by a crash is
        indexed as such; then every VOUCH_EVERY, to vouch for them)."""
        try:
            for room in await asyncio.to_thread(self.store.rooms):
                for session in await asyncio.to_thread(self.store.sessions, room):
                    await self._index(room, session)
            self._indexed = True
        except EngineUnavailable as exc:
            log.warning("hls: indexing recordings: %s; trying again", exc)

    async def delete(self, room: str, session: str) -> bool:
        deleted = await asyncio.to_thread(self.store.delete, room, session)
        await self.registry.engine.media.drop_replay(room, session)
        return deleted

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
        gone: list[tuple[str, str]] = []
        deleted = await asyncio.to_thread(self.clean, gone=gone)
        for room, session in gone:
            await self.registry.engine.media.drop_replay(room, session)
        self.disk = await asyncio.to_thread(self.usage)
        return deleted

    def clean(self, now: float | None = None,
              gone: list[tuple[str, str]] | None = None) -> int:
        """Delete the recordings past retention (each added to `gone`); how many."""
        gone = [] if gone is None else gone
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
                if self.store.delete(room, session):
                    deleted += 1
                    gone.append((room, session))
            if media.replay_max_bytes:
                for session in [s for s in sessions if s not in doomed]:
                    if self.store.usage(room) <= media.replay_max_bytes:
                        break
                    if self.store.delete(room, session):  # oldest first
                        deleted += 1
                        gone.append((room, session))
        return deleted

    def usage(self) -> dict[str, int]:
        return {room: self.store.usage(room) for room in self.store.rooms()}
