"""Live video's own Prometheus metrics, registered in the app's registry (liveroom/metrics.py)
by setup.py and read from the peer registry when scraped, so the forwarding path counts
nothing per frame:

    liveroom_media_origin{room,origin}              1 for each room this instance serves
                                                    video of; origin: the instance holding
                                                    its publishers (this one, or a leg's)
    liveroom_media_legs{room,direction}             relay legs open now: out (this instance
                                                    is the origin and sends), in (it receives)
    liveroom_media_leg_delay_seconds{room}          the last frame's time on its leg, from
                                                    the origin's send to here (both clocks:
                                                    keep them in sync)
    liveroom_media_viewers{room}                    players of the room on this instance
    liveroom_media_frames_forwarded_total{room,path}  frames sent: path viewer (to players)
                                                      or leg (to other instances)
    liveroom_media_frames_skipped_total{room,path}    frames a slow player or leg lost (it
                                                      skipped to the next keyframe)
    liveroom_media_frames_relayed_total               frames received over legs
    liveroom_media_legs_cut_total                     legs cut for not reading
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .registry import Registry


class MediaCollector(Collector):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.feeds_before: dict[str, list[int]] = {}  # room -> [sent, skipped] of gone legs
        self.cut = 0
        self._seen: set = set()

    def _retire_feeds(self) -> None:
        """Legs that ended since the last scrape keep adding to the totals."""
        live = set(self.registry.feeds)
        for feed in self._seen - live:
            totals = self.feeds_before.setdefault(feed.room, [0, 0])
            totals[0] += feed.sent
            totals[1] += feed.skipped
            self.cut += feed.cut
        self._seen = live

    def collect(self) -> Iterator[Metric]:
        registry = self.registry
        self._retire_feeds()
        origin = GaugeMetricFamily("liveroom_media_origin", "Rooms whose video this instance "
                                   "serves, by the instance holding their publishers",
                                   labels=["room", "origin"])
        rooms = {room for room, _ in registry.publishers}
        for room in rooms:
            origin.add_metric([room, registry.instance], 1)
        for room, leg in registry.legs.legs.items():
            if leg.origin is not None and room not in rooms:
                origin.add_metric([room, leg.origin], 1)
        yield origin

        legs = GaugeMetricFamily("liveroom_media_legs", "Relay legs open now",
                                 labels=["room", "direction"])
        out: dict[str, int] = {}
        for feed in registry.feeds:
            out[feed.room] = out.get(feed.room, 0) + 1
        for room, count in out.items():
            legs.add_metric([room, "out"], count)
        delay = GaugeMetricFamily("liveroom_media_leg_delay_seconds", "From the origin's "
                                  "send of a leg's last frame to its arrival here",
                                  labels=["room"])
        for room, leg in registry.legs.legs.items():
            legs.add_metric([room, "in"], int(leg.connected))
            if leg.connected and leg.frames_in:
                delay.add_metric([room], max(0.0, leg.delay))
        yield legs
        yield delay

        viewers = GaugeMetricFamily("liveroom_media_viewers", "Players on this instance",
                                    labels=["room"])
        forwarded: dict[str, list[int]] = {room: list(totals)
                                           for room, totals in registry.retired.items()}
        for (room, _), members in registry.viewers.items():
            viewers.add_metric([room], len(members))
            totals = forwarded.setdefault(room, [0, 0])
            for viewer in members:
                for track in viewer.tracks.values():
                    totals[0] += track.frames_out
                    totals[1] += track.dropped
        yield viewers

        to_legs = {room: list(totals) for room, totals in self.feeds_before.items()}
        for feed in registry.feeds:
            totals = to_legs.setdefault(feed.room, [0, 0])
            totals[0] += feed.sent
            totals[1] += feed.skipped
        sent = CounterMetricFamily("liveroom_media_frames_forwarded", "Encoded frames sent",
                                   labels=["room", "path"])
        skipped = CounterMetricFamily("liveroom_media_frames_skipped", "Encoded frames a slow "
                                      "player or leg lost", labels=["room", "path"])
        for path, table in (("viewer", forwarded), ("leg", to_legs)):
            for room, (frames, dropped) in table.items():
                sent.add_metric([room, path], frames)
                skipped.add_metric([room, path], dropped)
        yield sent
        yield skipped

        relayed = registry.legs.frames_in_before + sum(
            leg.frames_in for leg in registry.legs.legs.values())
        yield CounterMetricFamily("liveroom_media_frames_relayed", "Frames received over "
                                  "relay legs", value=relayed)
        yield CounterMetricFamily("liveroom_media_legs_cut", "Relay legs cut for not reading",
                                  value=self.cut + sum(f.cut for f in registry.feeds))
