"""Checking SDP offers before aiortc sees them, so bad input gets a precise error code, and
choosing the one codec per kind that a publisher sends and every viewer then receives.

The relay forwards what the publisher encodes, so a room has one video codec and one audio
codec at a time: the publisher's answer accepts exactly one of each (VP8 first, then H.264
constrained baseline or baseline with packetization-mode 1; Opus first for audio), and a
viewer's answer offers exactly the publisher's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc import RTCRtpReceiver, RTCRtpSender, sdp
from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters

from liveroom.domain.errors import LiveroomError

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
    if not offer.media:
        raise LiveroomError("no_media", "the offer has no audio or video section")
    return offer


def _compatible(local: RTCRtpCodecCapability, remote: RTCRtpCodecParameters) -> bool:
    if local.mimeType.lower() != remote.mimeType.lower() or local.clockRate != remote.clockRate:
        return False
    if local.mimeType.lower() != "video/h264":
        return True

    def mode(params: dict) -> str:
        return str(params.get("packetization-mode", "0"))

    def profile(params: dict):
        return sdp.parse_h264_profile_level_id(str(params.get("profile-level-id", "42e01f")))[0]

    try:
        return (mode(local.parameters) == mode(remote.parameters)
                and profile(local.parameters) == profile(remote.parameters))
    except ValueError:
        return False


def _describe(media: sdp.MediaDescription) -> str:
    names = []
    for codec in media.rtp.codecs:
        name = codec.mimeType.split("/")[1]
        if name.lower() not in ("rtx", "red", "ulpfec", "flexfec-03") and name not in names:
            names.append(name)
    return ", ".join(names) or "no codec"


def ingest_codecs(offer: Offer) -> dict[str, Codec]:
    """The codec each sending kind of a publisher's offer will be received (and relayed) in."""
    chosen: dict[str, Codec] = {}
    for kind in offer.sending():
        media = offer.media[kind]
        preference = VIDEO_PREFERENCE if kind == "video" else AUDIO_PREFERENCE
        local = [c for c in _capabilities(RTCRtpReceiver, kind) if c.mimeType in preference]
        local.sort(key=lambda c: preference.index(c.mimeType))
        match = next((c for c in local if any(_compatible(c, r) for r in media.rtp.codecs)), None)
        if match is None:
            wanted = "VP8 or H.264 (baseline, packetization-mode 1)" if kind == "video" else "Opus"
            raise LiveroomError(
                "unsupported_codec",
                f"{kind}: none of the offered codecs ({_describe(media)}) can be relayed; "
                f"send {wanted}", kind=kind)
        chosen[kind] = Codec(kind, match.mimeType, match.clockRate, match.channels,
                             dict(match.parameters))
    if not chosen:
        raise LiveroomError("no_media", "the offer sends no audio or video (sendonly or sendrecv)")
    return chosen


def check_playable(offer: Offer, codecs: dict[str, Codec]) -> list[str]:
    """The kinds a viewer's offer can receive from the source; unsupported_codec if it cannot
    receive a codec the publisher sends."""
    kinds = []
    for kind in offer.receiving():
        codec = codecs.get(kind)
        if codec is None:
            continue
        media = offer.media[kind]
        if not any(_compatible(codec.capability(), r) for r in media.rtp.codecs):
            raise LiveroomError(
                "unsupported_codec",
                f"{kind}: the host sends {codec.name}, which this player does not offer "
                f"({_describe(media)}); the server forwards without transcoding", kind=kind)
        kinds.append(kind)
    if not kinds:
        raise LiveroomError("no_media", "the offer receives no audio or video the host sends "
                            "(recvonly or sendrecv)")
    return kinds


def preferences(kind: str, codec: Codec, *, receiving: bool) -> list[RTCRtpCodecCapability]:
    """Codec preferences for a transceiver: exactly `codec`, and retransmissions (RTX)."""
    caps = _capabilities(RTCRtpReceiver if receiving else RTCRtpSender, kind)
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
