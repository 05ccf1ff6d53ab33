"""Rooms: anyone lists and reads public rooms; an operator (admin, room "*") creates, changes
and deletes them; the room's host and moderators change its text (in every language)."""

from __future__ import annotations

from aiohttp import web

from ..domain.auth import ANY_ROOM
from ..domain.errors import LiveroomError
from ..domain.models import room_from_input
from ..engine import ENGINE
from ..gate import GATE
from ..room_views import ROOM_VIEWS
from .access import caller, enter, json_body, operator, operator_room

STAFF_ROOM_FIELDS = {"title", "description", "translations"}


async def list_rooms(request: web.Request) -> web.Response:
    """Rooms with their live viewer count, like total and pinned product."""
    engine, gate, identity = request.app[ENGINE], request.app[GATE], caller(request)
    rooms = [r for r in await engine.store.list_rooms() if gate.visible(r, identity)]
    return web.json_response({"rooms": await request.app[ROOM_VIEWS].summaries(rooms)})


async def get_room(request: web.Request) -> web.Response:
    admission = await enter(request, "watch")
    summary = await request.app[ROOM_VIEWS].summary(admission.room)
    if summary is None:
        raise LiveroomError("room_not_found", f"no room {admission.room_id!r}")
    return web.json_response(summary)


async def create_room(request: web.Request) -> web.Response:
    operator(request)
    record = room_from_input(await json_body(request))
    await request.app[ENGINE].store.create_room(record)
    return web.json_response(record, status=201)


async def update_room(request: web.Request) -> web.Response:
    """The operator changes anything; the room's host and moderators (the products grant)
    only its text: title, description and their translations."""
    body = await json_body(request)
    identity = caller(request)
    if identity is not None and identity.room == ANY_ROOM:
        operator(request)
        existing = await request.app[GATE].room(request.match_info["room"])
    else:
        existing = (await enter(request, "products")).room
        if isinstance(body, dict):
            beyond = sorted(set(body) - STAFF_ROOM_FIELDS)
            if beyond:
                raise LiveroomError("forbidden", f"{beyond[0]}: only the operator changes it",
                                    field=beyond[0])
    record = room_from_input(body, existing)
    await request.app[ENGINE].store.update_room(record)
    return web.json_response(record)


async def delete_room(request: web.Request) -> web.Response:
    room_id = await operator_room(request)
    if not await request.app[ENGINE].store.delete_room(room_id):
        raise LiveroomError("room_not_found", f"no room {room_id!r}")
    return web.Response(status=204)
