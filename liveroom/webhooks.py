"""Webhooks: every instance delivers what the outbox leases it, signed, retried with backoff.

A delivery is an HTTP POST of JSON to the room's configured URL:

    Liveroom-Delivery:  <delivery id>   the same on every retry: receivers deduplicate on it
    Liveroom-Event:     order.created | order.paid | order.cancelled | sale.ended
    Liveroom-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>

    {"id": "<delivery id>", "type": "order.created", "room": "thailand",
     "created_at": <unix ms>, "data": {...the order, or the sale...}}

A 2xx answer is success. Anything else, or no answer within the timeout, is retried after 1, 2,
4, ... seconds, at most every 10 minutes, until it succeeds. The outbox lease makes one instance
at a time responsible for an entry; an instance that dies mid-delivery loses its lease and
another one delivers: at least once, so receivers deduplicate on the delivery id.

Every instance polls the outboxes of the rooms with a webhook twice a second; while no room has
a webhook, it only looks for one every 2 s (those polls were most of an idle server's work).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import aiohttp

from .domain.errors import LiveroomError
from .engine import Engine, OutboxEntry
from .metrics import Metrics

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
IDLE_POLL = 2.0  # while no room has a webhook
LEASE = 30.0
TIMEOUT = 10.0
BATCH = 50
MAX_BACKOFF = 600.0


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, tolerance: float = 300) -> bool:
    """What a receiver does: check the signature and that it is recent (replays)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def backoff(attempts: int) -> float:
    return min(MAX_BACKOFF, 2.0 ** attempts)


class Dispatcher:
    def __init__(self, engine: Engine, session: aiohttp.ClientSession, instance: str,
                 metrics: Metrics | None = None) -> None:
        self._engine = engine
        self._attempts = (metrics or Metrics()).webhooks
        self._session = session
        self._instance = instance

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
        headers = {
            "Content-Type": "application/json",
            "Liveroom-Delivery": entry.id,
            "Liveroom-Event": entry.type,
            "Liveroom-Signature": sign(config["secret"], int(time.time()), body),
        }
        started = time.monotonic()
        status, error = None, None
        try:
            async with self._session.post(config["url"], data=body, headers=headers,
                                          timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as r:
                status = r.status
                await r.read()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            error = str(exc) or type(exc).__name__
        delivered = status is not None and 200 <= status < 300
        if not delivered and error is None:
            error = f"HTTP {status}"
        retry_in = 0.0 if delivered else backoff(entry.attempts)
        self._attempts.labels(event=entry.type,
                              result="delivered" if delivered else "failed").inc()
        await self._engine.sales.finish_outbox(entry.room, entry.id, delivered=delivered,
                                               retry_in=retry_in)
        await self._engine.sales.log_delivery(entry.room, {
            "delivery_id": entry.id, "type": entry.type, "attempt": entry.attempts + 1,
            "url": config["url"], "status": status, "error": error, "delivered": delivered,
            "at": int(time.time() * 1000), "duration_ms": int((time.monotonic() - started) * 1000),
            "instance": self._instance, "next_attempt_in": None if delivered else retry_in,
            "payload": entry.payload, "created_at": entry.created_at,
        })
        if not delivered:
            log.info("webhook %s to %s failed (%s); retrying in %.0fs", entry.id,
                     config["url"], error, retry_in)
