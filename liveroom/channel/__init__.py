"""The room channel: WebSocket endpoint, commands, this instance's fan-out of room events, and
the lobby's live feed of the rooms (Server-Sent Events)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from ..config import SETTINGS
from ..engine import ENGINE
from ..lifecycle import LIFECYCLE
from ..metrics import METRICS
from ..tasks import stop_tasks
from .allowances import ALLOWANCES, Allowances
from .commands import COMMANDS, CONTEXT, CommandSet, Context
from .fanout import FANOUT, Fanout
from .handler import room_channel
from .lobby import LOBBY, lobby_ctx, lobby_events
from .registry import CONNECTIONS, Connections
from .room_commands import ROOM_COMMANDS
from .sale_commands import SALE_COMMANDS
from .sale_records import SaleRecords
from .tally import Tally
from .tickers import run_tickers
from .token_watch import token_watch_ctx


async def _fanout_ctx(app: web.Application) -> AsyncIterator[None]:
    engine, metrics = app[ENGINE], app[METRICS]
    sales, tally = SaleRecords(engine), Tally()
    fanout = app[FANOUT] = Fanout(engine, metrics=metrics, observers=[sales.observe])
    app[CONTEXT] = Context(engine=engine, fanout=fanout, settings=app[SETTINGS],
                           metrics=metrics, commands=app[COMMANDS], tally=tally, sales=sales,
                           app=app)
    tickers = asyncio.create_task(run_tickers(engine, fanout, tally), name="room-tickers")
    yield
    await stop_tasks(tickers)
    await fanout.stop()


async def _drain_sockets(app: web.Application) -> None:
    """On shutdown: answer what is in flight, then send every client elsewhere (1012)."""
    await app[LOBBY].close()  # the lobby's feeds end; their browsers reconnect elsewhere
    await app[CONNECTIONS].drain(app[LIFECYCLE].handlers_deadline())


def setup_channel(app: web.Application) -> None:
    """Add the room channel; needs the engine's cleanup context registered before it, and the
    metrics and the lifecycle set up."""
    settings = app[SETTINGS]
    app[CONNECTIONS] = Connections(app[METRICS], max_total=settings.max_connections,
                                   max_per_room=settings.max_room_connections,
                                   max_per_address=settings.connections_per_address)
    app[ALLOWANCES] = Allowances(
        chat_per_second=settings.chat_per_second, chat_burst=settings.chat_burst,
        likes_per_second=settings.likes_per_second,
        guest_address_rate=settings.guest_address_rate)
    app[COMMANDS] = CommandSet(ROOM_COMMANDS, SALE_COMMANDS)  # other parts may add theirs
    app.cleanup_ctx.append(_fanout_ctx)
    app.cleanup_ctx.append(lobby_ctx)
    app.cleanup_ctx.append(token_watch_ctx)
    app.on_shutdown.append(_drain_sockets)
    app.router.add_get("/ws/rooms/{room}", room_channel, name="room_channel")
    app.router.add_get("/api/lobby/events", lobby_events, name="lobby_events")
