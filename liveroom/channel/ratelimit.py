"""Token bucket: `rate` actions a second on average, bursts of up to `burst`."""

from __future__ import annotations

import time


class TokenBucket:
    __slots__ = ("rate", "burst", "_tokens", "_stamp")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._stamp = time.monotonic()

    def take(self) -> float:
        """Spend a token; return 0 on success, else the seconds until one is available."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate

    def wait(self, amount: float = 1) -> float:
        """The seconds until `amount` tokens are there (0: now), spending nothing. More than
        the burst never fits: that waits as if for the whole burst."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        need = min(amount, self.burst)
        return 0.0 if self._tokens >= need else (need - self._tokens) / self.rate

    def spend(self, amount: float = 1) -> None:
        self._tokens -= min(amount, self.burst)
