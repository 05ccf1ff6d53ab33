"""Peer sessions: one RTCPeerConnection each, a publisher's (its tracks become Sources) or a
viewer's (ForwardTracks reading a publisher's Sources). The registry owns and closes them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from aiortc import RTCIceCandidate, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.sdp import candidate_from_sdp

from liveroom.domain.errors import LiveroomError

from . import aiortc_forwarding as forwarding
from . import h264
from .relay import Codec, ForwardTrack, Source
from .sdp import Negotiation, Offer, plays, preferences
from .trickle import TrickleBudget

log = logging.getLogger(__name__)


def new_session_id(instance: str) -> str:
    """Session ids name the instance holding the session, so any instance can route to it."""
    return f"{instance}-{secrets.token_hex(10)}"


def instance_of(session_id: str) -> str:
    return session_id.rsplit("-", 1)[0]


class Session:
    """What publishers and viewers have in common: a peer connection and who owns it."""

    role = "session"

    def __init__(self, session_id: str, room: str, slot: str, owner: dict[str, Any],
                 transport: str) -> None:
        self.id = session_id
        self.room = room
        self.slot = slot
        self.owner = owner  # {user_id, name, role, guest}
        self.transport = transport  # channel | whip | whep | demo
        self.pc: RTCPeerConnection | None = None
        self.created = time.monotonic()
        self.checked_at: float | None = None  # the peer's first ICE check reached us
        self.heard_at: float | None = None  # the last thing it sent that we noticed
        self.connected_at: float | None = None
        self.closed = False
        self.close_reason: str | None = None
        self.on_state: Callable[[Session], None] | None = None  # set by the registry
        self.local_ufrag = ""
        self.remote_ufrag = ""
        self.remote_pwd = ""
        self.budget = TrickleBudget()

    @property
    def etag(self) -> str:
        return f'"{self.id}.{self.local_ufrag}"'

    def _watch(self, pc: RTCPeerConnection) -> None:
        @pc.on("connectionstatechange")
        def changed() -> None:
            state = pc.connectionState
            if state == "connected" and self.connected_at is None:
                self.connected_at = time.monotonic()
                self.on_connected()
            if self.on_state is not None:
                self.on_state(self)

    def on_connected(self) -> None:
        """The peer connection is up (ICE and DTLS)."""

    def _heard(self) -> None:
        self.heard_at = time.monotonic()
        if self.checked_at is None:
            self.checked_at = self.heard_at

    async def _answer(self, pc: RTCPeerConnection, offer: Offer,
                      h264_choice: h264.Choice | None) -> str:
        """Apply the offer and answer it; H.264 goes through its carrier (h264.py)."""
        self.pc = pc
        self.remote_ufrag, self.remote_pwd = offer.ufrag, offer.pwd
        self.budget = TrickleBudget(offer.candidates)
        self._watch(pc)
        try:
            text = offer.text if h264_choice is None else h264.carrier_offer(offer.text,
                                                                             h264_choice)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=text, type="offer"))
            if offer.dtls_role == "auto":  # actpass: be the DTLS server, whatever the peer's key
                forwarding.answer_as_dtls_server(pc)
            await pc.setLocalDescription(await pc.createAnswer())
        except LiveroomError:
            raise
        except Exception as exc:  # aiortc's OperationError, ValueError, InvalidStateError
            raise LiveroomError("invalid_sdp", f"the offer was refused: {exc}") from None
        forwarding.on_peer_check(pc, self._heard)
        answer = pc.localDescription.sdp
        if h264_choice is not None:
            answer = h264.real_answer(answer, h264_choice)
        for line in answer.splitlines():
            if line.startswith("a=ice-ufrag:"):
                self.local_ufrag = line.split(":", 1)[1].strip()
                break
        return answer

    async def add_candidates(self, candidates: list[dict[str, Any] | None],
                             allows: Callable[[str], bool]) -> None:
        """Trickled remote candidates: {candidate, sdpMid, sdpMLineIndex}; None ends them.
        Those whose address `allows` refuses are dropped (peer_addresses.py); the caller has
        spent the session's budget for them (trickle.py)."""
        if self.pc is None:
            return
        for item in candidates:
            if item is None:
                await self.pc.addIceCandidate(None)
                continue
            line = item.get("candidate") or ""
            if line.startswith("candidate:"):
                line = line[len("candidate:"):]
            if not line.strip():
                await self.pc.addIceCandidate(None)  # an empty candidate ends them too
                continue
            try:
                candidate: RTCIceCandidate = candidate_from_sdp(line)
            except Exception:
                raise LiveroomError("invalid_field", "candidate: not an ICE candidate",
                                    field="candidate") from None
            if not allows(candidate.ip):
                continue  # an address the server does not check, or an mDNS name (sdp.py)
            candidate.sdpMid = item.get("sdpMid")
            candidate.sdpMLineIndex = item.get("sdpMLineIndex")
            if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
                candidate.sdpMLineIndex = 0
            await self.pc.addIceCandidate(candidate)

    async def close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        self.stop_media()
        if self.pc is not None:
            # Shielded: aiortc may be closing it already (the peer closed DTLS), and a
            # cancelled waiter would cancel the future that close() completes.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self.pc.close()), 5)

    def stop_media(self) -> None:
        """Detach from the relay (synchronously, before the connection closes)."""

    def describe(self) -> dict[str, Any]:
        return {"session": self.id, "room": self.room, "slot": self.slot, "role": self.role,
                "transport": self.transport}


class Broadcast(Session):
    """A session viewers read from: a publisher, or the demo host. Its Sources (by kind) carry
    its media in `codecs`; `live` once its first frame was announced."""

    role = "publish"
    codecs: dict[str, Codec]
    sources: dict[str, Source]
    live = False
    transcode = False


class Publisher(Broadcast):
    """A host sending media: each of its tracks is tapped into a Source."""

    def __init__(self, *args: Any, codecs: dict[str, Codec], transcode: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.codecs = codecs
        self.sources = {}
        self.on_first_frame: Callable[[Publisher], None] | None = None
        self._first = False
        self.transcode = transcode
        self.relay: MediaRelay | None = None
        self.decoded: dict[str, Any] = {}
        self._drains: list[asyncio.Task] = []

    def _frame_arrived(self) -> None:
        if not self._first:
            self._first = True
            if self.on_first_frame is not None:
                self.on_first_frame(self)

    def last_frame_at(self) -> float | None:
        times = [s.last_frame_at for s in self.sources.values() if s.last_frame_at is not None]
        return max(times) if times else None

    async def answer(self, offer: Offer, configuration,
                     h264_choice: h264.Choice | None = None) -> str:
        pc = RTCPeerConnection(configuration)
        for kind, codec in self.codecs.items():
            transceiver = pc.addTransceiver(kind, direction="recvonly")
            transceiver.setCodecPreferences(preferences(kind, codec, receiving=True))
            receiver = transceiver.receiver
            source = Source(codec, request_keyframe=functools.partial(
                forwarding.request_keyframe, receiver))
            source.on_first_frame = self._frame_arrived
            self.sources[kind] = source
            if not self.transcode:
                forwarding.tap_receiver(receiver, self._on_frame)
        if self.transcode:
            self.relay = MediaRelay()
            pc.on("track", self._on_decoded_track)
        return await self._answer(pc, offer, h264_choice)

    def _on_frame(self, mime: str, data: bytes, timestamp: int) -> None:
        source = self.sources.get(mime.split("/")[0])
        if source is not None:
            source.push(data, timestamp)

    # --- transcoding, for the benchmark's comparison only -------------------------------------
    def _on_decoded_track(self, track) -> None:
        self.decoded[track.kind] = track
        # Read every decoded frame (nobody else may, and an unread track grows without bound).
        self._drains.append(asyncio.ensure_future(self._drain(track)))

    async def _drain(self, track) -> None:
        source = self.sources[track.kind]
        assert self.relay is not None  # made before the track event that starts this
        reader = self.relay.subscribe(track, buffered=False)
        with contextlib.suppress(Exception):
            while True:
                await reader.recv()
                source.frames_in += 1
                source.last_frame_at = time.monotonic()
                if source.frames_in == 1:
                    self._frame_arrived()

    def stop_media(self) -> None:
        for source in self.sources.values():
            source.end()
        for task in self._drains:
            task.cancel()


class Viewer(Session):
    """A viewer receiving a publisher slot's media through ForwardTracks."""

    role = "play"
    # How forwarded frames are sent (LIVEROOM_MEDIA_FORWARD, set at start-up for the process):
    # "lean", packets shared by all viewers and written by a Wire; "aiortc", its own sender.
    forward = "lean"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tracks: dict[str, ForwardTrack] = {}
        self.wires: dict[str, forwarding.Wire] = {}
        self.on_ready: Callable[[Viewer], None] | None = None  # connected: attach to sources
        self.counted = False  # in the room's presence (the viewer count)

    async def answer(self, offer: Offer, negotiation: Negotiation, configuration,
                     publisher: Publisher | None = None) -> str:
        pc = RTCPeerConnection(configuration)
        for kind, codec in negotiation.codecs.items():
            if publisher is not None and publisher.relay is not None:  # transcoding
                track = publisher.relay.subscribe(publisher.decoded[kind], buffered=False)
                transceiver = pc.addTransceiver(track, direction="sendonly")
            else:
                track = ForwardTrack(codec)
                self.tracks[kind] = track
                transceiver = pc.addTransceiver(track, direction="sendonly")
                forwarding.on_keyframe_request(transceiver.sender, self._keyframe_request(track))
                if self.forward == "lean":
                    self.wires[kind] = forwarding.Wire.take_over(
                        transceiver.sender, functools.partial(_bind, track), track.stop,
                        vp8=codec.mime.lower() == "video/vp8")
            transceiver.setCodecPreferences(preferences(kind, codec, receiving=False))
        answer = await self._answer(pc, offer, negotiation.h264)
        forwarding.on_peer_data(pc, self._heard)  # its RTCP reports: still watching
        return answer

    @staticmethod
    def _keyframe_request(track: ForwardTrack) -> Callable[[], None]:
        def request() -> None:
            if track.source is not None:
                track.source.request_keyframe()
        return request

    def on_connected(self) -> None:
        if self.on_ready is not None:
            self.on_ready(self)

    def attach(self, sources: dict[str, Source]) -> bool:
        """Read from these sources (a publisher's); False when this player cannot take one."""
        for kind, track in self.tracks.items():
            source = sources.get(kind)
            if source is not None and not plays(track.codec, source.codec):
                return False
        for kind, track in self.tracks.items():
            source = sources.get(kind)
            if source is not None and track.source is not source:
                if track.source is not None:
                    track.source.detach(track)
                track.rebase()
                source.attach(track)
        return True

    def stop_media(self) -> None:
        for track in self.tracks.values():
            track.stop()

    def stats(self) -> dict[str, Any]:
        return {kind: {"frames": t.frames_out, "dropped": t.dropped, "queued": t.queued()}
                for kind, t in self.tracks.items()}


def _bind(track: ForwardTrack, wire: forwarding.Wire) -> None:
    track.bind(wire.send)
