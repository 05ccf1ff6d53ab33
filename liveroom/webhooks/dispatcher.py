"""Webhook delivery: every instance delivers what the outbox leases it (see the package's
docstring for the contract)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import aiohttp

from ..domain.errors import LiveroomError
from ..engine import Engine, OutboxEntry
from ..metrics import Metrics
from .signing import sign
from .targets import RefusedTarget, TargetPolicy

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
IDLE_POLL = 2.0  # while no room has a webhook
LEASE = 30.0
TIMEOUT = 10.0
BATCH = 50
MAX_BACKOFF = 600.0


def backoff(attempts: int) -> float:
    return min(MAX_BACKOFF, 2.0 ** attempts)


class Dispatcher:
    """Delivers outbox entries. `session` must come from targets.client_session(targets), so
    that every host name it connects to is checked as the URL's IP literals are here."""

    def __init__(self, engine: Engine, session: aiohttp.ClientSession, instance: str,
                 metrics: Metrics | None = None, targets: TargetPolicy | None = None) -> None:
        self._engine = engine
        self._attempts = (metrics or Metrics()).webhooks
        self._session = session
        self._instance = instance
        self._targets = targets or TargetPolicy()

    async def run_forever(self) -> None:
        while True:
            rooms: list[str] = []
            try:
                rooms = await self._engine.sales.webhook_rooms()
                await self.deliver_due(rooms)
            except LiveroomError as exc:
                log.warning("webhooks: %s", exc.message)
            except Exception:
                log.exception("webhook dispatcher failed")
            await asyncio.sleep(POLL_INTERVAL if rooms else IDLE_POLL)

    async def deliver_due(self, rooms: list[str] | None = None) -> int:
        """Deliver what is due in every room with a webhook (or in `rooms`); return how many
        were tried."""
        tried = 0
        if rooms is None:
            rooms = await self._engine.sales.webhook_rooms()
        for room in rooms:
            config = await self._engine.sales.get_webhook(room)
            if not config:
                continue
            entries = await self._engine.sales.claim_outbox(room, limit=BATCH, lease=LEASE)
            await asyncio.gather(*(self._deliver(config, entry) for entry in entries))
            tried += len(entries)
        return tried

    async def _deliver(self, config: dict[str, Any], entry: OutboxEntry) -> None:
        body = json.dumps({
            "id": entry.id, "type": entry.type, "room": entry.room,
            "created_at": entry.created_at, "data": entry.payload,
        }, ensure_ascii=False, separators=(",", ":")).encode()
        started = time.monotonic()
        status, error = await self._post(config, entry, body)
        delivered = status is not None and 200 <= status < 300
        retry_in = 0.0 if delivered else backoff(entry.attempts)
        self._attempts.labels(event=entry.type,
                              result="delivered" if delivered else "failed").inc()
        # Logged before the entry is done with: a room's outbox is empty only once every
        # attempt is in the log (a deleted room's archive is purged on that).
        await self._engine.sales.log_delivery(entry.room, {
            "delivery_id": entry.id, "type": entry.type, "attempt": entry.attempts + 1,
            "url": config["url"], "status": status, "error": error, "delivered": delivered,
            "at": int(time.time() * 1000), "duration_ms": int((time.monotonic() - started) * 1000),
            "instance": self._instance, "next_attempt_in": None if delivered else retry_in,
            "payload": entry.payload, "created_at": entry.created_at,
        })
        await self._engine.sales.finish_outbox(entry.room, entry.id, delivered=delivered,
                                               retry_in=retry_in)
        if not delivered:
            log.info("webhook %s to %s failed (%s); retrying in %.0fs", entry.id,
                     config["url"], error, retry_in)

    async def _post(self, config: dict[str, Any], entry: OutboxEntry, body: bytes
                    ) -> tuple[int | None, str | None]:
        """Send one attempt; return the status (None without an answer) and what went wrong."""
        headers = {
            "Content-Type": "application/json",
            "Liveroom-Delivery": entry.id,
            "Liveroom-Event": entry.type,
            "Liveroom-Signature": sign(config["secret"], int(time.time()), body),
        }
        try:
            self._targets.check_literal(config["url"])
            async with self._session.post(config["url"], data=body, headers=headers,
                                          allow_redirects=False,
                                          timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as r:
                await r.content.read(64 * 1024)  # what it says is not needed; keep it small
                if 300 <= r.status < 400:
                    return r.status, (f"HTTP {r.status}: redirects are not followed "
                                      f"(Location: {r.headers.get('Location', 'none')})")
                return r.status, None if 200 <= r.status < 300 else f"HTTP {r.status}"
        except RefusedTarget as refused:
            return None, f"refused: {refused}"
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            return None, str(exc) or type(exc).__name__
