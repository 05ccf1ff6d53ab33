"""The life of a serving instance: it serves, then, on SIGTERM, drains and exits.

Draining takes at most LIVEROOM_DRAIN_TIMEOUT seconds:

1. `/readyz` answers 503 and the instance stops accepting: its listening socket is closed, so a
   load balancer's next attempt to connect is refused and goes to another instance at once.
2. Every room-channel client first gets the answer to the command it is running (a buy in
   flight is answered), then an `error` frame with code `draining` and a close with 1012: it
   reconnects through the load balancer and resumes on another instance where it left off.
3. REST requests in flight are answered; then the app's cleanup contexts run: signaling closes
   its media sessions, webhook delivery stops (the outbox lease hands what was not delivered to
   another instance), the engine leaves presence and disconnects.

Steps 1 and 2 get three quarters of the time, so that step 3 has the rest. Whatever still runs
at the deadline is abandoned and the process exits with status 1 instead of 0.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from .keys import CONNECTIONS, LIFECYCLE, METRICS

log = logging.getLogger(__name__)

HANDLERS_SHARE = 0.75  # of the drain timeout, for sockets and requests; the rest for cleanup


class Lifecycle:
    def __init__(self, drain_timeout: float) -> None:
        self.drain_timeout = drain_timeout
        self.draining = False
        self._handlers_deadline: float | None = None

    def begin_drain(self) -> None:
        self.draining = True
        loop = asyncio.get_running_loop()
        self._handlers_deadline = loop.time() + self.drain_timeout * HANDLERS_SHARE

    def handlers_deadline(self) -> float:
        """Loop time by which commands and requests in flight must be done."""
        if self._handlers_deadline is None:  # shut down without a drain (tests, errors)
            return asyncio.get_running_loop().time() + self.drain_timeout * HANDLERS_SHARE
        return self._handlers_deadline


def setup_lifecycle(app: web.Application, drain_timeout: float) -> None:
    app[LIFECYCLE] = Lifecycle(drain_timeout)


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
