"""One viewer's RTP headers over shared payloads (signaling/rtp_fanout.py), read back with
aiortc's own parser: what a receiver sees."""

from __future__ import annotations

from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import (
    HeaderExtensionsMap,
    RtcpByePacket,
    RtcpPacket,
    RtcpSdesPacket,
    RtcpSrPacket,
    RtpPacket,
)

from signaling.aiortc_forwarding import packetizer
from signaling.rtp_fanout import (
    ExtensionLayout,
    RtpStream,
    extension_block,
    goodbye,
    sender_report,
)

MID = "urn:ietf:params:rtp-hdrext:sdes:mid"


def _parse(data: bytes, mid_id: int = 1) -> RtpPacket:
    packet = RtpPacket.parse(data, _map(mid_id))
    return packet


def _map(mid_id: int) -> HeaderExtensionsMap:
    extensions = HeaderExtensionsMap()
    extensions.configure(RTCRtpParameters(headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=mid_id, uri=MID)]))
    return extensions


def test_each_viewer_writes_its_own_header_over_the_same_payloads():
    payloads = [b"a" * 1000, b"b" * 1000, b"c" * 10]
    one, two = RtpStream(1111, 96), RtpStream(2222, 102)
    one.seq, two.seq = 65534, 7  # one of them wraps
    mid = extension_block([(1, b"0")])
    a = [_parse(p) for p in one.frame(payloads, 3000, mid)]
    b = [_parse(p) for p in two.frame(payloads, 3000)]
    assert [p.sequence_number for p in a] == [65534, 65535, 0]
    assert [p.sequence_number for p in b] == [7, 8, 9]
    assert {p.ssrc for p in a} == {1111} and {p.payload_type for p in b} == {102}
    assert [p.marker for p in a] == [0, 0, 1]
    assert [p.payload for p in a] == payloads == [p.payload for p in b]
    assert a[0].extensions.mid == "0" and b[0].extensions.mid is None
    assert a[0].timestamp == (one.ts_origin + 3000) & 0xFFFFFFFF
    assert one.packets_sent == 3 and one.octets_sent == 2010
    assert one.frame([], 6000) == [] and one.seq == 1  # a frame with nothing to send in it


def test_a_nacked_packet_comes_back_as_sent_or_wrapped_for_rtx():
    plain, rtx = RtpStream(1, 96), RtpStream(2, 96, rtx=(97, 3))
    for stream in (plain, rtx):
        stream.frame([b"x" * 10, b"y" * 10], 0)
        stream.frame([b"z" * 10], 3000)
    first = plain.seq - 3
    again = _parse(plain.retransmission(first + 1))
    assert (again.sequence_number, again.payload, again.marker) == (first + 1, b"y" * 10, 1)
    wrapped = _parse(rtx.retransmission(rtx.seq - 1))
    assert wrapped.payload_type == 97 and wrapped.ssrc == 3
    assert wrapped.payload == (rtx.seq - 1).to_bytes(2, "big") + b"z" * 10
    assert plain.retransmission(first - 5) is None  # never sent: nothing to resend


def test_vp8_picture_ids_count_on_across_a_new_source():
    vp8 = packetizer("video/VP8")
    stream = RtpStream(1, 96, vp8=True)
    old, new = object(), object()

    def picture(packet: bytes) -> int:
        return int.from_bytes(_parse(packet).payload[2:4], "big") & 0x7FFF

    assert picture(stream.frame(vp8(b"\x10key", 500), 0, picture=(old, 500))[0]) == 500
    assert picture(stream.frame(vp8(b"\x11delta", 501), 3000, picture=(old, 501))[0]) == 501
    # A publisher that came back starts its count anywhere (here at 9): the viewer's goes on.
    packets = stream.frame(vp8(b"\x10key" + b"k" * 3000, 9), 6000, picture=(new, 9))
    assert [picture(p) for p in packets] == [502] * len(packets) and len(packets) > 1
    assert _parse(packets[0]).payload[4:] == vp8(b"\x10key" + b"k" * 3000, 9)[0][4:]
    assert picture(stream.frame(vp8(b"\x11d", 10), 9000, picture=(new, 10))[0]) == 503


def test_extension_blocks_use_the_two_byte_form_when_an_element_needs_it():
    assert extension_block([]) == b""
    short = extension_block([(1, b"0"), (3, b"\x01\x02\x03")])
    assert short[:2] == b"\xbe\xde" and len(short) % 4 == 0
    long = extension_block([(15, b"a-long-mid-value-over-16")])
    assert long[:2] == b"\x10\x00" and len(long) % 4 == 0


def test_abs_send_time_is_the_only_part_of_the_extensions_written_per_frame():
    extensions = HeaderExtensionsMap()
    extensions.configure(RTCRtpParameters(headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=1, uri=MID),
        RTCRtpHeaderExtensionParameters(
            id=4, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time")]))
    layout = ExtensionLayout([(1, b"video0")], 4)
    assert layout.block(0x1234567) == extension_block([(1, b"video0"), (4, b"\x23\x45\x67")])
    packet = RtpPacket.parse(RtpStream(9, 96).frame([b"x"], 0, layout.block(0xABCDEF))[0],
                             extensions)
    assert (packet.extensions.mid, packet.extensions.abs_send_time) == ("video0", 0xABCDEF)
    assert ExtensionLayout([(1, b"0")], None).block(5) == extension_block([(1, b"0")])


def test_viewers_with_the_same_extensions_share_a_layout_that_stamps_each_send_time():
    """One layout for every viewer that negotiated the same extensions, so a frame's block is
    made once for all its viewers; a new send time still gets a block of its own."""
    from signaling.rtp_fanout import shared_layout

    one = shared_layout(((1, b"0"),), 4)
    assert shared_layout(((1, b"0"),), 4) is one
    assert shared_layout(((1, b"1"),), 4) is not one
    first = one.block(0x000001)
    assert one.block(0x000001) is first
    assert one.block(0x000002) == extension_block([(1, b"0"), (4, b"\x00\x00\x02")])
    assert one.block(0x1000001) == first  # 24 bits wrap


def test_a_sender_report_and_a_goodbye_read_back_as_a_receiver_reads_them():
    for cname in ("", "a", "abcd", "{7c1e-viewer-cname}"):
        ntp = (3_900_000_000 << 32) | 123_456
        report, sdes = RtcpPacket.parse(sender_report(0xDEADBEEF, ntp, 2**32 + 9, 2**32 + 5,
                                                      70_000, cname))
        assert isinstance(report, RtcpSrPacket) and report.ssrc == 0xDEADBEEF
        info = report.sender_info
        # RTP timestamps and counters wrap at 32 bits, as RFC 3550 says
        assert (info.ntp_timestamp, info.rtp_timestamp, info.packet_count,
                info.octet_count) == (ntp, 9, 5, 70_000)
        assert isinstance(sdes, RtcpSdesPacket)
        assert sdes.chunks[0].ssrc == 0xDEADBEEF
        assert sdes.chunks[0].items == [(1, cname.encode())]
    bye, = RtcpPacket.parse(goodbye(42))
    assert isinstance(bye, RtcpByePacket) and bye.sources == [42]
