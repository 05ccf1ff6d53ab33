"""Everything that reaches inside aiortc (and aioice): the rest of signaling/ uses public API only.

aiortc decodes whatever a receiver gets and encodes whatever a sender sends, unless the sender's
track yields encoded `av.Packet`s: then it only packetizes them (the path that
`MediaPlayer(decode=False)` takes). Forwarding a publisher's frames to viewers without
transcoding therefore needs four things aiortc has no public API for:

- `tap_receiver`: the receiver hands each reassembled encoded frame to its decoder thread
  through a queue; we stand in for that queue, so frames reach us on the event loop and the
  decoder thread only waits for the end of the track.
- `request_keyframe`: send a PLI to the publisher (the receiver only does so by itself on loss).
- `on_keyframe_request`: a viewer's PLI/FIR makes the sender call `_send_keyframe()`, which only
  matters to an encoder; we take that call so the request can travel to the publisher.
- `restrict_host_addresses`: aioice gathers host candidates on every interface but loopback;
  a deployment (or a test on loopback) may name the addresses to offer.
- `answer_as_dtls_server`: aiortc answers an `a=setup:actpass` offer with `active`, making
  itself the DTLS client, and as a client it offers ECDSA cipher suites only, which a peer
  with an RSA certificate (GStreamer's webrtcbin) cannot serve; as the server it picks a suite
  for its own certificate and the peer may hold any.
- `on_peer_check`, `on_peer_data`: what the remote peer sends (its ICE agent's checks; and
  any packet: RTCP reports, DTLS), the sign that somebody is still there: a session nobody
  checks is dropped early, and a player that falls silent soon after.

`check()` verifies each of these against the installed aiortc and raises IncompatibleAiortc
with what changed; tests/signaling/test_aiortc_forwarding.py runs it and the real paths, so an aiortc
upgrade that breaks one of them fails loudly instead of silently decoding or dropping video.
pyproject.toml pins aiortc to the versions checked here.
"""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
from collections.abc import Callable, Iterable

import aioice.ice
import aiortc
from aiortc import (
    RTCDtlsTransport,
    RTCIceGatherer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
)

SUPPORTED = ((1, 9), (1, 17))  # [low, high): keep in step with pyproject.toml

_QUEUE = "_RTCRtpReceiver__decoder_queue"
_THREAD = "_RTCRtpReceiver__decoder_thread"

# (codec mime type, encoded frame bytes, timestamp in the codec's clock, from 0)
FrameHandler = Callable[[str, bytes, int], None]


class IncompatibleAiortc(RuntimeError):
    """The installed aiortc no longer has what encoded forwarding relies on."""


def _version() -> tuple[int, int]:
    major, minor, *_ = aiortc.__version__.split(".")
    return int(major), int(minor)


def check() -> None:
    """Raise IncompatibleAiortc unless every internal used here is as expected."""
    problems = []
    version = _version()
    if not SUPPORTED[0] <= version < SUPPORTED[1]:
        problems.append(f"aiortc {aiortc.__version__} is outside the checked range "
                        f"{SUPPORTED[0]}..{SUPPORTED[1]}")
    init = inspect.getsource(RTCRtpReceiver.__init__)
    if "self.__decoder_queue" not in init or "queue.Queue()" not in init:
        problems.append("RTCRtpReceiver no longer feeds its decoder through a queue.Queue")
    receive = inspect.getsource(RTCRtpReceiver.receive)
    if "self.__decoder_queue" not in receive:
        problems.append("RTCRtpReceiver.receive() no longer hands the queue to its decoder")
    handle = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    if "self.__decoder_queue.put((codec, encoded_frame))" not in handle:
        problems.append("RTCRtpReceiver no longer queues (codec, encoded_frame) pairs")
    if not inspect.iscoroutinefunction(getattr(RTCRtpReceiver, "_send_rtcp_pli", None)):
        problems.append("RTCRtpReceiver._send_rtcp_pli(ssrc) is gone")
    rtcp = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    if "self._send_keyframe()" not in rtcp:
        problems.append("RTCRtpSender no longer answers PLI/FIR with self._send_keyframe()")
    nxt = inspect.getsource(RTCRtpSender._next_encoded_frame)
    if ".pack(data)" not in nxt:
        problems.append("RTCRtpSender no longer packs encoded packets without encoding them")
    if not callable(getattr(aioice.ice, "get_host_addresses", None)):
        problems.append("aioice.ice.get_host_addresses is gone")
    create_answer = inspect.getsource(RTCPeerConnection.createAnswer)
    if "media.dtls.role = dtlsTransport._role" not in create_answer:
        problems.append("RTCPeerConnection.createAnswer() no longer states the DTLS transport's "
                        "own role")
    if not callable(getattr(RTCDtlsTransport, "_set_role", None)):
        problems.append("RTCDtlsTransport._set_role(role) is gone")
    if "self._connection = Connection(" not in inspect.getsource(RTCIceGatherer.__init__):
        problems.append("RTCIceGatherer no longer keeps its aioice Connection as _connection")
    received = inspect.getsource(aioice.ice.StunProtocol.datagram_received)
    if "self.receiver.request_received(message, addr, self)" not in received:
        problems.append("aioice no longer hands STUN requests to Connection.request_received")
    if "self.receiver.data_received(data, self.local_candidate.component)" not in received:
        problems.append("aioice no longer hands other packets to Connection.data_received")
    if problems:
        raise IncompatibleAiortc("encoded forwarding cannot work with this aiortc: "
                                 + "; ".join(problems))


class _Tap:
    """Stands in for a receiver's decoder queue.

    The receiver calls put((codec, frame)) on the event loop for every reassembled frame, and
    put(None) when it stops; its decoder thread calls get() and ends the track on None.
    """

    def __init__(self, on_frame: FrameHandler) -> None:
        self._on_frame = on_frame
        self._ended = threading.Event()

    def put(self, item) -> None:
        if item is None:
            self._ended.set()
            return
        codec, frame = item
        self._on_frame(codec.mimeType, frame.data, frame.timestamp)

    def get(self):
        self._ended.wait()
        return None


def tap_receiver(receiver: RTCRtpReceiver, on_frame: FrameHandler) -> None:
    """Deliver the receiver's encoded frames to `on_frame` (on the loop) instead of decoding.

    Must be called before the connection starts receiving (before ICE completes)."""
    if getattr(receiver, _THREAD, None) is not None:
        raise IncompatibleAiortc("the receiver is already decoding; tap it before it starts")
    if not isinstance(getattr(receiver, _QUEUE, None), queue.Queue):
        raise IncompatibleAiortc("RTCRtpReceiver has no decoder queue to tap")
    setattr(receiver, _QUEUE, _Tap(on_frame))


def request_keyframe(receiver: RTCRtpReceiver) -> None:
    """Ask the publisher for a keyframe (RTCP PLI on every stream the receiver hears)."""
    for source in receiver.getSynchronizationSources():
        asyncio.ensure_future(receiver._send_rtcp_pli(source.source))


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call `callback` when the viewer behind this sender asks for a keyframe (PLI or FIR)."""
    sender._send_keyframe = callback  # type: ignore[method-assign]


_original_host_addresses = aioice.ice.get_host_addresses


def restrict_host_addresses(addresses: Iterable[str]) -> None:
    """Offer host candidates on these addresses only (process-wide); empty: aioice's default,
    every interface's addresses but loopback."""
    chosen = list(addresses)
    if not chosen:
        aioice.ice.get_host_addresses = _original_host_addresses
        return

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = host_addresses


def answer_as_dtls_server(pc: RTCPeerConnection) -> None:
    """Make the coming answer say `a=setup:passive`: call it after an actpass offer was
    applied and before the answer is created."""
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        if dtls is not None and dtls._role == "auto":
            dtls._set_role("server")


def host_addresses() -> list[str]:
    """The addresses host candidates are gathered on (after restrict_host_addresses)."""
    return list(aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True))


def _agents(pc: RTCPeerConnection) -> list:
    """The connection's aioice agents (one when bundled). Call it once its transports are
    final (after the local description is set: bundling replaces transports)."""
    agents = {id(t.receiver.transport.transport.iceGatherer._connection):
              t.receiver.transport.transport.iceGatherer._connection
              for t in pc.getTransceivers() if t.receiver.transport is not None}
    return list(agents.values())


def on_peer_check(pc: RTCPeerConnection, callback: Callable[[], None]) -> None:
    """Call `callback` whenever a STUN request (a connectivity check, or a consent check)
    reaches the connection."""
    for agent in _agents(pc):
        original = agent.request_received

        def request_received(message, addr, protocol, _original=original) -> None:
            callback()
            _original(message, addr, protocol)

        agent.request_received = request_received


def on_peer_data(pc: RTCPeerConnection, callback: Callable[[], None]) -> None:
    """Call `callback` whenever any other packet (DTLS, RTP, RTCP) reaches the connection: for
    players, which send little, not for publishers (a call per media packet)."""
    for agent in _agents(pc):
        original = agent.data_received

        def data_received(data: bytes, component: int, _original=original) -> None:
            callback()
            _original(data, component)

        agent.data_received = data_received
