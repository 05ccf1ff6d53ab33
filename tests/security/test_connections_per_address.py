"""One client address, many connections: past LIVEROOM_CONNECTIONS_PER_ADDRESS a new one is
refused, at the TCP level (503 too_many_connections) and on the room channel (an error frame
and close 1013, scope "address"). Behind the operator's proxies the forwarded address is the
one counted; a client that forges X-Forwarded-For without a trusted proxy gains nothing."""

from __future__ import annotations

import json
import socket

import aiohttp
import pytest

from .slow_clients import closed_within, healthy

ROOM = "thailand"


def test_tcp_connections_past_the_cap_are_refused_with_503(guarded_server):
    server = guarded_server(LIVEROOM_CONNECTIONS_PER_ADDRESS="5", LIVEROOM_HEADER_TIMEOUT="60")
    held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(5)]
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as extra:
            closed, answer = closed_within(extra, 10)
        assert closed
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503")
        assert json.loads(body)["error"]["code"] == "too_many_connections"
        held.pop().close()  # a place is given back when a connection ends

        def served() -> bool:
            try:
                return healthy(server.port)
            except OSError:
                return False
        from ..helpers import wait_until
        wait_until(served, what="a place to free up")
    finally:
        for sock in held:
            sock.close()


async def _open(http: aiohttp.ClientSession, url: str, forwarded_for: str | None = None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    ws = await http.ws_connect(f"{url}/ws/rooms/{ROOM}", headers=headers)
    first = await ws.receive_json(timeout=10)
    return ws, first


@pytest.mark.parametrize("trusted", [True, False], ids=["behind-proxy", "direct"])
async def test_room_channel_connections_per_client_address(server, trusted):
    srv = await server(connections_per_address=3,
                       trusted_proxies=("127.0.0.0/8",) if trusted else ())
    async with aiohttp.ClientSession() as http:
        sockets = []
        try:
            for n in range(3):
                ws, first = await _open(http, srv.base_url, f"203.0.113.{9 if trusted else n}")
                assert first["type"] == "welcome"
                sockets.append(ws)
            # Direct, the forged header changes nothing: all of them are 127.0.0.1.
            ws, first = await _open(http, srv.base_url, "203.0.113.9" if trusted else
                                    "198.51.100.77")
            assert first["type"] == "error" and first["code"] == "too_many_connections"
            assert first["scope"] == "address" and first["limit"] == 3
            await ws.receive(timeout=10)
            assert ws.close_code == 1013
            if trusted:  # another client behind the same proxy is another address
                ws, first = await _open(http, srv.base_url, "203.0.113.10")
                assert first["type"] == "welcome"
                sockets.append(ws)
        finally:
            for ws in sockets:
                await ws.close()
