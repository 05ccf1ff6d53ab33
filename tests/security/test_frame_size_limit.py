"""The documented frame limit is the largest frame accepted: a frame of exactly
`max_frame_bytes` (the welcome's `limits`) is a command like any other, one byte more closes the
connection with 1009; text or binary, default or configured limit."""

from __future__ import annotations

import aiohttp
import pytest

from liveroom.domain.codec import pack

from ..helpers import token
from .channel import answer, raw_socket, still_works


def _exact_json(size: int) -> str:
    """A ping padded with whitespace to exactly `size` bytes."""
    core = '{"id": 1, "cmd": "ping"}'
    return core[:-1] + " " * (size - len(core)) + "}"


def _exact_msgpack(size: int) -> bytes:
    """A ping whose one extra field pads it to exactly `size` bytes (the answer: invalid_field)."""
    for pad in range(size, 0, -1):
        frame = pack({"id": 1, "cmd": "ping", "pad": "x" * pad})
        if len(frame) == size:
            return frame
    raise AssertionError("no padding fits")


@pytest.mark.parametrize("limit", [None, 1000])
async def test_a_frame_of_exactly_the_limit_is_answered(server, limit):
    srv = await server(**({"max_frame_bytes": limit} if limit else {}))
    async with raw_socket(srv.base_url) as ws:
        size = limit or 16 * 1024
        ack = await answer(ws, _exact_json(size))
        assert (ack["type"], ack["id"]) == ("ack", 1), ack
        refused = await answer(ws, _exact_msgpack(size))
        assert (refused["code"], refused["field"]) == ("invalid_field", "pad"), refused
        await still_works(ws)


async def test_the_welcome_states_the_limit_that_is_enforced(server):
    srv = await server(max_frame_bytes=1000)
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(
                f"{srv.base_url}/ws/rooms/thailand?access_token={token('thailand')}") as ws:
            welcome = await ws.receive_json(timeout=10)
            limit = welcome["limits"]["max_frame_bytes"]
            assert limit == 1000
            await ws.receive_json(timeout=10)
            await ws.send_str(_exact_json(limit))
            assert (await ws.receive_json(timeout=10))["type"] == "ack"


@pytest.mark.parametrize("kind", ["text", "binary"])
async def test_one_byte_over_the_limit_closes_with_1009(server, kind):
    srv = await server(max_frame_bytes=1000)
    async with raw_socket(srv.base_url) as ws:
        if kind == "text":
            await ws.send_str(_exact_json(1001))
        else:
            await ws.send_bytes(_exact_msgpack(1001))
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1009
    async with raw_socket(srv.base_url) as other:  # the server goes on
        await still_works(other)
