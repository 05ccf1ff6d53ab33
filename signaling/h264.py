"""H.264 in any profile a player can decode, negotiated through aiortc, which knows only
constrained baseline.

The server never decodes H.264: it forwards the publisher's frames. So it can take whatever
profile a publisher sends (cameras, phones and hardware encoders send Main or High) and pass it
to every player that can decode it. aiortc, though, negotiates H.264 only as `42e01f` and
`42001f`, so each answer is written through a *carrier*: the chosen payload type is shown to
aiortc as constrained baseline (the other H.264 formats of that offer are left out), and the
answer aiortc writes is given back its real `profile-level-id`. aiortc's packetizer and
depacketizer do not look at the profile.

- A publisher's offer: the first H.264 format (packetization-mode 1) in the order below, the
  profile every player decodes first. Its answer states the publisher's own profile-level-id.
- A player's offer: a format of the publisher's profile if it has one, answered with the
  publisher's profile-level-id (levels may differ: `level-asymmetry-allowed`); else one whose
  profile decodes the publisher's (a High decoder decodes Main and constrained baseline),
  answered with the player's own. None: `unsupported_codec`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiortc import sdp
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

Profile = sdp.H264Profile

MIME = "video/h264"
CARRIER = "42e01f"  # what aiortc negotiates
DEFAULT = "42e01f"  # an absent profile-level-id, as WebRTC stacks read it

# Publisher formats in order of preference: the most widely decodable first.
PUBLISH_ORDER = (Profile.PROFILE_CONSTRAINED_BASELINE, Profile.PROFILE_BASELINE,
                 Profile.PROFILE_MAIN, Profile.PROFILE_CONSTRAINED_HIGH, Profile.PROFILE_HIGH,
                 Profile.PROFILE_PREDICTIVE_HIGH_444)
# What a decoder of each profile also decodes (constrained baseline streams are valid Main
# and High streams; plain baseline allows tools Main lacks).
DECODES: dict[Profile, frozenset[Profile]] = {
    Profile.PROFILE_CONSTRAINED_BASELINE: frozenset({Profile.PROFILE_CONSTRAINED_BASELINE}),
    Profile.PROFILE_BASELINE: frozenset({Profile.PROFILE_CONSTRAINED_BASELINE,
                                         Profile.PROFILE_BASELINE}),
    Profile.PROFILE_MAIN: frozenset({Profile.PROFILE_CONSTRAINED_BASELINE,
                                     Profile.PROFILE_MAIN}),
    Profile.PROFILE_CONSTRAINED_HIGH: frozenset({Profile.PROFILE_CONSTRAINED_BASELINE,
                                                 Profile.PROFILE_MAIN,
                                                 Profile.PROFILE_CONSTRAINED_HIGH}),
    Profile.PROFILE_HIGH: frozenset({Profile.PROFILE_CONSTRAINED_BASELINE, Profile.PROFILE_MAIN,
                                     Profile.PROFILE_CONSTRAINED_HIGH, Profile.PROFILE_HIGH}),
}
DECODES[Profile.PROFILE_PREDICTIVE_HIGH_444] = DECODES[Profile.PROFILE_HIGH] | {
    Profile.PROFILE_PREDICTIVE_HIGH_444}


@dataclass(frozen=True)
class Choice:
    """The H.264 format an answer is written for: its payload type in the offer, and the
    profile-level-id the answer states."""

    payload_type: int
    profile_level_id: str


def profile_level_id(parameters: dict) -> str:
    return str(parameters.get("profile-level-id", DEFAULT)).lower()


def profile_of(profile_level_id: str) -> Profile | None:
    try:
        return sdp.parse_h264_profile_level_id(profile_level_id)[0]
    except ValueError:
        return None


def usable(codec: RTCRtpCodecParameters) -> bool:
    """An H.264 format the relay can carry: packetization-mode 1 (what aiortc's packetizer
    sends) and a profile it knows."""
    return (codec.mimeType.lower() == MIME and codec.payloadType is not None
            and str(codec.parameters.get("packetization-mode", "0")) == "1"
            and profile_of(profile_level_id(codec.parameters)) is not None)


def _pt(codec: RTCRtpCodecParameters) -> int:
    assert codec.payloadType is not None  # usable() formats have one
    return codec.payloadType


def decodes(player: str, stream: str) -> bool:
    """Whether a player that negotiated profile-level-id `player` decodes `stream`'s."""
    mine, theirs = profile_of(player), profile_of(stream)
    return mine is not None and theirs is not None and theirs in DECODES[mine]


def for_publisher(offered: Iterable[RTCRtpCodecParameters]) -> Choice | None:
    formats = [c for c in offered if usable(c)]
    formats.sort(key=lambda c: PUBLISH_ORDER.index(profile_of(profile_level_id(c.parameters))))
    if not formats:
        return None
    return Choice(_pt(formats[0]), profile_level_id(formats[0].parameters))


def for_player(offered: Iterable[RTCRtpCodecParameters], stream: str) -> Choice | None:
    formats = [c for c in offered if usable(c)]
    wanted = profile_of(stream)
    for codec in formats:
        if profile_of(profile_level_id(codec.parameters)) == wanted:
            return Choice(_pt(codec), stream)
    for codec in formats:
        if decodes(profile_level_id(codec.parameters), stream):
            return Choice(_pt(codec), profile_level_id(codec.parameters))
    return None


# --- the carrier --------------------------------------------------------------------------------
def _sections(lines: list[str]) -> list[tuple[int, int]]:
    starts = [i for i, line in enumerate(lines) if line.startswith("m=")]
    return list(zip(starts, starts[1:] + [len(lines)]))


def _payload_type(line: str) -> int | None:
    """The payload type an a=rtpmap/fmtp/rtcp-fb line is about."""
    try:
        return int(line.split(":", 1)[1].split(" ", 1)[0])
    except (IndexError, ValueError):
        return None


def _set_profile(fmtp: str, value: str) -> str:
    head, _, params = fmtp.partition(" ")
    items = [p for p in params.split(";") if p.strip()]
    items = [p for p in items if not p.strip().lower().startswith("profile-level-id=")]
    return f"{head} {';'.join(items + [f'profile-level-id={value}'])}"


def carrier_offer(text: str, choice: Choice) -> str:
    """The offer as aiortc is to see it: of its H.264 formats only the chosen one, shown as
    constrained baseline, with its retransmission format."""
    lines = text.splitlines()
    out = list(lines)
    for start, end in _sections(lines):
        if not lines[start].startswith("m=video"):
            continue
        h264 = {_payload_type(line) for line in lines[start:end]
                if line.startswith("a=rtpmap:") and " h264/" in line.lower()}
        if choice.payload_type not in h264:
            continue
        drop = h264 - {choice.payload_type}
        for line in lines[start:end]:  # retransmissions of the formats left out
            if line.startswith("a=fmtp:") and any(
                    f"apt={pt}" in line.replace(" ", "") for pt in drop):
                drop.add(_payload_type(line))
        for i in range(start, end):
            line = lines[i]
            if i == start:
                fields = line.split(" ")
                out[i] = " ".join(fields[:3] + [f for f in fields[3:]
                                                if not f.isdigit() or int(f) not in drop])
            elif line.startswith(("a=rtpmap:", "a=fmtp:", "a=rtcp-fb:")):
                pt = _payload_type(line)
                if pt in drop:
                    out[i] = ""
                elif pt == choice.payload_type and line.startswith("a=fmtp:"):
                    out[i] = _set_profile(line, CARRIER)
    return "\r\n".join(line for line in out if line) + "\r\n"


def real_answer(text: str, choice: Choice) -> str:
    """aiortc's answer with the chosen format's real profile-level-id."""
    lines = text.splitlines()
    for start, end in _sections(lines):
        if not lines[start].startswith("m=video"):
            continue
        for i in range(start, end):
            if lines[i].startswith("a=fmtp:") and _payload_type(lines[i]) == choice.payload_type:
                lines[i] = _set_profile(lines[i], choice.profile_level_id)
    return "\r\n".join(lines) + "\r\n"
