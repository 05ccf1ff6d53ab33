"""Tokens that stop being good while their connection is open.

A token is checked when a connection opens; its powers must not outlive it. So:

- at its `exp` a connection's token expires: the client gets an error frame `token_expired`
  and the connection is closed with 4401 (a client reconnects with a fresh token);
- every `LIVEROOM_HEARTBEAT_INTERVAL` this instance reads the engine's revocation list into
  the gate (so new connections and REST calls are checked against it without a round trip),
  and closes the connections whose token it now revokes: `token_revoked`, 4401. A revocation
  made on this instance is applied here at once (`apply_now`).

Guests made by the gate carry no token and nothing to expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from ..config import SETTINGS
from ..domain.errors import LiveroomError
from ..engine import ENGINE
from ..gate import GATE
from ..tasks import stop_tasks
from .connection import CLOSE_UNAUTHORIZED, Connection
from .registry import CONNECTIONS

log = logging.getLogger(__name__)

_closing: set[asyncio.Task] = set()


def cut_off(conn: Connection, code: str, message: str) -> None:
    """Tell the client why and close its connection with 4401, now."""
    if conn.closed:
        return
    conn.send_error(LiveroomError(code, message))
    task = asyncio.create_task(conn.close(CLOSE_UNAUTHORIZED, code))
    _closing.add(task)
    task.add_done_callback(_closing.discard)


def lapsed(conn: Connection) -> bool:
    """Whether the connection's token has expired (its timer may not have fired yet)."""
    expires = conn.identity.expires_at
    return expires is not None and not conn.identity.guest and time.time() >= expires


def expire_at_exp(conn: Connection) -> asyncio.TimerHandle | None:
    """Close the connection when its token expires; the handle is cancelled when it ends."""
    expires = conn.identity.expires_at
    if expires is None or conn.identity.guest:
        return None
    loop = asyncio.get_running_loop()
    delay = max(0.0, expires - time.time())
    return loop.call_later(delay, cut_off, conn, "token_expired",
                           "the access token has expired; reconnect with a new one")


def apply_now(app: web.Application) -> int:
    """Close this instance's connections whose token the gate's list revokes; how many."""
    revocations = app[GATE].revocations
    closed = 0
    for conn in app[CONNECTIONS]:
        if not conn.closed and not conn.identity.guest and revocations.revokes(conn.identity):
            cut_off(conn, "token_revoked", "this access token has been revoked")
            closed += 1
    if closed:
        log.info("closed %d connection(s) whose token was revoked", closed)
    return closed


async def refresh(app: web.Application) -> None:
    app[GATE].revocations_read(await app[ENGINE].revocations.list(int(time.time())))
    apply_now(app)


async def _watch(app: web.Application) -> None:
    interval, gate = app[SETTINGS].heartbeat_interval, app[GATE]
    while True:
        try:
            await refresh(app)
        except LiveroomError as exc:
            log.warning("could not read the revocation list: %s", exc.message)
        except Exception:
            log.exception("the token watch failed")
        # Every heartbeat (another instance's revocations), or at once for one made here.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(gate.revocations_changed.wait(), interval)
        gate.revocations_changed.clear()


async def token_watch_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_watch(app), name="token-watch")
    yield
    await stop_tasks(task)
