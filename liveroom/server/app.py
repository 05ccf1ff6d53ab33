"""The app factory: the one place that composes the engine, the API, the room channel, the web
pages and the media signaling into an aiohttp application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

import web as pages
from signaling.setup import setup_signaling

from ..addresses import CLIENT_ADDRESSES, ClientAddresses
from ..api import setup_api
from ..api.middleware import (
    add_request_id,
    deadline,
    hide_server_version,
    json_errors,
    request_context,
)
from ..channel import setup_channel
from ..config import SETTINGS, with_secret
from ..engine import ENGINE, create_engine
from ..gate import GATE, RoomGate
from ..guests import GUEST_TTL, GUESTS, Guests
from ..lifecycle import setup_lifecycle
from ..metrics import METRICS, setup_metrics
from ..room_views import ROOM_VIEWS, RoomViews
from ..sale_clock import setup_sale_clock
from ..tasks import stop_tasks
from ..webhooks import Dispatcher, TargetPolicy, client_session
from . import demo
from .settings import ServerSettings


async def _engine_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    engine = create_engine(settings)
    await engine.start()
    app[ENGINE] = engine
    app[GATE] = RoomGate(engine.store, settings.signing_secret,
                         max_token_lifetime=settings.max_token_lifetime)
    app[ROOM_VIEWS] = RoomViews(engine)
    app[GUESTS] = Guests(settings.signing_secret, ttl=min(GUEST_TTL, settings.max_token_lifetime),
                         secure=settings.base_url.startswith("https://"))
    try:
        if settings.demo:
            await demo.seed(engine.store)
        yield
    finally:
        await engine.close()


async def _webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    targets = TargetPolicy(settings.webhook_allowed_networks)
    async with client_session(targets) as session:
        dispatcher = Dispatcher(app[ENGINE], session, settings.instance_id,
                                metrics=app[METRICS], targets=targets)
        task = asyncio.create_task(dispatcher.run_forever(), name="webhooks")
        yield
        await stop_tasks(task)


def create_app(server_settings: ServerSettings) -> web.Application:
    settings = with_secret(server_settings.core)
    hide_server_version()
    app = web.Application(middlewares=[request_context, json_errors, deadline],
                          client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[CLIENT_ADDRESSES] = ClientAddresses(settings.trusted_proxies,
                                            settings.forwarded_header)
    app.on_response_prepare.append(add_request_id)
    app.cleanup_ctx.append(_engine_ctx)
    setup_lifecycle(app, settings.drain_timeout)
    setup_metrics(app)
    app.cleanup_ctx.append(_webhooks_ctx)
    setup_sale_clock(app)
    setup_api(app)
    setup_channel(app)
    pages.setup_web(app)
    media = server_settings.media
    demo_rooms = {room["id"]: room for room, _products in demo.DEMO_ROOMS} if (
        settings.demo and media.demo_video) else {}
    setup_signaling(app, media, demo_rooms=demo_rooms)
    return app
