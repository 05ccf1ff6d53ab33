"""One viewer's RTP stream built from packets shared by every viewer of a track.

A source's frame is packetized once (relay.Frame.payloads); what differs between its viewers is
only the RTP header: their SSRC, sequence numbers, timestamp origin, payload type and header
extensions (negotiated per connection), and for VP8 the picture id, which must keep counting
across a change of publisher. `RtpStream` writes those headers for the shared payloads: one
struct.pack and one concatenation (the extension block) per packet, no RtpPacket objects, no
coroutine. `headers` gives them apart from the payloads, for a writer that joins the two where
it protects them (aiortc_forwarding.SrtpWriter); `frame` gives whole packets.

`sender_report` and `goodbye` are the RTCP a sender of such a stream owes its receivers.

It also remembers the last frames it sent (references to the shared payloads, not copies) so a
viewer's NACK is answered with the very packet it lost, rebuilt on demand (RFC 4588's RTX
wrapping when negotiated). Pure bytes in, bytes out: no network, no aiortc.
"""

from __future__ import annotations

import functools
import random
import struct
from collections import deque
from collections.abc import Sequence

HISTORY_FRAMES = 96  # about 3 s of video at 30 fps, more than a NACK's round trip
_HEADER = struct.Struct("!BBHII")
_SEQ = struct.Struct("!H")
_PICTURE_ID = struct.Struct("!H")
_SENDER_REPORT = struct.Struct("!BBHIIIIII")


def random_sequence_number() -> int:
    # In the lower half, as aiortc does: a wrap early in the stream trips SRTP replay windows.
    return random.getrandbits(16) % 32768


class RtpStream:
    """The headers of one viewer's stream of one track (one SSRC)."""

    def __init__(self, ssrc: int, payload_type: int, *, vp8: bool = False,
                 rtx: tuple[int, int] | None = None) -> None:
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.vp8 = vp8
        self.rtx = rtx  # (payload type, ssrc) for retransmissions, when negotiated
        self.seq = random_sequence_number()
        self.rtx_seq = random_sequence_number()
        self.ts_origin = random.getrandbits(32)
        self.packets_sent = 0
        self.octets_sent = 0
        self.last_timestamp = 0
        self.retransmitted = 0
        # (first sequence number, payloads as sent, rtp timestamp)
        self._history: deque[tuple[int, Sequence[bytes], int]] = deque(
            maxlen=HISTORY_FRAMES)
        self._picture_origin: object = None  # the source whose picture ids are mapped
        self._picture_shift = 0
        self._last_picture: int | None = None

    def frame(self, payloads: Sequence[bytes], ts: int, extension: bytes = b"",
              picture: tuple[object, int] | None = None) -> list[bytes]:
        """The packets of one frame: `payloads` as packetized for every viewer, `ts` this
        viewer's timestamp in the codec's clock, `extension` its header extension block
        (profile, length and elements) or none, `picture` (source, picture id) for VP8."""
        headers, payloads = self.headers(payloads, ts, extension, picture)
        return [header + payload for header, payload in zip(headers, payloads)]

    def headers(self, payloads: Sequence[bytes], ts: int, extension: bytes = b"",
                picture: tuple[object, int] | None = None
                ) -> tuple[list[bytes], Sequence[bytes]]:
        """One frame as `frame` makes it, each packet's header (with `extension`) apart from
        its payload, for a writer that joins them where they are protected."""
        last = len(payloads) - 1
        if last < 0:
            return [], payloads  # nothing a packetizer could split (no NAL unit in it)
        timestamp = (self.ts_origin + ts) & 0xFFFFFFFF
        if picture is not None and self.vp8:
            pid = self._picture_id(*picture)
            if self._picture_shift:
                payloads = [_with_picture_id(p, pid) for p in payloads]
        first = 0x90 if extension else 0x80
        seq, pt, ssrc, pack = self.seq, self.payload_type, self.ssrc, _HEADER.pack
        # Run per frame and viewer: one expression per packet, the marker bit on the last.
        if last == 0:  # an audio frame, most frames sent: no comprehension to set up
            headers = [pack(first, pt | 0x80, seq, timestamp, ssrc) + extension]
            self.octets_sent += len(payloads[0])
        else:
            headers = [pack(first, pt | 0x80 if i == last else pt, (seq + i) & 0xFFFF,
                            timestamp, ssrc) + extension for i in range(last + 1)]
            self.octets_sent += sum(map(len, payloads))
        self._history.append((seq, payloads, timestamp))
        self.seq = (seq + last + 1) & 0xFFFF
        self.packets_sent += last + 1
        self.last_timestamp = timestamp
        return headers, payloads

    def _picture_id(self, origin: object, pid: int) -> int:
        """VP8 picture ids count on across a new source (a decoder seeing them jump back may
        take new frames for old ones)."""
        if origin is not self._picture_origin:
            self._picture_origin = origin
            self._picture_shift = 0 if self._last_picture is None else (
                self._last_picture + 1 - pid) & 0x7FFF
        self._last_picture = (pid + self._picture_shift) & 0x7FFF
        return self._last_picture

    def retransmission(self, seq: int, extension: bytes = b"") -> bytes | None:
        """The packet `seq` again (RTX-wrapped when negotiated), if it is still remembered."""
        for first, payloads, timestamp in reversed(self._history):
            i = (seq - first) & 0xFFFF
            if i >= len(payloads):
                continue
            payload = payloads[i]  # as sent (its picture id already this viewer's)
            marker = 0x80 if i == len(payloads) - 1 else 0
            first_byte = 0x90 if extension else 0x80
            self.retransmitted += 1
            if self.rtx is None:
                return b"".join((_HEADER.pack(first_byte, marker | self.payload_type, seq,
                                              timestamp, self.ssrc), extension, payload))
            rtx_type, rtx_ssrc = self.rtx
            rtx_seq, self.rtx_seq = self.rtx_seq, (self.rtx_seq + 1) & 0xFFFF
            return b"".join((_HEADER.pack(first_byte, marker | rtx_type, rtx_seq, timestamp,
                                          rtx_ssrc), extension, _SEQ.pack(seq), payload))
        return None


def sender_report(ssrc: int, ntp: int, timestamp: int, packets: int, octets: int,
                  cname: str | None) -> bytes:
    """An RTCP sender report (RFC 3550 6.4.1) with no report blocks, and the SDES CNAME that
    must travel with it in one compound packet: `ntp` (32.32) and `timestamp` (RTP clock) are
    the same instant, `packets` and `octets` what the stream has sent."""
    report = _SENDER_REPORT.pack(0x80, 200, 6, ssrc, ntp >> 32, ntp & 0xFFFFFFFF,
                                 timestamp & 0xFFFFFFFF, packets & 0xFFFFFFFF,
                                 octets & 0xFFFFFFFF)
    if cname is None:
        return report
    name = cname.encode()[:255]
    chunk = struct.pack("!IBB", ssrc, 1, len(name)) + name
    chunk += b"\x00" * (4 - len(chunk) % 4)  # a null octet ends the items, then pad to 32 bits
    return report + struct.pack("!BBH", 0x81, 202, len(chunk) // 4) + chunk


def goodbye(ssrc: int) -> bytes:
    """An RTCP BYE (RFC 3550 6.6) for one source."""
    return struct.pack("!BBHI", 0x81, 203, 1, ssrc)


def _with_picture_id(payload: bytes, pid: int) -> bytes:
    # aiortc's VP8 descriptor always carries the long (15-bit) picture id in bytes 2-3.
    return b"".join((payload[:2], _PICTURE_ID.pack(0x8000 | pid), payload[4:]))


def extension_block(elements: Sequence[tuple[int, bytes]]) -> bytes:
    """RFC 8285 header extensions (profile, length in words, elements, padding): the one-byte
    form when every element fits it, else the two-byte form."""
    if not elements:
        return b""
    if all(1 <= x_id <= 14 and 1 <= len(value) <= 16 for x_id, value in elements):
        profile = 0xBEDE
        body = b"".join(bytes([(x_id << 4) | (len(value) - 1)]) + value
                        for x_id, value in elements)
    else:
        profile = 0x1000
        body = b"".join(bytes([x_id, len(value)]) + value for x_id, value in elements)
    body += b"\x00" * (-len(body) % 4)
    return struct.pack("!HH", profile, len(body) // 4) + body


class ExtensionLayout:
    """A viewer's header extensions, laid out once: elements that never change (the mid) and
    abs-send-time, whose three bytes are the only ones written per frame. Viewers that
    negotiated the same extensions share one layout (`shared_layout`), which remembers the
    last block it made: every viewer of a frame is stamped with the frame's send time, so the
    block is made once per frame, not once per viewer."""

    def __init__(self, fixed: Sequence[tuple[int, bytes]], abs_send_time: int | None) -> None:
        self._fixed = list(fixed)
        self._ast = abs_send_time
        one_byte = all(1 <= x_id <= 14 and 1 <= len(value) <= 16 for x_id, value in fixed) and (
            abs_send_time is None or 1 <= abs_send_time <= 14)
        self._prefix: bytes | None = None
        if one_byte and abs_send_time is not None:
            body = b"".join(bytes([(x_id << 4) | (len(value) - 1)]) + value
                            for x_id, value in fixed) + bytes([(abs_send_time << 4) | 2])
            padding = -(len(body) + 3) % 4
            self._prefix = struct.pack("!HH", 0xBEDE, (len(body) + 3 + padding) // 4) + body
            self._padding = b"\x00" * padding
        self._static = extension_block(self._fixed) if abs_send_time is None else b""
        self._last: tuple[int, bytes] = (-1, b"")

    def block(self, abs_send_time: int) -> bytes:
        """The extension block of a packet sent at `abs_send_time` (6.18 fixed point s)."""
        if self._ast is None:
            return self._static
        at = abs_send_time & 0xFFFFFF
        if self._last[0] == at:
            return self._last[1]
        if self._prefix is not None:
            block = b"".join((self._prefix, at.to_bytes(3, "big"), self._padding))
        else:
            block = extension_block([*self._fixed, (self._ast, at.to_bytes(3, "big"))])
        self._last = (at, block)
        return block


@functools.lru_cache(maxsize=256)
def shared_layout(fixed: tuple[tuple[int, bytes], ...], abs_send_time: int | None
                  ) -> ExtensionLayout:
    """One ExtensionLayout for every viewer that negotiated these extensions."""
    return ExtensionLayout(fixed, abs_send_time)
