"""Automatic pipelining: script calls made in the same loop turn go to Redis as one pipeline.

When a thousand buyers press buy in the same second, each buy is one EVALSHA; sent one by one
they would need a connection each and a round trip each. Gathered per loop turn they share one
connection and one round trip, and Redis still runs each script atomically and in order.

The pipeline carries bare EVALSHAs: redis-py would otherwise ask SCRIPT EXISTS before every
pipeline that holds scripts, a second round trip each time. A script Redis does not know (it
restarted, or flushed its cache) answers NOSCRIPT; it is loaded then, and those calls run again.

Each call brings the function that reads its reply (redis_replies.script_result), so its future
completes with what the caller wants: the value, or the refusal as an exception.

On a cluster (`shards`, redis_connect.Connector), each loop turn's calls are grouped by the
shard primary that holds their room and each group goes to that node as a plain pipeline, on
a connection of its own: a shard that is failing over holds up only the calls for its own rooms
(redis-py's cluster pipeline would close every node's connections on one node's failure). A
call a node answers MOVED, CLUSTERDOWN or TRYAGAIN did not run: the slot map is read again and
the call sent again, to the new owner.

A batcher made with `replicas` (LIVEROOM_REDIS_MIN_REPLICAS, for buys) ends each pipeline with
WAIT: Redis answers once this connection's writes are on that many replicas, or at the timeout
with how many have them. Replication is asynchronous, so without it a failover can promote a
replica that never got an order the buyer saw confirmed. When WAIT counts fewer, every call
that went through answers not_replicated instead: the order may exist, and the buyer's retry
with the same idempotency key returns it (the buy scripts write again on that path, so the
retry's WAIT covers it).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ConnectionError,
    MovedError,
    NoScriptError,
    TimeoutError,
    TryAgainError,
)

from ..domain.errors import LiveroomError
from .redis_replies import About, script_result

MAX_BATCH = 1000
REROUTES = 3  # a call that met a moved slot this many times fails with that error
NOT_RUN = (MovedError, AskError, ClusterDownError, TryAgainError)  # the call did not run


class _Call(NamedTuple):
    script: AsyncScript
    keys: list[Any]
    args: list[Any]
    read: Callable[[Any], Any]
    future: asyncio.Future[Any]
    reroutes: int = 0


class Shards(Protocol):
    """Where a cluster's keys live (redis_connect.Connector)."""

    def shard_of(self, key: str) -> str: ...
    def shard_pool(self, name: str) -> Redis: ...
    async def refresh(self) -> None: ...


class Batcher:
    def __init__(self, redis: Redis, *, replicas: int = 0, wait_timeout: float = 1.0,
                 shards: Shards | None = None) -> None:
        self._redis = redis
        self._shards = shards
        self._refreshing: asyncio.Task[None] | None = None
        self._replicas = replicas
        self._wait_ms = max(int(wait_timeout * 1000), 1)  # WAIT 0 would wait forever
        self._queue: list[_Call] = []
        self._scheduled = False
        self._running: set[asyncio.Task[None]] = set()

    def run(self, script: AsyncScript, keys: list[Any], args: list[Any],
            read: Callable[[Any], Any]) -> asyncio.Future[Any]:
        """Queue a call; its future gets read(reply), or what the call or read(reply) raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append(_Call(script, keys, args, read, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._send)
        return future

    def _send(self) -> None:
        self._scheduled = False
        queue, self._queue = self._queue, []
        groups: dict[str, list[_Call]] = {}
        for call in queue:
            shard = ""
            if self._shards is not None:
                try:
                    shard = self._shards.shard_of(call.keys[0])
                except Exception as exc:  # a slot with no owner for the moment
                    call.future.set_exception(exc)
                    self._refresh()
                    continue
            groups.setdefault(shard, []).append(call)
        for shard, calls in groups.items():
            for start in range(0, len(calls), MAX_BATCH):
                task = asyncio.ensure_future(self._execute(calls[start:start + MAX_BATCH],
                                                           shard))
                self._running.add(task)
                task.add_done_callback(self._running.discard)

    def _client(self, shard: str) -> Redis:
        return self._shards.shard_pool(shard) if self._shards is not None else self._redis

    def _refresh(self) -> None:
        """Read the cluster's slot map again, once at a time, in the background."""
        if self._shards is not None and (self._refreshing is None or self._refreshing.done()):
            self._refreshing = asyncio.ensure_future(self._shards.refresh())
            self._refreshing.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _execute(self, batch: list[_Call], shard: str) -> None:
        client = self._client(shard)
        try:
            results = await self._evalsha_all(client, batch)
            # Only the calls Redis refused run again: the others have had their effect.
            again = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
            if again:
                for script in {batch[i].script for i in again}:
                    await client.script_load(script.script)
                retried = await self._evalsha_all(client, [batch[i] for i in again])
                for i, result in zip(again, retried):
                    results[i] = result
        except BaseException as exc:
            if isinstance(exc, (ConnectionError, TimeoutError)):
                self._refresh()  # a failed shard primary: its replica may be taking over
            for call in batch:
                if not call.future.done():
                    call.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        moved = False
        for call, result in zip(batch, results):
            if call.future.done():
                continue
            if isinstance(result, NOT_RUN) and call.reroutes < REROUTES:
                moved = True
                self._queue.append(call._replace(reroutes=call.reroutes + 1))
                continue
            if isinstance(result, Exception):
                call.future.set_exception(result)
                continue
            try:
                value = call.read(result)
            except Exception as exc:
                call.future.set_exception(exc)
            else:
                call.future.set_result(value)
        if moved:  # to the slot's new owner, once the map is read again
            if self._shards is not None:
                try:
                    await self._shards.refresh()
                except Exception:
                    pass
            await asyncio.sleep(0.1)
            if self._queue and not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._send)

    async def _evalsha_all(self, client: Redis, batch: list[_Call]) -> list[Any]:
        async with client.pipeline(transaction=False) as pipe:
            for call in batch:
                pipe.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
            if self._replicas:
                pipe.execute_command("WAIT", self._replicas, self._wait_ms)
            results = await pipe.execute(raise_on_error=False)
        if self._replicas:
            acked = results.pop()
            if isinstance(acked, Exception) or int(acked) < self._replicas:
                results = [_unconfirmed(r, acked, self._replicas) for r in results]
        return results


def _unconfirmed(result: Any, acked: Any, wanted: int) -> Any:
    """A script's reply, or not_replicated in place of what it wrote (an ok reply)."""
    if isinstance(result, list) and result and result[0] == b"ok":
        return LiveroomError(
            "not_replicated", f"the order is not yet on {wanted} replica(s) of Redis "
            f"(WAIT answered {acked!r}); retry with the same idempotency key",
            retry_after_ms=200)
    return result


class BatchedScript:
    """A script whose calls join the current batch and come back read (redis_replies.py)."""

    def __init__(self, script: AsyncScript, batcher: Batcher) -> None:
        self._script = script
        self._batcher = batcher

    def __call__(self, keys: list[Any], args: list[Any], *,
                 about: About | None = None) -> asyncio.Future[Any]:
        """The script's value, or its refusal raised; `about` names what a refusal's message
        mentions (the room, product, message or order)."""
        return self._batcher.run(self._script, keys, args,
                                 functools.partial(script_result, about=about))
