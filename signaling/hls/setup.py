"""How HLS plugs into the app: the segmenting service beside the peer registry, its routes,
and its metrics:

    liveroom_hls_recording{room}      1 while this instance segments and records the room
    liveroom_hls_disk_bytes{room}     bytes the room's recordings take on this instance
                                      (counted at each retention pass, once a minute)
    liveroom_hls_segments_total{room} segments written by the room's current recording
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from liveroom.channel.fanout import FANOUT
from liveroom.config import SETTINGS
from liveroom.metrics import METRICS

from ..config import MEDIA_SETTINGS
from ..keys import REGISTRY
from .http import add_routes
from .keys import HLS, HLS_CLIENT
from .service import HlsService
from .store import DiskRecordings


class HlsCollector(Collector):
    def __init__(self, service: HlsService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        recording = GaugeMetricFamily("liveroom_hls_recording", "Rooms this instance "
                                      "segments and records", labels=["room"])
        disk = GaugeMetricFamily("liveroom_hls_disk_bytes", "Bytes of a room's recordings on "
                                 "this instance", labels=["room"])
        segments = CounterMetricFamily("liveroom_hls_segments", "Segments written by the "
                                       "room's current recording", labels=["room"])
        for room, recorder in self.service.recorders.items():
            recording.add_metric([room], 1)
            segments.add_metric([room], recorder.seq)
        for room, size in self.service.disk.items():
            disk.add_metric([room], size)
        yield from (recording, disk, segments)


async def _hls_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = DiskRecordings(settings.data_dir / "recordings")
    service = app[HLS] = HlsService(app[REGISTRY], store, app[MEDIA_SETTINGS],
                                    app.get(FANOUT))
    collector = None
    if METRICS in app:
        collector = HlsCollector(service)
        app[METRICS].registry.register(collector)
    app[HLS_CLIENT] = aiohttp.ClientSession()
    await service.index_all()  # before serving: every instance lists this one's recordings
    service.start()
    try:
        yield
    finally:
        await service.close()
        await app[HLS_CLIENT].close()
        if collector is not None:
            app[METRICS].registry.unregister(collector)


def setup_hls(app: web.Application) -> None:
    """After setup_signaling: its registry's context must come first."""
    app.cleanup_ctx.append(_hls_ctx)
    add_routes(app)
