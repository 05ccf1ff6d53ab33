"""A text frame that is not UTF-8 closes the connection with 1007, as RFC 6455 asks and the
close-code table says; nothing else is affected. Written byte by byte: no WebSocket library
sends such a frame."""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from urllib.parse import urlsplit

import pytest

from ..helpers import token
from .channel import documented_close_codes, raw_socket, still_works


async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readexactly(2)
    length = head[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", await reader.readexactly(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", await reader.readexactly(8))[0]
    return head[0] & 0x0F, await reader.readexactly(length)


def _masked(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    assert len(payload) < 126
    return (bytes([0x80 | opcode, 0x80 | len(payload)]) + mask
            + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


@pytest.mark.parametrize("payload", [b"\xff\xfe", b'{"id": 1, "cmd": "ping", "x": "\xc3"}',
                                     b"\xed\xa0\x80"])  # a lone surrogate
async def test_invalid_utf8_in_a_text_frame_closes_with_1007(server, payload):
    srv = await server()
    url = urlsplit(srv.base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /ws/rooms/thailand?access_token={token('thailand')} HTTP/1.1\r\n"
                  f"Host: {url.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    for _ in range(2):  # welcome, snapshot
        assert (await asyncio.wait_for(_read_frame(reader), 10))[0] == 0x1
    writer.write(_masked(0x1, payload))
    while True:
        opcode, body = await asyncio.wait_for(_read_frame(reader), 10)
        if opcode == 0x8:
            break
    assert struct.unpack("!H", body[:2])[0] == 1007
    writer.close()
    async with raw_socket(srv.base_url) as other:
        await still_works(other)


def test_1007_is_in_the_close_code_table():
    assert 1007 in documented_close_codes()
