"""Server-to-client WebSocket frames (RFC 6455 section 5.2), built once and written many times.

A server frame is never masked and we never compress, so one event's frame is the same bytes for
every client: the fan-out builds it once per instance and hands those bytes to every socket,
several frames joined into one write when they queue up in the same loop turn. aiohttp writes
frame by frame through a coroutine per socket; this is the few lines that let us do better.
"""

from __future__ import annotations

import struct

FIN = 0x80
OPCODE_TEXT = 0x1
OPCODE_BINARY = 0x2


def frame(opcode: int, payload: bytes) -> bytes:
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", FIN | opcode, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", FIN | opcode, 126, length)
    else:
        header = struct.pack("!BBQ", FIN | opcode, 127, length)
    return header + payload


def text_frame(payload: bytes) -> bytes:
    return frame(OPCODE_TEXT, payload)


def binary_frame(payload: bytes) -> bytes:
    return frame(OPCODE_BINARY, payload)
