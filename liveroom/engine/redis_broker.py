"""Redis broker: Lua scripts publish (sequence, history and PUBLISH in one step), one pub/sub
connection per instance receives; see broker.py for the guarantees.

Pub/sub is fire-and-forget: a message published while the subscriber's connection is down, or
after Redis cut a subscriber that fell behind its output buffer limit, is simply never delivered.
So every room this instance follows is tracked as a stream with its last delivered sequence
number, and any sign of a gap (a message whose seq jumps, a reconnect, the periodic audit) makes
the stream *sync*: read the current position, replay what was missed from the history list, or,
when the history no longer has it, tell the handler to reset the room.

Behind Sentinel, a failover promotes a replica that may lack the last events the old primary
published, and that would number new events with sequence numbers already delivered: a gap no
sequence check sees. So when the subscriber reconnects to another server than before (or a
cluster shard's rooms move to a promoted replica), the streams of the rooms on it get a new
epoch (lua/stream_renew.lua, once per failover whoever notices it) before they sync: each
follower, and each client resuming with the old epoch, resynchronises instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from ..domain.codec import pack, unpack
from ..domain.errors import EngineUnavailable
from .broker import Broker, Position
from .redis_connect import Connector
from .redis_errors import UNREACHABLE, unavailable_on_failure
from .redis_keys import Keyspace, RoomKeys, room_of_channel
from .redis_scripts import Scripts
from .redis_types import as_text

log = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT = 5.0
RECONNECT_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
LISTENER_STOP_TIMEOUT = 3.0


class _Stream:
    """What this instance has delivered of one room's stream."""

    __slots__ = ("epoch", "last_seq", "buffer", "sync_task", "lost", "link", "server")

    def __init__(self) -> None:
        self.epoch: str | None = None
        self.last_seq: int | None = None  # None until the first sync
        # While not None, arriving messages wait here for a sync to finish.
        self.buffer: list[tuple[str, int, dict]] | None = []
        self.sync_task: asyncio.Task | None = None
        self.lost = False  # the buffer overflowed: the next sync resets the room
        self.link: str | None = None  # the shard connection that carries its events
        self.server: tuple[Any, ...] | None = None  # the server it was last followed through


class _Link:
    """One subscriber connection: to the one Redis (its primary, behind Sentinel), or to one
    shard primary of a cluster."""

    __slots__ = ("name", "pubsub", "task", "lock", "server")

    def __init__(self, name: str) -> None:
        self.name = name
        self.server: tuple[Any, ...] | None = None  # where it last connected
        self.pubsub: PubSub | None = None
        self.task: asyncio.Task | None = None
        # Serialises (un)subscribing on the connection with the listener's own subscribing.
        self.lock = asyncio.Lock()


class RedisBroker(Broker):
    def __init__(
        self,
        redis: Redis,
        pubsub_redis: Redis,
        scripts: Scripts,
        *,
        connector: Connector,
        instance_id: str,
        history_size: int,
        keyspace: Keyspace,
    ) -> None:
        self._redis = redis
        self._pubsub_redis = pubsub_redis
        self._scripts = scripts
        self._history_size = history_size
        self.instance_id = instance_id
        self.keyspace = keyspace
        self._control_channel = keyspace.instance_channel(instance_id)  # send_to_instance()
        self._streams: dict[str, _Stream] = {}
        self._subscribed_waiters: dict[str, asyncio.Future] = {}
        self._connector = connector
        self._sharded = connector.sharded
        self._links: dict[str, _Link] = {}
        self._shards_seen: set[str] = set()  # every shard primary a link has reached
        self._listener: asyncio.Task | None = None  # that of the link with the control channel
        self._sync_tasks: set[asyncio.Task] = set()
        self.connected = asyncio.Event()
        self._closing = False

    def keys(self, room: str) -> RoomKeys:
        return self.keyspace.room(room)

    def stream_args(self, keys: RoomKeys) -> list[Any]:
        """The arguments every publishing script starts with (see lua/prelude.lua)."""
        return [keys.channel, self._history_size, secrets.token_hex(4)]

    # --- publishing --------------------------------------------------------------------------
    @unavailable_on_failure
    async def publish(self, room: str, event: dict[str, Any]) -> int:
        k = self.keys(room)
        return await self._scripts.publish(keys=k.stream, args=[*self.stream_args(k), pack(event)])

    @unavailable_on_failure
    async def publish_latest(
        self, room: str, slot: str, event: dict[str, Any], interval: float
    ) -> int | None:
        k = self.keys(room)
        return await self._scripts.publish_latest(
            keys=[*k.stream, k.latest],
            args=[*self.stream_args(k), slot, pack(event), int(interval * 1000)],
        )

    @unavailable_on_failure
    async def send_to_instance(self, instance: str, message: dict[str, Any]) -> bool:
        channel = self.keyspace.instance_channel(instance)
        if self._sharded:
            return await self._redis.spublish(channel, pack(message)) > 0
        return await self._redis.publish(channel, pack(message)) > 0

    @unavailable_on_failure
    async def position(self, room: str) -> Position:
        k = self.keys(room)
        epoch, seq = await self._scripts.position(keys=k.stream, args=self.stream_args(k))
        return Position(epoch.decode(), int(seq))

    @unavailable_on_failure
    async def history(self, room: str, since: Position) -> list[tuple[int, dict]] | None:
        k = self.keys(room)
        missed = await self._scripts.history(
            keys=k.stream, args=[*self.stream_args(k), since.epoch, since.seq]
        )
        if missed is None:
            return None
        events = []
        for message in reversed(missed):
            _epoch, seq, event = unpack(message)
            events.append((seq, event))
        return events

    # --- subscribing -------------------------------------------------------------------------
    async def start(self) -> None:
        self._shards_seen.update(self._connector.primaries())
        self._listener = self._link(self._connector.shard_of(self._control_channel)).task

    async def close(self) -> None:
        # A flag rather than only cancel(): redis-py's read timeout can swallow a cancellation
        # that lands as the timeout fires, and the listener wakes at least once a second anyway.
        self._closing = True
        tasks = [t for t in [*(link.task for link in self._links.values()), *self._sync_tasks]
                 if t is not None]
        for task in self._sync_tasks:
            task.cancel()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=LISTENER_STOP_TIMEOUT)
            for task in pending:
                task.cancel()

    async def subscribe(self, room: str) -> Position:
        if room in self._streams:
            raise RuntimeError(f"room {room!r} is already subscribed")
        stream = self._streams[room] = _Stream()
        channel = self.keys(room).channel
        waiter = asyncio.get_running_loop().create_future()
        self._subscribed_waiters[channel] = waiter
        try:
            link = self._link(self._connector.shard_of(channel))
            stream.link = link.name
            async with link.lock:
                # Without a connection, the listener subscribes every stream when it connects.
                if link.pubsub is not None:
                    await self._sub(link.pubsub, channel)
                    stream.server = _server_of(link.pubsub)
            await asyncio.wait_for(asyncio.shield(waiter), SUBSCRIBE_TIMEOUT)
            # Subscribed before reading the position: nothing published after it is missed.
            await asyncio.shield(self._start_sync(room))
            if stream.epoch is None or stream.last_seq is None:  # the sync did not get through
                raise EngineUnavailable("could not read the stream position")
        except (asyncio.TimeoutError, EngineUnavailable, *UNREACHABLE) as exc:
            if self._streams.get(room) is stream:
                del self._streams[room]
            raise EngineUnavailable(f"could not subscribe to room {room!r}: {exc}") from exc
        finally:
            if self._subscribed_waiters.get(channel) is waiter:
                del self._subscribed_waiters[channel]
        return Position(stream.epoch, stream.last_seq)

    async def unsubscribe(self, room: str) -> None:
        stream = self._streams.pop(room, None)
        if stream is None:
            return
        link = self._links.get(stream.link or "")
        if link is None:
            return
        try:
            # Serialised with subscribe(): an UNSUBSCRIBE overtaking a later SUBSCRIBE of the
            # same room would leave us deaf to it.
            async with link.lock:
                if link.pubsub is not None:
                    await self._unsub(link.pubsub, self.keys(room).channel)
        except UNREACHABLE:
            pass  # the connection is gone; the next one subscribes only to live streams

    async def _sub(self, pubsub: PubSub, *channels: str) -> None:
        if self._sharded:
            # One SSUBSCRIBE per channel: Redis refuses one whose channels span slots.
            for channel in channels:
                await pubsub.ssubscribe(channel)
        else:
            await pubsub.subscribe(*channels)

    async def _unsub(self, pubsub: PubSub, *channels: str) -> None:
        if self._sharded:
            for channel in channels:
                await pubsub.sunsubscribe(channel)
        else:
            await pubsub.unsubscribe(*channels)

    async def audit(self) -> None:
        """Sync every stream whose position moved past what was delivered (called periodically,
        it catches a gap that no later message reveals)."""
        for room, stream in list(self._streams.items()):
            if stream.sync_task is not None or stream.last_seq is None:
                continue
            link = self._links.get(stream.link or "")
            if link is None or link.pubsub is None:
                # Its subscriber is reconnecting, maybe to another server after a failover:
                # a position read now could be the new primary's, whose sequence numbers may
                # repeat ones delivered. The reconnect renews the epoch if so, then syncs.
                continue
            try:
                position = await self.position(room)
            except EngineUnavailable:
                return
            if stream.buffer is not None or (position.epoch, position.seq) != (
                stream.epoch,
                stream.last_seq,
            ):
                self._start_sync(room)

    # --- the listeners -----------------------------------------------------------------------
    def _link(self, name: str) -> _Link:
        """The subscriber connection to shard `name`, started if it was not running."""
        link = self._links.get(name)
        if link is None:
            link = self._links[name] = _Link(name)
            link.task = asyncio.create_task(self._listen_forever(link),
                                            name=f"redis-pubsub-{name}")
        return link

    def _channels_on(self, link: _Link) -> list[str]:
        channels = [self.keys(room).channel for room, s in self._streams.items()
                    if s.link == link.name]
        if self._connector.shard_of(self._control_channel) == link.name:
            channels.append(self._control_channel)
        return channels

    async def _listen_forever(self, link: _Link) -> None:
        failures = 0
        client = self._connector.shard_client(link.name, self._pubsub_redis)
        while not self._closing:
            pubsub = client.pubsub()
            try:
                channels = self._channels_on(link)
                if not channels:
                    break  # its rooms moved to other shards (_rehome)
                await self._sub(pubsub, *channels)
                async with link.lock:
                    # Rooms subscribed while we connected waited for us: add them, then let
                    # subscribe() use this connection directly.
                    late = [c for c in self._channels_on(link) if c not in channels]
                    if late:
                        await self._sub(pubsub, *late)
                    link.pubsub = pubsub
                rooms = [r for r, s in self._streams.items() if s.link == link.name]
                await self._arrived(rooms, _server_of(pubsub), link)
                if failures:
                    log.info("pub/sub reconnected; syncing %d room(s)", len(rooms))
                failures = 0
                self.connected.set()
                for room in rooms:
                    if room in self._streams:
                        self._start_sync(room)
                while not self._closing:
                    # A bounded wait lets redis-py's health check PING an idle connection, so a
                    # connection that died without a word is noticed too.
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._on_message(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected.clear()
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
                if isinstance(exc, UNREACHABLE):
                    log.warning("pub/sub connection lost (%s); retrying in %.2fs", exc, delay)
                else:
                    log.exception("pub/sub listener failed; reconnecting in %.2fs", delay)
            finally:
                link.pubsub = None
                try:
                    await pubsub.aclose()
                except Exception:
                    pass
            if not self._closing:
                await asyncio.sleep(delay)
                if self._sharded:
                    await self._rehome(link)
        if self._links.get(link.name) is link:
            del self._links[link.name]

    async def _rehome(self, link: _Link) -> None:
        """After a shard's connection failed: read the slot map again and move the rooms (and
        this instance's channel) whose shard has a new primary to that primary's connection."""
        try:
            await self._connector.refresh()
        except Exception as exc:
            log.warning("could not read the cluster's slot map: %s", exc)
            return
        moved: dict[str, list[str]] = {}
        for room, stream in self._streams.items():
            if stream.link == link.name:
                name = self._connector.shard_of(self.keys(room).channel)
                if name != link.name:
                    stream.link = name
                    moved.setdefault(name, []).append(room)
        control = self._connector.shard_of(self._control_channel)
        if control != link.name:
            self._listener = self._link(control).task
        for name, rooms in moved.items():
            log.warning("%d room(s) moved from shard %s to %s", len(rooms), link.name, name)
            target = self._link(name)
            async with target.lock:
                if target.pubsub is None:
                    continue  # its listener subscribes them when it connects
                try:
                    await self._sub(target.pubsub, *(self.keys(r).channel for r in rooms))
                    await self._arrived(rooms, _server_of(target.pubsub), target)
                except (EngineUnavailable, *UNREACHABLE) as exc:
                    log.warning("could not move rooms to %s yet: %s", name, exc)
                    continue
            for room in rooms:
                if room in self._streams:
                    self._start_sync(room)

    async def _arrived(self, rooms: list[str], server: tuple[Any, ...], link: _Link) -> None:
        """`rooms` are now followed through `server`, on `link`. After a failover the new
        primary may lack events the old one published: the streams of the rooms followed
        through another server before get a new epoch, and so do those of every room of the
        shard when the link itself came back to another server, or is a shard never seen
        before (a promoted replica), so that a client coming back later resyncs too."""
        renew = {r for r in rooms if (s := self._streams.get(r)) is not None
                 and s.server is not None and s.server != server}
        failover = ((link.server is not None and link.server != server)
                    or link.name not in self._shards_seen)
        link.server = server
        self._shards_seen.add(link.name)
        if failover:
            indexed = await self._redis.smembers(self.keyspace.rooms)
            renew.update(room for room in map(as_text, indexed)
                         if self._connector.shard_of(self.keys(room).channel) == link.name)
        if renew:
            log.warning("Redis moved to %s (a failover?): new epochs for %d room(s)",
                        server, len(renew))
            # Short and URL-safe: clients send the epoch back (at most 32 characters).
            address = ":".join(str(part) for part in server if part is not None)
            generation = hashlib.blake2s(address.encode(), digest_size=4).hexdigest()
            calls = []
            for room in renew:
                k = self.keys(room)
                calls.append(self._scripts.stream_renew(
                    keys=[*k.stream, k.record], args=[*self.stream_args(k), generation]))
            await asyncio.gather(*calls)  # one pipeline (redis_batch.py)
        for room in rooms:
            if (stream := self._streams.get(room)) is not None:
                stream.server = server

    def _on_message(self, message: dict) -> None:
        kind = message["type"]
        channel = message["channel"].decode()
        if kind in ("subscribe", "ssubscribe"):
            waiter = self._subscribed_waiters.get(channel)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return
        if kind not in ("message", "smessage"):
            return
        if channel == self._control_channel:
            if self.instance_handler is not None:
                try:
                    self.instance_handler(unpack(message["data"]))
                except Exception:  # one bad message must not cost the subscription
                    log.exception("instance message handler failed")
            return
        room = room_of_channel(message["channel"])
        stream = self._streams.get(room)
        if stream is None:
            return  # a message still in flight when we unsubscribed
        epoch, seq, event = unpack(message["data"])
        self._accept(room, stream, epoch, seq, event)

    def _accept(self, room: str, stream: _Stream, epoch: str, seq: int, event: dict) -> None:
        if stream.buffer is not None:
            stream.buffer.append((epoch, seq, event))
            if len(stream.buffer) > self._history_size:
                stream.buffer.clear()
                stream.lost = True
            return
        assert stream.last_seq is not None  # only a sync lifts the buffer, and it sets last_seq
        if epoch == stream.epoch:
            if seq <= stream.last_seq:
                return  # already delivered (replayed from history)
            if seq == stream.last_seq + 1:
                stream.last_seq = seq
                self.handler.on_event(room, seq, event)
                return
        # A jump in seq, or another epoch: something was lost on the way.
        stream.buffer = [(epoch, seq, event)]
        self._start_sync(room)

    def _start_sync(self, room: str) -> asyncio.Task:
        """The stream's running sync, or a new one."""
        stream = self._streams[room]
        if stream.sync_task is None:
            stream.sync_task = asyncio.create_task(self._sync(room, stream))
            self._sync_tasks.add(stream.sync_task)
            stream.sync_task.add_done_callback(self._sync_tasks.discard)
        return stream.sync_task

    async def _sync(self, room: str, stream: _Stream) -> None:
        if stream.buffer is None:
            stream.buffer = []
        try:
            position = await self.position(room)
            if stream.last_seq is None:
                stream.epoch, stream.last_seq = position.epoch, position.seq
            elif (stream.lost or position.epoch != stream.epoch
                  or position.seq < stream.last_seq):  # behind us: Redis lost events
                self._reset(room, stream, position)
            elif position.seq > stream.last_seq:
                missed = await self.history(room, Position(stream.epoch, stream.last_seq))
                if missed is None:
                    self._reset(room, stream, position)
                else:
                    for seq, event in missed:
                        if seq > stream.last_seq and self._streams.get(room) is stream:
                            stream.last_seq = seq
                            self.handler.on_event(room, seq, event)
        except EngineUnavailable as exc:
            # Messages keep waiting in the buffer; the reconnect or the audit syncs again.
            log.warning("could not sync room %s: %s", room, exc)
            return
        finally:
            stream.sync_task = None
        if self._streams.get(room) is not stream:
            return  # unsubscribed meanwhile
        buffered, stream.buffer = stream.buffer, None
        for epoch, seq, event in buffered:
            if epoch != stream.epoch:
                # Older than the position just read (a newer epoch would have been the
                # position's): stale, and syncing again for it would never end.
                log.warning("room %s: dropped a message of epoch %s (stream is at %s)",
                            room, epoch, stream.epoch)
                continue
            self._accept(room, stream, epoch, seq, event)

    def _reset(self, room: str, stream: _Stream, position: Position) -> None:
        log.warning("room %s: events lost beyond history; resetting its clients", room)
        stream.epoch, stream.last_seq, stream.lost = position.epoch, position.seq, False
        self.handler.on_reset(room, position)


def _server_of(pubsub: PubSub) -> tuple[Any, ...]:
    """The address the pub/sub connection reached (behind Sentinel: the primary it found)."""
    connection = pubsub.connection
    return (getattr(connection, "host", None), getattr(connection, "port", None),
            getattr(connection, "path", None))
