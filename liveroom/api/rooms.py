"""Rooms: anyone lists and reads public rooms; an operator (admin, room "*") creates, changes
and deletes them."""

from __future__ import annotations

from aiohttp import web

from ..domain.errors import LiveroomError
from ..domain.models import room_from_input
from ..domain.validation import SLUG
from ..engine import ENGINE
from .access import caller, json_body, require


def room_param(request: web.Request) -> str:
    room = request.match_info["room"]
    if not SLUG.match(room):
        raise LiveroomError("room_not_found", f"no room {room!r}")
    return room


async def _visible(request: web.Request, room: dict) -> bool:
    if room.get("public", True):
        return True
    identity = caller(request)
    return identity is not None and identity.covers(room["id"])


async def list_rooms(request: web.Request) -> web.Response:
    """Rooms with their live viewer count, like total and pinned product."""
    engine = request.app[ENGINE]
    rooms = [r for r in await engine.store.list_rooms() if await _visible(request, r)]
    counts = await engine.presence.counts([r["id"] for r in rooms])
    media = await engine.media.states([r["id"] for r in rooms])
    listed = []
    for room in rooms:
        snapshot = await engine.store.snapshot(room["id"])
        if snapshot is None:
            continue  # deleted while we were listing
        listed.append({
            **room, "viewers": counts.get(room["id"], 0), "likes": snapshot.likes,
            "pin": snapshot.pin,
            "sales": await engine.sales.list_sales(room["id"], active=True),
            **_live(media.get(room["id"])),
            **snapshot.extra,
        })
    return web.json_response({"rooms": listed})


async def get_room(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    room_id = room_param(request)
    snapshot = await engine.store.snapshot(room_id)
    if snapshot is None or not await _visible(request, snapshot.room):
        raise LiveroomError("room_not_found", f"no room {room_id!r}")
    return web.json_response({
        **snapshot.room,
        "viewers": await engine.presence.count(room_id),
        "likes": snapshot.likes,
        "pin": snapshot.pin,
        "slow_mode": snapshot.slow_mode,
        "sales": await engine.sales.list_sales(room_id, active=True),
        **_live(await engine.media.state(room_id)),
        **snapshot.extra,
    })


def _live(state: dict | None) -> dict:
    """Live video: whether the room is live, and who publishes (engine/media.py)."""
    state = state or {"live": False, "publishers": {}}
    return {"live": state["live"], "media": state}


async def create_room(request: web.Request) -> web.Response:
    require(request, "rooms")
    record = room_from_input(await json_body(request))
    await request.app[ENGINE].store.create_room(record)
    return web.json_response(record, status=201)


async def update_room(request: web.Request) -> web.Response:
    require(request, "rooms")
    engine = request.app[ENGINE]
    room_id = room_param(request)
    existing = await engine.store.get_room(room_id)
    if existing is None:
        raise LiveroomError("room_not_found", f"no room {room_id!r}")
    record = room_from_input(await json_body(request), existing)
    await engine.store.update_room(record)
    return web.json_response(record)


async def delete_room(request: web.Request) -> web.Response:
    require(request, "rooms")
    room_id = room_param(request)
    if not await request.app[ENGINE].store.delete_room(room_id):
        raise LiveroomError("room_not_found", f"no room {room_id!r}")
    return web.Response(status=204)
