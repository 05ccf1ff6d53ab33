"""Fan-out: this instance's rooms, each with its local sockets, fed by the broker.

Every event reaches this instance once (through its broker subscription, its own events
included), is encoded once per wire format, and is queued; at the end of the loop turn the queue
is joined into one write per socket. A new socket is *joining* until it has its snapshot (or the
events it missed, when resuming): events that arrive meanwhile wait in its own list, and it goes
live once the room's stream has caught up with the position of its snapshot, so it sees every
event after that position exactly once, whatever the timing of Redis round trips.

An event addressed to one user (it has "to": a user id, like order.updated) goes only to that
user's sockets, live, joining or resuming; the others never see it (their sequence numbers
skip it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from ..domain.errors import EngineUnavailable, LiveroomError
from ..engine import Engine, Position
from ..metrics import Metrics
from ..tasks import stop_tasks
from .connection import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, Connection
from .encoded import Encoded, event_message

log = logging.getLogger(__name__)

IDLE_GRACE = 30.0  # keep an empty room subscribed this long: reconnects find it warm
RESYNC_RETRY = 1.0


class _Joining:
    __slots__ = ("after", "frames")

    def __init__(self) -> None:
        self.after: int | None = None  # position of what the socket has; None until known
        self.frames: list[tuple[int, Encoded]] = []


class LocalRoom:
    def __init__(self, room: str) -> None:
        self.id = room
        self.live: dict[Connection, None] = {}  # insertion-ordered set
        self.joining: dict[Connection, _Joining] = {}
        self.queue: list[Encoded] = []
        self.after_flush: list[tuple[Connection, int, LiveroomError]] = []
        self.flush_scheduled = False
        self.last_seq: int | None = None  # last event delivered to this room, or start position
        self.ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self.idle_timer: asyncio.TimerHandle | None = None
        # The viewer count every socket here shows (the last "viewers" event), or None when
        # a snapshot may have shown another: the tickers skip offering a count already shown.
        self.viewers: int | None = None
        self.resyncing = False
        # Watchers keep the room subscribed without a socket (the lobby's live feed).
        self.watchers = 0

    def connections(self) -> list[Connection]:
        return [*self.live, *self.joining]


Observer = Callable[[str, dict[str, Any]], None]  # (room, event): called once per event


class Fanout:
    def __init__(self, engine: Engine, *, idle_grace: float = IDLE_GRACE,
                 metrics: Metrics | None = None, observers: Iterable[Observer] = ()) -> None:
        self._engine = engine
        self._observers = list(observers)
        metrics = metrics or Metrics()
        self._published = metrics.events_published
        self._delivered = metrics.events_delivered
        self._idle_grace = idle_grace
        self._rooms: dict[str, LocalRoom] = {}
        self._retiring: dict[str, asyncio.Task] = {}  # unsubscribes still under way
        self._tasks: set[asyncio.Task] = set()
        engine.broker.attach(self)

    # --- what the tickers read ------------------------------------------------------------
    def rooms(self) -> list[str]:
        return [room for room, local in self._rooms.items() if local.ready.done()]

    def connection_count(self, room: str | None = None) -> int:
        rooms = [self._rooms[room]] if room in self._rooms else [] if room else self._rooms.values()
        return sum(len(r.live) + len(r.joining) for r in rooms)

    def viewers_shown(self, room: str) -> int | None:
        local = self._rooms.get(room)
        return local.viewers if local else None

    def observe(self, observer: Observer) -> None:
        """Hear every event of the rooms this instance follows, once each."""
        self._observers.append(observer)

    async def watch(self, room: str) -> None:
        """Follow a room's events without a socket in it (observers hear them)."""
        local = await self._local_room(room)
        local.watchers += 1

    def unwatch(self, room: str) -> None:
        local = self._rooms.get(room)
        if local is None or local.watchers == 0:
            return
        local.watchers -= 1
        self._retire_if_idle(local)

    # --- joining and leaving ------------------------------------------------------------------
    async def join(self, conn: Connection, resume: Position | None) -> None:
        """Send the socket its snapshot (or, resuming, what it missed) and make it live."""
        local = await self._local_room(conn.room)
        joining = local.joining[conn] = _Joining()
        try:
            missed = None
            if resume is not None:
                missed = await self._engine.broker.history(conn.room, resume)
            if resume is not None and missed is not None:
                conn.send({"type": "resumed", "epoch": resume.epoch, "seq": resume.seq})
                after = resume.seq
                for seq, event in missed:
                    if _for(conn, event):
                        conn.write(Encoded(event_message(seq, event)).frame(conn.fmt))
                        self._delivered.inc()
                    after = seq
            else:
                snapshot = await self._snapshot_message(conn.room, resync=resume is not None)
                conn.send(snapshot)
                after = snapshot.message["seq"]
        except BaseException:
            local.joining.pop(conn, None)
            self._retire_if_idle(local)
            raise
        if conn in local.joining:
            joining.after = after
            self._promote_if_caught_up(local, conn)

    def leave(self, conn: Connection) -> None:
        local = self._rooms.get(conn.room)
        if local is None:
            return
        local.live.pop(conn, None)
        local.joining.pop(conn, None)
        self._retire_if_idle(local)

    async def _local_room(self, room: str) -> LocalRoom:
        local = self._rooms.get(room)
        if local is None:
            local = self._rooms[room] = LocalRoom(room)
            try:
                retiring = self._retiring.get(room)
                if retiring is not None:
                    await asyncio.shield(retiring)  # subscribe only once that is through
                start = await self._engine.broker.subscribe(room)
            except BaseException as exc:
                del self._rooms[room]
                local.ready.set_exception(exc)
                local.ready.exception()  # retrieved: later joiners re-raise their own copy
                raise
            # Events may already have been delivered while subscribing; they come after start.
            if local.last_seq is None:
                local.last_seq = start.seq
            local.ready.set_result(None)
        else:
            await asyncio.shield(local.ready)
        if local.idle_timer is not None:
            local.idle_timer.cancel()
            local.idle_timer = None
        return local

    def _retire_if_idle(self, local: LocalRoom) -> None:
        if local.live or local.joining or local.watchers or local.idle_timer is not None:
            return
        loop = asyncio.get_running_loop()
        local.idle_timer = loop.call_later(self._idle_grace, self._retire, local)

    def _retire(self, local: LocalRoom) -> None:
        if (local.live or local.joining or local.watchers
                or self._rooms.get(local.id) is not local):
            return
        del self._rooms[local.id]
        task = self._retiring[local.id] = asyncio.create_task(
            self._engine.broker.unsubscribe(local.id)
        )
        task.add_done_callback(lambda _: self._retiring.pop(local.id, None))

    def _promote_if_caught_up(self, local: LocalRoom, conn: Connection) -> None:
        joining = local.joining.get(conn)
        if joining is None or joining.after is None:
            return
        if local.last_seq is None or local.last_seq < joining.after:
            return  # the stream has not yet delivered everything the snapshot contains
        # Frames still queued for the live sockets were also added to this socket's list:
        # flush them first so the socket does not receive them twice.
        self._flush(local)
        del local.joining[conn]
        frames = [enc.frame(conn.fmt) for seq, enc in joining.frames if seq > joining.after]
        if frames:
            conn.write(b"".join(frames))
            self._delivered.inc(len(frames))
        if not conn.closed:
            local.live[conn] = None

    # --- the broker's side --------------------------------------------------------------------
    def on_event(self, room: str, seq: int, event: dict[str, Any]) -> None:
        local = self._rooms.get(room)
        if local is None:
            return
        encoded = Encoded(event_message(seq, event))
        self._published.labels(type=event["type"]).inc()
        local.last_seq = seq
        if "to" in event:
            self._deliver_to_one(local, seq, event, encoded)
        else:
            local.queue.append(encoded)
            for conn, joining in local.joining.items():
                joining.frames.append((seq, encoded))
        self._apply_side_effects(local, event)
        for observe in self._observers:
            observe(room, event)
        if not local.flush_scheduled:
            local.flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush, local)
        for conn in [c for c, j in local.joining.items() if j.after is not None]:
            self._promote_if_caught_up(local, conn)

    def _deliver_to_one(self, local: LocalRoom, seq: int, event: dict[str, Any],
                        encoded: Encoded) -> None:
        """An event addressed to one user ("to"): only that user's sockets get it. What was
        queued for everyone before it is written first, so the order holds."""
        self._flush(local)
        for conn in local.live:
            if _for(conn, event):
                conn.write(encoded.frame(conn.fmt))
                self._delivered.inc()
        for conn, joining in local.joining.items():
            if _for(conn, event):
                joining.frames.append((seq, encoded))

    def on_reset(self, room: str, position: Position) -> None:
        local = self._rooms.get(room)
        if local is None:
            return
        log.info("room %s: stream reset; resyncing %d socket(s)", room, len(local.live))
        self._flush(local)
        local.last_seq = position.seq
        for conn in list(local.live):
            del local.live[conn]
            local.joining[conn] = _Joining()
        for joining in local.joining.values():
            joining.after, joining.frames = None, []
        if not local.resyncing:
            local.resyncing = True
            self._spawn(self._resync(local))

    async def _resync(self, local: LocalRoom) -> None:
        """Send every socket of the room one fresh snapshot, marked as a resync."""
        try:
            while self._rooms.get(local.id) is local and local.joining:
                try:
                    snapshot = await self._snapshot_message(local.id, resync=True)
                except EngineUnavailable:
                    await asyncio.sleep(RESYNC_RETRY)
                    continue
                except LiveroomError as gone:  # the room was deleted
                    for conn in local.connections():
                        conn.send_error(gone)
                        self._spawn(conn.close(CLOSE_NOT_FOUND, gone.code))
                    return
                for conn, joining in list(local.joining.items()):
                    if joining.after is None:
                        conn.send(snapshot)
                        joining.after = snapshot.message["seq"]
                        self._promote_if_caught_up(local, conn)
                return
        finally:
            local.resyncing = False

    def _apply_side_effects(self, local: LocalRoom, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "viewers":
            local.viewers = event["count"]
        elif kind == "user.banned":
            banned = LiveroomError("banned", "you were banned from this room")
            for conn in local.connections():
                if conn.identity.public_id == event["user_id"] and not conn.identity.can(
                        "moderate"):  # see handler.py: bans are for the audience
                    local.after_flush.append((conn, CLOSE_FORBIDDEN, banned))
        elif kind == "room.deleted":
            deleted = LiveroomError("room_not_found", "this room was deleted")
            for conn in local.connections():
                local.after_flush.append((conn, CLOSE_NOT_FOUND, deleted))

    def _flush(self, local: LocalRoom) -> None:
        local.flush_scheduled = False
        queue, local.queue = local.queue, []
        if queue and local.live:
            joined: dict[str, bytes] = {}
            for conn in list(local.live):
                data = joined.get(conn.fmt)
                if data is None:
                    data = joined[conn.fmt] = b"".join(e.frame(conn.fmt) for e in queue)
                conn.write(data)
            self._delivered.inc(len(queue) * len(local.live))
        if local.after_flush:
            closes, local.after_flush = local.after_flush, []
            for conn, code, error in closes:
                conn.send_error(error)
                self._spawn(conn.close(code, error.code))

    async def _snapshot_message(self, room: str, *, resync: bool) -> Encoded:
        snapshot = await self._engine.store.snapshot(room)
        if snapshot is None:
            raise LiveroomError("room_not_found", f"no room {room!r}")
        viewers = await self._engine.presence.count(room)
        # Read after the snapshot's position: a change it shows early comes again as an event
        # (sale events carry the whole sale, so applying one twice is harmless).
        sales = await self._engine.sales.list_sales(room, active=True)
        media = await self._engine.media.state(room)  # also read after: media events are whole
        local = self._rooms.get(room)
        if local is not None:
            local.viewers = None  # this socket shows `viewers`, maybe not the last event's count
        return Encoded({
            "type": "snapshot",
            "seq": snapshot.position.seq,
            "epoch": snapshot.position.epoch,
            "resync": resync,
            "room": snapshot.room,
            "pin": snapshot.pin,
            "products": snapshot.products,
            "chat": snapshot.chat,
            "viewers": viewers,
            "likes": snapshot.likes,
            "slow_mode": snapshot.slow_mode,
            "sales": sales,
            "media": media,
            **snapshot.extra,
        })

    # --- lifecycle ----------------------------------------------------------------------------
    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close_all(self, code: int, reason: str) -> None:
        conns = [c for local in self._rooms.values() for c in local.connections()]
        await asyncio.gather(*(c.close(code, reason) for c in conns), return_exceptions=True)

    async def stop(self) -> None:
        for local in self._rooms.values():
            if local.idle_timer:
                local.idle_timer.cancel()
        await stop_tasks(*self._tasks, *self._retiring.values())


def _for(conn: Connection, event: dict[str, Any]) -> bool:
    """Whether the socket gets the event: every event, but one addressed to a user ("to")
    only to that user's sockets (an order's news is for its buyer)."""
    to = event.get("to")
    return to is None or to == conn.identity.user_id


FANOUT = web.AppKey("fanout", Fanout)
