"""How the engine reaches Redis: one server (redis://), the primary of a group that Sentinel
watches (redis+sentinel://), or a Redis Cluster (redis+cluster://). The rest of the engine gets
redis-py clients and, but for the pub/sub verbs, never asks which.

Behind Sentinel every new connection asks the sentinels where the primary is, and a connection
to a primary that was demoted (READONLY) is dropped, so after a failover each client reaches
the new primary on its next connection; redis-py does that (redis.asyncio.sentinel).

On a Cluster, commands go to the shard that holds their keys (redis.asyncio.RedisCluster follows
MOVED and failovers). A room's keys and its channel share the room's hash tag, so each room
lives on one shard. Its events travel by sharded pub/sub (SPUBLISH/SSUBSCRIBE), which stays on
that shard instead of being broadcast to every node: the broker keeps one subscriber connection
per shard primary (`shard_of` names it, `shard_client` makes it, `refresh` re-reads the slot map
after a failover).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from ..config import RedisTarget, Settings, redis_target

MAX_CONNECTIONS = 64  # per server; on a cluster, per shard primary for the scripts
MAX_CLUSTER_CONNECTIONS = 1024  # per node, for the cluster client's plain commands
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
        self.sharded = self.target.mode == "cluster"  # pub/sub by shard (SPUBLISH)
        self._sentinel: Sentinel | None = None
        self._cluster: RedisCluster | None = None  # the one that knows the slot map
        self._shards: dict[str, Redis] = {}  # subscriber clients, per shard primary
        self._pools: dict[str, Redis] = {}  # the scripts' clients, per shard primary
        self._subscriber_retry: Retry | None = None
        if self.target.mode == "sentinel":
            self._sentinel = Sentinel(
                list(self.target.nodes),
                sentinel_kwargs={"socket_timeout": SENTINEL_TIMEOUT,
                                 "socket_connect_timeout": SENTINEL_TIMEOUT},
            )
        elif self.target.mode not in ("single", "cluster"):
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
        if self.sharded:
            # redis-py's cluster client cannot make a burst wait for a free connection (it
            # fails with "too many connections"): its pools get room for the burst instead.
            del options["timeout"]
            options["max_connections"] = MAX_CLUSTER_CONNECTIONS
            cluster = RedisCluster(
                startup_nodes=[ClusterNode(host, port) for host, port in self.target.nodes],
                username=self.target.username, password=self.target.password, **options)
            if self._cluster is None:
                self._cluster = cluster
            return cluster  # type: ignore[return-value]  # the commands the engine uses
        return Redis.from_pool(BlockingConnectionPool.from_url(self.target.url, **options))

    def subscriber(self, retry: Retry) -> Redis:
        """The client the broker's pub/sub connection comes from (see redis_broker.py); on a
        cluster, that of the first shard (the broker asks shard_client for the others)."""
        self._subscriber_retry = retry
        options: dict[str, Any] = {
            "retry": retry, "socket_connect_timeout": CONNECT_TIMEOUT,
            "health_check_interval": 5, "client_name": f"liveroom-sub-{self._instance}",
        }
        if self._sentinel is not None:
            return self._sentinel.master_for(self.target.service, redis_class=Redis,
                                             **self._auth(), **options)
        if self.sharded:
            host, port = self.target.nodes[0]
            return Redis(host=host, port=port, username=self.target.username,
                         password=self.target.password, **options)
        return Redis.from_url(self.target.url, **options)

    # --- shards (a cluster; one server or Sentinel is a single shard, "main") ------------------
    def shard_of(self, channel: str) -> str:
        """The name of the shard primary that carries `channel` (as the slot map last read)."""
        if self._cluster is None:
            return "main"
        node = self._cluster.get_node_from_key(channel)
        assert node is not None
        return node.name

    def primaries(self) -> list[str]:
        """The shard primaries' names, as the slot map last read."""
        if self._cluster is None:
            return ["main"]
        return [node.name for node in self._cluster.get_primaries()]

    def shard_client(self, name: str, fallback: Redis) -> Redis:
        """The client of a shard's subscriber connection (`fallback` without shards)."""
        if self._cluster is None:
            return fallback
        client = self._shards.get(name)
        if client is None:
            host, _, port = name.rpartition(":")
            client = self._shards[name] = Redis(
                host=host, port=int(port), username=self.target.username,
                password=self.target.password, retry=self._subscriber_retry or Retry(
                    NoBackoff(), 0),
                socket_connect_timeout=CONNECT_TIMEOUT, health_check_interval=5,
                client_name=f"liveroom-sub-{self._instance}")
        return client

    def shard_pool(self, name: str) -> Redis:
        """A pooled client of one shard primary, for the scripts' pipelines (redis_batch.py)."""
        client = self._pools.get(name)
        if client is None:
            host, _, port = name.rpartition(":")
            client = self._pools[name] = Redis.from_pool(BlockingConnectionPool(
                host=host, port=int(port), username=self.target.username,
                password=self.target.password, max_connections=MAX_CONNECTIONS,
                timeout=POOL_TIMEOUT, socket_connect_timeout=CONNECT_TIMEOUT,
                socket_timeout=SOCKET_TIMEOUT,
                # Only a connection that failed, never a timeout: a script that may have run
                # is never sent twice (as the single server's scripts, redis_engine.py).
                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2,
                            supported_errors=(RedisConnectionError,)),
                client_name=f"liveroom-scripts-{self._instance}"))
        return client

    async def refresh(self) -> None:
        """Read the cluster's slot map again (after a shard failed over); no-op otherwise."""
        if self._cluster is not None:
            if self._cluster._initialize:  # not connected yet: connecting reads the map
                await self._cluster.initialize()
            else:
                await self._cluster.nodes_manager.initialize()

    async def close(self) -> None:
        for client in [*self._shards.values(), *self._pools.values()]:
            await client.aclose()
        if self._sentinel is not None:
            for client in self._sentinel.sentinels:
                await client.aclose()
