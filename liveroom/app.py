"""The app factory: the one place that composes the engine, the API, the room channel, the web
pages and the media signaling into an aiohttp application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

import signaling
import web as pages

from . import demo
from .webhooks import Dispatcher
from .api import setup_api
from .api.middleware import json_errors
from .channel import setup_channel
from .config import Settings, with_secret
from .engine import create_engine
from .keys import ENGINE, SETTINGS

MAX_BODY_BYTES = 256 * 1024


async def _engine_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    engine = create_engine(settings)
    await engine.start()
    app[ENGINE] = engine
    try:
        if settings.demo:
            await demo.seed(engine.store)
        yield
    finally:
        await engine.close()


async def _webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as session:
        dispatcher = Dispatcher(app[ENGINE], session, app[SETTINGS].instance_id)
        task = asyncio.create_task(dispatcher.run_forever(), name="webhooks")
        yield
        task.cancel()
        await asyncio.wait([task])


def create_app(settings: Settings) -> web.Application:
    settings = with_secret(settings)
    app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY_BYTES)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_engine_ctx)
    app.cleanup_ctx.append(_webhooks_ctx)
    setup_api(app)
    setup_channel(app)
    pages.setup_web(app)
    signaling.setup_signaling(app)
    return app
