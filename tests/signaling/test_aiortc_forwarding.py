"""The aiortc internals that encoded forwarding relies on (signaling/aiortc_forwarding.py).
These fail loudly when an aiortc upgrade moves them; the end-to-end media tests then show
what broke for real (a viewer that gets no frames, or frames that were transcoded)."""

from __future__ import annotations

import re
from pathlib import Path

import aioice.ice
import aiortc
import pytest
from aiortc import RTCPeerConnection

from signaling import aiortc_forwarding as forwarding

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_the_installed_aiortc_has_everything_forwarding_uses():
    forwarding.check()


def test_the_pinned_aiortc_range_is_the_checked_one():
    pin = re.search(r'"aiortc>=([\d.]+),<([\d.]+)"', PYPROJECT.read_text())
    assert pin, "pyproject.toml must pin aiortc to a range"
    low, high = (tuple(int(x) for x in v.split(".")[:2]) for v in pin.groups())
    assert (low, high) == forwarding.SUPPORTED
    installed = tuple(int(x) for x in aiortc.__version__.split(".")[:2])
    assert low <= installed < high


async def test_a_tapped_receiver_hands_over_encoded_frames_instead_of_decoding():
    pc = RTCPeerConnection()
    try:
        receiver = pc.addTransceiver("video", direction="recvonly").receiver
        frames = []
        forwarding.tap_receiver(receiver, lambda mime, data, ts: frames.append((mime, ts)))
        tap = getattr(receiver, "_RTCRtpReceiver__decoder_queue")

        class Codec:
            mimeType = "video/VP8"

        class Frame:
            data, timestamp = b"\x10frame", 3000

        tap.put((Codec, Frame))
        assert frames == [("video/VP8", 3000)]
        tap.put(None)  # the receiver stopping: the idle decoder thread gets its end marker
        assert tap.get() is None
    finally:
        await pc.close()


async def test_tapping_a_receiver_that_already_decodes_is_refused():
    pc = RTCPeerConnection()
    try:
        receiver = pc.addTransceiver("video", direction="recvonly").receiver
        setattr(receiver, "_RTCRtpReceiver__decoder_thread", object())
        with pytest.raises(forwarding.IncompatibleAiortc):
            forwarding.tap_receiver(receiver, lambda *a: None)
        setattr(receiver, "_RTCRtpReceiver__decoder_thread", None)
    finally:
        await pc.close()


async def test_a_viewers_keyframe_request_reaches_the_callback():
    pc = RTCPeerConnection()
    try:
        sender = pc.addTransceiver("video", direction="sendonly").sender
        asked = []
        forwarding.on_keyframe_request(sender, lambda: asked.append(True))
        from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket

        await sender._handle_rtcp_packet(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1,
                                                        media_ssrc=sender._ssrc))
        assert asked == [True]
    finally:
        await pc.close()


def test_host_candidates_can_be_restricted_and_restored():
    try:
        forwarding.restrict_host_addresses(["127.0.0.1", "::1"])
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["127.0.0.1",
                                                                                "::1"]
    finally:
        forwarding.restrict_host_addresses([])
    assert "127.0.0.1" not in aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)


def test_a_server_on_loopback_offers_loopback_and_the_machines_addresses_by_default():
    from liveroom.config import Settings
    from signaling.aiortc_forwarding import host_addresses, restrict_host_addresses
    from signaling.config import MediaSettings
    from signaling.setup import ice_addresses

    restrict_host_addresses(())
    assert ice_addresses(Settings(), MediaSettings()) == ("127.0.0.1", *host_addresses())
    assert ice_addresses(Settings(host="0.0.0.0"), MediaSettings()) == ()
    assert ice_addresses(Settings(host="0.0.0.0"),
                         MediaSettings(ice_addresses=("203.0.113.7",))) == ("203.0.113.7",)


def test_the_check_catches_a_sender_whose_rtp_loop_moved(monkeypatch):
    """The lean path stands in for RTCRtpSender._run_rtp: a send() that no longer starts it
    would leave viewers without video, so start-up must refuse such an aiortc."""
    from aiortc import RTCRtpSender

    async def send(self, parameters):  # an aiortc whose sender runs its RTP another way
        self._rtp_loop = parameters

    monkeypatch.setattr(RTCRtpSender, "send", send)
    with pytest.raises(forwarding.IncompatibleAiortc, match=r"_run_rtp"):
        forwarding.check()


def test_the_check_catches_a_packetizer_that_changed(monkeypatch):
    from aiortc.codecs.vpx import Vp8Encoder

    monkeypatch.setattr(Vp8Encoder, "_packetize",
                        classmethod(lambda cls, buffer, picture_id: [b"\x10" + buffer]))
    with pytest.raises(forwarding.IncompatibleAiortc, match="VP8 packetizer"):
        forwarding.check()


async def test_a_viewer_reached_through_turn_gets_its_packets_protected_and_in_order():
    """A relayed ICE pair has no socket of its own: aioice's TURN client frames every datagram
    (a coroutine each). The Wire hands it the frame's SRTP packets, in order."""
    import asyncio
    import os
    from types import SimpleNamespace

    from pylibsrtp import Policy, Session

    from signaling.rtp_fanout import RtpStream

    key = os.urandom(30)
    profile = Policy.SRTP_PROFILE_AES128_CM_SHA1_80
    tx = Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile))
    rx = Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND, srtp_profile=profile))

    class TurnClient:  # the interface of aioice's TURN client protocols
        def __init__(self) -> None:
            self.received: list[tuple[bytes, tuple]] = []

        async def send_data(self, data: bytes, addr: tuple) -> None:
            await asyncio.sleep(0)
            rtcp = 192 <= data[1] <= 223  # RFC 5761: RTCP packet types, muxed with RTP
            self.received.append((rx.unprotect_rtcp(data) if rtcp else rx.unprotect(data), addr))

    turn = TurnClient()
    pair = SimpleNamespace(protocol=turn, remote_addr=("203.0.113.9", 49152))
    from aiortc.rtcdtlstransport import State
    from aiortc.rtp import RtcpPacket, RtcpSrPacket

    dtls = SimpleNamespace(_tx_srtp=tx, _state=State.CONNECTED)
    wire = forwarding.Wire(SimpleNamespace(transport=dtls), lambda w: None, lambda: None)
    wire.stream = RtpStream(4242, 96)
    wire._nominated = {1: pair}
    first = wire.stream.seq
    def frame(*payloads: bytes) -> SimpleNamespace:  # what the Wire reads of a relay.Frame
        return SimpleNamespace(payloads=lambda: list(payloads), origin=None, index=0)

    assert wire.send(frame(b"a" * 900, b"b" * 900), 0, None)
    assert wire.send(frame(b"c" * 100), 3000, None)
    for _ in range(10):
        await asyncio.sleep(0)
    # The first frame, its sender report right behind it, the next frame.
    report = RtcpPacket.parse(turn.received[2][0])[0]
    assert isinstance(report, RtcpSrPacket) and report.ssrc == 4242
    assert report.sender_info.packet_count == 2
    rtp = [p for i, (p, _addr) in enumerate(turn.received) if i != 2]
    assert [int.from_bytes(p[2:4], "big") for p in rtp] == [first, first + 1, first + 2]
    assert [p[12:13] for p in rtp] == [b"a", b"b", b"c"]
    assert {addr for _p, addr in turn.received} == {("203.0.113.9", 49152)}
