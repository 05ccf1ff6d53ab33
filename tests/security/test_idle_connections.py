"""Idle connections: a socket that never speaks, or a kept-alive one that stops asking, is
closed after its deadline instead of holding a file descriptor for minutes."""

from __future__ import annotations

import socket

from .slow_clients import closed_within, healthy


def test_a_socket_that_never_speaks_is_closed(guarded_server):
    server = guarded_server()
    silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(5)]
    try:
        for sock in silent:
            closed, answer = closed_within(sock, 10)
            assert closed, "a connection that sent nothing stayed open for 10 s"
            assert answer == b""  # nothing is owed to a client that never asked
    finally:
        for sock in silent:
            sock.close()
    assert healthy(server.port)


def test_a_kept_alive_connection_that_stops_asking_is_closed(guarded_server):
    server = guarded_server()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # keep-alive by default
        closed, answer = closed_within(sock, 10)
    assert answer.startswith(b"HTTP/1.1 200")
    assert closed, "an idle kept-alive connection stayed open for 10 s"


def test_a_room_channel_outlives_the_http_deadlines(guarded_server):
    """A WebSocket is one long request: the guard's deadlines stop when it is upgraded."""
    import asyncio

    import aiohttp

    server = guarded_server(LIVEROOM_DEMO="1")

    async def watch() -> list[str]:
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(f"{server.url}/ws/rooms/thailand") as ws:
                welcome = await ws.receive_json(timeout=10)
                await asyncio.sleep(2.5)  # longer than every deadline (1 s each)
                await ws.send_json({"id": 1, "cmd": "ping"})
                while True:
                    message = await ws.receive_json(timeout=10)
                    if message.get("id") == 1:
                        return [welcome["type"], message["type"]]

    assert asyncio.run(watch()) == ["welcome", "ack"]
