"""The Redis engine: several instances share state, events and presence through one Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from ..config import Settings
from ..domain.errors import EngineUnavailable
from ..tasks import stop_tasks
from . import Engine
from .redis_broker import RedisBroker
from .redis_connect import Connector
from .redis_errors import UNREACHABLE
from .redis_keys import Keyspace
from .redis_media import RedisMedia
from .redis_presence import RedisPresence
from .redis_revocations import RedisRevocations
from .redis_sales import RedisSales
from .redis_scripts import Scripts
from .redis_store import RedisStore

log = logging.getLogger(__name__)

PING_TIMEOUT = 2.0


class RedisEngine(Engine):
    kind = "redis"
    broker: RedisBroker  # started, audited and closed here, beyond what Broker offers
    presence: RedisPresence

    def __init__(self, settings: Settings) -> None:
        url = settings.redis_url
        assert url
        self.url = url
        self._heartbeat_interval = settings.heartbeat_interval
        self._connector = connector = Connector(settings)
        # Plain commands (reads, mostly) retry briefly on a blip, then fail fast so requests
        # get a clear error. A bounded pool makes a burst wait for a connection, not fail.
        self.redis = connector.pool("", Retry(ExponentialBackoff(cap=0.5, base=0.05), 2))
        # Scripts write (a chat, an order): a pipeline of them that timed out may still run,
        # and redis-py would send it all again. So scripts retry only a connection that
        # failed (the usual cause: one Redis closed while it sat in the pool), never a
        # timeout; a slow Redis gives the caller EngineUnavailable, not a second chat.
        # They are pipelined per loop turn (redis_batch.py), so few connections go far.
        self._scripts_redis = connector.pool("-scripts", Retry(
            ExponentialBackoff(cap=0.5, base=0.05), 2, supported_errors=(RedisConnectionError,)))
        # The subscriber does not retry inside redis-py: the broker's listener reconnects and
        # then syncs every room, which a silent internal reconnect would skip.
        self._pubsub_redis = connector.subscriber(Retry(NoBackoff(), 0))
        scripts = Scripts(self._scripts_redis, min_replicas=settings.redis_min_replicas,
                          wait_timeout=settings.redis_wait_timeout,
                          shards=connector if connector.sharded else None)
        keyspace = Keyspace(settings.redis_namespace)
        self.broker = RedisBroker(
            self.redis,
            self._pubsub_redis,
            scripts,
            connector=connector,
            instance_id=settings.instance_id,
            history_size=settings.history_size,
            keyspace=keyspace,
        )
        self.presence = RedisPresence(self.redis, scripts, instance_id=settings.instance_id,
                                      ttl=settings.presence_ttl, keyspace=keyspace)
        self.store = RedisStore(self.redis, scripts, self.broker, chat_tail=settings.chat_tail)
        self.sales = RedisSales(self.redis, scripts, self.broker)
        self.media = RedisMedia(self.redis, scripts, self.broker)
        self.revocations = RedisRevocations(self.redis, keyspace)
        self._heartbeat: asyncio.Task | None = None

    async def start(self) -> None:
        await self.ping()
        await self._connector.refresh()  # a cluster's slot map, before the broker needs it
        await self.broker.start()
        self._heartbeat = asyncio.create_task(self._beat(), name="redis-heartbeat")

    async def ping(self) -> None:
        try:
            await asyncio.wait_for(self.redis.ping(), PING_TIMEOUT)
        except (asyncio.TimeoutError, *UNREACHABLE) as exc:
            raise EngineUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_interval)
            try:
                await self.presence.heartbeat()
                await self.broker.audit()
            except EngineUnavailable as exc:
                log.warning("heartbeat failed: %s", exc)
            except Exception:
                log.exception("heartbeat failed")

    async def close(self) -> None:
        await stop_tasks(self._heartbeat)
        with contextlib.suppress(EngineUnavailable):
            await self.presence.leave_all()
        await self.broker.close()
        await self.redis.aclose()
        await self._scripts_redis.aclose()
        await self._pubsub_redis.aclose()
        await self._connector.close()
