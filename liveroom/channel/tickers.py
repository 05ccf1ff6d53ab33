"""Periodic room events that aggregate many small happenings.

Each instance adds up the likes its sockets sent and the purchases it answered, and publishes
them as one event per room (and sale) every half second. Once a second it counts its rooms'
viewers and offers each count that differs from the one its sockets last saw; the broker's
publish_latest lets one through per room at most once a second over all instances, and only
when the count changed.
"""

from __future__ import annotations

import asyncio
import logging

from ..domain import events
from ..domain.errors import LiveroomError
from ..domain.sales import masked_name
from ..engine import Engine
from .fanout import Fanout
from .tally import Tally

log = logging.getLogger(__name__)

TICK = 0.5
COUNT_EVERY = 2  # ticks: viewers are counted once a second
VIEWERS_INTERVAL = 1.0
TICKER_NAMES = 5  # masked buyer names shown per "just bought" event


async def run_tickers(engine: Engine, fanout: Fanout, tally: Tally) -> None:
    ticks = 0
    while True:
        await asyncio.sleep(TICK)
        ticks += 1
        try:
            await tick(engine, fanout, tally, count_viewers=ticks % COUNT_EVERY == 0)
        except LiveroomError as exc:
            log.warning("room tickers: %s", exc.message)
        except Exception:
            log.exception("room tickers failed")


async def tick(engine: Engine, fanout: Fanout, tally: Tally, *, count_viewers: bool) -> None:
    pending = list(tally.take_likes().items())
    for i, (room, count) in enumerate(pending):
        try:
            await engine.store.add_likes(room, count)
        except LiveroomError as exc:
            if exc.code == "room_not_found":
                continue  # a deleted room's likes are gone with it
            for unsent, n in pending[i:]:  # kept for the next tick
                tally.add_likes(unsent, n)
            raise
    for room, sales in tally.take_purchases().items():
        for sale_id, bought in sales.items():
            names = [{"name": masked_name(name), "units": units}
                     for name, units in bought[-TICKER_NAMES:]]
            units = sum(units for _name, units in bought)
            await engine.broker.publish(
                room, events.sale_purchases(sale_id, names, len(bought), units)
            )
    rooms = fanout.rooms()
    if rooms and count_viewers:
        counts = await engine.presence.counts(rooms)  # also sweeps instances that died
        for room, count in counts.items():
            # A count the sockets here already show needs no offer: publish_latest would
            # refuse it too. If another instance's sockets show an older one, it offers it.
            if count != fanout.viewers_shown(room):
                await engine.broker.publish_latest(
                    room, "viewers", events.viewers(count), VIEWERS_INTERVAL
                )
