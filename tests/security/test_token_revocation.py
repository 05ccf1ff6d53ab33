"""Revocation: an operator cuts a staff token off before it expires, without rotating the
secret, by the token (its jti) or by the user ("not before"). Every instance refuses it from
then on and closes its open connections (4401 `token_revoked`) within a few seconds."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import aiohttp
import jwt

from ..helpers import SECRET, admin_token, bearer, create_room, token

ROOM = "thailand"


async def _connect(http: aiohttp.ClientSession, url: str, tok: str):
    ws = await http.ws_connect(f"{url}/ws/rooms/{ROOM}?access_token={tok}")
    first = await ws.receive_json(timeout=10)
    return ws, first


async def _cut_off(ws: aiohttp.ClientWebSocketResponse) -> list[str]:
    """The error codes the server sends until it closes the connection."""
    codes = []
    while True:
        message = await ws.receive(timeout=15)
        if message.type != aiohttp.WSMsgType.TEXT:
            return codes
        frame = message.json()
        if frame["type"] == "error":
            codes.append(frame["code"])


async def _revoke(http: aiohttp.ClientSession, url: str, body: dict) -> dict:
    response = await http.post(f"{url}/api/admin/revocations", json=body,
                               headers=bearer(admin_token()))
    assert response.status == 201, await response.text()
    return await response.json()


async def test_a_revoked_token_is_cut_off_and_refused(server):
    srv = await server()
    leaked = token(ROOM, "moderator", user="mod")
    other = token(ROOM, "moderator", user="mod")  # the same moderator's other token
    async with aiohttp.ClientSession() as http:
        open_ws, welcome = await _connect(http, srv.base_url, leaked)
        assert welcome["type"] == "welcome"
        await _revoke(http, srv.base_url, {"token": leaked})
        assert await _cut_off(open_ws) == ["token_revoked"]
        assert open_ws.close_code == 4401
        ws, first = await _connect(http, srv.base_url, leaked)
        assert (first["type"], first["code"]) == ("error", "token_revoked")
        await ws.close()
        orders = await http.get(f"{srv.base_url}/api/rooms/{ROOM}/orders", headers=bearer(leaked))
        assert orders.status == 401
        assert (await orders.json())["error"]["code"] == "token_revoked"
        ws, first = await _connect(http, srv.base_url, other)
        assert first["type"] == "welcome"  # only that token
        await ws.close()
        listed = await (await http.get(f"{srv.base_url}/api/admin/revocations",
                                       headers=bearer(admin_token()))).json()
        assert len(listed["tokens"]) == 1 and listed["users"] == {}


def _issued(role: str, iat: int) -> str:
    return jwt.encode({"iss": "liveroom", "sub": "mod", "room": ROOM, "role": role, "name": "Mod",
                       "iat": iat, "exp": iat + 3600}, SECRET, algorithm="HS256")


async def test_revoking_a_user_cuts_off_every_token_they_had(server):
    srv = await server()
    now = int(time.time())
    tokens = [_issued("moderator", now - 20), _issued("host", now - 10)]
    async with aiohttp.ClientSession() as http:
        sockets = [(await _connect(http, srv.base_url, tok))[0] for tok in tokens]
        answer = await _revoke(http, srv.base_url, {"user_id": "mod", "not_before": now - 5})
        assert answer["revoked"] == {"user_id": "mod", "not_before": now - 5}
        for ws in sockets:
            assert await _cut_off(ws) == ["token_revoked"]
            assert ws.close_code == 4401
        ws, first = await _connect(http, srv.base_url, _issued("moderator", now))
        assert first["type"] == "welcome", first  # a token issued afterwards is good
        await ws.close()
        # Without a moment, every token issued so far goes.
        await _revoke(http, srv.base_url, {"user_id": "mod"})
        ws, first = await _connect(http, srv.base_url, _issued("moderator", now))
        assert (first["type"], first["code"]) == ("error", "token_revoked")
        await ws.close()


async def test_only_the_operator_revokes(server):
    srv = await server()
    async with aiohttp.ClientSession() as http:
        for caller in (None, token(ROOM, "host", user="host")):
            response = await http.post(
                f"{srv.base_url}/api/admin/revocations", json={"user_id": "mod"},
                headers=bearer(caller) if caller else {})
            assert response.status in (401, 403)
        response = await http.post(f"{srv.base_url}/api/admin/revocations",
                                   json={"token": "not-a-token"}, headers=bearer(admin_token()))
        assert response.status == 400
        assert (await response.json())["error"]["field"] == "token"


async def test_a_revocation_on_one_instance_cuts_off_the_others(shared_redis, start_servers):
    """Two `liveroom serve` processes on one Redis: the operator's `liveroom revoke` against
    instance one closes the moderator's connection to instance two, which then refuses it."""
    one, two = start_servers(shared_redis)
    await create_room(one.url)
    leaked = token(ROOM, "moderator", user="mod")
    async with aiohttp.ClientSession() as http:
        ws, welcome = await _connect(http, two.url, leaked)
        assert welcome["type"] == "welcome"
        done = await asyncio.to_thread(subprocess.run, [
            sys.executable, "-m", "liveroom.server", "revoke", "token", leaked,
            "--url", one.url, "--token", admin_token()], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert await _cut_off(ws) == ["token_revoked"]  # within the heartbeat (1 s here)
        assert ws.close_code == 4401
        ws, first = await _connect(http, two.url, leaked)
        assert (first["type"], first["code"]) == ("error", "token_revoked")
        await ws.close()
