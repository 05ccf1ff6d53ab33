"""Automatic pipelining: script calls made in the same loop turn go to Redis as one pipeline.

When a thousand buyers press buy in the same second, each buy is one EVALSHA; sent one by one
they would need a connection each and a round trip each. Gathered per loop turn they share one
connection and one round trip, and Redis still runs each script atomically and in order.

The pipeline carries bare EVALSHAs: redis-py would otherwise ask SCRIPT EXISTS before every
pipeline that holds scripts, a second round trip each time. A script Redis does not know (it
restarted, or flushed its cache) answers NOSCRIPT; it is loaded then, and those calls run again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

MAX_BATCH = 1000


class Batcher:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._queue: list[tuple[AsyncScript, list, list, asyncio.Future]] = []
        self._scheduled = False
        self._running: set[asyncio.Task] = set()

    def run(self, script: AsyncScript, keys: list, args: list) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append((script, keys, args, future))
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

    async def _execute(self, batch: list[tuple[AsyncScript, list, list, asyncio.Future]]):
        try:
            results = await self._evalsha_all(batch)
            # Only the calls Redis refused run again: the others have had their effect.
            again = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
            if again:
                for script in {batch[i][0] for i in again}:
                    await self._redis.script_load(script.script)
                retried = await self._evalsha_all([batch[i] for i in again])
                for i, result in zip(again, retried):
                    results[i] = result
        except BaseException as exc:
            for *_rest, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (*_rest, future), result in zip(batch, results):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _evalsha_all(self, batch) -> list:
        async with self._redis.pipeline(transaction=False) as pipe:
            for script, keys, args, _future in batch:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            return await pipe.execute(raise_on_error=False)


class BatchedScript:
    """A script that, called without a pipeline, joins the current batch."""

    def __init__(self, script: AsyncScript, batcher: Batcher) -> None:
        self._script = script
        self._batcher = batcher

    def __call__(self, keys: list, args: list, client: Any = None):
        if client is not None:
            return self._script(keys=keys, args=args, client=client)
        return self._batcher.run(self._script, keys, args)
