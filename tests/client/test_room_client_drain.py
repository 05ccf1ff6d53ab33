"""The Python client and a draining server: a buy turned away with `draining` is sent again,
with the same idempotency key, once the client has reconnected (1012) and resumed."""

from __future__ import annotations

import json

from aiohttp import web

from liveroom.client import RoomClient


async def test_a_buy_turned_away_by_a_draining_server_is_retried_after_the_reconnect(
    aiohttp_server,
):
    seen: list[tuple[dict, dict]] = []  # (query, buy command) per connection
    opened: list[web.Request] = []

    async def room(request: web.Request) -> web.WebSocketResponse:
        """A room channel that drains its first connection when the first command arrives."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        first = not opened
        opened.append(request)
        await ws.send_json({"type": "welcome", "connection_id": "c", "instance": "i",
                            "you": {}, "guest_token": None, "limits": {}})
        if first:
            await ws.send_json({"type": "snapshot", "seq": 7, "epoch": "e1", "viewers": 0})
        else:
            await ws.send_json({"type": "resumed", "epoch": "e1", "seq": 7})
            await ws.send_json({"type": "chat.message", "seq": 8, "message": {"text": "hi"}})
        async for msg in ws:
            command = json.loads(msg.data)
            seen.append((dict(request.query), command))
            if first:
                await ws.send_json({"type": "error", "id": command["id"], "code": "draining",
                                    "message": "restarting"})
                await ws.send_json({"type": "error", "id": None, "code": "draining",
                                    "message": "restarting"})
                await ws.close(code=1012, message=b"draining")
            else:
                await ws.send_json({"type": "ack", "id": command["id"], "created": True,
                                    "order": {"id": "ord_1"}})
        return ws

    app = web.Application()
    app.router.add_get("/ws/rooms/{room}", room)
    server = await aiohttp_server(app)
    async with RoomClient(str(server.make_url("")), "thailand", token="t") as client:
        ack = await client.buy("sale_1", 2, idempotency_key="key-1")
        assert ack["order"]["id"] == "ord_1"
        assert client.reconnects == 1 and client.last_close_code == 1012
        assert client.last_error["code"] == "draining"
        (first_query, first_buy), (second_query, second_buy) = seen
        assert first_buy["idempotency_key"] == second_buy["idempotency_key"] == "key-1"
        assert "since" not in first_query
        assert (second_query["epoch"], second_query["since"]) == ("e1", "7")
        assert (await client.next_event("chat.message"))["seq"] == 8
