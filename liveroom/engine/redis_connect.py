"""How the engine reaches Redis: one server (redis://), or the primary of a group that Sentinel
watches (redis+sentinel://). The rest of the engine gets redis-py clients and never asks which.

Behind Sentinel every new connection asks the sentinels where the primary is, and a connection
to a primary that was demoted (READONLY) is dropped, so after a failover each client reaches
the new primary on its next connection; redis-py does that (redis.asyncio.sentinel).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

from ..config import RedisTarget, Settings, redis_target

MAX_CONNECTIONS = 64
POOL_TIMEOUT = 10.0
SOCKET_TIMEOUT = 5.0
CONNECT_TIMEOUT = 2.0
SENTINEL_TIMEOUT = 1.0  # a sentinel that does not answer: ask the next one


class _BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """Sentinel's pool that, like the single server's, makes a burst wait for a free
    connection instead of failing with "too many connections"."""


class Connector:
    """Makes the engine's clients for one Redis URL."""

    def __init__(self, settings: Settings) -> None:
        assert settings.redis_url
        self.target: RedisTarget = redis_target(settings.redis_url)
        self._instance = settings.instance_id
        self._sentinel: Sentinel | None = None
        if self.target.mode == "sentinel":
            self._sentinel = Sentinel(
                list(self.target.nodes),
                sentinel_kwargs={"socket_timeout": SENTINEL_TIMEOUT,
                                 "socket_connect_timeout": SENTINEL_TIMEOUT},
            )
        elif self.target.mode != "single":
            raise ValueError(f"unsupported Redis mode {self.target.mode!r}")

    def _auth(self) -> dict[str, Any]:
        return {"db": self.target.db, "username": self.target.username,
                "password": self.target.password}

    def pool(self, role: str, retry: Retry) -> Redis:
        """A client with a bounded pool: a burst waits for a connection, never fails for want
        of one."""
        options: dict[str, Any] = {
            "max_connections": MAX_CONNECTIONS, "timeout": POOL_TIMEOUT, "retry": retry,
            "socket_connect_timeout": CONNECT_TIMEOUT, "socket_timeout": SOCKET_TIMEOUT,
            "client_name": f"liveroom{role}-{self._instance}",
        }
        if self._sentinel is not None:
            return self._sentinel.master_for(self.target.service, redis_class=Redis,
                                             connection_pool_class=_BlockingSentinelPool,
                                             **self._auth(), **options)
        return Redis.from_pool(BlockingConnectionPool.from_url(self.target.url, **options))

    def subscriber(self, retry: Retry) -> Redis:
        """The client the broker's pub/sub connection comes from (see redis_broker.py)."""
        options: dict[str, Any] = {
            "retry": retry, "socket_connect_timeout": CONNECT_TIMEOUT,
            "health_check_interval": 5, "client_name": f"liveroom-sub-{self._instance}",
        }
        if self._sentinel is not None:
            return self._sentinel.master_for(self.target.service, redis_class=Redis,
                                             **self._auth(), **options)
        return Redis.from_url(self.target.url, **options)

    async def close(self) -> None:
        if self._sentinel is not None:
            for client in self._sentinel.sentinels:
                await client.aclose()
