"""The room channel's shopping commands: moderators and hosts run flash sales; signed-in
viewers buy in them, or buy a product at its own price outside a sale, and read their orders
(each reserved one with its pay link, see domain/checkout.py)."""

from __future__ import annotations

from typing import Any

from ..domain.checkout import with_pay_url
from ..domain.errors import LiveroomError
from ..domain.sales import (
    check_idempotency_key,
    check_quantity,
    new_order,
    new_product_order,
    sale_from_input,
)
from ..domain.validation import check_int, check_slug
from ..engine.sales import PAGE_LIMIT
from ..sale_clock import SALE_CLOCK
from .commands import CommandTable, Context, required
from .connection import Connection

SALE_COMMANDS = CommandTable()
MY_ORDERS_PAGE = 100


def _sale_id(message: dict[str, Any]) -> str:
    sale_id = required(message, "sale_id")
    if not isinstance(sale_id, str) or not 0 < len(sale_id) <= 64:
        raise LiveroomError("invalid_field", "sale_id: must be a sale id", field="sale_id")
    return sale_id


@SALE_COMMANDS.command("sale.create", capability="sales", fields=(
    "product_id", "price", "stock", "per_user_limit", "starts_in", "starts_at", "duration"))
async def sale_create(ctx: Context, conn: Connection, message: dict) -> dict:
    product_id = check_slug(required(message, "product_id"), "product_id")
    product = await ctx.engine.store.get_product(conn.room, product_id)
    if product is None:
        raise LiveroomError("product_not_found", f"no product {product_id!r} in this room")
    fields = {k: v for k, v in message.items() if k not in ("id", "cmd", "product_id")}
    sale = sale_from_input(fields, product, room=conn.room, by=conn.identity.public_id,
                           rates=ctx.settings.rates)
    created = await ctx.engine.sales.create_sale(conn.room, sale)
    ctx.app[SALE_CLOCK].wake()
    return {"sale": created}


@SALE_COMMANDS.command("sale.end", capability="sales", fields=("sale_id",))
async def sale_end(ctx: Context, conn: Connection, message: dict) -> dict:
    sale = await ctx.engine.sales.finish_sale(conn.room, _sale_id(message), "ended",
                                              conn.identity.public_id)
    return {"sale": sale}


@SALE_COMMANDS.command("sale.cancel", capability="sales", fields=("sale_id",))
async def sale_cancel(ctx: Context, conn: Connection, message: dict) -> dict:
    sale = await ctx.engine.sales.finish_sale(conn.room, _sale_id(message), "cancelled",
                                              conn.identity.public_id)
    return {"sale": sale}


@SALE_COMMANDS.command("sale.buy", capability="buy", fields=("sale_id", "quantity", "idempotency_key"))
async def sale_buy(ctx: Context, conn: Connection, message: dict) -> dict:
    outcomes = ctx.metrics.buys
    try:
        ack = await _buy(ctx, conn, message)
    except LiveroomError as error:
        outcomes.labels(outcome=error.code).inc()
        raise
    except Exception:
        outcomes.labels(outcome="internal").inc()
        raise
    outcomes.labels(outcome="created" if ack["created"] else "repeated").inc()
    return ack


def _buyer(ctx: Context, conn: Connection, message: dict) -> tuple[int, str]:
    """A signed-in buyer's quantity and idempotency key, within their rate of buying."""
    if conn.identity.guest:
        raise LiveroomError("forbidden", "sign in to buy: guests can watch and chat only")
    quantity = check_quantity(required(message, "quantity"))
    key = check_idempotency_key(required(message, "idempotency_key"))
    wait = conn.buys.take()
    if wait:
        raise LiveroomError("rate_limited", "too many buy attempts; slow down",
                            retry_after_ms=int(wait * 1000) + 1)
    return quantity, key


def _for_buyer(ctx: Context, order: dict) -> dict:
    return with_pay_url(order, ctx.settings.checkout_url, ctx.settings.checkout_secret)


async def _buy(ctx: Context, conn: Connection, message: dict) -> dict:
    identity = conn.identity
    sale_id = _sale_id(message)
    quantity, key = _buyer(ctx, conn, message)
    sale = await ctx.sales.get(conn.room, sale_id)
    if sale is None:
        raise LiveroomError("sale_not_found", f"no sale {sale_id!r} in this room")
    order = new_order(sale, user_id=identity.user_id, user_name=identity.name,
                      quantity=quantity, idempotency_key=key,
                      reservation_ttl=ctx.settings.reservation_ttl)
    result = await ctx.engine.sales.buy(conn.room, sale_id, order)
    if result.created:
        ctx.tally.add_purchase(conn.room, sale_id, identity.name, quantity)
    return {"order": _for_buyer(ctx, result.order), "created": result.created}


@SALE_COMMANDS.command("product.buy", capability="buy",
                       fields=("product_id", "quantity", "idempotency_key"))
async def product_buy(ctx: Context, conn: Connection, message: dict) -> dict:
    outcomes = ctx.metrics.buys
    try:
        product_id = check_slug(required(message, "product_id"), "product_id")
        quantity, key = _buyer(ctx, conn, message)
        product = await ctx.engine.store.get_product(conn.room, product_id)
        if product is None:
            raise LiveroomError("product_not_found", f"no product {product_id!r} in this room")
        order = new_product_order(product, room=conn.room, user_id=conn.identity.user_id,
                                  user_name=conn.identity.name, quantity=quantity,
                                  idempotency_key=key,
                                  reservation_ttl=ctx.settings.reservation_ttl)
        result = await ctx.engine.sales.buy_product(conn.room, order)
    except LiveroomError as error:
        outcomes.labels(outcome=error.code).inc()
        raise
    outcomes.labels(outcome="created" if result.created else "repeated").inc()
    if result.created:
        ctx.app[SALE_CLOCK].wake()  # its reservation expires on the clock
    return {"order": _for_buyer(ctx, result.order), "created": result.created}


@SALE_COMMANDS.command("orders.mine", capability="buy", fields=("after", "limit"))
async def orders_mine(ctx: Context, conn: Connection, message: dict) -> dict:
    """The buyer's orders in this room, a page at a time, as over REST (api/order_pages.py)."""
    limit = check_int(message.get("limit", MY_ORDERS_PAGE), "limit", low=1, high=PAGE_LIMIT)
    after = message.get("after")
    if after is not None and (not isinstance(after, str) or not 0 < len(after) <= 64):
        raise LiveroomError("invalid_field", "after: must be the id of the last order of the "
                            "page before", field="after")
    orders = await ctx.engine.sales.list_orders(conn.room, user_id=conn.identity.user_id,
                                                after=after, limit=limit)
    return {"orders": [_for_buyer(ctx, order) for order in orders],
            "next": orders[-1]["id"] if len(orders) == limit else None}
