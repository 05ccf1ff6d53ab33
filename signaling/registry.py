"""The registry: every peer session of this instance, who publishes in which room slot, and the
background work that keeps them honest. It is created and closed by the app's cleanup context,
so no peer connection outlives the app, and none outlives its room.

Every half second it closes sessions whose peer never started ICE (`ice_start_timeout`: an
offer nobody follows up) or never completed it (`ice_timeout`), and publishers whose media
stopped arriving (`media_timeout`: a publisher that vanished without a word). Every
heartbeat it refreshes this instance's publisher claims in the engine (a claim that lapsed or
was taken over closes its publisher), sweeps lapsed claims of crashed instances, closes the
sessions of deleted rooms, points relay legs at their room's origin if it moved, and puts the
demo host back in demo rooms nobody publishes in.

Viewers read a slot's local publisher, or, when the room's media is on another instance, what
that instance relays here over the room's leg (legs.py): every tick the registry opens the legs
its waiting viewers need and lets go of those nobody watched for a while. As an origin it tells
the legs it serves (leg_feed.py) whenever a room's publisher changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from liveroom.config import Settings
from liveroom.domain.errors import EngineUnavailable, LiveroomError
from liveroom.domain.public_ids import public_user_id
from liveroom.engine import Engine
from liveroom.tasks import stop_tasks

from . import capacity, trickle
from .config import MediaSettings
from .demo_host import DEMO_VIDEO, DemoHost
from .ice import server_configuration
from .legs import Legs, Relayed
from .peer_addresses import PeerAddresses
from .peers import Broadcast, Publisher, Session, Viewer, new_session_id
from .relay import Codec
from .sdp import Offer, check_playable, ingest_codecs, parse_offer, plays

log = logging.getLogger(__name__)

TICK = 0.5
# A tick this much later than due means the event loop itself was held up (CPU starvation, a
# long garbage collection): what arrived meanwhile has not been read yet, so silence is not
# held against anyone until the timeouts have passed once more after it.
STALL = 1.0
MAX_VIEWS_PER_USER = 4  # a user's playback sessions per room: a fifth closes the oldest
DEMO_RETURN = 10.0  # seconds a demo room stays without a publisher before the demo host returns


class Elsewhere(Exception):
    """The room's media lives on another instance: the request belongs there."""

    def __init__(self, claim: dict[str, Any]) -> None:
        super().__init__(f"room media is on instance {claim['instance']}")
        self.claim = claim


class Registry:
    def __init__(self, engine: Engine, settings: Settings, media: MediaSettings,
                 peer_addresses: PeerAddresses) -> None:
        self.engine = engine
        self.settings = settings
        self.media = media
        self.peer_addresses = peer_addresses
        self.instance = settings.instance_id
        self.configuration = server_configuration(media)
        self.sessions: dict[str, Session] = {}
        self.publishers: dict[tuple[str, str], Broadcast] = {}  # (room, slot) -> its publisher
        self.viewers: dict[tuple[str, str], set[Viewer]] = {}
        self.demo_rooms: dict[str, dict[str, Any]] = {}  # room id -> record, with --demo
        self._vacant_since: dict[str, float] = {}
        self._tasks: set[asyncio.Task] = set()
        self._loop: asyncio.Task | None = None
        self._last_beat = 0.0
        self._grace_until = 0.0  # after a stall of the loop: no timeouts before this
        self.closing = False
        # Viewers of rooms whose media is on another instance are served from a relay leg.
        self.legs = Legs(self.instance, settings.signing_secret, engine.media.owner,
                         self._rebind, media.leg_linger)
        # The legs this instance serves as an origin (leg_feed.Feed, which imports this
        # module), and who wants to hear of a room's publishers.
        self.feeds: set[Any] = set()
        self._listeners: dict[str, set[Callable[[str], None]]] = {}
        # Set by setup.py: told the number of publishers and of viewers when either changes.
        self.count_peers: Callable[[str, int], None] | None = None
        # What closed viewers forwarded and skipped, per room (metrics).
        self.retired: dict[str, list[int]] = {}

    @property
    def ttl(self) -> float:
        return self.settings.presence_ttl

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.create_task(self._run(), name="media-registry")

    async def close(self) -> None:
        """Close every session (publishers announce themselves offline), then stop."""
        self.closing = True
        await stop_tasks(self._loop)
        await self.legs.close()
        await asyncio.gather(*(self._close(s, "shutdown") for s in list(self.sessions.values())),
                             return_exceptions=True)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        for task in list(self._tasks):
            task.cancel()

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _admit(self, session: Session) -> None:
        if self.closing:
            raise LiveroomError("media_busy", "the server is shutting down", scope="instance")
        capacity.admit(self.media, session, self.sessions.values())
        self.sessions[session.id] = session
        session.on_state = self._state_changed
        self._count_peers()

    def _count_peers(self) -> None:
        if self.count_peers is not None:
            sessions = self.sessions.values()
            self.count_peers("publisher", sum(isinstance(s, Publisher) for s in sessions))
            self.count_peers("viewer", sum(isinstance(s, Viewer) for s in sessions))

    # --- who hears of a room's publishers (the origin's legs) ---------------------------------
    def listen(self, room: str, callback: Callable[[str], None]) -> None:
        """callback(slot) whenever the room's local publisher of a slot changes."""
        self._listeners.setdefault(room, set()).add(callback)

    def unlisten(self, room: str, callback: Callable[[str], None]) -> None:
        listeners = self._listeners.get(room)
        if listeners is not None:
            listeners.discard(callback)
            if not listeners:
                del self._listeners[room]

    def _publisher_changed(self, room: str, slot: str) -> None:
        for callback in list(self._listeners.get(room, ())):
            callback(slot)

    def broadcast(self, room: str, slot: str) -> Broadcast | Relayed | None:
        """What a slot's viewers here read: its local publisher, else what a leg relays."""
        return self.publishers.get((room, slot)) or self.legs.relayed(room, slot)

    def _parse(self, offer_text: Any) -> Offer:
        """The checked offer, its candidates cut to those the server may check."""
        offer = parse_offer(offer_text, self.peer_addresses.allows)
        trickle.check_request(offer.candidates)
        return offer

    # --- publishing ---------------------------------------------------------------------------
    def claim_record(self, session: Broadcast) -> dict[str, Any]:
        codecs = session.codecs
        return {
            "slot": session.slot, "session": session.id, "instance": self.instance,
            "url": self.settings.base_url, "leg_url": self.media.instance_url or None,
            # The room sees its publisher by public id, like everyone in it.
            "user_id": public_user_id(self.settings.signing_secret, session.room,
                                      session.owner["user_id"]),
            "name": session.owner.get("name"),
            "source": {"demo": "demo", "whip": "whip"}.get(session.transport, "browser"),
            "replaceable": session.transport == "demo",
            "video": codecs["video"].name if "video" in codecs else None,
            "audio": codecs["audio"].name if "audio" in codecs else None,
        }

    async def publish(self, room: str, owner: dict[str, Any], offer_text: Any,
                      transport: str) -> tuple[Publisher, str]:
        offer = self._parse(offer_text)
        negotiation = ingest_codecs(offer)
        codecs = negotiation.codecs
        slot = "cohost" if owner.get("role") == "cohost" else "host"
        session = Publisher(new_session_id(self.instance), room, slot, owner, transport,
                            codecs=codecs, transcode=self.media.media_transcode)
        in_the_way = await self.engine.media.claim(room, self.claim_record(session), self.ttl)
        if in_the_way is not None:
            if in_the_way["slot"] == slot:
                who = in_the_way.get("name") or in_the_way.get("user_id")
                raise LiveroomError("publisher_exists", f"{who} is already live as the room's "
                                    f"{slot}; one publisher per slot", slot=slot)
            raise Elsewhere(in_the_way)
        try:
            self._admit(session)
            answer = await session.answer(offer, self.configuration, negotiation.h264)
        except BaseException:
            await self._close(session, "failed")
            raise
        old = self.publishers.get((room, slot))
        if old is not None and old is not session:
            await self._close(old, "replaced")
        self.publishers[(room, slot)] = session
        session.on_first_frame = self._first_frame
        self._rebind(room, slot)
        self._publisher_changed(room, slot)
        log.info("room %s: %s publishing as %s over %s (%s)", room, owner["user_id"], slot,
                 transport, ", ".join(c.name for c in codecs.values()))
        return session, answer

    def _first_frame(self, session: Broadcast) -> None:
        self._spawn(self._go_live(session))

    async def _go_live(self, session: Broadcast) -> None:
        try:
            if await self.engine.media.go_live(session.room, session.slot, session.id):
                session.live = True
        except EngineUnavailable as exc:
            log.warning("room %s: could not announce live video: %s", session.room, exc)

    def _rebind(self, room: str, slot: str) -> None:
        """Viewers waiting in a slot read its new publisher (here or relayed), if they can."""
        publisher = self.broadcast(room, slot)
        if publisher is None:
            return
        for viewer in list(self.viewers.get((room, slot), ())):
            if viewer.connected_at is not None and not viewer.attach(publisher.sources):
                self._spawn(self._close(viewer, "codec_changed"))

    # --- playing ------------------------------------------------------------------------------
    async def play(self, room: str, slot: str, owner: dict[str, Any], offer_text: Any,
                   transport: str) -> tuple[Viewer, str]:
        offer = self._parse(offer_text)
        publisher = self.broadcast(room, slot) or await self.legs.broadcast(room, slot)
        if publisher is None or publisher.closed:
            raise LiveroomError("not_live", f"nobody is live in this room's {slot} slot",
                                slot=slot)
        negotiation = check_playable(offer, publisher.codecs)
        mine = sorted((v for key, vs in self.viewers.items() if key[0] == room for v in vs
                       if v.owner["user_id"] == owner["user_id"]), key=lambda v: v.created)
        for stale in mine[:max(0, len(mine) - MAX_VIEWS_PER_USER + 1)]:
            await self._close(stale, "replaced")
        viewer = Viewer(new_session_id(self.instance), room, slot, owner, transport)
        self._admit(viewer)
        viewer.on_ready = self._viewer_ready
        try:
            transcoded = publisher if isinstance(publisher, Publisher) and (
                publisher.transcode) else None
            answer = await viewer.answer(offer, negotiation, self.configuration, transcoded)
        except BaseException:
            await self._close(viewer, "failed")
            raise
        self.viewers.setdefault((room, slot), set()).add(viewer)
        return viewer, answer

    def _viewer_ready(self, viewer: Viewer) -> None:
        publisher = self.broadcast(viewer.room, viewer.slot)
        if publisher is not None and not viewer.attach(publisher.sources):
            self._spawn(self._close(viewer, "codec_changed"))
            return
        self._spawn(self._count_in(viewer))

    async def _count_in(self, viewer: Viewer) -> None:
        """A connected player is in the room's audience (presence counts a user once, so one
        who also has the room page open counts once)."""
        owner = viewer.owner
        member = {"user_id": owner["user_id"], "name": owner.get("name"),
                  "role": owner.get("role")}
        try:
            await self.engine.presence.join(viewer.room, viewer.id, member)
            viewer.counted = True
            if viewer.closed:  # it ended while joining
                await self._count_out(viewer)
        except (EngineUnavailable, LiveroomError) as exc:
            log.warning("room %s: player not counted: %s", viewer.room, exc)

    async def _count_out(self, viewer: Viewer) -> None:
        if viewer.counted:
            viewer.counted = False
            with contextlib.suppress(EngineUnavailable, LiveroomError):
                await self.engine.presence.leave(viewer.room, viewer.id)

    # --- what clients do with their sessions ---------------------------------------------------
    def session(self, session_id: str, requester: dict[str, Any] | None,
                room: str | None = None, transport: str | None = None) -> Session:
        """A session its requester may act on; `transport` ("whip", "whep") when asked at
        such a resource: a session is found only at the kind of URL that made it."""
        session = self.sessions.get(session_id)
        if session is None or (room is not None and session.room != room) or (
                transport is not None and session.transport != transport):
            raise LiveroomError("session_not_found", f"no session {session_id!r}")
        if session.owner.get("guest"):
            return session  # a guest's session: its unguessable URL is the credential
        if requester is None:
            raise LiveroomError("unauthorized", "this session needs its owner's access token")
        if requester["user_id"] == session.owner["user_id"]:
            return session
        if requester.get("role") == "admin" and requester.get("room") in ("*", session.room):
            return session
        raise LiveroomError("forbidden", "this session belongs to someone else")

    async def trickle(self, session_id: str, requester: dict[str, Any] | None,
                      candidates: list[dict[str, Any] | None], *, if_match: str | None = None,
                      ufrag: str | None = None, room: str | None = None,
                      transport: str | None = None) -> None:
        session = self.session(session_id, requester, room, transport)
        if if_match is not None and if_match != "*" and if_match != session.etag:
            raise LiveroomError("precondition_failed", "If-Match does not name this session's "
                                "current ICE session (ETag)", etag=session.etag)
        if ufrag is not None and ufrag != session.remote_ufrag:
            raise LiveroomError("ice_restart_unsupported", "ICE restarts are not supported: "
                                "start a new session (DELETE, then POST)")
        session.budget.spend(sum(c is not None for c in candidates))
        await session.add_candidates(candidates, self.peer_addresses.allows)

    async def stop(self, session_id: str, requester: dict[str, Any] | None,
                   room: str | None = None, transport: str | None = None) -> None:
        await self._close(self.session(session_id, requester, room, transport), "stopped")

    # --- closing ------------------------------------------------------------------------------
    def _state_changed(self, session: Session) -> None:
        state = session.pc.connectionState if session.pc is not None else "closed"
        if state in ("failed", "closed") and not session.closed:
            self._spawn(self._close(session, "failed" if state == "failed" else "stopped"))

    async def _close(self, session: Session, reason: str) -> None:
        if self.sessions.get(session.id) is session:
            del self.sessions[session.id]
        key = (session.room, session.slot)
        if self.publishers.get(key) is session:
            del self.publishers[key]
        if isinstance(session, Viewer):
            viewers = self.viewers.get(key)
            if viewers is not None:
                viewers.discard(session)
                if not viewers:
                    del self.viewers[key]
        was_closed = session.closed
        await session.close(reason)
        self._count_peers()
        if isinstance(session, Broadcast):
            self._publisher_changed(session.room, session.slot)
        if isinstance(session, Viewer):
            if not was_closed:
                forwarded = self.retired.setdefault(session.room, [0, 0])
                for track in session.tracks.values():
                    forwarded[0] += track.frames_out
                    forwarded[1] += track.dropped
            await self._count_out(session)
        if session.role == "publish" and not was_closed:
            if session.room in self.demo_rooms and session.slot == "host" and (
                    reason != "replaced"):
                self._vacant_since[session.room] = time.monotonic()  # the demo host's wait
            with contextlib.suppress(EngineUnavailable, LiveroomError):
                await self.engine.media.release(session.room, session.slot, session.id,
                                                _offline_reason(reason))
            log.info("room %s: %s stopped publishing (%s)", session.room,
                     session.owner["user_id"], reason)

    async def close_room(self, room: str, reason: str) -> None:
        doomed = [s for s in self.sessions.values() if s.room == room]
        await asyncio.gather(*(self._close(s, reason) for s in doomed), return_exceptions=True)

    # --- the background loop ------------------------------------------------------------------
    async def _run(self) -> None:
        due = time.monotonic() + TICK
        while True:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            now = time.monotonic()
            if now - due > STALL:
                log.warning("media: the event loop was held up %.1f s; timeouts wait",
                            now - due)
                self._grace_until = now + max(self.media.media_timeout,
                                              self.media.ice_start_timeout)
            due = now + TICK
            try:
                await self._check_timeouts()
                await self._keep_legs()
                if time.monotonic() - self._last_beat >= self.settings.heartbeat_interval:
                    self._last_beat = time.monotonic()
                    await self._beat()
            except EngineUnavailable as exc:
                log.warning("media heartbeat: %s", exc)
            except Exception:
                log.exception("media heartbeat failed")

    async def _check_timeouts(self) -> None:
        now = time.monotonic()
        if now < self._grace_until:
            return
        for session in list(self.sessions.values()):
            if session.connected_at is None:
                waited = now - session.created
                if waited > self.media.ice_timeout or (
                        session.checked_at is None and waited > self.media.ice_start_timeout):
                    await self._close(session, "ice_timeout")
            elif isinstance(session, Publisher):
                last = session.last_frame_at() or session.connected_at
                if now - last > self.media.media_timeout:
                    await self._close(session, "media_timeout")
            elif isinstance(session, Viewer):
                last = max(session.heard_at or 0.0, session.connected_at)
                if now - last > self.media.player_timeout:
                    await self._close(session, "gone")  # closed its side without a DELETE

    async def _keep_legs(self) -> None:
        watched = {room for (room, _), viewers in self.viewers.items() if viewers}
        waiting = {room for (room, slot), viewers in self.viewers.items()
                   if viewers and (room, slot) not in self.publishers}
        await self.legs.keep(watched, waiting)

    async def _beat(self) -> None:
        held = [(s.room, s.slot, s.id) for s in self.publishers.values()]
        for (room, slot, session_id), ok in zip(held, await self.engine.media.refresh(held,
                                                                                       self.ttl)):
            session = self.sessions.get(session_id)
            if not ok and session is not None:
                await self._close(session, "replaced")
        await self.engine.media.sweep()
        rooms = {s.room for s in self.sessions.values()}
        for room in rooms:
            if await self.engine.store.get_room(room) is None:
                await self.close_room(room, "room_deleted")
        await self.legs.follow()
        await self._demo_hosts()

    async def _demo_hosts(self) -> None:
        now = time.monotonic()
        for room, record in self.demo_rooms.items():
            if (room, "host") in self.publishers or await self.engine.media.claims(room):
                self._vacant_since.pop(room, None)  # the wait starts when they leave
                continue
            vacant = self._vacant_since.setdefault(room, now)
            if now - vacant < DEMO_RETURN:
                continue
            demo = DemoHost(new_session_id(self.instance), record,
                            self._waiting_video(room))
            try:
                if await self.engine.media.claim(room, self.claim_record(demo), self.ttl):
                    continue  # someone else got there first
            except LiveroomError:
                continue  # the room is gone
            self.sessions[demo.id] = demo
            self.publishers[(room, "host")] = demo
            self._vacant_since.pop(room, None)
            await self._go_live(demo)
            self._rebind(room, "host")
            self._publisher_changed(room, "host")

    def _waiting_video(self, room: str) -> Codec | None:
        """The video codec most of the room's waiting players can take (they stay connected
        through a change of host), or None when nobody waits."""
        waiting = [v.tracks["video"].codec for v in self.viewers.get((room, "host"), ())
                   if "video" in v.tracks]
        if not waiting:
            return None
        return max(DEMO_VIDEO, key=lambda codec: sum(plays(w, codec) for w in waiting))

    def enable_demo(self, rooms: dict[str, dict[str, Any]]) -> None:
        """Give these rooms a demo host at the next heartbeat (and whenever they are vacant)."""
        self.demo_rooms.update(rooms)
        past = time.monotonic() - DEMO_RETURN
        for room in rooms:
            self._vacant_since[room] = past

    # --- introspection (tests, bench) ---------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        return {
            "sessions": len(self.sessions),
            "publishers": {f"{room}/{slot}": p.id for (room, slot), p in self.publishers.items()},
            "viewers": {f"{room}/{slot}": len(v) for (room, slot), v in self.viewers.items()},
            "legs": {room: {"origin": leg.origin, "connected": leg.connected,
                            "frames": leg.frames_in} for room, leg in self.legs.legs.items()},
            "feeds": [{"room": f.room, "to": f.downstream, "sent": f.sent,
                       "skipped": f.skipped} for f in self.feeds],
        }


def _offline_reason(reason: str) -> str:
    """The reasons a media.offline event gives (docs/protocol.md)."""
    if reason in ("stopped", "replaced", "shutdown", "room_deleted"):
        return reason
    return "failed"
