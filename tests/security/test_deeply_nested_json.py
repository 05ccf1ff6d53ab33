"""Deep nesting under the frame limit: thousands of `[` fit in 16 KiB. Each such frame gets the
documented `invalid_json`, writes no traceback to the log, and the connection goes on; frames
that are not commands at all still spend the sender's command rate."""

from __future__ import annotations

import logging

import pytest

from liveroom.channel.frame_shape import MAX_DEPTH
from liveroom.domain.codec import pack

from .channel import answer, raw_socket, reply, send, still_works


def _nested_json(depth: int) -> str:
    return '{"id": 1, "cmd": "chat.send", "text": ' + "[" * depth + "]" * depth + "}"


def _nested_msgpack(depth: int) -> bytes:
    # A map of three entries whose "text" is `depth` arrays, each holding the next.
    head = b"\x83" + pack("id") + pack(1) + pack("cmd") + pack("chat.send") + pack("text")
    return head + b"\x91" * (depth - 1) + b"\x90"


@pytest.mark.parametrize("depth", [MAX_DEPTH, 200, 5000])
async def test_deep_json_is_refused_as_invalid_json_without_a_traceback(server, caplog, depth):
    srv = await server()
    caplog.set_level(logging.INFO)
    async with raw_socket(srv.base_url) as ws:
        frame = _nested_json(depth)
        assert len(frame.encode()) <= 16 * 1024
        error = await answer(ws, frame)
        assert (error["type"], error["code"]) == ("error", "invalid_json"), error
        assert "deep" in error["message"]
        await still_works(ws)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize("depth", [MAX_DEPTH, 200, 5000])
async def test_deep_msgpack_is_refused_as_invalid_json(server, caplog, depth):
    srv = await server()
    caplog.set_level(logging.INFO)
    async with raw_socket(srv.base_url, fmt="msgpack") as ws:
        error = await answer(ws, _nested_msgpack(depth))
        assert (error["type"], error["code"]) == ("error", "invalid_json"), error
        await still_works(ws)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_nesting_up_to_the_limit_is_a_command_like_any_other(server):
    srv = await server()
    async with raw_socket(srv.base_url) as ws:
        # The command object is the first level: MAX_DEPTH - 1 more arrays are allowed.
        error = await answer(ws, _nested_json(MAX_DEPTH - 1))
        assert (error["code"], error["field"]) == ("invalid_field", "text"), error


async def test_malformed_frames_spend_the_command_rate(server):
    srv = await server(commands_per_second=0.5)  # a burst of one command
    async with raw_socket(srv.base_url) as ws:
        assert (await answer(ws, _nested_json(5000)))["code"] == "invalid_json"
        await send(ws, '{"id": "next", "cmd": "ping"}')
        refused = await reply(ws)
        assert (refused["code"], refused["id"]) == ("rate_limited", "next"), refused
        assert refused["retry_after_ms"] > 0
