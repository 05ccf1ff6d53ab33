"""Deleted rooms' archives (operator only): what was sold in a room outlives it until the
operator has its orders and purges it (see liveroom/engine/sales.py).

Reading an archive's orders to the last page while none is reserved marks it exported; a
purge is refused with not_purgeable until it is settled and exported."""

from __future__ import annotations

from aiohttp import web

from ..domain.errors import LiveroomError
from ..domain.validation import SLUG
from ..engine import ENGINE, Archive
from .access import operator
from .order_pages import orders_page


async def _archive(request: web.Request) -> Archive:
    operator(request)
    room = request.match_info["room"]
    archive = await request.app[ENGINE].sales.archive(room) if SLUG.match(room) else None
    if archive is None:
        raise LiveroomError("room_not_found", f"no archive of a deleted room {room!r}")
    return archive


async def list_archives(request: web.Request) -> web.Response:
    operator(request)
    archives = await request.app[ENGINE].sales.archives()
    return web.json_response({"archives": [a.view() for a in archives]})


async def get_archive(request: web.Request) -> web.Response:
    return web.json_response((await _archive(request)).view())


async def archive_orders(request: web.Request) -> web.Response:
    archive = await _archive(request)
    room, sales = archive.room["id"], request.app[ENGINE].sales
    response, last = await orders_page(
        request, lambda **page: sales.list_orders(room, **page), f"{room}-archived-orders")
    if last and not archive.reserved:
        await sales.mark_exported(room)  # refused by the engine if one came back meanwhile
    return response


async def settle_archived_order(request: web.Request) -> web.Response:
    archive = await _archive(request)
    status = {"pay": "paid", "cancel": "cancelled"}[request.match_info["action"]]
    order = await request.app[ENGINE].sales.settle(
        archive.room["id"], request.match_info["order"], status, operator(request).user_id)
    return web.json_response(order)


async def archive_deliveries(request: web.Request) -> web.Response:
    archive = await _archive(request)
    return web.json_response(
        {"deliveries": await request.app[ENGINE].sales.deliveries(archive.room["id"])})


async def delete_archive_webhook(request: web.Request) -> web.Response:
    """Stop delivering the archive's webhooks (a receiver that is gone for good): pending
    deliveries are dropped with the archive, and the shop system is not told of them."""
    archive = await _archive(request)
    await request.app[ENGINE].sales.set_webhook(archive.room["id"], None)
    return web.Response(status=204)


async def purge_archive(request: web.Request) -> web.Response:
    archive = await _archive(request)
    await request.app[ENGINE].sales.purge_archive(archive.room["id"])
    return web.Response(status=204)
