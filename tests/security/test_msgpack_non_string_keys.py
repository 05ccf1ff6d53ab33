"""msgpack maps keyed by something other than strings, on connections of either format: each
frame gets the documented `invalid_json`, the connection is kept, never HTTP 500 on the
upgraded socket or `internal`."""

from __future__ import annotations

import logging

import msgpack
import pytest

from .channel import answer, raw_socket, still_works


def _packed(entries: list[tuple[object, object]]) -> bytes:
    """A msgpack map with exactly these entries (keys of any type, repeated ones too)."""
    body = b"".join(msgpack.packb(k, use_bin_type=True) + msgpack.packb(v, use_bin_type=True)
                    for k, v in entries)
    return bytes([0x80 | len(entries)]) + body


FRAMES = {
    "bytes key": _packed([("id", 1), ("cmd", "chat.send"), (b"text", "hi")]),
    "only bytes keys": _packed([(b"id", 1), (b"cmd", b"ping")]),
    "mixed key types": _packed([("id", 1), ("cmd", "chat.send"), (b"zz", 1), ("aa", 2)]),
    "integer key": _packed([("id", 1), ("cmd", "ping"), (7, "x")]),
    "nil key": _packed([("id", 1), ("cmd", "ping"), (None, "x")]),
    "bytes key inside a value": _packed([("id", 1), ("cmd", "media.candidate"),
                                         ("session", "s"), ("candidate", {b"candidate": "x"})]),
    "array key": b"\x83" + msgpack.packb("id") + b"\x01" + msgpack.packb("cmd")
    + msgpack.packb("ping") + b"\x91\x01" + b"\x01",
}


@pytest.mark.parametrize("fmt", ["json", "msgpack"])
@pytest.mark.parametrize("name", list(FRAMES))
async def test_non_string_map_keys_get_invalid_json_and_the_connection_stays(
        server, caplog, fmt, name):
    srv = await server()
    caplog.set_level(logging.INFO)
    async with raw_socket(srv.base_url, fmt=fmt) as ws:
        error = await answer(ws, FRAMES[name])
        assert (error["type"], error["code"]) == ("error", "invalid_json"), error
        assert error["id"] is None
        await still_works(ws)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
