"""Periodic room events that aggregate many small happenings, and the flash-sale clock.

Each instance adds up the likes its sockets sent and the purchases it answered, and publishes
them as one event per room (and sale) every half second; it offers its rooms' viewer counts
every half second, and the broker's publish_latest lets one through per room at most once a
second, and only when the count changed. Four times a second every instance ticks every room that
has sales (start, sell-out, end, stock, expiring reservations); the engine makes each
announcement happen once, however many instances tick.
"""

from __future__ import annotations

import asyncio
import logging

from .. import events
from ..engine import Engine
from ..errors import LiveroomError
from ..sales import masked_name
from .fanout import Fanout

log = logging.getLogger(__name__)

TICK = 0.5
SALE_TICK = 0.25
VIEWERS_INTERVAL = 1.0
TICKER_NAMES = 5  # masked buyer names shown per "just bought" event


async def run_tickers(engine: Engine, fanout: Fanout) -> None:
    while True:
        await asyncio.sleep(TICK)
        try:
            await tick(engine, fanout)
        except LiveroomError as exc:
            log.warning("room tickers: %s", exc.message)
        except Exception:
            log.exception("room tickers failed")


async def tick(engine: Engine, fanout: Fanout) -> None:
    rooms = fanout.rooms()
    for room in rooms:
        likes = fanout.take_likes(room)
        if likes:
            try:
                await engine.store.add_likes(room, likes)
            except LiveroomError as exc:
                if exc.code == "unavailable":
                    fanout.add_likes(room, likes)  # keep them for the next tick
                raise
    for room in rooms:
        for sale_id, bought in fanout.take_purchases(room).items():
            names = [{"name": masked_name(name), "units": units}
                     for name, units in bought[-TICKER_NAMES:]]
            units = sum(units for _name, units in bought)
            await engine.broker.publish(
                room, events.sale_purchases(sale_id, names, len(bought), units)
            )
    if rooms:
        counts = await engine.presence.counts(rooms)
        for room, count in counts.items():
            await engine.broker.publish_latest(
                room, "viewers", events.viewers(count), VIEWERS_INTERVAL
            )


async def run_sale_clock(engine: Engine) -> None:
    while True:
        await asyncio.sleep(SALE_TICK)
        try:
            for room in await engine.sales.sale_rooms():
                await engine.sales.tick(room)
        except LiveroomError as exc:
            log.warning("sale clock: %s", exc.message)
        except Exception:
            log.exception("sale clock failed")
