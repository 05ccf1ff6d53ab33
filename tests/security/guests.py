"""Guests as a browser (cookie jar) or a script (no cookies) is one, for the attack tests."""

from __future__ import annotations

import aiohttp

ROOM = "thailand"


def browser() -> aiohttp.ClientSession:
    """Keeps cookies like a browser (also for a 127.0.0.1 host)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                 connector=aiohttp.TCPConnector(limit=0))


def script() -> aiohttp.ClientSession:
    """Keeps nothing between connections."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(),
                                 connector=aiohttp.TCPConnector(limit=0))


async def join(http: aiohttp.ClientSession, base_url: str, token: str | None = None):
    """A room-channel connection and its first frame (the welcome, or the refusal)."""
    query = f"?access_token={token}" if token else ""
    ws = await http.ws_connect(f"{base_url}/ws/rooms/{ROOM}{query}")
    return ws, await ws.receive_json(timeout=10)


async def command(ws: aiohttp.ClientWebSocketResponse, cid: int, cmd: str, **fields) -> dict:
    await ws.send_json({"id": cid, "cmd": cmd, **fields})
    while True:
        frame = await ws.receive_json(timeout=10)
        if frame.get("id") == cid and frame["type"] in ("ack", "error"):
            return frame
