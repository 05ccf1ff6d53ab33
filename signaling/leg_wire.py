"""What travels over a relay leg: one WebSocket from the room's origin instance to an instance
with viewers of the room (leg_feed.py sends, legs.py receives).

Binary messages, origin to leg, in one of two forms, chosen by the WebSocket subprotocol:
    "liveroom-leg.2" (the leg offers it, the origin picks it): one or more frames per message,
        each a fixed header with the frame's length, then the frame's bytes
            track id (uint16) | flags (uint8, bit 0: keyframe) | timestamp (uint64, in the
            track's codec clock, moving forward only) | sent at (float64, the origin's Unix
            time) | length (uint32)
        so that the origin writes a video frame and the audio frames before it with one send
        (a send, not a byte, is what a leg costs the origin; see leg_feed.py);
    no subprotocol (an instance from before it): one frame per message, the same header
        without the length, then the frame's bytes to the end of the message.
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
from collections.abc import Callable
from typing import Any

from .relay import Codec

BATCHED = "liveroom-leg.2"  # the subprotocol of several frames per message
HEADER = struct.Struct("!HBQd")  # one frame per message
RECORD = struct.Struct("!HBQdI")  # one of several: with its length
_FRAME_16 = struct.Struct("!BBH")  # a WebSocket frame's first bytes: FIN and binary, length
_FRAME_64 = struct.Struct("!BBQ")
KEYFRAME = 0x01
MAX_CONTROL_BYTES = 64 * 1024  # what either side accepts as one message besides frames
MAX_FRAME_BYTES = 8 * 1024 * 1024

# One frame as it travels: (track id, keyframe, timestamp, sent at, frame bytes)
Record = tuple[int, bool, int, float, bytes]


class BadMessage(ValueError):
    """A leg message that does not follow this format."""


def frame(track: int, key: bool, timestamp: int, data: bytes,
          sent_at: float | None = None) -> bytes:
    """One frame as a message of its own (no subprotocol); sent at now unless given."""
    return HEADER.pack(track, KEYFRAME if key else 0, timestamp,
                       time.time() if sent_at is None else sent_at) + data


def read_frame(message: bytes) -> Record:
    """A message of one frame."""
    if len(message) < HEADER.size:
        raise BadMessage("a frame message shorter than its header")
    track, flags, timestamp, sent_at = HEADER.unpack_from(message)
    return track, bool(flags & KEYFRAME), timestamp, sent_at, message[HEADER.size:]


def frames(batch: list[Record]) -> bytes:
    """Several frames as one message."""
    pack = RECORD.pack
    return b"".join([part for track, key, timestamp, sent_at, data in batch
                     for part in (pack(track, KEYFRAME if key else 0, timestamp, sent_at,
                                       len(data)), data)])


def binary_frame(message: bytes) -> bytes:
    """`message` as one unmasked, unfragmented binary WebSocket frame (RFC 6455 5.2), the
    form an origin sends in (leg_feed.py writes frames to its connection itself)."""
    size = len(message)
    if size < 126:
        return bytes((0x82, size)) + message
    if size < 0x10000:
        return _FRAME_16.pack(0x82, 126, size) + message
    return _FRAME_64.pack(0x82, 127, size) + message


def read_frames(message: bytes) -> list[Record]:
    """The frames of a message of several; BadMessage when one is cut short."""
    out: list[Record] = []
    at, end = 0, len(message)
    unpack = RECORD.unpack_from
    while at < end:
        if end - at < RECORD.size:
            raise BadMessage("a frame record shorter than its header")
        track, flags, timestamp, sent_at, length = unpack(message, at)
        at += RECORD.size
        if length > end - at:
            raise BadMessage("a frame record longer than its message")
        out.append((track, bool(flags & KEYFRAME), timestamp, sent_at,
                    message[at:at + length]))
        at += length
    return out


def reader(protocol: str | None) -> Callable[[bytes], list[Record]]:
    """How to read the frame messages of a leg whose subprotocol is `protocol`."""
    if protocol == BATCHED:
        return read_frames
    return lambda message: [read_frame(message)]


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
