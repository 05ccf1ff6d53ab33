"""Checking SDP offers before aiortc sees them, so bad input gets a precise error code, and
choosing the one codec per kind that a publisher sends and every viewer then receives.

The relay forwards what the publisher encodes, so a room has one video codec and one audio
codec at a time: the publisher's answer accepts exactly one of each (VP8 first, then H.264 in
any profile with packetization-mode 1, see h264.py; Opus first for audio), and a viewer's
answer offers the publisher's (for H.264: a format whose profile decodes the publisher's).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc import RTCRtpReceiver, RTCRtpSender, sdp
from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters

from liveroom.domain.errors import LiveroomError

from . import h264
from .relay import Codec

MAX_SDP_CHARS = 16 * 1024
KINDS = ("audio", "video")
# Publisher codecs in order of preference, by mime type (and H.264 profile-level-id).
VIDEO_PREFERENCE = ("video/VP8", "video/H264")
AUDIO_PREFERENCE = ("audio/opus", "audio/G722", "audio/PCMU", "audio/PCMA")


@dataclass
class Offer:
    """A checked offer: its text (candidates the server will not check removed), its media
    sections by kind, and how many candidates it came with."""

    text: str
    media: dict[str, sdp.MediaDescription] = field(default_factory=dict)
    ufrag: str = ""
    pwd: str = ""
    candidates: int = 0
    # a=setup as aiortc reads it: "auto" (actpass), "client" (active), "server" (passive)
    dtls_role: str = "auto"

    def sending(self) -> list[str]:
        return [k for k, m in self.media.items()
                if (m.direction or "sendrecv") in ("sendonly", "sendrecv")]

    def receiving(self) -> list[str]:
        return [k for k, m in self.media.items()
                if (m.direction or "sendrecv") in ("recvonly", "sendrecv")]


def _candidate_address(line: str) -> str:
    """The connection address of an a=candidate line (foundation component transport
    priority address port typ ...), or "" when it has none."""
    fields = line.split()
    return fields[4] if len(fields) > 5 else ""


def keep_candidates(text: str, allows: Callable[[str], bool]) -> tuple[str, int]:
    """The SDP without the candidates whose address `allows` refuses, and how many candidate
    lines it had. Names are refused too: browsers hide their addresses behind mDNS names, and
    resolving them would mean multicast queries on the network, while ICE finds the peer
    through its checks (peer-reflexive) anyway."""
    kept, count = [], 0
    for line in text.splitlines():
        if line.startswith("a=candidate:"):
            count += 1
            if not allows(_candidate_address(line)):
                continue
        kept.append(line)
    return "\r\n".join(kept) + "\r\n", count


def _is_ip(host: str) -> bool:
    return bool(host) and not host.lower().endswith(".local")


def parse_offer(text: object, allows: Callable[[str], bool] = _is_ip) -> Offer:
    """Parse and check an SDP offer; LiveroomError invalid_sdp or no_media says what is wrong.
    Its candidates are kept where `allows` their address (peer_addresses.py)."""
    if not isinstance(text, str) or not text.strip():
        raise LiveroomError("invalid_sdp", "the offer must be an SDP text")
    if len(text) > MAX_SDP_CHARS:
        raise LiveroomError("invalid_sdp", f"the offer is over {MAX_SDP_CHARS} characters")
    if not text.lstrip().startswith("v=0"):
        raise LiveroomError("invalid_sdp", "the offer is not SDP: it must start with v=0")
    text, candidates = keep_candidates(text, allows)
    try:
        description = sdp.SessionDescription.parse(text)
    except Exception as exc:  # the parser raises ValueError, AssertionError, IndexError ...
        reason = str(exc) or type(exc).__name__
        raise LiveroomError("invalid_sdp", f"the offer cannot be parsed: {reason}") from None
    offer = Offer(text=text, candidates=candidates)
    for index, media in enumerate(description.media):
        if media.kind not in KINDS:
            continue
        if media.kind in offer.media:
            raise LiveroomError(
                "invalid_sdp", f"media section {index}: at most one {media.kind} section")
        if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
            raise LiveroomError("invalid_sdp", f"media section {index}: no ICE credentials "
                                "(a=ice-ufrag, a=ice-pwd)")
        if not media.dtls or not media.dtls.fingerprints:
            raise LiveroomError("invalid_sdp", f"media section {index}: no DTLS fingerprint")
        if not media.rtcp_mux:
            raise LiveroomError("invalid_sdp", f"media section {index}: RTCP must be "
                                "multiplexed (a=rtcp-mux)")
        offer.media[media.kind] = media
        offer.ufrag, offer.pwd = media.ice.usernameFragment, media.ice.password
        offer.dtls_role = media.dtls.role or "auto"
    if not offer.media:
        raise LiveroomError("no_media", "the offer has no audio or video section")
    return offer


def _compatible(local: RTCRtpCodecCapability, remote: RTCRtpCodecParameters) -> bool:
    """For codecs other than H.264 (h264.py has its own rules)."""
    return (local.mimeType.lower() == remote.mimeType.lower()
            and local.clockRate == remote.clockRate)


def _describe(media: sdp.MediaDescription) -> str:
    names = []
    for codec in media.rtp.codecs:
        name = codec.mimeType.split("/")[1]
        if name.lower() not in ("rtx", "red", "ulpfec", "flexfec-03") and name not in names:
            names.append(name)
    return ", ".join(names) or "no codec"


def h264_codec(profile_level_id: str) -> Codec:
    return Codec("video", "video/H264", 90000, None, {
        "level-asymmetry-allowed": "1", "packetization-mode": "1",
        "profile-level-id": profile_level_id})


@dataclass(frozen=True)
class Negotiation:
    """What one peer's answer is written for: the codec of each kind, as the answer states
    it, and the H.264 format it uses (h264.py), if any."""

    codecs: dict[str, Codec]
    h264: h264.Choice | None = None

    @property
    def kinds(self) -> list[str]:
        return list(self.codecs)


def ingest_codecs(offer: Offer) -> Negotiation:
    """The codec each sending kind of a publisher's offer will be received (and relayed) in."""
    chosen: dict[str, Codec] = {}
    h264_choice = None
    for kind in offer.sending():
        media = offer.media[kind]
        preference = VIDEO_PREFERENCE if kind == "video" else AUDIO_PREFERENCE
        codec = None
        for mime in preference:
            if mime == "video/H264":
                h264_choice = h264.for_publisher(media.rtp.codecs)
                if h264_choice is not None:
                    codec = h264_codec(h264_choice.profile_level_id)
            else:
                match = next((c for c in _capabilities(RTCRtpReceiver, kind)
                              if c.mimeType == mime
                              and any(_compatible(c, r) for r in media.rtp.codecs)), None)
                if match is not None:
                    codec = Codec(kind, match.mimeType, match.clockRate, match.channels,
                                  dict(match.parameters))
            if codec is not None:
                break
        if codec is None:
            wanted = "VP8 or H.264 (packetization-mode 1)" if kind == "video" else "Opus"
            raise LiveroomError(
                "unsupported_codec",
                f"{kind}: none of the offered codecs ({_describe(media)}) can be relayed; "
                f"send {wanted}", kind=kind)
        chosen[kind] = codec
    if not chosen:
        raise LiveroomError("no_media", "the offer sends no audio or video (sendonly or sendrecv)")
    return Negotiation(chosen, h264_choice)


def check_playable(offer: Offer, codecs: dict[str, Codec]) -> Negotiation:
    """The kinds a viewer's offer can receive from the source, and the codecs its answer
    states; unsupported_codec if it cannot receive a codec the publisher sends."""
    chosen: dict[str, Codec] = {}
    h264_choice = None
    for kind in offer.receiving():
        codec = codecs.get(kind)
        if codec is None:
            continue
        media = offer.media[kind]
        if codec.mime.lower() == h264.MIME:
            h264_choice = h264.for_player(media.rtp.codecs, h264.profile_level_id(
                codec.parameters))
            playable = h264_choice is not None
            if h264_choice is not None:
                codec = h264_codec(h264_choice.profile_level_id)
        else:
            playable = any(_compatible(codec.capability(), r) for r in media.rtp.codecs)
        if not playable:
            raise LiveroomError(
                "unsupported_codec",
                f"{kind}: the host sends {_name(codec)}, which this player does not offer "
                f"({_describe(media)}); the server forwards without transcoding", kind=kind)
        chosen[kind] = codec
    if not chosen:
        raise LiveroomError("no_media", "the offer receives no audio or video the host sends "
                            "(recvonly or sendrecv)")
    return Negotiation(chosen, h264_choice)


def _name(codec: Codec) -> str:
    if codec.mime.lower() == h264.MIME:
        return f"H.264 (profile-level-id {h264.profile_level_id(codec.parameters)})"
    return codec.name


def plays(player: Codec, stream: Codec) -> bool:
    """Whether a player that negotiated `player` can be handed `stream` (another publisher's,
    or the demo host's, on the same track)."""
    if player.mime.lower() != stream.mime.lower() or player.clock_rate != stream.clock_rate:
        return False
    if player.mime.lower() == h264.MIME:
        return h264.decodes(h264.profile_level_id(player.parameters),
                            h264.profile_level_id(stream.parameters))
    return player.same_as(stream)


def preferences(kind: str, codec: Codec, *, receiving: bool) -> list[RTCRtpCodecCapability]:
    """Codec preferences for a transceiver: exactly `codec` (H.264: its carrier, h264.py), and
    retransmissions (RTX)."""
    caps = _capabilities(RTCRtpReceiver if receiving else RTCRtpSender, kind)
    if codec.mime.lower() == h264.MIME:
        chosen = [c for c in caps if c.mimeType.lower() == h264.MIME
                  and h264.profile_level_id(c.parameters) == h264.CARRIER
                  and str(c.parameters.get("packetization-mode")) == "1"]
        assert chosen, "aiortc negotiates H.264 constrained baseline, packetization-mode 1"
    else:
        chosen = [c for c in caps if c == codec.capability()]
    rtx = [c for c in caps if c.mimeType.lower().endswith("/rtx")]
    return chosen + rtx


def ice_credentials(fragment: str) -> tuple[str | None, str | None]:
    """ice-ufrag and ice-pwd of a trickle-ice-sdpfrag body (RFC 8840)."""
    ufrag = re.search(r"^a=ice-ufrag:(\S+)", fragment, re.M)
    pwd = re.search(r"^a=ice-pwd:(\S+)", fragment, re.M)
    return (ufrag.group(1) if ufrag else None, pwd.group(1) if pwd else None)


def _capabilities(side: type[RTCRtpReceiver] | type[RTCRtpSender], kind: str
                  ) -> list[RTCRtpCodecCapability]:
    capabilities = side.getCapabilities(kind)
    assert capabilities is not None, kind  # aiortc knows both kinds we ask for
    return capabilities.codecs
