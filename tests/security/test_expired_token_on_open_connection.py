"""A token that expires while its connection is open: its powers end with it. The client gets
`token_expired` and the connection is closed with 4401; a moderator whose token lapsed can no
longer change slow mode, on either engine."""

from __future__ import annotations

import time

import aiohttp

from ..helpers import token

ROOM = "thailand"


async def _answer(ws: aiohttp.ClientWebSocketResponse, cid: int) -> dict:
    while True:
        frame = await ws.receive_json(timeout=10)
        if frame.get("id") == cid:
            return frame


async def test_a_moderator_token_that_expires_closes_the_connection(server):
    srv = await server()
    short = token(ROOM, "moderator", user="mod", ttl=3)
    expires = time.time() + 3
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{srv.base_url}/ws/rooms/{ROOM}?access_token={short}") as ws:
            assert (await ws.receive_json(timeout=10))["type"] == "welcome"
            await ws.send_json({"id": 1, "cmd": "room.slow_mode", "seconds": 5})
            assert (await _answer(ws, 1))["type"] == "ack"
            # Nothing is sent until the token lapses: the server speaks first, at expiry.
            errors = []
            while True:
                message = await ws.receive(timeout=10)
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                frame = message.json()
                if frame["type"] == "error":
                    errors.append(frame)
            assert time.time() >= expires - 1  # not before its time
            assert [e["code"] for e in errors] == ["token_expired"]
            assert ws.close_code == 4401
    snapshot = await srv.app_engine.store.snapshot(ROOM)
    assert snapshot.slow_mode == 5
