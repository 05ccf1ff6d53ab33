"""The life of a serving instance: it serves, then, on SIGTERM, drains and exits.

Draining takes at most LIVEROOM_DRAIN_TIMEOUT seconds:

1. `/readyz` answers 503 and the instance stops accepting: its listening socket is closed, so a
   load balancer's next attempt to connect is refused and goes to another instance at once.
2. Every room-channel client first gets the answer to the command it is running (a buy in
   flight is answered) and to every command read meanwhile (`draining`); then the server reads
   nothing more from it, answers what it had read, sends an `error` frame with code `draining`
   and closes with 1012: it reconnects through the load balancer and resumes on another
   instance where it left off, resending what got no answer (it was not run).
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


LIFECYCLE = web.AppKey("lifecycle", Lifecycle)


def setup_lifecycle(app: web.Application, drain_timeout: float) -> None:
    app[LIFECYCLE] = Lifecycle(drain_timeout)
