"""A room's webhook (operator only): where orders go, and the log of every delivery attempt."""

from __future__ import annotations

from aiohttp import web

from ..config import SETTINGS
from ..domain.errors import LiveroomError
from ..domain.validation import check_text, invalid, only_fields
from ..engine import ENGINE
from ..webhooks import RefusedTarget, TargetPolicy
from .access import json_body, operator_room

MIN_SECRET = 16


async def put_webhook(request: web.Request) -> web.Response:
    room = await operator_room(request)
    body = only_fields(await json_body(request), {"url", "secret"}, "webhook")
    url = check_text(body.get("url"), "url", max_chars=500)
    if not url.startswith(("https://", "http://")):
        raise invalid("url", "must be an http:// or https:// URL")
    secret = body.get("secret")
    if not isinstance(secret, str) or len(secret) < MIN_SECRET:
        raise invalid("secret", f"must be a string of at least {MIN_SECRET} characters")
    try:  # the dispatcher checks again on every delivery: DNS can change
        await TargetPolicy(request.app[SETTINGS].webhook_allowed_networks).check_url(url)
    except (RefusedTarget, ValueError) as refused:
        raise invalid("url", str(refused)) from None
    await request.app[ENGINE].sales.set_webhook(room, {"url": url, "secret": secret})
    return web.json_response({"url": url})


async def get_webhook(request: web.Request) -> web.Response:
    room = await operator_room(request)
    config = await request.app[ENGINE].sales.get_webhook(room)
    if config is None:
        raise LiveroomError("not_found", f"room {room!r} has no webhook")
    return web.json_response({"url": config["url"]})  # the secret is never read back


async def delete_webhook(request: web.Request) -> web.Response:
    room = await operator_room(request)
    await request.app[ENGINE].sales.set_webhook(room, None)
    return web.Response(status=204)


async def deliveries(request: web.Request) -> web.Response:
    room = await operator_room(request)
    return web.json_response(
        {"deliveries": await request.app[ENGINE].sales.deliveries(room)})


async def replay(request: web.Request) -> web.Response:
    room = await operator_room(request)
    delivery = request.match_info["delivery"]
    if not delivery.startswith(f"{room}.") or not await request.app[ENGINE].sales.requeue_outbox(
            room, delivery):
        raise LiveroomError("not_found", f"no delivery {delivery!r} in room {room!r}")
    return web.json_response({"delivery_id": delivery, "queued": True}, status=202)
