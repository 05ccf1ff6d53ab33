"""The room channel: WebSocket endpoint, commands, and this instance's fan-out of room events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from ..keys import ENGINE, FANOUT
from .connection import CLOSE_GOING_AWAY
from . import sale_commands  # noqa: F401  (registers the sale commands)
from .fanout import Fanout
from .handler import room_channel
from .tickers import run_sale_clock, run_tickers


async def _fanout_ctx(app: web.Application) -> AsyncIterator[None]:
    engine = app[ENGINE]
    fanout = app[FANOUT] = Fanout(engine)
    tasks = [
        asyncio.create_task(run_tickers(engine, fanout), name="room-tickers"),
        asyncio.create_task(run_sale_clock(engine), name="sale-clock"),
    ]
    yield
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks)
    await fanout.stop()


async def _close_sockets(app: web.Application) -> None:
    if FANOUT in app:
        await app[FANOUT].close_all(CLOSE_GOING_AWAY, "server shutting down")


def setup_channel(app: web.Application) -> None:
    """Add the room channel; needs the engine's cleanup context registered before it."""
    app.cleanup_ctx.append(_fanout_ctx)
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/ws/rooms/{room}", room_channel, name="room_channel")
