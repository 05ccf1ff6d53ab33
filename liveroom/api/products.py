"""Products of a room: anyone who may see the room reads them; its host, its moderators and
operators add, change and remove them. Every change is announced on the room channel."""

from __future__ import annotations

from aiohttp import web

from ..domain.errors import LiveroomError
from ..domain.models import product_from_input
from ..domain.validation import SLUG
from ..engine import ENGINE
from .access import enter, json_body


def _product_id(request: web.Request) -> str:
    product = request.match_info["product"]
    if not SLUG.match(product):
        raise LiveroomError("product_not_found", f"no product {product!r}")
    return product


async def list_products(request: web.Request) -> web.Response:
    room_id = (await enter(request, "watch")).room_id
    return web.json_response(
        {"products": await request.app[ENGINE].store.list_products(room_id)}
    )


async def get_product(request: web.Request) -> web.Response:
    room_id, product_id = (await enter(request, "watch")).room_id, _product_id(request)
    product = await request.app[ENGINE].store.get_product(room_id, product_id)
    if product is None:
        raise LiveroomError("product_not_found", f"no product {product_id!r} in {room_id!r}")
    return web.json_response(product)


async def create_product(request: web.Request) -> web.Response:
    room_id = (await enter(request, "products")).room_id
    record = product_from_input(await json_body(request))
    await request.app[ENGINE].store.put_product(room_id, record, create=True)
    return web.json_response(record, status=201)


async def update_product(request: web.Request) -> web.Response:
    room_id, product_id = (await enter(request, "products")).room_id, _product_id(request)
    store = request.app[ENGINE].store
    existing = await store.get_product(room_id, product_id)
    if existing is None:
        raise LiveroomError("product_not_found", f"no product {product_id!r} in {room_id!r}")
    body = await json_body(request)
    record = product_from_input(body, existing)
    # Purchases may take stock between our read and this write: an edit that does not set
    # the stock keeps whatever it is then.
    keep_stock = "stock" not in body
    await store.put_product(room_id, record, create=False, keep_stock=keep_stock)
    if keep_stock:
        record = await store.get_product(room_id, product_id) or record
    return web.json_response(record)


async def delete_product(request: web.Request) -> web.Response:
    room_id, product_id = (await enter(request, "products")).room_id, _product_id(request)
    await request.app[ENGINE].store.delete_product(room_id, product_id)
    return web.Response(status=204)
