"""SrtpWriter (signaling/aiortc_forwarding.py): a viewer's packets protected in pylibsrtp's own
buffer and sent on a real UDP socket, read back and unprotected as a viewer would."""

from __future__ import annotations

import asyncio
import os
import socket

import pylibsrtp
import pytest
from aiortc.rtcdtlstransport import SRTP_PROFILES

from signaling.aiortc_forwarding import SrtpWriter
from signaling.rtp_fanout import RtpStream, shared_layout


def _sessions() -> tuple[pylibsrtp.Session, pylibsrtp.Session]:
    """A sending and a receiving session on one key, with the profile aiortc picks."""
    profile = SRTP_PROFILES[0]
    key = os.urandom(profile.key_length + profile.salt_length)
    sessions = []
    for direction in (pylibsrtp.Policy.SSRC_ANY_OUTBOUND, pylibsrtp.Policy.SSRC_ANY_INBOUND):
        sessions.append(pylibsrtp.Session(pylibsrtp.Policy(
            key=key, ssrc_type=direction, srtp_profile=profile.libsrtp_profile)))
    return sessions[0], sessions[1]


@pytest.fixture
async def wire():
    """(sending transport, receiving socket): the viewer's end is a plain UDP socket."""
    viewer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    viewer.bind(("127.0.0.1", 0))
    viewer.settimeout(5)
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
    yield transport, viewer
    transport.close()
    viewer.close()


async def test_a_viewer_unprotects_exactly_the_packets_of_the_frame(wire):
    transport, viewer = wire
    tx, rx = _sessions()
    writer = SrtpWriter(tx, transport, viewer.getsockname())
    stream = RtpStream(0x1234, 96)
    payloads = [os.urandom(1100), os.urandom(1100), os.urandom(300)]
    extension = shared_layout(((1, b"0"),), 3).block(0xABCDEF)
    for ts in (0, 3000):
        headers, sent = stream.headers(payloads, ts, extension)
        assert writer.write(headers, sent)
        for header, payload in zip(headers, sent):
            assert rx.unprotect(viewer.recv(2048)) == header + payload
    assert writer.backlog() == 0


async def test_a_packet_too_long_to_protect_is_refused_and_the_next_one_goes(wire):
    transport, viewer = wire
    tx, rx = _sessions()
    writer = SrtpWriter(tx, transport, viewer.getsockname())
    stream = RtpStream(0x1234, 96)
    with pytest.raises(ValueError, match="too long to protect"):
        writer.write(*stream.headers([b"x" * 1400], 0))
    headers, payloads = stream.headers([b"y" * 1000], 3000)
    writer.write(headers, payloads)
    assert rx.unprotect(viewer.recv(2048)) == headers[0] + payloads[0]


async def test_a_closed_socket_is_not_written_to(wire):
    """A viewer's connection closing mid-frame: the frame is not sent (the caller counts it
    dropped) and nothing is raised into the frame's other viewers."""
    transport, viewer = wire
    tx, _rx = _sessions()
    writer = SrtpWriter(tx, transport, viewer.getsockname())
    headers, payloads = RtpStream(0x1234, 96).headers([b"z" * 100], 0)
    assert writer.write(headers, payloads)
    transport.close()
    assert not writer.write(headers, payloads)
    # Loopback delivers within sendto: what was sent is already there to read.
    viewer.setblocking(False)
    viewer.recv(2048)  # the first one
    with pytest.raises(BlockingIOError):
        viewer.recv(2048)
