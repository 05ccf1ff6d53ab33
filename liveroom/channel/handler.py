"""`GET /ws/rooms/{room}`: the room channel endpoint.

Query parameters: `access_token` (or an `Authorization: Bearer` header; none makes a guest in a
public room), `format=json|msgpack`, `epoch` with `since` to resume, and `watch=replay` for a
replay page (not counted in the live audience). A refusal after the upgrade is an error frame
followed by a close with a 4xxx code, because a browser cannot read the body of a failed
handshake; a cross-site Origin is refused before the upgrade, with 403.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from .. import logs
from ..addresses import CLIENT_ADDRESSES
from ..config import SETTINGS
from ..domain import auth
from ..domain.codec import pack, to_json
from ..domain.errors import EngineUnavailable, LiveroomError
from ..engine import ENGINE, Position
from ..gate import GATE
from ..guests import GUEST_COOKIE, GUESTS
from ..lifecycle import LIFECYCLE
from ..metrics import METRICS
from .commands import CONTEXT, dispatch
from .connection import CLOSE_CODE_OF_ERROR, CLOSE_INTERNAL, CLOSE_TOO_BIG, Connection
from .encoded import FORMATS
from .fanout import FANOUT
from .registry import CONNECTIONS
from .token_watch import cut_off, expire_at_exp, lapsed

log = logging.getLogger(__name__)

WS_HEARTBEAT = 30.0
WATCH = ("live", "replay")  # what a connection watches: the show, or a recording of it


def origin_allowed(request: web.Request) -> bool:
    """Same-origin pages, configured origins, and clients that send no Origin (not browsers)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    settings = request.app[SETTINGS]
    origin = origin.rstrip("/")
    if origin in settings.allowed_origins or origin == settings.base_url:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == request.host


def _counted(request: web.Request) -> bool:
    """Whether this connection is audience of the live show: `watch=replay` (a replay page,
    which keeps the channel to buy and to see the products) is in the room but not watching
    it live, so it takes no place in presence and the viewer count."""
    watch = request.query.get("watch", "live")
    if watch not in WATCH:
        raise LiveroomError("bad_request", f"watch must be one of {', '.join(WATCH)}")
    return watch == "live"


def _resume_position(request: web.Request) -> Position | None:
    epoch, since = request.query.get("epoch"), request.query.get("since")
    if epoch is None and since is None:
        return None
    if not epoch or since is None or not since.isdigit() or len(epoch) > 32:
        raise LiveroomError(
            "bad_request", "resume needs both epoch and since (a non-negative integer)"
        )
    return Position(epoch, int(since))


async def room_channel(request: web.Request) -> web.StreamResponse:
    if not origin_allowed(request):
        raise LiveroomError("forbidden", "cross-site WebSocket connections are not allowed")
    app = request.app
    settings, engine, fanout = app[SETTINGS], app[ENGINE], app[FANOUT]
    connections = app[CONNECTIONS]
    if app[LIFECYCLE].draining:
        # Before the upgrade, so that a load balancer can try another instance.
        app[METRICS].refused.labels(reason="draining").inc()
        raise LiveroomError("draining", "this server is restarting; connect again")
    # aiohttp refuses a frame whose size reaches max_msg_size; the documented limit is the
    # largest frame accepted, so one byte more is the first refused (1009).
    ws = web.WebSocketResponse(
        compress=False, max_msg_size=settings.max_frame_bytes + 1, heartbeat=WS_HEARTBEAT
    )
    room_id = request.match_info["room"]
    fmt = request.query.get("format", "json")
    address = app[CLIENT_ADDRESSES].of_request(request)
    refusal: LiveroomError | None = None
    try:
        token: str | None = _presented_token(request, room_id, address, ws)
    except LiveroomError as malformed:  # a bad Authorization header: said after the upgrade
        token, refusal = None, malformed
    await ws.prepare(request)
    conn: Connection | None = None
    admitted = joined = False
    expiry: asyncio.TimerHandle | None = None
    try:
        if fmt not in FORMATS:
            raise LiveroomError("bad_request", f"format must be one of {', '.join(FORMATS)}")
        if refusal is not None:
            raise refusal
        resume = _resume_position(request)
        counted = _counted(request)
        connections.admit(room_id, address)
        admitted = True
        try:
            async with asyncio.timeout(settings.request_timeout):
                assert token is not None
                conn = await _welcome(request, ws, room_id, fmt, address, token)
                expiry = expire_at_exp(conn)
                connections.add(conn)
                conn.counted = counted
                if counted:
                    joined = True  # from here on, leave presence whatever happens
                    await engine.presence.join(room_id, conn.id, conn.member())
                await fanout.join(conn, resume)
                log.debug("joined room %s as %s (%s)", room_id, conn.identity.user_id,
                          conn.identity.role)
        except TimeoutError:
            raise EngineUnavailable(
                f"the room service did not answer within {settings.request_timeout:g} s"
            ) from None
        ctx = app[CONTEXT]
        in_flight = app[METRICS].in_flight
        async for msg in ws:
            if conn.closed or lapsed(conn):
                # Cut off (its token expired or was revoked): nothing more runs; the loop
                # ends with the close (cut_off's, if the timer has not fired yet).
                cut_off(conn, "token_expired", "the access token has expired")
                continue
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                conn.idle.clear()
                in_flight.inc()
                try:
                    await dispatch(ctx, conn, msg.data)
                finally:
                    in_flight.dec()
                    conn.idle.set()
            elif msg.type == WSMsgType.ERROR:
                log.info("connection %s: %s", conn.id, ws.exception())
                break
    except LiveroomError as error:
        await _refuse(ws, conn, error, fmt)
    except Exception:
        # Past the upgrade no HTTP error can be answered: a fault of ours closes the socket
        # with 1011 (internal error) instead of leaving the middleware to write a 500 into it.
        log.exception("room channel failed on connection %s", conn.id if conn else None)
        await _close_internal(ws, conn)
    finally:
        if expiry is not None:
            expiry.cancel()
        if conn is not None:
            connections.discard(conn)
            fanout.leave(conn)
            if joined:
                with contextlib.suppress(LiveroomError):
                    await engine.presence.leave(room_id, conn.id)
            log.debug("left room %s", room_id)
        if admitted:
            connections.release(room_id, address)
    if ws.close_code == CLOSE_TOO_BIG:
        log.info("closed a connection that sent a frame over %d bytes", settings.max_frame_bytes)
    return ws


def _presented_token(request: web.Request, room_id: str, address: str | None,
                     ws: web.WebSocketResponse) -> str:
    """The token this connection enters with: the one it presents (a guest token of another
    room re-signed for this one); else the guest identity its browser keeps (the cookie); else
    its address's guest (guests.py). A guest's token goes into the cookie with the handshake's
    answer, so the browser keeps it."""
    token = request.query.get("access_token") or auth.bearer(request.headers.get("Authorization"))
    guests = request.app[GUESTS]
    guest = (guests.for_room(token or request.cookies.get(GUEST_COOKIE), room_id)
             or (None if token else guests.of_address(room_id, address)))
    if guest is None:
        assert token is not None
        return token
    guests.keep(request, ws, guest)
    return guest


async def _welcome(request: web.Request, ws: web.WebSocketResponse, room_id: str,
                   fmt: str, address: str | None, token: str) -> Connection:
    """Let them in through the room gate; welcome them with their connection."""
    app = request.app
    settings, engine = app[SETTINGS], app[ENGINE]
    guest_address = app[GUESTS].address_user(address) if address is not None else None
    admission = await app[GATE].enter(room_id, token, "watch", guest_address=guest_address)
    identity = admission.identity
    # A guest keeps its identity by presenting its guest token again: hand one out.
    guest_token = None
    if identity.guest:
        guest_token = admission.token or auth.guest_token(settings.signing_secret, identity)
    muted_until = await engine.store.muted_until(room_id, identity.public_id)
    assert request.transport is not None  # the WebSocket is open: its transport is there
    conn = Connection(
        ws,
        request.transport,
        room=room_id,
        identity=identity,
        fmt=fmt,
        send_buffer_bytes=settings.send_buffer_bytes,
        commands_per_second=settings.commands_per_second,
        buys_per_second=settings.buys_per_second,
        metrics=app[METRICS],
        address=address,
        guest_address=guest_address if identity.guest else None,
    )
    logs.connection_id.set(conn.id)
    logs.room.set(room_id)
    conn.send({
        "type": "welcome",
        "connection_id": conn.id,
        "instance": settings.instance_id,
        "you": {**identity.public(), "muted_until": muted_until},
        "guest_token": guest_token,
        "limits": {
            "max_frame_bytes": settings.max_frame_bytes,
            "chat_max_chars": settings.chat_max_chars,
        },
    })
    return conn


async def _refuse(
    ws: web.WebSocketResponse, conn: Connection | None, error: LiveroomError, fmt: str
) -> None:
    """Tell the client why, then close with the matching code."""
    code = CLOSE_CODE_OF_ERROR.get(error.code, 4400)
    if conn is not None:
        conn.send_error(error)
        await conn.close(code, error.code)
        return
    frame = {"type": "error", "id": None, **error.as_dict()}
    with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
        if fmt == "msgpack":
            await ws.send_bytes(pack(frame))
        else:
            await ws.send_str(to_json(frame))
        await asyncio.wait_for(ws.close(code=code, message=error.code.encode()), 2.0)


async def _close_internal(ws: web.WebSocketResponse, conn: Connection | None) -> None:
    if conn is not None:
        await conn.close(CLOSE_INTERNAL, "internal")
        return
    with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
        await asyncio.wait_for(ws.close(code=CLOSE_INTERNAL, message=b"internal"), 2.0)
