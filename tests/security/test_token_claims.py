"""Forged-by-the-rules tokens: signed with the right secret (a shop backend holds it) but with
claims the docs do not allow. Each is refused as `invalid_token` (4401 on the channel, 401 over
REST, never a 500); names are cleaned of bidi controls; a guest cannot take the name of the
room's host or of its staff."""

from __future__ import annotations

import time

import aiohttp
import jwt
import pytest

from liveroom.client import ChannelClosed, CommandError, RoomClient

from ..helpers import SECRET, bearer, token

ROOM = "thailand"
HOST_NAME = "Siam Orchard"  # the demo room's host_name (tests/conftest.py)


def forged(**claims) -> str:
    now = int(time.time())
    base = {"iss": "liveroom", "sub": "mallory", "room": ROOM, "role": "viewer",
            "iat": now, "exp": now + 600}
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not ...}, SECRET, algorithm="HS256")


BAD_CLAIMS = {
    "moderator for every room": {"room": "*", "role": "moderator"},
    "host for every room": {"room": "*", "role": "host"},
    "viewer for every room": {"room": "*", "role": "viewer"},
    "role as a list": {"role": ["admin"]},
    "role as an object": {"role": {"admin": True}},
    "room not a room id": {"room": "../thailand"},
    "empty sub": {"sub": ""},
    "long sub": {"sub": "u" * 5000},
    "markup sub": {"sub": "<b>x</b>"},
    "sub with a control character": {"sub": "ann\x00"},
    "sub as a number": {"sub": 42},
    "empty name": {"name": ""},
    "blank name": {"name": "   "},
    "long name": {"name": "N" * 5000},
    "zero-width name": {"name": "\u200b\u200c\u2060\ufeff"},
    "markup-only name": {"name": "<img src=x onerror=alert(1)>"},
    "bidi-only name": {"name": "\u202e\u202d"},
    "name with a control character": {"name": "Ann\x07"},
    "name on two lines": {"name": "Ann\nBo"},
    "name with a line separator": {"name": "Ann\u2028Bo"},
    "name as a list": {"name": ["Ann"]},
}


@pytest.mark.parametrize("case", list(BAD_CLAIMS))
async def test_bad_claims_are_refused_on_the_channel_with_4401(server, case):
    srv = await server()
    client = RoomClient(srv.base_url, ROOM, token=forged(**BAD_CLAIMS[case]), reconnect=False)
    with pytest.raises(ChannelClosed) as refused:
        await client.connect()
    await client.close()
    assert (refused.value.code, refused.value.error["code"]) == (4401, "invalid_token")


@pytest.mark.parametrize("case", ["moderator for every room", "role as a list", "long sub",
                                  "zero-width name"])
async def test_bad_claims_are_refused_over_rest_with_401(server, case):
    srv = await server()
    async with aiohttp.ClientSession() as http:
        for method, path in (("GET", f"/api/rooms/{ROOM}"), ("GET", f"/api/rooms/{ROOM}/orders"),
                             ("POST", f"/api/rooms/{ROOM}/products")):
            async with http.request(method, srv.base_url + path, json={},
                                    headers=bearer(forged(**BAD_CLAIMS[case]))) as response:
                body = await response.json()
                assert (response.status, body["error"]["code"]) == (401, "invalid_token"), (
                    method, path, body)


async def test_an_admin_token_for_every_room_still_works(server):
    srv = await server()
    async with RoomClient(srv.base_url, ROOM, token=forged(room="*", role="admin",
                                                           name="Operator")) as admin:
        assert admin.welcome["you"]["role"] == "admin"


async def test_bidi_overrides_are_stripped_from_token_names(server):
    srv = await server()
    # "Ann" then RIGHT-TO-LEFT OVERRIDE: "gnp.exe" would show as "exe.png".
    async with RoomClient(srv.base_url, ROOM, token=forged(name="Ann\u202egnp.exe")) as ann:
        assert ann.welcome["you"]["name"] == "Anngnp.exe"
        await ann.chat("hello")
        event = await ann.next_event("chat.message")
        assert event["message"]["name"] == "Anngnp.exe"


@pytest.mark.parametrize("name", [HOST_NAME, "siam orchard", "SIAM  ORCHARD",
                                  "\uff33\uff49\uff41\uff4d Orchard",  # full-width "Siam"
                                  "Siam\u200bOrchard", "\u202eSiam Orchard"])
async def test_a_guest_cannot_take_the_hosts_name(server, name):
    srv = await server()
    async with RoomClient(srv.base_url, ROOM) as guest:
        with pytest.raises(CommandError) as refused:
            await guest.set_name(name)
        assert refused.value.code == "invalid_field" and refused.value.frame["field"] == "name"
        assert (await guest.set_name("Siam fan"))["name"] == "Siam fan"


async def test_a_guest_cannot_take_the_name_of_staff_in_the_room(server):
    srv = await server()
    moderator = token(ROOM, role="moderator", user="mod-mei", name="Mei (moderator)")
    async with RoomClient(srv.base_url, ROOM, token=moderator):
        async with RoomClient(srv.base_url, ROOM) as guest:
            with pytest.raises(CommandError) as refused:
                await guest.set_name("mei (MODERATOR)")
            assert refused.value.code == "invalid_field"
        # A signed-in viewer without a name in their token is held to the same rule.
        async with RoomClient(srv.base_url, ROOM, token=token(ROOM, user="v1", name="")) as v:
            with pytest.raises(CommandError):
                await v.set_name("Mei (moderator)")


@pytest.mark.parametrize("name", ["\u200b\u200b", "<b></b>", "\u202e", "Ann\u2029Bo"])
async def test_guests_names_follow_the_same_rules(server, name):
    srv = await server()
    async with RoomClient(srv.base_url, ROOM) as guest:
        with pytest.raises(CommandError) as refused:
            await guest.set_name(name)
        assert refused.value.code == "invalid_field"
