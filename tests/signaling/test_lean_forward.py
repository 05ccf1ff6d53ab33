"""The lean forward path (relay.Frame.payloads, rtp_fanout.RtpStream, aiortc_forwarding.Wire):
each frame packetized once per track, only the headers written per viewer, with real aiortc
peers on loopback that decode what they receive and read the publisher's pattern."""

from __future__ import annotations

import asyncio

from aiortc.mediastreams import MediaStreamError

from ..helpers import eventually
from .clients import connected
from .test_whip_whep import publish, watch


def _viewers(srv) -> list:
    return [v for vs in srv.registry.viewers.values() for v in vs]


def _publisher(srv):
    return next(iter(srv.registry.publishers.values()))


class Listener:
    """Counts the decoded audio frames a viewer gets."""

    def __init__(self, pc) -> None:
        receiver = next(t.receiver for t in pc.getTransceivers() if t.kind == "audio")
        self.frames = 0
        self._task = asyncio.ensure_future(self._read(receiver.track))

    async def _read(self, track) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            self.frames += 1

    def stop(self) -> None:
        self._task.cancel()


async def test_several_viewers_share_each_frames_packets_under_their_own_headers(
        media_server, http, peers):
    srv = await media_server()
    await publish(srv, http, peers)  # VP8 pattern + Opus
    watchers = [await watch(srv, http, peers) for _ in range(3)]
    listeners = [Listener(w.pc) for w in watchers]
    for watcher in watchers:
        await eventually(lambda w=watcher: w.counts_up(30), timeout=15,
                         what="30 pattern frames in order")
    await eventually(lambda: all(x.frames > 25 for x in listeners), what="Opus on every viewer")
    viewers = _viewers(srv)
    assert len(viewers) == 3 and all(set(v.wires) == {"video", "audio"} for v in viewers)
    # Every viewer has its own SSRC and sequence numbers; the receivers heard those SSRCs.
    streams = [v.wires["video"].stream for v in viewers]
    assert len({s.ssrc for s in streams}) == 3
    assert len({s.seq for s in streams}) == 3
    heard = {src.source for w in watchers for t in w.pc.getTransceivers() if t.kind == "video"
             for src in t.receiver.getSynchronizationSources()}
    assert heard == {s.ssrc for s in streams}
    # The packets went out through the wires, not aiortc's sender loop (its history is empty),
    # and a frame was packetized once for all three: the payload lists are the same objects.
    for viewer in viewers:
        sender = viewer.wires["video"].sender
        assert not getattr(sender, "_RTCRtpSender__rtp_history")
        assert viewer.wires["video"].stream.packets_sent > 30
    source = _publisher(srv).sources["video"]
    frame = source.gop[-1]
    assert frame.payloads() is frame.payloads()
    lasts = [s._history[-1][1] for s in streams]
    assert lasts[0] is lasts[1] is lasts[2]
    for w in watchers:
        w.stop()
    for x in listeners:
        x.stop()


async def test_h264_late_joiners_start_at_a_keyframe_with_opus(media_server, http, peers):
    srv = await media_server()
    pub, _ = await publish(srv, http, peers, obs=True)  # H.264 keyframe every 32 frames + Opus
    await connected(pub)
    source = _publisher(srv).sources["video"]
    await eventually(lambda: len(source.gop) > 5, what="a keyframe group")
    for _ in range(2):
        watcher = await watch(srv, http, peers)
        listener = Listener(watcher.pc)
        await eventually(lambda w=watcher: w.counts_up(20), timeout=10, what="20 H.264 frames")
        await eventually(lambda x=listener: x.frames > 10, what="Opus frames")
        # The first picture it decoded was a real one: it started at the keyframe.
        assert watcher.numbers[0] is not None
        assert watcher.first_frame_after < 1.0
        watcher.stop()
        listener.stop()
    assert all(v.wires for v in _viewers(srv))


async def test_a_viewers_picture_loss_indication_reaches_the_publisher(media_server, http,
                                                                        peers):
    srv = await media_server()
    pub, _ = await publish(srv, http, peers)
    asked = []
    sender = next(t.sender for t in pub.getTransceivers() if t.kind == "video")
    original = sender._send_keyframe

    def keyframe_asked() -> None:
        asked.append(True)
        original()

    sender._send_keyframe = keyframe_asked  # the publisher's encoder is asked for a keyframe
    watcher = await watch(srv, http, peers)
    await eventually(lambda: watcher.counts_up(10), timeout=15, what="frames")
    before = len(asked)
    receiver = next(t.receiver for t in watcher.pc.getTransceivers() if t.kind == "video")
    ssrc = _viewers(srv)[0].wires["video"].stream.ssrc

    async def pli_reached() -> bool:
        await receiver._send_rtcp_pli(ssrc)  # what a viewer's decoder sends on loss
        return len(asked) > before

    await eventually(pli_reached, timeout=5, interval=0.3, what="the PLI at the publisher")
    watcher.stop()


async def test_a_lost_packet_is_retransmitted_when_the_viewer_asks(media_server, http, peers):
    srv = await media_server()
    await publish(srv, http, peers, video="H264")
    watcher = await watch(srv, http, peers)
    await eventually(lambda: watcher.counts_up(10), timeout=15, what="frames")
    wire = _viewers(srv)[0].wires["video"]
    lost: list[int] = []

    def lose_one(packet: bytes) -> bool:
        # Drop one packet: its frame cannot complete without it (a picture would go missing).
        if not lost:
            lost.append(int.from_bytes(packet[2:4], "big"))
            return False
        return True

    wire.write_filter = lose_one
    await eventually(lambda: lost, what="a packet lost on the way")
    seen = len(watcher.numbers)
    await eventually(lambda: wire.stream.retransmitted >= 1, what="a retransmission (NACK)")
    await eventually(lambda: len(watcher.numbers) > seen + 30, timeout=10, what="more frames")
    # No picture went missing: every frame around the loss decoded, in order.
    numbers = watcher.valid()[-60:]
    assert all((b - a) % 256 == 1 for a, b in zip(numbers, numbers[1:])), numbers
    watcher.stop()


async def test_vp8_viewers_keep_playing_when_the_host_comes_back(media_server, http, peers):
    """A new publisher's picture ids start anywhere; each viewer's continue its own count."""
    srv = await media_server()
    pub, _ = await publish(srv, http, peers)
    watcher = await watch(srv, http, peers)
    await eventually(lambda: watcher.counts_up(10), timeout=15, what="frames")
    await pub.close()
    await eventually(lambda: not srv.registry.publishers, what="the publisher to be gone")
    seen = len(watcher.valid())
    await publish(srv, http, peers)
    await eventually(lambda: len(watcher.valid()) > seen + 30 and watcher.counts_up(10),
                     timeout=15, what="frames of the new session")
    watcher.stop()


async def test_aiortcs_own_sender_remains_as_the_comparison(media_server, http, peers):
    srv = await media_server(media_forward="aiortc")
    try:
        await publish(srv, http, peers)
        watcher = await watch(srv, http, peers)
        await eventually(lambda: watcher.counts_up(30), timeout=15, what="frames")
        viewer = _viewers(srv)[0]
        assert viewer.wires == {} and viewer.tracks["video"].frames_out > 30
        watcher.stop()
    finally:
        from signaling.peers import Viewer
        Viewer.forward = "lean"


async def test_a_viewer_too_slow_to_write_to_skips_to_the_next_keyframe(media_server, http,
                                                                        peers):
    srv = await media_server()
    await publish(srv, http, peers)
    watcher = await watch(srv, http, peers)
    await eventually(lambda: watcher.counts_up(10), timeout=15, what="frames")
    viewer = _viewers(srv)[0]
    track = viewer.tracks["video"]
    dropped = track.dropped
    wire = viewer.wires["video"]
    original = wire._write
    wire._write = lambda *packets: False  # the socket holds too much: nothing can be written
    await eventually(lambda: track.dropped > dropped, what="a frame dropped")
    wire._write = original
    # It skipped to a keyframe (asking the publisher for one) and plays on.
    seen = len(watcher.valid())
    await eventually(lambda: len(watcher.valid()) > seen + 20 and watcher.counts_up(10),
                     timeout=10, what="frames again after the skip")
    watcher.stop()


async def test_sender_reports_carry_what_the_wire_sent(media_server, http, peers):
    """A player syncs audio to video with the RTCP sender reports: they must count what the
    Wire sent, in its RTP clock, not the idle figures of the sender it stands in for."""
    srv = await media_server()
    await publish(srv, http, peers)
    watcher = await watch(srv, http, peers)
    await eventually(lambda: watcher.counts_up(10), timeout=15, what="frames")
    receiver = next(t.receiver for t in watcher.pc.getTransceivers() if t.kind == "video")
    stream = _viewers(srv)[0].wires["video"].stream

    async def reported():
        stats = [s for s in (await receiver.getStats()).values()
                 if s.type == "remote-outbound-rtp"]
        return stats and stats[0].packetsSent > 30 and stats[0].remoteTimestamp is not None

    await eventually(reported, timeout=10, interval=0.3, what="a sender report")
    stats = next(s for s in (await receiver.getStats()).values()
                 if s.type == "remote-outbound-rtp")
    assert stats.ssrc == stream.ssrc and stats.packetsSent <= stream.packets_sent
    assert stats.bytesSent > 0
    watcher.stop()


async def test_round_trips_are_timed_from_the_viewers_receiver_reports(media_server, http,
                                                                       peers):
    """A viewer's receiver reports echo the last sender report it got (LSR): the server's
    sender times the round trip from them, and its statistics count what the Wire sent."""
    srv = await media_server()
    await publish(srv, http, peers)
    watcher = await watch(srv, http, peers)
    await eventually(lambda: watcher.counts_up(10), timeout=15, what="frames")
    wire = _viewers(srv)[0].wires["video"]

    async def stats_of(kind: str):
        return [s for s in (await wire.sender.getStats()).values() if s.type == kind]

    async def timed():
        remote = await stats_of("remote-inbound-rtp")
        return remote and remote[0].roundTripTime is not None

    await eventually(timed, timeout=10, interval=0.3, what="a round-trip time")
    remote = (await stats_of("remote-inbound-rtp"))[0]
    assert 0 <= remote.roundTripTime < 1  # loopback
    sent = (await stats_of("outbound-rtp"))[0]
    assert 0 < sent.packetsSent <= wire.stream.packets_sent and sent.bytesSent > 0
    watcher.stop()
