"""Periodic room events that aggregate many small happenings: likes and viewer counts.

Each instance adds up the likes its sockets sent and publishes them as one event per room every
half second; each instance offers its rooms' viewer counts every half second, and the broker's
publish_latest lets one through per room at most once a second, and only when the count changed.
"""

from __future__ import annotations

import asyncio
import logging

from .. import events
from ..engine import Engine
from ..errors import LiveroomError
from .fanout import Fanout

log = logging.getLogger(__name__)

TICK = 0.5
VIEWERS_INTERVAL = 1.0


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
    if rooms:
        counts = await engine.presence.counts(rooms)
        for room, count in counts.items():
            await engine.broker.publish_latest(
                room, "viewers", events.viewers(count), VIEWERS_INTERVAL
            )
