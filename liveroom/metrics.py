"""Prometheus metrics, served at `GET /metrics` (prometheus-client's text format).

Each app has its own registry (`app[METRICS]`), never the library's global one, so that many
apps can live in one process (the tests make dozens). Counting is kept off the per-socket path:
the fan-out adds the frames of one flush in one call.

What each metric means, for dashboards and alerts (deploy/README.md lists them too):

    liveroom_info{version,instance,engine}            1, labels describe this instance
    liveroom_draining                                 1 while the instance drains (SIGTERM)
    liveroom_connections{room,role}                   room-channel sockets open now
    liveroom_connections_refused_total{reason}        instance_limit | room_limit | address_limit | draining
    liveroom_events_published_total{type}             room events, counted once per instance as
                                                      they arrive for the rooms it serves
    liveroom_events_delivered_total                   event frames written to sockets
    liveroom_slow_client_disconnects_total            clients cut off for not reading
    liveroom_send_dropped_bytes_total                 bytes those clients left unsent
    liveroom_command_duration_seconds{command}        room-channel commands, answered
    liveroom_commands_in_flight                       commands running now (a drain waits)
    liveroom_buys_total{outcome}                      created | repeated | an error code
    liveroom_webhook_deliveries_total{event,result}   delivered | failed attempts
    liveroom_peer_connections{kind}                   WebRTC peers: publisher | viewer
    liveroom_engine_latency_seconds{operation}        engine round trips (ping: readiness and
                                                      a probe every heartbeat)
    liveroom_engine_up                                1 if the last probe answered in time
    liveroom_http_requests_total{method,route,status} REST requests answered
    liveroom_http_request_duration_seconds{method,route}
    process_*                                         CPU, memory, open files of the process

The signaling package reports its peers with `set_peer_connections(app, kind, count)`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import choose_encoder

from . import __version__
from .config import SETTINGS
from .domain.errors import EngineUnavailable
from .engine import ENGINE
from .tasks import stop_tasks

log = logging.getLogger(__name__)

# No `*_created` series beside every counter and histogram: they only double what is scraped.
disable_created_metrics()

ENGINE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
COMMAND_BUCKETS = ENGINE_BUCKETS + (10.0,)
PEER_KINDS = ("publisher", "viewer")


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.info = Gauge("liveroom_info", "This instance", ["version", "instance", "engine"],
                          registry=r)
        self.draining = Gauge("liveroom_draining", "1 while this instance drains", registry=r)
        self.connections = Gauge("liveroom_connections", "Room-channel sockets open now",
                                 ["room", "role"], registry=r)
        self.refused = Counter("liveroom_connections_refused",
                               "Room-channel connections refused by a limit or a drain",
                               ["reason"], registry=r)
        self.events_published = Counter(
            "liveroom_events_published",
            "Room events of the rooms this instance serves, counted once as they arrive",
            ["type"], registry=r)
        self.events_delivered = Counter("liveroom_events_delivered",
                                        "Event frames written to sockets", registry=r)
        self.slow_clients = Counter("liveroom_slow_client_disconnects",
                                    "Clients disconnected because they stopped reading",
                                    registry=r)
        self.dropped_bytes = Counter("liveroom_send_dropped_bytes",
                                     "Bytes left unsent to clients that stopped reading",
                                     registry=r)
        self.commands = Histogram("liveroom_command_duration_seconds",
                                  "Room-channel commands, from receipt to answer", ["command"],
                                  buckets=COMMAND_BUCKETS, registry=r)
        self.in_flight = Gauge("liveroom_commands_in_flight",
                               "Room-channel commands running now", registry=r)
        self.buys = Counter("liveroom_buys", "Flash-sale buy attempts by outcome", ["outcome"],
                            registry=r)
        self.webhooks = Counter("liveroom_webhook_deliveries", "Webhook delivery attempts",
                                ["event", "result"], registry=r)
        self.peer_connections = Gauge("liveroom_peer_connections",
                                      "WebRTC peer connections on this instance", ["kind"],
                                      registry=r)
        self.engine_latency = Histogram("liveroom_engine_latency_seconds",
                                        "Round trips to the engine (Redis)", ["operation"],
                                        buckets=ENGINE_BUCKETS, registry=r)
        self.engine_up = Gauge("liveroom_engine_up",
                               "1 if the engine answered the last probe in time", registry=r)
        self.http_requests = Counter("liveroom_http_requests", "REST requests answered",
                                     ["method", "route", "status"], registry=r)
        self.http_duration = Histogram("liveroom_http_request_duration_seconds",
                                       "REST requests, from receipt to answer",
                                       ["method", "route"], buckets=COMMAND_BUCKETS, registry=r)
        ProcessCollector(registry=r)
        for kind in PEER_KINDS:
            self.peer_connections.labels(kind=kind).set(0)

    async def ping(self, engine, operation: str = "ping") -> None:
        """engine.ping(), timed; EngineUnavailable (or a timeout) still counts its time."""
        started = time.perf_counter()
        try:
            await engine.ping()
        finally:
            self.engine_latency.labels(operation=operation).observe(time.perf_counter() - started)


METRICS = web.AppKey("metrics", Metrics)


def set_peer_connections(app: web.Application, kind: str, count: int) -> None:
    """How many WebRTC peers of a kind (publisher or viewer) this instance holds now."""
    if kind not in PEER_KINDS:
        raise ValueError(f"peer kind must be one of {PEER_KINDS}, not {kind!r}")
    app[METRICS].peer_connections.labels(kind=kind).set(count)


async def metrics_endpoint(request: web.Request) -> web.Response:
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = encode(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": content_type})


async def _probe(app: web.Application) -> None:
    """Ping the engine every heartbeat, so a slow Redis shows between scrapes."""
    metrics, engine = app[METRICS], app[ENGINE]
    interval = app[SETTINGS].heartbeat_interval
    while True:
        try:
            await metrics.ping(engine)
            metrics.engine_up.set(1)
        except EngineUnavailable:
            metrics.engine_up.set(0)
        except Exception:
            log.exception("engine probe failed")
            metrics.engine_up.set(0)
        await asyncio.sleep(interval)


async def _probe_ctx(app: web.Application) -> AsyncIterator[None]:
    app[METRICS].info.labels(version=__version__, instance=app[SETTINGS].instance_id,
                             engine=app[ENGINE].kind).set(1)
    task = asyncio.create_task(_probe(app), name="engine-probe")
    yield
    await stop_tasks(task)


def setup_metrics(app: web.Application) -> None:
    """The registry and `GET /metrics`; needs the engine's cleanup context before it."""
    app[METRICS] = Metrics()
    app.cleanup_ctx.append(_probe_ctx)
    app.router.add_get("/metrics", metrics_endpoint)
