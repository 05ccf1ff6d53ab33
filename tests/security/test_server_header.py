"""Server fingerprinting: no response tells a scanner which versions of Liveroom, aiohttp or
Python answer, whatever the route, and also where aiohttp answers by itself."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import aiohttp

from ..helpers import token


async def test_server_header_discloses_no_versions(server):
    srv = await server()
    seen = {}
    async with aiohttp.ClientSession(base_url=srv.base_url) as http:
        for path in ("/healthz", "/api/rooms", "/", "/rooms/thailand", "/static/favicon.svg",
                     "/no/such/page", "/api/rooms/nope"):
            async with http.get(path) as response:
                seen[path] = response.headers.get("Server")
        async with http.ws_connect(f"/ws/rooms/thailand?token={token('thailand')}") as ws:
            seen["websocket"] = ws._response.headers.get("Server")
    # A request aiohttp's parser refuses before any route or hook runs.
    address = urlsplit(srv.base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
    await writer.drain()
    raw = (await asyncio.wait_for(reader.read(4096), 10)).decode("latin-1")
    writer.close()
    assert raw.split(" ")[1] == "400"
    seen["malformed"] = next(line.split(":", 1)[1].strip() for line in raw.split("\r\n")
                             if line.lower().startswith("server:"))
    assert seen == {key: "liveroom" for key in seen}
