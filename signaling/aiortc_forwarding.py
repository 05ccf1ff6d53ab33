"""Everything that reaches inside aiortc (and aioice, pylibsrtp, asyncio's datagram transport):
the rest of signaling/ uses public API only.

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
- `packetizer`, `Wire`: the lean forward path. A sender packetizes, builds an RtpPacket,
  serializes it and awaits three coroutines per packet for every viewer; for forwarded tracks
  the relay packetizes a frame once (aiortc's own H.264/VP8 packetizers) and a Wire takes over
  the viewer's sender: it stands in for its RTP loop (`_run_rtp`), its NACK answer
  (`_retransmit`) and its RTCP loop (`_run_rtcp`), writes rtp_fanout.py's headers and the
  shared payloads through the connection's SRTP session and the ICE pair's socket directly,
  sends the sender reports itself and keeps the counters aiortc's statistics and round-trip
  times read. aiortc keeps ICE, DTLS, SRTP keys and every incoming RTCP (PLI, NACK, REMB,
  reports).
- `SrtpWriter`: under a Wire, a packet's header and payload go into the SRTP session's own
  buffer (pylibsrtp's context and buffer), are protected there and sent from there on the
  socket under asyncio's transport, when the transport holds nothing back.

`check()` verifies each of these against the installed aiortc and raises IncompatibleAiortc
with what changed; tests/signaling/test_aiortc_forwarding.py runs it and the real paths, so an
aiortc upgrade that breaks one of them fails loudly instead of silently decoding or dropping
video.
pyproject.toml pins aiortc to the versions checked here.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import aioice.ice
import aiortc
import pylibsrtp
from aiortc import (
    RTCDtlsTransport,
    RTCIceGatherer,
    RTCIceTransport,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
)
from aiortc import clock as aiortc_clock
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from pylibsrtp._binding import ffi as srtp_ffi
from pylibsrtp._binding import lib as srtp_lib

from .rtp_fanout import (
    ExtensionLayout,
    RtpStream,
    goodbye,
    sender_report,
    shared_layout,
)

SUPPORTED = ((1, 9), (1, 17))  # [low, high): keep in step with pyproject.toml
# asyncio's datagram transport on the selector loop (the one aiortc's sockets get here)
_SELECTOR_DATAGRAM_TRANSPORT = getattr(asyncio.selector_events, "_SelectorDatagramTransport")

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
    problems += _lean_problems()
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


# --- the lean forward path ----------------------------------------------------------------------
# (encoded frame, index of the frame in its source) -> RTP payloads; the index is VP8's picture id
Packetizer = Callable[[bytes, int], list[bytes]]

MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
WRITE_BUFFER_LIMIT = 256 * 1024  # bytes the socket could not take yet: the viewer is behind
RELAYED_LIMIT = 256  # datagrams waiting for a TURN client: the viewer is behind
_SENDER = "_RTCRtpSender__"
_NTP_TIMESTAMP, _RTP_TIMESTAMP, _PACKET_COUNT, _OCTET_COUNT, _LSR, _LSR_TIME = (
    _SENDER + name for name in ("ntp_timestamp", "rtp_timestamp", "packet_count", "octet_count",
                                "lsr", "lsr_time"))
_DTLS_CONNECTED = DtlsState.CONNECTED
_NTP_SECOND = 1 << 32


def packetizer(mime: str) -> Packetizer:
    """Split a frame into RTP payloads exactly as aiortc's sender would (its packetizers)."""
    name = mime.lower()
    if name == "video/h264":
        return lambda data, index: H264Encoder._packetize(H264Encoder._split_bitstream(data))
    if name == "video/vp8":
        return lambda data, index: Vp8Encoder._packetize(data, index & 0x7FFF)
    return lambda data, index: [data]  # Opus: one frame, one packet


def _lean_problems() -> list[str]:
    problems = []
    try:
        h264 = packetizer("video/H264")(b"\x00\x00\x00\x01\x65" + b"\x00" * 3000, 0)
        vp8 = packetizer("video/VP8")(b"\x10" + b"\x00" * 3000, 300)
        if len(h264) < 2 or h264[0][0] & 0x1F != 28:  # FU-A fragments
            problems.append("aiortc's H.264 packetizer no longer splits a frame into FU-A")
        if len(vp8) < 2 or vp8[0][:4] != bytes([0x90, 0x80, 0x81, 0x2C]):
            problems.append("aiortc's VP8 packetizer no longer writes a long picture id")
    except Exception as exc:
        problems.append(f"aiortc's H.264/VP8 packetizers changed: {exc!r}")
    if abs(ntp_now() - aiortc_clock.current_ntp_time()) > 1 << 32:
        problems.append("aiortc's clock no longer gives NTP time as 32.32 fixed point")
    send = inspect.getsource(RTCRtpSender.send)
    if "self._run_rtp(parameters.codecs[0])" not in send:
        problems.append("RTCRtpSender.send() no longer starts self._run_rtp(codec)")
    if "await self._retransmit(seq)" not in inspect.getsource(RTCRtpSender._handle_rtcp_packet):
        problems.append("RTCRtpSender no longer answers NACKs with self._retransmit(seq)")
    stop = inspect.getsource(RTCRtpSender.stop)
    if "self.__rtp_started.wait()" not in stop or "self.__rtp_exited.wait()" not in stop:
        problems.append("RTCRtpSender.stop() no longer waits for __rtp_started/__rtp_exited")
    if "asyncio.ensure_future(self._run_rtcp())" not in send:
        problems.append("RTCRtpSender.send() no longer starts self._run_rtcp()")
    if "self.__rtcp_started.wait()" not in stop or "self.__rtcp_exited.wait()" not in stop:
        problems.append("RTCRtpSender.stop() no longer waits for __rtcp_started/__rtcp_exited")
    stats = inspect.getsource(RTCRtpSender.getStats)
    if "self.__packet_count" not in stats or "self.__octet_count" not in stats:
        problems.append("RTCRtpSender.getStats() no longer reads __packet_count/__octet_count")
    handle = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    if "self.__lsr == report.lsr" not in handle or "self.__lsr_time" not in handle:
        problems.append("RTCRtpSender no longer times round trips from __lsr and __lsr_time")
    rtp = inspect.getsource(RTCDtlsTransport._send_rtp)
    if "self._tx_srtp.protect(data)" not in rtp or "self.transport._send(data)" not in rtp:
        problems.append("RTCDtlsTransport._send_rtp no longer protects with _tx_srtp and "
                        "writes to its ICE transport")
    if "self._connection = gatherer._connection" not in inspect.getsource(
            RTCIceTransport.__init__):
        problems.append("RTCIceTransport no longer shares its gatherer's aioice Connection")
    sendto = inspect.getsource(aioice.ice.Connection.sendto)
    if ("self._nominated.get(component)" not in sendto
            or "active_pair.protocol.send_data(data, active_pair.remote_addr)" not in sendto):
        problems.append("aioice's Connection.sendto no longer writes to its nominated pair")
    if "self.transport.sendto(data, addr)" not in inspect.getsource(
            aioice.ice.StunProtocol.send_data):
        problems.append("aioice's StunProtocol.send_data no longer writes to its transport")
    problems += _writer_problems()
    state = inspect.getsource(getattr(RTCDtlsTransport, "state").fget)
    if "str(self._state)" not in state:
        problems.append("RTCDtlsTransport.state no longer reads self._state (a State)")
    return problems


def _writer_problems() -> list[str]:
    """What SrtpWriter takes from pylibsrtp's Session and asyncio's datagram transport."""
    problems = []
    session = pylibsrtp.Session()
    if not (isinstance(getattr(session, "_srtp", None), srtp_ffi.CData)
            and isinstance(getattr(session, "_cdata", None), srtp_ffi.CData)):
        problems.append("pylibsrtp's Session no longer keeps its context (_srtp) and buffer "
                        "(_cdata)")
    if "lib.srtp_protect, SRTP_MAX_TRAILER_LEN" not in inspect.getsource(pylibsrtp.Session):
        problems.append("pylibsrtp's Session.protect() no longer calls srtp_protect in its "
                        "buffer")
    sendto = inspect.getsource(_SELECTOR_DATAGRAM_TRANSPORT.sendto)
    if "if not self._buffer:" not in sendto or "self._sock.sendto(data, addr)" not in sendto:
        problems.append("asyncio's datagram transport no longer writes to self._sock when "
                        "nothing waits in self._buffer")
    return problems


class Packetized(Protocol):
    """What a Wire needs of a frame (relay.Frame): its RTP payloads, made once for all its
    viewers, and for VP8 its source and its count there (the picture id)."""

    @property
    def origin(self) -> object: ...

    @property
    def index(self) -> int: ...

    def payloads(self) -> list[bytes]: ...


class Wire:
    """One viewer's sender, taken over for forwarded frames.

    `take_over` replaces the sender's RTP loop with `run` and its RTCP loop with `run_reports`
    (both started by aiortc's own send(), stopped by its stop()) and its NACK answer with
    `retransmit`; `on_start(wire)` is called once the connection is up and the negotiated
    parameters known, `on_stop()` when the sender stops. `send(frame, ts, ntp)` then
    writes one frame: headers per viewer (rtp_fanout), SRTP, and the ICE pair's socket, without
    a coroutine per packet; it answers False when the socket holds too much unsent (the viewer
    is behind) or the connection is gone. The sender's own statistics (getStats) are brought
    up to date with each sender report, not with each frame.
    """

    def __init__(self, sender: RTCRtpSender, on_start: Callable[[Wire], None],
                 on_stop: Callable[[], None], *, vp8: bool = False) -> None:
        self.sender = sender
        self.vp8 = vp8
        self.stream: RtpStream | None = None
        self._on_start, self._on_stop = on_start, on_stop
        self._extensions = ExtensionLayout((), None)
        self._dtls = sender.transport  # final once run() starts (bundling may replace it)
        self.dropped_writes = 0  # packets a filter (tests) or a full socket did not take
        self._nominated: dict = {}  # the ICE connection's nominated pairs (by component)
        self._pair = None  # the pair the cached route below is for
        # (SRTP session, its SrtpWriter or None when relayed, ICE protocol, address)
        self._route: tuple = (None, None, None, None)
        self._relayed: deque[bytes] = deque()  # for a TURN client, waiting to be sent
        self._relaying: asyncio.Future | None = None
        self.write_filter: Callable[[bytes], bool] | None = None  # tests: lose a packet
        self._cname: str | None = None  # the connection's, in its sender reports
        self._report_due = 0  # when the next sender report is (NTP): with the first frame

    @classmethod
    def take_over(cls, sender: RTCRtpSender, on_start: Callable[[Wire], None],
                  on_stop: Callable[[], None], *, vp8: bool = False) -> Wire:
        wire = cls(sender, on_start, on_stop, vp8=vp8)
        original_send = sender.send

        async def send(parameters: RTCRtpSendParameters) -> None:
            wire._configure(parameters)
            await original_send(parameters)

        sender.send = send  # type: ignore[method-assign]
        sender._run_rtp = wire.run  # type: ignore[method-assign]
        sender._retransmit = wire.retransmit  # type: ignore[method-assign]
        sender._run_rtcp = wire.run_reports  # type: ignore[method-assign]
        return wire

    def _configure(self, parameters: RTCRtpSendParameters) -> None:
        codec = parameters.codecs[0]
        assert codec.payloadType is not None  # negotiated before the sender starts
        rtx = next((c.payloadType for c in parameters.codecs
                    if c.mimeType.lower().endswith("/rtx")
                    and c.parameters.get("apt") == codec.payloadType), None)
        self.stream = RtpStream(self.sender._ssrc, codec.payloadType, vp8=self.vp8,
                                rtx=None if rtx is None else (rtx, self.sender._rtx_ssrc))
        self._cname = parameters.rtcp.cname
        ids = {x.uri: x.id for x in parameters.headerExtensions}
        mid = (parameters.muxId or "").encode()
        self._extensions = shared_layout(
            ((ids[MID], mid),) if MID in ids and mid else (), ids.get(ABS_SEND_TIME))

    def _extension(self, ntp: int) -> bytes:
        # abs-send-time: 6.18 fixed point seconds, as aiortc stamps it (NTP time >> 14)
        return self._extensions.block(ntp >> 14)

    async def run(self, codec) -> None:
        getattr(self.sender, _SENDER + "rtp_started").set()
        try:
            # Final by now: bundling replaced transports before the sender was started.
            self._dtls = self.sender.transport
            self._nominated = self._dtls.transport._connection._nominated
            if self.stream is not None:
                self._on_start(self)
            await asyncio.get_running_loop().create_future()  # until stop() cancels it
        except asyncio.CancelledError:
            pass
        finally:
            self._on_stop()
            getattr(self.sender, _SENDER + "rtp_exited").set()

    def send(self, frame: Packetized, ts: int, ntp: int | None = None) -> bool:
        """Write a frame (its RTP payloads, made once for all viewers) under timestamp `ts`;
        `ntp` is when it is sent (NTP 32.32), the same for all its viewers."""
        stream = self.stream
        if stream is None:
            return False
        if ntp is None:
            ntp = ntp_now()
        picture = (frame.origin, frame.index & 0x7FFF) if self.vp8 else None
        ok = self._write(*stream.headers(frame.payloads(), ts, self._extension(ntp), picture))
        if ntp >= self._report_due and ok:
            # Right behind a frame: the viewer is being woken for it anyway, where a report
            # of its own would wake it once more (dear on a virtual machine).
            self._report_due = ntp + int((0.5 + random.random()) * _NTP_SECOND)
            self._report(stream, ntp)
        return ok

    async def retransmit(self, sequence_number: int) -> None:
        if self.stream is not None:
            packet = self.stream.retransmission(sequence_number, self._extension(ntp_now()))
            if packet is not None:
                self._write([packet], [b""])  # a whole packet: all header, nothing to add

    def _routed(self) -> tuple | None:
        """(SRTP session, its SrtpWriter or None when relayed, ICE protocol, address), or None
        before the connection is up or after it is gone."""
        dtls = self._dtls
        srtp = dtls._tx_srtp
        pair = self._nominated.get(1)
        if srtp is None or pair is None or dtls._state is not _DTLS_CONNECTED:
            return None
        if pair is not self._pair or srtp is not self._route[0]:
            protocol = pair.protocol
            transport = protocol.transport if type(protocol) is aioice.ice.StunProtocol else None
            writer = None if transport is None else SrtpWriter(srtp, transport, pair.remote_addr)
            self._pair, self._route = pair, (srtp, writer, protocol, pair.remote_addr)
        return self._route

    def _write(self, headers: list[bytes], payloads: Sequence[bytes]) -> bool:
        """Protect and send packets given as headers and payloads; False when nothing could
        be written (no connection yet, or the viewer is behind)."""
        route = self._routed()
        if route is None:
            return False
        srtp, writer, protocol, addr = route
        if self.write_filter is not None:
            kept = [(h, p) for h, p in zip(headers, payloads) if self.write_filter(h + p)]
            self.dropped_writes += len(headers) - len(kept)
            headers, payloads = [h for h, _p in kept], tuple(p for _h, p in kept)
        if writer is not None:
            if writer.backlog() > WRITE_BUFFER_LIMIT:
                self.dropped_writes += len(headers)
                return False
            return writer.write(headers, payloads)
        if len(self._relayed) > RELAYED_LIMIT:
            self.dropped_writes += len(headers)
            return False
        self._relay([srtp.protect(h + p) for h, p in zip(headers, payloads)], protocol, addr)
        return True

    # --- RTCP ---------------------------------------------------------------------------------
    async def run_reports(self) -> None:
        """Stands in for the sender's RTCP loop (`_run_rtcp`), which sends a sender report with
        its CNAME every 0.5-1.5 s on a timer of its own, building packet objects and awaiting
        four coroutines per report. Here `send` writes the report behind a frame, as often;
        this only keeps aiortc's start and stop in step and says goodbye (a BYE) at the end.
        Reports only go out while frames do: a sender that sends nothing has nothing to
        report (RFC 3550 6.4)."""
        getattr(self.sender, _SENDER + "rtcp_started").set()
        try:
            await asyncio.get_running_loop().create_future()  # until stop() cancels it
        except asyncio.CancelledError:
            pass
        finally:
            if self.stream is not None:
                self._send_rtcp(goodbye(self.stream.ssrc))
            getattr(self.sender, _SENDER + "rtcp_exited").set()

    def _report(self, stream: RtpStream, ntp: int) -> None:
        """A sender report for the frame just sent (`ntp` and its RTP timestamp: one instant)."""
        sender = self.sender
        # What aiortc's sender reads for its statistics and for round trips from RRs.
        setattr(sender, _NTP_TIMESTAMP, ntp)
        setattr(sender, _RTP_TIMESTAMP, stream.last_timestamp)
        setattr(sender, _PACKET_COUNT, stream.packets_sent)
        setattr(sender, _OCTET_COUNT, stream.octets_sent)
        setattr(sender, _LSR, (ntp >> 16) & 0xFFFFFFFF)
        setattr(sender, _LSR_TIME, time.time())
        self._send_rtcp(sender_report(stream.ssrc, ntp, stream.last_timestamp,
                                      stream.packets_sent, stream.octets_sent, self._cname))

    def _send_rtcp(self, packet: bytes) -> None:
        route = self._routed()
        if route is None:
            return
        srtp, writer, protocol, addr = route
        protected = srtp.protect_rtcp(packet)
        if writer is not None:
            writer.send(protected)
        else:
            self._relay([protected], protocol, addr)

    def _relay(self, datagrams: list[bytes], protocol, addr) -> None:
        # Relayed through TURN: the TURN client frames each datagram itself, a coroutine that
        # may wait (TCP); one task sends them in order from a bounded queue.
        self._relayed.extend(datagrams)
        if self._relaying is None or self._relaying.done():
            self._relaying = asyncio.ensure_future(self._send_relayed(protocol, addr))

    async def _send_relayed(self, protocol, addr) -> None:
        with contextlib.suppress(Exception):  # the connection is closing: nothing to do
            while self._relayed:
                await protocol.send_data(self._relayed.popleft(), addr)


class SrtpWriter:
    """A viewer's packets, as headers and payloads, SRTP-protected and sent on its ICE socket.

    pylibsrtp's protect() takes a whole packet (a header and payload joined first), copies it
    into the session's buffer, protects it there, and copies it out again, allocating on every
    call; asyncio's sendto() then checks the transport before it calls the socket's. Per packet
    and viewer, that Python was most of what the forward path spent outside libsrtp and the
    kernel. Here each header and payload are copied once, into the session's own buffer;
    libsrtp protects them in place and the socket sends them from there. When asyncio already
    holds datagrams of that socket (it refused some), they go through the transport instead,
    so that they leave in order.

    The session is aiortc's (its keys come from the DTLS handshake). Its buffer is only used
    within a call, and every call runs on the event loop, so no other use of it (RTCP through
    pylibsrtp's own protect_rtcp, say) ever meets ours.
    """

    def __init__(self, session: pylibsrtp.Session, transport: asyncio.DatagramTransport,
                 addr: tuple) -> None:
        self._session = session  # keeps the context and the buffer below alive
        self._context = session._srtp[0]
        self._buffer = session._cdata
        self._bytes = srtp_ffi.buffer(session._cdata)
        self._view = memoryview(self._bytes)
        self._room = len(self._bytes) - pylibsrtp.SRTP_MAX_TRAILER_LEN
        self._length = srtp_ffi.new("int *")
        self._transport = transport
        # Straight to the socket only where asyncio's own sendto would do the same.
        direct = type(transport) is _SELECTOR_DATAGRAM_TRANSPORT
        self._socket = transport._sock if direct else None  # type: ignore[attr-defined]
        self._addr = addr

    def send(self, datagram: bytes) -> None:
        """A datagram protected elsewhere (RTCP), after everything written before it."""
        if not self._transport.is_closing():
            self._transport.sendto(datagram, self._addr)

    def backlog(self) -> int:
        """Bytes the socket refused that asyncio holds: the viewer is behind."""
        # typeshed's DatagramTransport lacks the method, which asyncio's transports all have
        return self._transport.get_write_buffer_size()  # type: ignore[attr-defined]

    def write(self, headers: list[bytes], payloads: Sequence[bytes]) -> bool:
        """False when the socket is closed (the connection is going): nothing was sent."""
        transport, sock, addr = self._transport, self._socket, self._addr
        if transport.is_closing():
            return False
        data, view, length, room = self._bytes, self._view, self._length, self._room
        protect, context, buffer = srtp_lib.srtp_protect, self._context, self._buffer
        for header, payload in zip(headers, payloads):
            start = len(header)
            end = start + len(payload)
            if end > room:
                raise ValueError(f"an RTP packet of {end} bytes is too long to protect")
            data[0:start] = header
            data[start:end] = payload
            length[0] = end
            status = protect(context, buffer, length)
            if status:
                raise pylibsrtp.Error(f"srtp_protect failed with status {status}")
            packet = view[:length[0]]
            if sock is None or transport._buffer:  # type: ignore[attr-defined]
                transport.sendto(bytes(packet), addr)
                continue
            try:
                sock.sendto(packet, addr)
            except OSError:
                # Refused (full) or failed: asyncio's sendto keeps it or reports it, as ever.
                transport.sendto(bytes(packet), addr)
        return True


_NTP_EPOCH = 2208988800  # seconds from 1900 (NTP) to 1970 (Unix)


def ntp_now() -> int:
    """NTP time as 32.32 fixed point, as aiortc.clock.current_ntp_time() gives it, without a
    datetime per call."""
    return int((time.time() + _NTP_EPOCH) * 4294967296.0)
