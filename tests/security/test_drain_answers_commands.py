"""A command that crosses a drain's close: the client sent it before the server's close frame
reached it. If the server had read it before sending its close frame, it is answered (with
`draining`: send it again after reconnecting), never dropped; a command the server had not read
by then is not run, so resending it is always safe. On both engines."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from liveroom.channel.registry import CONNECTIONS

from .channel import raw_socket


async def _until_close(ws: aiohttp.ClientWebSocketResponse) -> list[dict]:
    frames = []
    while (msg := await ws.receive(timeout=10)).type == aiohttp.WSMsgType.TEXT:
        frames.append(json.loads(msg.data))
    assert msg.type == aiohttp.WSMsgType.CLOSE, msg
    return frames


async def test_a_command_read_as_the_drain_begins_is_answered_before_the_close(server):
    srv = await server()
    loop = asyncio.get_running_loop()
    async with raw_socket(srv.base_url) as ws:
        # The command reaches the server in the same turn of its loop as the drain starts:
        # read and parsed, not yet run, when the connection is told to go.
        await ws.send_str('{"id": "crossing", "cmd": "chat.send", "text": "hello"}')
        drain = asyncio.create_task(srv.app[CONNECTIONS].drain(loop.time() + 5))
        frames = await _until_close(ws)
        await drain
        assert ws.close_code == 1012
    answers = {f["id"]: f for f in frames if f["type"] in ("ack", "error")}
    assert "crossing" in answers, frames
    assert answers["crossing"]["code"] == "draining"
    assert answers[None]["code"] == "draining"  # the notice to reconnect


async def test_every_command_sent_during_a_drain_is_answered_or_not_run(server):
    """A client that keeps sending through the drain: each of its chats is either answered
    before the close frame, or not in the room; resending the unanswered ones after reconnecting
    never makes a message twice."""
    srv = await server()
    loop = asyncio.get_running_loop()
    async with raw_socket(srv.base_url) as ws:
        for n in range(20):
            await ws.send_str(json.dumps({"id": n, "cmd": "chat.send", "text": f"m{n}"}))
        drain = asyncio.create_task(srv.app[CONNECTIONS].drain(loop.time() + 5))
        for n in range(20, 40):
            await ws.send_str(json.dumps({"id": n, "cmd": "chat.send", "text": f"m{n}"}))
        frames = await _until_close(ws)
        await drain
    answered = {f["id"]: f for f in frames if f["type"] in ("ack", "error") and f["id"] is not None}
    posted = {m["text"] for m in (await srv.app_engine.store.snapshot("thailand")).chat}
    for n in range(40):
        if f"m{n}" in posted:
            assert answered.get(n, {}).get("type") == "ack", (n, answered.get(n))
        else:
            assert n not in answered or answered[n]["type"] == "error", answered[n]
    # What was answered is a prefix of what was sent: nothing read was dropped in between.
    assert sorted(answered) == list(range(len(answered)))
