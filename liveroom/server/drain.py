"""Draining an instance on SIGTERM (see liveroom/lifecycle.py for the steps): the composition
runs it, since it waits on every part the app was built from."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from ..channel.registry import CONNECTIONS
from ..lifecycle import HANDLERS_SHARE, LIFECYCLE
from ..metrics import METRICS

log = logging.getLogger("liveroom.lifecycle")


def _where_tasks_wait() -> list[str]:
    """Each unfinished task and the line it waits on: what held the drain up."""
    waiting = []
    for task in asyncio.all_tasks():
        if task is asyncio.current_task() or task.done():
            continue
        frames = task.get_stack()
        where = (f"{frames[-1].f_code.co_filename}:{frames[-1].f_lineno}" if frames
                 else "(not started)")
        waiting.append(f"{task.get_name()} at {where}")
    return waiting


def runner_shutdown_timeout(drain_timeout: float) -> float:
    """What AppRunner may wait for requests in flight once the sockets are drained."""
    return drain_timeout * HANDLERS_SHARE


async def drain(app: web.Application, runner: web.AppRunner) -> bool:
    """Drain and clean up the app; False when the deadline cut it short."""
    lifecycle = app[LIFECYCLE]
    lifecycle.begin_drain()
    app[METRICS].draining.set(1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    log.info("draining: %d room-channel connection(s), at most %.0f s",
             len(app[CONNECTIONS]) if CONNECTIONS in app else 0, lifecycle.drain_timeout)
    # cleanup() closes the listening sockets first, then runs on_shutdown (the room channel's
    # drain), waits for requests in flight, then runs the cleanup contexts.
    cleanup = asyncio.create_task(runner.cleanup(), name="drain")
    done, _ = await asyncio.wait([cleanup], timeout=lifecycle.drain_timeout)
    if not done:
        # Named before cancelling, while the stragglers still wait where they got stuck.
        log.error("drain did not finish within %.0f s; exiting anyway; still running: %s",
                  lifecycle.drain_timeout, "; ".join(_where_tasks_wait()) or "nothing")
        cleanup.cancel()
        return False
    cleanup.result()
    log.info("drained in %.1f s", loop.time() - started)
    return True
