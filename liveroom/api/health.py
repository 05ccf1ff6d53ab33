"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from aiohttp import web

from ..config import SETTINGS
from ..domain.errors import EngineUnavailable
from ..engine import ENGINE
from ..lifecycle import LIFECYCLE
from ..metrics import METRICS


async def healthz(request: web.Request) -> web.Response:
    """The process answers: it is alive."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready only when the engine answers in time and the instance is not draining: a load
    balancer sends no one to a cut-off, overloaded or departing instance."""
    engine = request.app[ENGINE]
    body = {"engine": engine.kind, "instance": request.app[SETTINGS].instance_id}
    if request.app[LIFECYCLE].draining:
        return web.json_response({"status": "draining", **body}, status=503)
    try:
        await request.app[METRICS].ping(engine)
    except EngineUnavailable as exc:
        return web.json_response({"status": "unavailable", "reason": exc.message, **body},
                                 status=503)
    return web.json_response({"status": "ready", **body})
