"""Stopping background tasks for good.

A cancellation can be lost: redis-py swallows one that lands just as a read timeout fires, and
Python 3.11's wait_for one that lands as the awaited call completes. A loop that survived its
cancel would keep running, and a shutdown that waited for it would wait forever.
"""

from __future__ import annotations

import asyncio

RECANCEL_EVERY = 0.5  # seconds: how long a task may ignore a cancel before it gets another


async def stop_tasks(*tasks: asyncio.Task | None) -> None:
    """Cancel the tasks and return once all have ended, cancelling again those still running."""
    pending = {task for task in tasks if task is not None}
    while pending:
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=RECANCEL_EVERY)
