"""What travels over a relay leg: one WebSocket from the room's origin instance to an instance
with viewers of the room (leg_feed.py sends, legs.py receives).

Binary messages, origin to leg: one encoded frame each, a fixed header then the frame's bytes
    track id (uint16) | flags (uint8, bit 0: keyframe) | timestamp (uint64, in the track's
    codec clock, moving forward only) | sent at (float64, the origin's Unix time)
Text messages, JSON objects with a "type":
    origin to leg:  {"type": "tracks", "tracks": [{"id", "slot", "kind", "codec"}]}
                    the room's tracks now: it replaces the list before; a track whose id is
                    gone ended (its publisher left), a new id is a new publisher or codec, and
                    frames of ids not in the list are dropped. `codec` is
                    {"mime", "clock_rate", "channels", "parameters"} (the fmtp parameters,
                    with H.264's profile-level-id and packetization-mode).
    leg to origin:  {"type": "keyframe", "track": id}   a viewer needs a keyframe
                    {"type": "ack", "frames": n}          n frames received so far
"""

from __future__ import annotations

import json
import struct
import time
from typing import Any

from .relay import Codec

HEADER = struct.Struct("!HBQd")
KEYFRAME = 0x01
MAX_CONTROL_BYTES = 64 * 1024  # what either side accepts as one message besides frames
MAX_FRAME_BYTES = 8 * 1024 * 1024


class BadMessage(ValueError):
    """A leg message that does not follow this format."""


def frame(track: int, key: bool, timestamp: int, data: bytes) -> bytes:
    return HEADER.pack(track, KEYFRAME if key else 0, timestamp, time.time()) + data


def read_frame(message: bytes) -> tuple[int, bool, int, float, bytes]:
    """(track id, keyframe, timestamp, sent at, frame bytes)."""
    if len(message) < HEADER.size:
        raise BadMessage("a frame message shorter than its header")
    track, flags, timestamp, sent_at = HEADER.unpack_from(message)
    return track, bool(flags & KEYFRAME), timestamp, sent_at, message[HEADER.size:]


def codec_dict(codec: Codec) -> dict[str, Any]:
    return {"mime": codec.mime, "clock_rate": codec.clock_rate, "channels": codec.channels,
            "parameters": dict(codec.parameters)}


def codec_of(kind: str, value: Any) -> Codec:
    if not isinstance(value, dict) or not isinstance(value.get("mime"), str) or not (
            value["mime"].lower().startswith(kind + "/")):
        raise BadMessage(f"a {kind} track's codec must name a {kind}/ mime type")
    clock, channels = value.get("clock_rate"), value.get("channels")
    parameters = value.get("parameters") or {}
    if not isinstance(clock, int) or clock <= 0 or not isinstance(parameters, dict) or (
            channels is not None and not isinstance(channels, int)):
        raise BadMessage("a codec has a positive clock_rate, integer channels and parameters")
    return Codec(kind, value["mime"], clock, channels, dict(parameters))


def tracks_message(tracks: list[tuple[int, str, str, Codec]]) -> str:
    """(id, slot, kind, codec) of every track the leg carries now."""
    return json.dumps({"type": "tracks", "tracks": [
        {"id": track, "slot": slot, "kind": kind, "codec": codec_dict(codec)}
        for track, slot, kind, codec in tracks]})


def read_tracks(message: dict[str, Any]) -> list[tuple[int, str, str, Codec]]:
    tracks = message.get("tracks")
    if not isinstance(tracks, list):
        raise BadMessage("tracks: must be a list")
    out = []
    for item in tracks:
        if not isinstance(item, dict):
            raise BadMessage("tracks: each is an object")
        track, slot, kind = item.get("id"), item.get("slot"), item.get("kind")
        if not isinstance(track, int) or not 0 <= track <= 0xFFFF:
            raise BadMessage("tracks: id must be a 16-bit number")
        if slot not in ("host", "cohost") or kind not in ("audio", "video"):
            raise BadMessage("tracks: slot is host or cohost, kind audio or video")
        out.append((track, slot, kind, codec_of(kind, item.get("codec"))))
    return out


def control(text: str) -> dict[str, Any]:
    """A text message as its object; BadMessage when it is not one with a type."""
    try:
        message = json.loads(text)
    except ValueError:
        raise BadMessage("a text message must be JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise BadMessage("a text message must be an object with a type")
    return message
