"""WHIP (RFC 9725) for publishers and WHEP for players, over plain HTTP.

    POST   /whip/rooms/{room}                    offer in, 201 with the answer (host token)
    POST   /whep/rooms/{room}[?slot=cohost]      the same for a player (public rooms: no token)
    PATCH  /wh{i,e}p/rooms/{room}/sessions/{id}  trickle ICE (application/trickle-ice-sdpfrag)
    DELETE /wh{i,e}p/rooms/{room}/sessions/{id}  end the session

A 201 carries the answer (application/sdp), the session's `Location`, an `ETag` naming its ICE
session, and the STUN/TURN servers as `Link` headers. ICE restarts are refused with 422, as the
RFC asks of a server that supports trickle ICE but not restarts. Errors are JSON, like the rest
of the API. Requests for a room whose media is on another instance are routed there through
the engine, or, with LIVEROOM_MEDIA_ROUTING=redirect, answered with a 307 to that instance.
Browser clients on other origins are served as cors.py says; `OPTIONS` on an endpoint answers
what it accepts and, like the 201, the STUN/TURN servers (some clients read them there).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from liveroom.config import SETTINGS
from liveroom.domain import auth
from liveroom.domain.errors import LiveroomError
from liveroom.gate import GATE

from . import client_address, cors, trickle
from .config import MEDIA_SETTINGS
from .ice import ice_servers, link_headers
from .keys import SERVICE
from .sdp import ice_credentials

SDP = "application/sdp"
SDPFRAG = "application/trickle-ice-sdpfrag"


def owner_of(identity: auth.Identity, address: str | None = None) -> dict[str, Any]:
    """Who a session belongs to, and from where, as it travels between instances."""
    return {"user_id": identity.user_id, "name": identity.name, "role": identity.role,
            "guest": identity.guest, "room": identity.room, "address": address}


async def _enter(request: web.Request, act: str) -> tuple[str, auth.Identity]:
    """Through the room gate: the room's id and who entered it."""
    token = auth.bearer(request.headers.get("Authorization"))
    admission = await request.app[GATE].enter(request.match_info["room"], token, act)
    return admission.room_id, admission.identity


async def _requester(request: web.Request) -> tuple[str, dict[str, Any] | None]:
    """Who acts on a session, through the room gate: the room, and the owner the session's
    registry compares with (None for a caller without a token: a guest's session URL is its
    credential)."""
    act = "publish" if _kind(request) == "whip" else "watch"
    token = auth.bearer(request.headers.get("Authorization"))
    admission = await request.app[GATE].enter(request.match_info["room"], token, act)
    return admission.room_id, owner_of(admission.identity) if token else None


def _kind(request: web.Request) -> str:
    """whip or whep: a session is a resource of the endpoint that made it, and only there."""
    return "whip" if request.path.startswith("/whip/") else "whep"


async def _offer(request: web.Request) -> str:
    if request.content_type != SDP:
        raise LiveroomError("unsupported_media_type",
                            f"the offer must be sent as Content-Type: {SDP}")
    return await request.text()


async def _redirect(request: web.Request, room: str) -> web.Response | None:
    """With redirect routing: a publisher's 307 to the instance holding the room's media, if
    not here. Players are never redirected: this instance serves them (through a relay leg)."""
    settings = request.app[SETTINGS]
    if request.app[MEDIA_SETTINGS].media_routing != "redirect":
        return None
    holder = await request.app[SERVICE].media_instance(room)
    if holder is None or holder["instance"] == settings.instance_id:
        return None
    return web.Response(status=307, headers={"Location": holder["url"] + request.path_qs})


def _created(request: web.Request, kind: str, room: str, result: dict[str, Any],
             identity: auth.Identity) -> web.Response:
    headers = CIMultiDict({
        "Location": f"/{kind}/rooms/{room}/sessions/{result['session']}",
        "ETag": result["etag"],
        "Accept-Patch": SDPFRAG,
    })
    for link in link_headers(ice_servers(request.app[MEDIA_SETTINGS], identity.user_id)):
        headers.add("Link", link)
    return web.Response(status=201, body=result["answer"].encode(), content_type=SDP,
                        headers=headers)


async def whip_post(request: web.Request) -> web.Response:
    cors.check(request)
    room, identity = await _enter(request, "publish")
    offer = await _offer(request)
    redirect = await _redirect(request, room)
    if redirect is not None:
        return redirect
    result = await request.app[SERVICE].publish(room, owner_of(identity), offer, "whip")
    return _created(request, "whip", room, result, identity)


async def whep_post(request: web.Request) -> web.Response:
    cors.check(request)
    room, identity = await _enter(request, "watch")
    slot = request.query.get("slot", "host")
    if slot not in ("host", "cohost"):
        raise LiveroomError("bad_request", "slot must be host or cohost")
    offer = await _offer(request)
    result = await request.app[SERVICE].play(
        room, slot, owner_of(identity, client_address.of_request(request)), offer, "whep")
    return _created(request, "whep", room, result, identity)


def parse_sdpfrag(text: str) -> tuple[list[dict[str, Any] | None], str | None]:
    """Candidates (None for end-of-candidates) and the ice-ufrag of a trickle-ice-sdpfrag."""
    candidates: list[dict[str, Any] | None] = []
    mid = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("a=mid:"):
            mid = line[len("a=mid:"):]
        elif line.startswith("a=candidate:"):
            candidates.append({"candidate": line[2:], "sdpMid": mid,
                               "sdpMLineIndex": None if mid is not None else 0})
        elif line == "a=end-of-candidates":
            candidates.append(None)
    ufrag, _pwd = ice_credentials(text)
    return candidates, ufrag


async def session_patch(request: web.Request) -> web.Response:
    cors.check(request)
    room, requester = await _requester(request)
    if request.content_type != SDPFRAG:
        raise LiveroomError("unsupported_media_type",
                            f"a PATCH carries Content-Type: {SDPFRAG}")
    fragment = await request.text()
    trickle.check_request(trickle.count_in_sdp(fragment))  # before any work on the lines
    candidates, ufrag = parse_sdpfrag(fragment)
    await request.app[SERVICE].trickle(
        request.match_info["session"], requester, candidates,
        if_match=request.headers.get("If-Match"), ufrag=ufrag, room=room,
        transport=_kind(request))
    return web.Response(status=204)


async def session_delete(request: web.Request) -> web.Response:
    cors.check(request)
    room, requester = await _requester(request)
    await request.app[SERVICE].stop(request.match_info["session"], requester, room=room,
                                    transport=_kind(request))
    return web.Response(status=200)


async def options(request: web.Request) -> web.Response:
    cors.check(request)
    post = "/sessions/" not in request.path
    headers = CIMultiDict({
        "Allow": "POST, OPTIONS" if post else "PATCH, DELETE, OPTIONS",
        **({"Accept-Post": SDP} if post else {"Accept-Patch": SDPFRAG}),
    })
    if post:
        identity = request.app[GATE].identify(auth.bearer(request.headers.get("Authorization")))
        user = identity.user_id if identity is not None else "guest"
        for link in link_headers(ice_servers(request.app[MEDIA_SETTINGS], user)):
            headers.add("Link", link)
    return web.Response(status=204, headers=headers)


def setup_routes(app: web.Application) -> None:
    app.on_response_prepare.append(cors.add_headers)
    r = app.router
    r.add_post("/whip/rooms/{room}", whip_post)
    r.add_post("/whep/rooms/{room}", whep_post)
    for kind in ("whip", "whep"):
        r.add_route("OPTIONS", f"/{kind}/rooms/{{room}}", options)
        r.add_patch(f"/{kind}/rooms/{{room}}/sessions/{{session}}", session_patch)
        r.add_delete(f"/{kind}/rooms/{{room}}/sessions/{{session}}", session_delete)
        r.add_route("OPTIONS", f"/{kind}/rooms/{{room}}/sessions/{{session}}", options)
