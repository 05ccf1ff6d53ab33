"""HLS and replays over HTTP. Any instance answers: a room's live segments are on the instance
holding its media (its origin), and a recording on the instance that recorded it (the
engine's index says which), which this one proxies to when it is not that instance.

    GET    /hls/rooms/{room}/live.m3u8                 the live playlist (a rolling window)
    GET    /hls/rooms/{room}/{session}/index.m3u8      a recording's playlist (VOD once ended)
    GET    /hls/rooms/{room}/{session}/{segment}       init-<p>.mp4, <n>.m4s
    GET    /api/replays                                public rooms' newest recordings (lobby)
    GET    /api/rooms/{room}/replays                   the room's recordings, newest first
    GET    /api/rooms/{room}/replays/{session}         one: playlist URL, duration, timeline
    DELETE /api/rooms/{room}/replays/{session}         staff (the "moderate" grant)

Caching: segments never change (`public, max-age=31536000, immutable`); the live playlist
changes once a segment (`public, max-age=1`: about half a 1 s segment, HTTP's max-age being
whole seconds); a finished recording's playlist may still be deleted (`max-age=60`). A private
room's playlists need a token (`?token=` or `Authorization: Bearer`), which is answered with a
302 to the playlist's signed, expiring URL (signing.py); that playlist names its segments
with the same signature, and a shared cache stores and serves all of them like any other,
without ever seeing a token.

Errors are the API's JSON: room_not_found (unknown room), hls_unavailable (not live, or live in
a codec HLS cannot carry: VP8), replay_not_found, not_found (a file name that is not one of
ours: no path ever reaches the disk unchecked), unauthorized (a private room without token
or valid signature).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import aiohttp
from aiohttp import web

from liveroom.config import SETTINGS
from liveroom.domain import auth
from liveroom.domain.errors import LiveroomError
from liveroom.domain.validation import SLUG
from liveroom.engine import ENGINE
from liveroom.gate import GATE

from . import signing
from .keys import HLS, HLS_CLIENT
from .segmenter import hls_compatible
from .service import STALE_AFTER
from .store import media_playlist, valid_name, valid_segment

log = logging.getLogger(__name__)

PLAYLIST = "application/vnd.apple.mpegurl"
IMMUTABLE = "public, max-age=31536000, immutable"
LIVE = "public, max-age=1"
FINISHED = "public, max-age=60"
RECORDING = "public, max-age=1"
PRIVATE = "private, no-store"
PROXY_TIMEOUT = aiohttp.ClientTimeout(total=10)


def _room_name(request: web.Request) -> str:
    room = request.match_info["room"]
    if not SLUG.match(room):
        raise LiveroomError("room_not_found", f"no room {room!r}")
    return room


def _token(request: web.Request) -> str | None:
    return request.query.get("token") or auth.bearer(request.headers.get("Authorization"))


def _hopped(request: web.Request, room: str) -> bool:
    """Proxied here by another instance of the deployment, which checked the viewer."""
    value = request.headers.get(signing.HOP_HEADER)
    return value is not None and signing.hop_allowed(
        request.app[SETTINGS].signing_secret, room, value)


async def _playlist_access(request: web.Request, room: str) -> str:
    """The query a viewer's playlist's file URLs carry ("" for a public room). A private
    room's viewer who comes with a token is sent (302) to the same playlist's signed URL,
    which a shared cache stores like any other: one copy for all of the room's viewers."""
    secret = request.app[SETTINGS].signing_secret
    signed = signing.segment_allowed(secret, room, request.query.get("exp"),
                                     request.query.get("sig"))
    if _hopped(request, room) or signed:
        record = await request.app[GATE].room(room)
    else:
        record = (await request.app[GATE].enter(room, _token(request), "watch")).room
    if record.get("public", True):
        return ""
    query = signing.segment_query(secret, room)
    if not signed and not _hopped(request, room):
        raise web.HTTPFound(request.rel_url.path + query, headers={"Cache-Control": PRIVATE})
    return f"?exp={request.query['exp']}&sig={request.query['sig']}" if signed else query


async def _segment_access(request: web.Request, room: str) -> None:
    secret = request.app[SETTINGS].signing_secret
    if _hopped(request, room) or signing.segment_allowed(
            secret, room, request.query.get("exp"), request.query.get("sig")):
        return
    await request.app[GATE].enter(room, _token(request), "watch")


async def _proxy(request: web.Request, room: str) -> web.StreamResponse | None:
    """The request answered by the room's origin, if that is another instance."""
    if _hopped(request, room):
        return None  # the origin never proxies on
    claim = await request.app[ENGINE].media.owner(room)
    if claim is None or claim.get("instance") == request.app[SETTINGS].instance_id:
        return None
    return await _forward(request, room, claim.get("leg_url"), claim["instance"])


async def _proxy_recording(request: web.Request, room: str,
                           session: str) -> web.StreamResponse | None:
    """The request answered by the instance holding a recording, if another one does."""
    if _hopped(request, room):
        return None
    for record in await request.app[ENGINE].media.replays(room):
        if record.get("id") == session and _vouched(record):
            if record.get("instance") == request.app[SETTINGS].instance_id:
                return None  # ours, and gone from the disk
            return await _forward(request, room, record.get("url"), record.get("instance"))
    return None


async def _forward(request: web.Request, room: str, base: str | None,
                   instance: str | None) -> web.StreamResponse | None:
    if not base:
        return None
    settings = request.app[SETTINGS]
    url = base.rstrip("/") + request.rel_url.path_qs
    headers = {signing.HOP_HEADER: signing.hop(settings.signing_secret, room,
                                               settings.instance_id)}
    try:
        async with request.app[HLS_CLIENT].request(request.method, url, headers=headers,
                                                   timeout=PROXY_TIMEOUT) as upstream:
            body = await upstream.read()
            kept = {k: v for k, v in upstream.headers.items()
                    if k.lower() in ("content-type", "cache-control", "etag")}
            return web.Response(body=body, status=upstream.status, headers=kept)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("room %s: HLS from instance %s failed: %s", room, instance, exc)
        raise LiveroomError("unavailable", "the instance holding this room's stream or "
                            "recording does not answer; try again", retry_after=1) from None


def _text(body: str, cache: str) -> web.Response:
    return web.Response(text=body, content_type=PLAYLIST, headers={"Cache-Control": cache})


async def live_playlist(request: web.Request) -> web.StreamResponse:
    room = _room_name(request)
    query = await _playlist_access(request, room)
    service = request.app[HLS]
    service.want(room)
    recorder = service.recorder(room)
    if recorder is None:
        proxied = await _proxy(request, room)
        if proxied is not None:
            return proxied
        raise LiveroomError("hls_unavailable", _why_not(request, room))
    segments = list(recorder.live)
    if not segments:  # live, but the first segment is still being cut
        raise LiveroomError("hls_unavailable", "the stream is starting; try again in a second",
                            retry_after=1)
    body = media_playlist(segments, prefix=f"{recorder.session}/", query=query, ended=False)
    return _text(body, LIVE)  # (a private room's is at its signed URL: cacheable the same)


def _why_not(request: web.Request, room: str) -> str:
    registry = request.app[HLS].registry
    publisher = registry.publishers.get((room, "host"))
    if publisher is not None and not hls_compatible(publisher.codecs):
        video = publisher.codecs.get("video")
        return (f"the room is live in {video.name if video else 'audio only'}, which HLS does "
                "not carry; its host must send H.264")
    return "the room is not live"


async def recording_file(request: web.Request) -> web.StreamResponse:
    room = _room_name(request)
    session, name = request.match_info["session"], request.match_info["name"]
    if not valid_name(session) or not (name == "index.m3u8" or valid_segment(name)):
        raise LiveroomError("not_found", "no such HLS file")
    service = request.app[HLS]
    store = service.store
    if name == "index.m3u8":
        query = await _playlist_access(request, room)
        segments = store.segments(room, session)
        if segments is None:
            proxied = (await _proxy_recording(request, room, session)
                       or await _proxy(request, room))
            if proxied is not None:
                return proxied
            raise LiveroomError("replay_not_found", f"no recording {session!r} of room {room!r}")
        recorder = service.recorder(room)
        recording = recorder is not None and recorder.session == session
        body = media_playlist(segments, prefix="", query=query, ended=not recording,
                              media_sequence=0, playlist_type="EVENT" if recording else "VOD")
        return _text(body, RECORDING if recording else FINISHED)
    await _segment_access(request, room)
    data = store.read(room, session, name)
    if data is None:
        proxied = (await _proxy_recording(request, room, session)
                   or await _proxy(request, room))
        if proxied is not None:
            return proxied
        raise LiveroomError("not_found", "no such HLS file")
    kind = "video/mp4" if name.endswith(".mp4") else "video/iso.segment"
    return web.Response(body=data, content_type=kind, headers={"Cache-Control": IMMUTABLE})


# --- replays (REST) -----------------------------------------------------------------------------
PUBLIC_FIELDS = ("id", "room", "started_at", "publisher", "duration", "recording",
                 "interrupted")


def _public(record: dict[str, Any]) -> dict[str, Any]:
    """A recording as anyone may see it (not the address of the instance holding it)."""
    room, session = record["room"], record["id"]
    return {**{k: record.get(k) for k in PUBLIC_FIELDS},
            "playlist": f"/hls/rooms/{room}/{session}/index.m3u8",
            "page": f"/rooms/{room}/replays/{session}"}


async def _records(request: web.Request, room: str) -> list[dict[str, Any]]:
    """The room's recordings on every instance (the engine's index), this instance's own as
    its disk says now; oldest first."""
    service = request.app[HLS]
    out = []
    for record in await request.app[ENGINE].media.replays(room):
        if record.get("instance") == request.app[SETTINGS].instance_id:
            record = service.record(room, record["id"]) or {}
        if record.get("duration") and _vouched(record):
            out.append({**record, "room": room})
    return out


def _vouched(record: dict[str, Any]) -> bool:
    """Whether the instance holding a recording vouched for it lately (service.py): one that
    is gone for good took the files with it, and its record is not shown or followed."""
    return time.time() - float(record.get("vouched_at") or 0) <= STALE_AFTER


async def list_replays(request: web.Request) -> web.Response:
    room = _room_name(request)
    await request.app[GATE].enter(room, _token(request), "watch")
    records = await _records(request, room)
    return web.json_response({"replays": [_public(r) for r in reversed(records)]})


RECENT = 20


async def recent_replays(request: web.Request) -> web.Response:
    """The newest replays of public rooms, for the lobby."""
    engine = request.app[ENGINE]
    views = []
    for room in await engine.store.list_rooms():
        if not room.get("public", True):
            continue
        for record in (await _records(request, room["id"]))[-RECENT:]:
            views.append({**_public(record), "title": room.get("title") or room["id"]})
    views.sort(key=lambda v: v["started_at"] or 0, reverse=True)
    return web.json_response({"replays": views[:RECENT]})


async def get_replay(request: web.Request) -> web.StreamResponse:
    room = _room_name(request)
    session = request.match_info["session"]
    if not _hopped(request, room):
        await request.app[GATE].enter(room, _token(request), "watch")
    service = request.app[HLS]
    record = service.record(room, session) if valid_name(session) else None
    if record is None:
        proxied = await _proxy_recording(request, room, session) if valid_name(session) else None
        if proxied is not None:
            return proxied
        raise LiveroomError("replay_not_found", f"no recording {session!r} of room {room!r}")
    timeline = _moderated(service.store.timeline(room, session))
    return web.json_response({**_public(record), "timeline": timeline})


def _moderated(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The timeline without the chat messages moderators deleted (later in the session): a
    replay never shows what the room stopped showing."""
    deleted = {e.get("message_id") for e in events if e.get("type") == "chat.deleted"}
    return [e for e in events if not (e.get("type") == "chat.message"
                                      and (e.get("message") or {}).get("id") in deleted)]


async def delete_replay(request: web.Request) -> web.StreamResponse:
    room = _room_name(request)
    if not _hopped(request, room):  # (a proxying instance checked the grant)
        await request.app[GATE].enter(room, _token(request), "moderate")
    session = request.match_info["session"]
    service = request.app[HLS]
    recorder = service.recorder(room)
    if recorder is not None and recorder.session == session:
        raise LiveroomError("conflict", "this session is still being recorded")
    if valid_name(session) and service.record(room, session) is None:
        proxied = await _proxy_recording(request, room, session)
        if proxied is not None:
            return proxied
    if not valid_name(session) or not await service.delete(room, session):
        raise LiveroomError("replay_not_found", f"no recording {session!r} of room {room!r}")
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/hls/rooms/{room}/live.m3u8", live_playlist)
    r.add_get("/hls/rooms/{room}/{session}/{name}", recording_file)
    r.add_get("/api/replays", recent_replays)
    r.add_get("/api/rooms/{room}/replays", list_replays)
    r.add_get("/api/rooms/{room}/replays/{session}", get_replay)
    r.add_delete("/api/rooms/{room}/replays/{session}", delete_replay)
