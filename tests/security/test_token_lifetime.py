"""Token lifetime: a token made to live longer than LIVEROOM_MAX_TOKEN_LIFETIME (30 days by
default) is refused everywhere the gate is: a 100-year staff token is worth nothing."""

from __future__ import annotations

import time

import aiohttp
import jwt

from ..helpers import SECRET, bearer, token

ROOM = "thailand"
YEAR = 365 * 86400


def _minted(*, lifetime: float, iat: bool = True) -> str:
    now = int(time.time())
    claims = {"iss": "liveroom", "sub": "mod", "room": ROOM, "role": "moderator",
              "name": "Mod", "exp": now + int(lifetime)}
    if iat:
        claims["iat"] = now
    return jwt.encode(claims, SECRET, algorithm="HS256")


async def test_a_hundred_year_token_is_refused_on_the_channel_and_the_api(server):
    srv = await server()
    for forever in (_minted(lifetime=100 * YEAR), _minted(lifetime=100 * YEAR, iat=False)):
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(
                    f"{srv.base_url}/ws/rooms/{ROOM}?access_token={forever}") as ws:
                frame = await ws.receive_json(timeout=10)
                await ws.receive(timeout=10)
            assert frame["type"] == "error" and frame["code"] == "invalid_token"
            assert "longer than this server allows" in frame["message"]
            assert ws.close_code == 4401
            response = await http.get(f"{srv.base_url}/api/rooms/{ROOM}/orders",
                                      headers=bearer(forever))
            assert response.status == 401
            assert (await response.json())["error"]["code"] == "invalid_token"


async def test_the_maximum_is_the_operators_to_set(server):
    srv = await server(max_token_lifetime=3600)
    async with aiohttp.ClientSession() as http:
        day = token(ROOM, "moderator", user="mod", ttl=86400)
        hour = token(ROOM, "moderator", user="mod", ttl=1800)
        refused = await http.get(f"{srv.base_url}/api/rooms/{ROOM}/orders", headers=bearer(day))
        allowed = await http.get(f"{srv.base_url}/api/rooms/{ROOM}/orders", headers=bearer(hour))
        assert (refused.status, allowed.status) == (401, 200)
