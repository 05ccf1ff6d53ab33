"""Flash sales and orders over REST: anyone reads a room's sales; moderators and hosts run
them; hosts, moderators and operators read orders (JSON or CSV); the host or the shop system
(with an operator token) settles them; a signed-in viewer reads their own."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..config import SETTINGS
from ..domain.checkout import with_pay_url
from ..domain.errors import LiveroomError
from ..domain.sales import sale_from_input
from ..domain.validation import check_slug
from ..engine import ENGINE
from ..sale_clock import SALE_CLOCK
from .access import enter, json_body
from .order_pages import orders_page


async def _sale(request: web.Request, room: str) -> dict:
    sale = await request.app[ENGINE].sales.get_sale(room, request.match_info["sale"])
    if sale is None:
        raise LiveroomError("sale_not_found", f"no sale {request.match_info['sale']!r}")
    return sale


async def list_sales(request: web.Request) -> web.Response:
    room = (await enter(request, "watch")).room_id
    active = request.query.get("active") in ("1", "true")
    return web.json_response(
        {"sales": await request.app[ENGINE].sales.list_sales(room, active=active)})


async def get_sale(request: web.Request) -> web.Response:
    return web.json_response(await _sale(request, (await enter(request, "watch")).room_id))


async def create_sale(request: web.Request) -> web.Response:
    admission = await enter(request, "sales")
    room, identity = admission.room_id, admission.identity
    body = await json_body(request)
    if not isinstance(body, dict) or "product_id" not in body:
        raise LiveroomError("invalid_field", "product_id: is required", field="product_id")
    product_id = check_slug(body.pop("product_id"), "product_id")
    engine = request.app[ENGINE]
    product = await engine.store.get_product(room, product_id)
    if product is None:
        raise LiveroomError("product_not_found", f"no product {product_id!r} in {room!r}")
    sale = sale_from_input(body, product, room=room, by=identity.public_id,
                           rates=request.app[SETTINGS].rates)
    created = await engine.sales.create_sale(room, sale)
    request.app[SALE_CLOCK].wake()
    return web.json_response(created, status=201)


async def finish_sale(request: web.Request) -> web.Response:
    admission = await enter(request, "sales")
    room, identity = admission.room_id, admission.identity
    outcome = {"end": "ended", "cancel": "cancelled"}[request.match_info["action"]]
    sale = await request.app[ENGINE].sales.finish_sale(
        room, request.match_info["sale"], outcome, identity.public_id)
    return web.json_response(sale)


async def room_orders(request: web.Request) -> web.Response:
    room = (await enter(request, "orders")).room_id
    sales = request.app[ENGINE].sales
    response, _last = await orders_page(
        request, lambda **page: sales.list_orders(room, **page), f"{room}-orders")
    return response


async def sale_orders(request: web.Request) -> web.Response:
    room = (await enter(request, "orders")).room_id
    sale = await _sale(request, room)
    sales = request.app[ENGINE].sales
    response, _last = await orders_page(
        request, lambda **page: sales.list_orders(room, sale_id=sale["id"], **page),
        f"{room}-{sale['id']}-orders")
    return response


async def my_orders(request: web.Request) -> web.Response:
    admission = await enter(request, "buy")
    room, identity = admission.room_id, admission.identity
    sales, settings = request.app[ENGINE].sales, request.app[SETTINGS]

    async def mine(**page: Any) -> list[dict]:
        orders = await sales.list_orders(room, user_id=identity.user_id, **page)
        return [with_pay_url(o, settings.checkout_url, settings.checkout_secret) for o in orders]

    response, _last = await orders_page(request, mine, f"{room}-my-orders")
    return response


async def get_order(request: web.Request) -> web.Response:
    admission = await enter(request, "watch")
    room, identity = admission.room_id, admission.identity
    order = await request.app[ENGINE].sales.get_order(room, request.match_info["order"])
    # A buyer sees their own orders; staff with the orders grant see all.
    if order is None or (order["user_id"] != identity.user_id and not identity.can("orders")):
        raise LiveroomError("order_not_found", f"no order {request.match_info['order']!r}")
    if order["user_id"] == identity.user_id:  # the buyer: with the link to pay it
        settings = request.app[SETTINGS]
        order = with_pay_url(order, settings.checkout_url, settings.checkout_secret)
    return web.json_response(order)


async def settle_order(request: web.Request) -> web.Response:
    admission = await enter(request, "settle")
    room, identity = admission.room_id, admission.identity
    status = {"pay": "paid", "cancel": "cancelled"}[request.match_info["action"]]
    # The buyer hears of it (order.updated): by the settler's public id, as the room shows staff.
    order = await request.app[ENGINE].sales.settle(
        room, request.match_info["order"], status, identity.public_id)
    return web.json_response(order)
