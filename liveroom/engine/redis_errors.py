"""Turn Redis connection failures into EngineUnavailable, so callers handle one error type."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from redis.exceptions import (
    BusyLoadingError,
    ClusterDownError,
    ClusterError,
    ConnectionError,
    SlotNotCoveredError,
    TimeoutError,
    TryAgainError,
)

from ..domain.errors import EngineUnavailable

P = ParamSpec("P")
T = TypeVar("T")

# A cluster shard that is failing over answers CLUSTERDOWN or TRYAGAIN, or has no owner yet.
UNREACHABLE = (ConnectionError, TimeoutError, BusyLoadingError, OSError, ClusterDownError,
               ClusterError, SlotNotCoveredError, TryAgainError)


def unavailable_on_failure(
    fn: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except UNREACHABLE as exc:
            raise EngineUnavailable(f"Redis is unreachable: {exc}") from exc

    return wrapper
