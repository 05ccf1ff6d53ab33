"""The lobby's live feed: `GET /api/lobby/events`, Server-Sent Events of the public rooms as
they change, so the lobby's cards follow the rooms without polling.

    event: rooms     data: {"rooms": [summary, ...]}   first, and whenever the list changes
    event: room      data: summary                     a room's live state changed
    event: removed   data: {"id": room}                the room is gone (or no longer public)

A summary is what GET /api/rooms lists for the room (liveroom/room_views.py). While anyone
reads the feed, this instance follows every public room's stream (the fan-out watches them),
and a room whose viewers, live video, pin, sales or record change is summarised again, at most
twice a second. Rooms created meanwhile join the list within REFRESH seconds. A client that
does not keep up is dropped (its browser reconnects by itself and starts from a fresh list).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from ..domain.codec import to_json
from ..domain.errors import LiveroomError
from ..engine import ENGINE, Engine
from ..room_views import ROOM_VIEWS, RoomViews
from ..tasks import stop_tasks
from .fanout import FANOUT, Fanout

log = logging.getLogger(__name__)

CHANGES = frozenset({
    "viewers", "media.live", "media.offline", "product.pinned", "product.unpinned",
    "product.updated", "room.updated", "room.deleted", "sale.scheduled", "sale.started",
    "sale.sold_out", "sale.ended", "sale.cancelled", "sale.stock",
})
FLUSH = 0.5  # seconds between summaries of a room that keeps changing
REFRESH = 10.0  # seconds between readings of the room list (new rooms)
KEEPALIVE = 15.0  # a comment line this often keeps proxies from closing a quiet feed
QUEUE = 200  # messages a client may fall behind by before it is dropped
CLOSE = object()


class LobbyFeed:
    def __init__(self, engine: Engine, fanout: Fanout, views: RoomViews) -> None:
        self._engine = engine
        self._fanout = fanout
        self._views = views
        self._clients: set[asyncio.Queue] = set()
        self._watched: set[str] = set()
        self._dirty: set[str] = set()
        self._rooms: list[dict[str, Any]] = []
        self._task: asyncio.Task | None = None
        self._wanted = asyncio.Event()  # set while anyone reads
        self._ready = asyncio.Event()  # set once the rooms are listed for them
        fanout.observe(self._observe)

    # --- what the room streams say ---------------------------------------------------------
    def _observe(self, room: str, event: dict[str, Any]) -> None:
        if room in self._watched and event["type"] in CHANGES:
            self._dirty.add(room)

    # --- following the rooms while anyone reads ---------------------------------------------
    async def _run(self) -> None:
        while True:
            await self._wanted.wait()
            try:
                await self._relist(initial=True)
                ticks = 0
                while self._clients:
                    await asyncio.sleep(FLUSH)
                    ticks += 1
                    try:
                        if ticks * FLUSH >= REFRESH:
                            ticks = 0
                            await self._relist()
                        await self._flush()
                    except LiveroomError as exc:
                        log.warning("lobby feed: %s", exc.message)
            except LiveroomError as exc:
                log.warning("lobby feed: %s", exc.message)
                await asyncio.sleep(FLUSH)
            finally:
                # Nobody reads (or the room list could not be read): follow no room meanwhile.
                for room in self._watched:
                    self._fanout.unwatch(room)
                self._watched.clear()
                self._dirty.clear()
                self._ready.clear()

    async def _relist(self, initial: bool = False) -> None:
        rooms = [r for r in await self._engine.store.list_rooms() if r.get("public", True)]
        ids = {r["id"] for r in rooms}
        for room in sorted(ids - self._watched):
            await self._fanout.watch(room)
            self._watched.add(room)
        for room in sorted(self._watched - ids):
            self._fanout.unwatch(room)
            self._watched.discard(room)
            self._send("removed", {"id": room})
        known = [r["id"] for r in self._rooms]
        self._rooms = await self._views.summaries(rooms)
        if initial:
            self._ready.set()
        elif [r["id"] for r in self._rooms] != known:
            self._send("rooms", {"rooms": self._rooms})

    async def _flush(self) -> None:
        dirty, self._dirty = self._dirty, set()
        for room_id in sorted(dirty):
            room = await self._engine.store.get_room(room_id)
            summary = await self._views.summary(room) if room else None
            if summary is None:
                self._send("removed", {"id": room_id})
                self._rooms = [r for r in self._rooms if r["id"] != room_id]
                continue
            self._rooms = [summary if r["id"] == room_id else r for r in self._rooms]
            self._send("room", summary)

    def _send(self, kind: str, data: dict[str, Any]) -> None:
        message = f"event: {kind}\ndata: {to_json(data)}\n\n".encode()
        for queue in list(self._clients):
            if queue.qsize() >= QUEUE:  # not reading: let it go, it reconnects afresh
                self._clients.discard(queue)
                queue.put_nowait(CLOSE)  # the one place kept for it
            else:
                queue.put_nowait(message)

    # --- the endpoint -------------------------------------------------------------------------
    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # nginx: pass each event on at once
        })
        await response.prepare(request)
        queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE + 1)
        self._clients.add(queue)
        self._wanted.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="lobby-feed")
        try:
            await self._ready.wait()
            await response.write(f"event: rooms\ndata: {to_json({'rooms': self._rooms})}\n\n"
                                 .encode())
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), KEEPALIVE)
                except TimeoutError:
                    message = b": still here\n\n"
                if message is CLOSE:
                    break
                await response.write(message)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._clients.discard(queue)
            if not self._clients:
                self._wanted.clear()
        return response

    async def close(self) -> None:
        for queue in list(self._clients):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(CLOSE)
        await stop_tasks(self._task)


LOBBY = web.AppKey("lobby_feed", LobbyFeed)


async def lobby_ctx(app: web.Application) -> AsyncIterator[None]:
    app[LOBBY] = LobbyFeed(app[ENGINE], app[FANOUT], app[ROOM_VIEWS])
    yield
    await app[LOBBY].close()


async def lobby_events(request: web.Request) -> web.StreamResponse:
    return await request.app[LOBBY].stream(request)
