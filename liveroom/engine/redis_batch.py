"""Automatic pipelining: script calls made in the same loop turn go to Redis as one pipeline.

When a thousand buyers press buy in the same second, each buy is one EVALSHA; sent one by one
they would need a connection each and a round trip each. Gathered per loop turn they share one
connection and one round trip, and Redis still runs each script atomically and in order.

The pipeline carries bare EVALSHAs: redis-py would otherwise ask SCRIPT EXISTS before every
pipeline that holds scripts, a second round trip each time. A script Redis does not know (it
restarted, or flushed its cache) answers NOSCRIPT; it is loaded then, and those calls run again.

Each call brings the function that reads its reply (redis_replies.script_result), so its future
completes with what the caller wants: the value, or the refusal as an exception.

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
from typing import Any, NamedTuple

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from ..domain.errors import LiveroomError
from .redis_replies import About, script_result

MAX_BATCH = 1000


class _Call(NamedTuple):
    script: AsyncScript
    keys: list[Any]
    args: list[Any]
    read: Callable[[Any], Any]
    future: asyncio.Future[Any]


class Batcher:
    def __init__(self, redis: Redis, *, replicas: int = 0, wait_timeout: float = 1.0) -> None:
        self._redis = redis
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
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            task = asyncio.ensure_future(self._execute(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _execute(self, batch: list[_Call]) -> None:
        try:
            results = await self._evalsha_all(batch)
            # Only the calls Redis refused run again: the others have had their effect.
            again = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
            if again:
                for script in {batch[i].script for i in again}:
                    await self.load(script)
                retried = await self._evalsha_all([batch[i] for i in again])
                for i, result in zip(again, retried):
                    results[i] = result
        except BaseException as exc:
            for call in batch:
                if not call.future.done():
                    call.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for call, result in zip(batch, results):
            if call.future.done():
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

    async def load(self, script: AsyncScript) -> None:
        """Load a script (on a cluster: on every primary)."""
        await self._redis.script_load(script.script)

    async def _evalsha_all(self, batch: list[_Call]) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for call in batch:
                # As a command: a cluster's pipeline routes it by its keys (one room, one slot)
                # but refuses the evalsha method.
                pipe.execute_command("EVALSHA", call.script.sha, len(call.keys), *call.keys,
                                     *call.args)
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
        self._loaded = False

    def __call__(self, keys: list[Any], args: list[Any], *,
                 about: About | None = None) -> asyncio.Future[Any]:
        """The script's value, or its refusal raised; `about` names what a refusal's message
        mentions (the room, product, message or order)."""
        return self._batcher.run(self._script, keys, args,
                                 functools.partial(script_result, about=about))

    async def queue(self, pipe: Pipeline, keys: list[Any], args: list[Any]) -> None:
        """Add a call to the caller's pipeline instead; read its result with script_result()."""
        if isinstance(pipe, Pipeline):
            await self._script(keys=keys, args=args, client=pipe)  # loads it first if need be
            return
        # A cluster's pipeline: load the script on every primary once, then a bare EVALSHA.
        if not self._loaded:
            await self._batcher.load(self._script)
            self._loaded = True
        pipe.execute_command("EVALSHA", self._script.sha, len(keys), *keys, *args)
