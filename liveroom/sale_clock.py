"""The flash-sale clock: four times a second every instance ticks every room that has sale work
(start, sell-out, end, stock, expiring reservations); the engine makes each announcement happen
once, however many instances tick. With no such room anywhere the clock only looks for one once
a second, and a sale created on this instance (over the channel or REST) wakes it at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from .domain.errors import LiveroomError
from .engine import ENGINE, Engine
from .tasks import stop_tasks

log = logging.getLogger(__name__)

SALE_TICK = 0.25
SALE_IDLE_POLL = 1.0  # how often the clock looks for sale rooms while there are none


class SaleClock:
    """Ticks every room with sale work (engine.sales.sale_rooms) four times a second."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """A sale was created here: tick its room now, not at the next idle poll."""
        self._woken.set()

    async def _pause(self, busy: bool) -> None:
        try:
            async with asyncio.timeout(SALE_TICK if busy else SALE_IDLE_POLL):
                await self._woken.wait()
        except TimeoutError:
            pass
        self._woken.clear()

    async def run_forever(self) -> None:
        rooms: list[str] = []
        while True:
            await self._pause(busy=bool(rooms))
            try:
                rooms = await self._engine.sales.sale_rooms()
                for room in rooms:
                    await self._engine.sales.tick(room)
            except LiveroomError as exc:
                log.warning("sale clock: %s", exc.message)
            except Exception:
                log.exception("sale clock failed")


SALE_CLOCK = web.AppKey("sale_clock", SaleClock)


async def _sale_clock_ctx(app: web.Application) -> AsyncIterator[None]:
    clock = app[SALE_CLOCK] = SaleClock(app[ENGINE])
    task = asyncio.create_task(clock.run_forever(), name="sale-clock")
    yield
    await stop_tasks(task)


def setup_sale_clock(app: web.Application) -> None:
    """Run the clock while the app runs; needs the engine's cleanup context before it."""
    app.cleanup_ctx.append(_sale_clock_ctx)
