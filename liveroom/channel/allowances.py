"""Rate limits per person, not per socket: chat messages and likes.

One identity's sockets share one allowance, so N sockets do not give N times the rate; and
guests, whose identities cost nothing to make, also share one allowance per client address
(`LIVEROOM_GUEST_ADDRESS_RATE`: so many times one identity's rate), so a pile of guest
identities from one place is still one place. Signed-in users (shop tokens) are never limited
by their address: a venue's shoppers behind one NAT each keep their own.

The buckets are this instance's: behind a load balancer that spreads one person's sockets
over K instances they get at most K times the rate, a bounded factor that is worth not paying
an engine round trip per chat message and tap. Slow mode, which a moderator expects to hold
exactly, is kept by the engine for every instance (per identity, and per address for guests).
"""

from __future__ import annotations

import time

from aiohttp import web

from ..domain.errors import LiveroomError
from .connection import Connection
from .ratelimit import TokenBucket

# Buckets untouched for this long are full again: forgotten, so memory follows the live crowd.
IDLE_SECONDS = 60.0
SWEEP_EVERY = 1000


class Allowances:
    def __init__(self, *, chat_per_second: float, chat_burst: int, likes_per_second: float,
                 guest_address_rate: float) -> None:
        self._rates = {
            "chat": (chat_per_second, float(chat_burst)),
            # A single tap-burst of the largest like command (100) always fits.
            "likes": (likes_per_second, max(100.0, likes_per_second * 5)),
        }
        self._address_factor = guest_address_rate
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._used: dict[tuple[str, str], float] = {}
        self._takes = 0

    def _bucket(self, kind: str, key: str, factor: float = 1.0) -> TokenBucket:
        bucket = self._buckets.get((kind, key))
        if bucket is None:
            rate, burst = self._rates[kind]
            bucket = self._buckets[(kind, key)] = TokenBucket(rate * factor, burst * factor)
        self._used[(kind, key)] = time.monotonic()
        return bucket

    def take(self, kind: str, conn: Connection, amount: int = 1) -> None:
        """Spend `amount` of this person's allowance, or refuse with rate_limited (and
        retry_after_ms) without spending anything."""
        self._takes += 1
        if self._takes % SWEEP_EVERY == 0:
            self._sweep()
        buckets = [self._bucket(kind, "user:" + conn.identity.user_id)]
        if conn.identity.guest and conn.address is not None:
            buckets.append(self._bucket(kind, "address:" + conn.address, self._address_factor))
        wait = max(bucket.wait(amount) for bucket in buckets)
        if wait:
            what = "messages" if kind == "chat" else "likes"
            raise LiveroomError("rate_limited", f"you are sending {what} too fast",
                                retry_after_ms=int(wait * 1000) + 1)
        for bucket in buckets:
            bucket.spend(amount)

    def _sweep(self) -> None:
        idle = time.monotonic() - IDLE_SECONDS
        for key in [k for k, used in self._used.items() if used < idle]:
            del self._used[key]
            del self._buckets[key]


ALLOWANCES = web.AppKey("allowances", Allowances)
