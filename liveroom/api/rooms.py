"""Rooms: anyone lists and reads public rooms; an operator (admin, room "*") creates, changes
and deletes them."""

from __future__ import annotations

from aiohttp import web

from ..domain.errors import LiveroomError
from ..domain.models import room_from_input
from ..engine import ENGINE
from ..gate import GATE
from .access import caller, enter, json_body, operator, operator_room


async def list_rooms(request: web.Request) -> web.Response:
    """Rooms with their live viewer count, like total and pinned product."""
    engine, gate, identity = request.app[ENGINE], request.app[GATE], caller(request)
    rooms = [r for r in await engine.store.list_rooms() if gate.visible(r, identity)]
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
    room_id = (await enter(request, "watch")).room_id
    snapshot = await engine.store.snapshot(room_id)
    if snapshot is None:
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
    operator(request)
    record = room_from_input(await json_body(request))
    await request.app[ENGINE].store.create_room(record)
    return web.json_response(record, status=201)


async def update_room(request: web.Request) -> web.Response:
    operator(request)
    existing = await request.app[GATE].room(request.match_info["room"])
    record = room_from_input(await json_body(request), existing)
    await request.app[ENGINE].store.update_room(record)
    return web.json_response(record)


async def delete_room(request: web.Request) -> web.Response:
    room_id = await operator_room(request)
    if not await request.app[ENGINE].store.delete_room(room_id):
        raise LiveroomError("room_not_found", f"no room {room_id!r}")
    return web.Response(status=204)
